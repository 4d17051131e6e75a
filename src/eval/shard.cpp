#include "eval/shard.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/json_read.hpp"
#include "eval/files.hpp"
#include "eval/trial_log.hpp"

namespace save::eval {

namespace {

namespace fs = std::filesystem;

fs::path ranks_dir(const std::string& dir) {
  return fs::path(dir) / "ranks";
}

fs::path rank_dir(const std::string& dir, int rank) {
  return ranks_dir(dir) / ("rank-" + std::to_string(rank));
}

// The context id DIR's campaign.json records ("" when there is none).
std::string context_id_of(const std::string& dir) {
  std::string text = read_file_or_empty((fs::path(dir) / "campaign.json").string());
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  return field_or(j, "context_id", std::string());
}

// Folds every rank folder's trial log into DIR/trials.jsonl (records DIR
// lacks, by key), then removes DIR/ranks/. A kill between the two leaves
// records that are in both: the next fold skips them by key.
void fold_rank_logs(const std::string& dir) {
  std::error_code ec;
  fs::path rd = ranks_dir(dir);
  if (!fs::is_directory(rd, ec)) return;
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(rd))
    if (fs::is_regular_file(e.path() / "trials.jsonl", ec))
      logs.push_back(e.path() / "trials.jsonl");
  std::sort(logs.begin(), logs.end());
  if (!logs.empty()) {
    std::string ctx = context_id_of(dir);
    SAVE_CHECK(!ctx.empty(),
               "{} holds rank logs of a distributed run but no campaign.json to check them "
               "against; remove {} or use another --out folder",
               dir, rd.string());
    TrialLog main((fs::path(dir) / "trials.jsonl").string(), ctx);
    for (const fs::path& p : logs) {
      TrialLog part(p.string(), ctx);  // refuses another campaign's records
      for (const TrialResult& r : part.records())
        if (!main.has(r.key())) main.append(r);
    }
  }
  fs::remove_all(rd, ec);
  SAVE_CHECK(!ec, "cannot remove '{}': {}", rd.string(), ec.message());
}

// The cached golden answers (golden-*) of DIR, copied into a rank folder so
// no rank recomputes them.
void copy_golden(const std::string& dir, const fs::path& to) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.rfind("golden-", 0) == 0)
      write_file_atomic((to / name).string(), read_file_or_empty(e.path().string()));
  }
}

}  // namespace

std::string leader_first(Shard& shard, const std::function<std::string()>& fn) {
  // The leader's message: "E<error>" or "O<text>".
  if (shard.leader()) {
    std::string text;
    try {
      text = fn();
    } catch (const Error& e) {
      shard.broadcast(std::string("E") + e.what());
      throw CollectiveError(e.what());
    }
    shard.broadcast("O" + text);
    return text;
  }
  std::string msg = shard.broadcast("");
  if (!msg.empty() && msg[0] == 'E') throw CollectiveError(msg.substr(1));
  fn();
  return msg.substr(1);
}

CampaignOutcome run_campaign_sharded(const CampaignSpec& spec, Session& session,
                                     const Dataset& data, Shard& shard) {
  if (shard.size() <= 1) return run_campaign(spec, session, data);
  // Step 1 (leader): fold leftovers, claim DIR, golden, the to-do list.
  CampaignOutcome first;
  std::string todo_text = leader_first(shard, [&]() -> std::string {
    if (!shard.leader()) return "";
    ensure_dir(spec.out_dir);
    fold_rank_logs(spec.out_dir);
    CampaignSpec s = spec;
    s.max_new_trials = 0;
    s.progress = nullptr;
    s.shared_progress = nullptr;
    first = run_campaign(s, session, data);
    for (int r = 0; r < shard.size(); ++r) {
      ensure_dir(rank_dir(spec.out_dir, r).string());
      copy_golden(spec.out_dir, rank_dir(spec.out_dir, r));
    }
    return nlohmann::json(first.todo).dump();
  });

  // Step 2 (every rank): its share, into its own folder.
  auto todo = nlohmann::json::parse(todo_text).get<std::vector<std::pair<int64_t, int64_t>>>();
  std::set<std::pair<int64_t, int64_t>> share;
  for (size_t i = 0; i < todo.size(); ++i)
    if (shard.owns(i)) share.insert(todo[i]);
  CampaignOutcome mine;
  mine.complete = true;
  if (!share.empty()) {
    CampaignSpec s = spec;
    s.out_dir = rank_dir(spec.out_dir, shard.rank()).string();
    s.only = &share;
    if (!shard.leader()) s.progress = nullptr;
    mine = run_campaign(s, session, data);
  }
  int64_t ran = shard.sum(mine.ran);  // also: every rank is done
  if (!shard.leader()) return mine;

  // Step 3 (leader): one log, the one-process files.
  fold_rank_logs(spec.out_dir);
  CampaignSpec s = spec;
  s.max_new_trials = 0;
  s.progress = nullptr;
  s.shared_progress = nullptr;
  CampaignOutcome out = run_campaign(s, session, data);
  out.ran = ran;
  out.skipped = first.skipped;
  return out;
}

}  // namespace save::eval
