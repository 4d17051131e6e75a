// What a protection mode may know of the fault injection: whether any flip
// has landed in the current trial. A detection before the first flip is a
// false alarm. Implemented by the injector (inject/injector.hpp); modes see
// only this, not the injector.
#pragma once

namespace save {

class FaultStatus {
 public:
  virtual ~FaultStatus() = default;
  virtual bool any_flip_applied() const = 0;
};

}  // namespace save
