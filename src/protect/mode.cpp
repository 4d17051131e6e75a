#include "protect/mode.hpp"

namespace save::protect {

std::vector<Tensor> run_protected(Protection& p, Session& session,
                                  const std::vector<Tensor>& inputs, size_t& prepared) {
  session.plan_for(inputs);
  if (session.plans().size() != prepared) {
    p.prepare(session);
    prepared = session.plans().size();
  }
  ScopedHooks hooked(session, p.hooks());
  return session.run(inputs);
}

}  // namespace save::protect
