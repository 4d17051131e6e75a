// Reading JSON that came from a file a user may have edited or a kill may
// have torn (a protection plan, a trial log, a results folder).
// nlohmann's j.value(key, fallback) throws its own type_error when the key
// holds another type, which escapes as a message that names no file (found
// by fuzz_trial_log); field_or returns the fallback instead, so the caller's
// check, which names the file, reports it.
#pragma once

#include <concepts>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace save {

// Whether `v` is an integer number that fits in T. nlohmann's get<int64_t>()
// of 1e72 is a float-to-int cast out of range, which is UB (fuzz_trial_log).
template <std::integral T>
bool fits_integer(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t{std::numeric_limits<T>::max()};
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  if constexpr (std::is_signed_v<T>)
    return x >= int64_t{std::numeric_limits<T>::lowest()} &&
           x <= int64_t{std::numeric_limits<T>::max()};
  else
    return x >= 0 && static_cast<uint64_t>(x) <= uint64_t{std::numeric_limits<T>::max()};
}

// j[key] as T; Error naming the key when it is missing or not an integer in
// T's range.
template <std::integral T>
T integer_at(const nlohmann::json& j, std::string_view key) {
  const auto it = j.is_object() ? j.find(key) : j.end();
  SAVE_CHECK(it != j.end(), "field '{}' is missing", key);
  SAVE_CHECK(fits_integer<T>(*it), "field '{}' is {}, not an integer in range", key, it->dump());
  return it->template get<T>();
}

template <class T>
T field_or(const nlohmann::json& j, std::string_view key, T fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::integral<T> && !std::same_as<T, bool>)
    if (!fits_integer<T>(*it)) return fallback;
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

}  // namespace save
