#include "protect/report_json.hpp"

namespace save::protect {

nlohmann::json to_json(const ProtectionCounts& c) {
  return {{"detections", c.detections},
          {"false_alarms", c.false_alarms},
          {"recoveries", c.recoveries},
          {"uncorrectable", c.uncorrectable},
          {"restarts", c.restarts},
          {"reexecuted_steps", c.reexecuted_steps},
          {"corrections", c.corrections},
          {"check_ms", c.check_ms},
          {"check_split_ms",
           {{"write", c.write_check_ms},
            {"read", c.read_check_ms},
            {"weights", c.weight_check_ms},
            {"recovery", c.recovery_ms}}},
          {"reliable_bytes", c.reliable_bytes},
          {"detections_by_site", c.by_site}};
}

nlohmann::json to_json(const RunReport& r) {
  nlohmann::json j = to_json(r.counts);
  nlohmann::json sites = nlohmann::json::array();
  for (const Uncorrectable& u : r.uncorrectable)
    sites.push_back({{"node", u.node}, {"value", u.value}, {"check", u.check}});
  j["uncorrectable_sites"] = sites;
  j["inputs_outside_constraint"] = r.inputs_outside_constraint;
  j["checked_values"] = r.checked_values;
  j["range_only_values"] = r.range_only_values;
  j["placed_values"] = r.placed_values;
  return j;
}

}  // namespace save::protect
