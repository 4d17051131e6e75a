// Reading JSON that came from a file a user may have edited or a kill may
// have torn (a protection plan, a trial log, a results folder).
// nlohmann's j.value(key, fallback) throws its own type_error when the key
// holds another type, which escapes as a message that names no file (found
// by fuzz_trial_log); field_or returns the fallback instead, so the caller's
// check, which names the file, reports it.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace save {

template <class T>
T field_or(const nlohmann::json& j, std::string_view key, T fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

}  // namespace save
