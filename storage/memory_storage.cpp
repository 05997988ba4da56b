#include "storage/memory_storage.h"

#include <algorithm>

#include "storage/storage_common.h"

namespace hpo {

namespace common = storage_common;

StudyRecord* MemoryStorage::study_locked(std::int64_t study_id) {
  if (study_id < 1 || study_id > static_cast<std::int64_t>(studies_.size())) return nullptr;
  if (deleted_studies_.count(study_id)) return nullptr;
  return &studies_[static_cast<std::size_t>(study_id - 1)];
}

Trial* MemoryStorage::trial_locked(std::int64_t trial_id) {
  if (trial_id < 1 || trial_id > static_cast<std::int64_t>(trials_.size())) return nullptr;
  if (study_of_trial_[static_cast<std::size_t>(trial_id - 1)] == 0) return nullptr;  // deleted
  return &trials_[static_cast<std::size_t>(trial_id - 1)];
}

StudyRecord MemoryStorage::create_study(const NewStudy& study) {
  StudyRecord created = common::record_of(study);
  std::lock_guard lock(mu_);
  const bool exists = std::any_of(studies_.begin(), studies_.end(), [&](const StudyRecord& s) {
    return s.name == study.name && !deleted_studies_.count(s.id);
  });
  if (exists) common::throw_duplicate_study(study.name);
  created.id = static_cast<std::int64_t>(studies_.size()) + 1;
  created.created = from_unix_seconds(common::now_seconds());
  studies_.push_back(created);
  trials_by_study_[created.id];
  return created;
}

void MemoryStorage::update_study_spec(std::int64_t study_id, const nlohmann::json& spec,
                                      const std::string& spec_dir) {
  nlohmann::json stored_spec = common::decode_spec(common::encode_spec(spec));
  std::lock_guard lock(mu_);
  StudyRecord* study = study_locked(study_id);
  if (study == nullptr) common::throw_no_study(study_id);
  study->spec = std::move(stored_spec);
  study->spec_dir = spec_dir;
}

std::optional<StudyRecord> MemoryStorage::find_study(const std::string& name) {
  std::lock_guard lock(mu_);
  for (const auto& study : studies_)
    if (study.name == name && !deleted_studies_.count(study.id)) return study;
  return std::nullopt;
}

std::vector<StudyRecord> MemoryStorage::list_studies() {
  std::lock_guard lock(mu_);
  std::vector<StudyRecord> out;
  for (const auto& study : studies_)
    if (!deleted_studies_.count(study.id)) out.push_back(study);
  return out;
}

bool MemoryStorage::delete_study(std::int64_t study_id) {
  std::lock_guard lock(mu_);
  if (study_locked(study_id) == nullptr) return false;
  for (std::int64_t id : trials_by_study_[study_id])
    study_of_trial_[static_cast<std::size_t>(id - 1)] = 0;
  trials_by_study_.erase(study_id);
  runs_by_study_.erase(study_id);
  deleted_studies_.insert(study_id);
  // SQLite numbers a new row max(rowid) + 1: trailing deleted ids are given again.
  while (!study_of_trial_.empty() && study_of_trial_.back() == 0) {
    study_of_trial_.pop_back();
    trials_.pop_back();
  }
  while (!studies_.empty() && deleted_studies_.count(studies_.back().id)) {
    deleted_studies_.erase(studies_.back().id);
    studies_.pop_back();
  }
  return true;
}

int MemoryStorage::count_locked(std::int64_t study_id, bool with_running,
                                bool with_waiting) const {
  auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return 0;
  int n = 0;
  for (std::int64_t id : it->second) {
    const TrialState s = trials_[static_cast<std::size_t>(id - 1)].state;
    if (s == TrialState::kComplete || s == TrialState::kPruned ||
        (with_running && s == TrialState::kRunning) || (with_waiting && s == TrialState::kWaiting))
      ++n;
  }
  return n;
}

std::optional<Trial> MemoryStorage::create_trial(std::int64_t study_id, const NewTrial& trial,
                                                 std::optional<int> limit) {
  common::check_new_trial_state(trial.state);
  if (!trial.sample) common::encode_params(trial.params);  // refuses what SQLite could not store
  std::lock_guard lock(mu_);
  if (limit && count_locked(study_id, true, true) >= *limit) return std::nullopt;
  if (study_locked(study_id) == nullptr) common::throw_no_study(study_id);
  auto& numbers = trials_by_study_[study_id];
  Trial t;
  t.number = static_cast<int>(numbers.size());
  if (trial.sample) {
    std::vector<Trial> newer;
    for (std::size_t n = static_cast<std::size_t>(std::max(trial.known_trials, 0));
         n < numbers.size(); ++n)
      newer.push_back(*trial_locked(numbers[n]));
    std::optional<ParamSet> chosen = trial.sample(t.number, newer);
    if (!chosen) return std::nullopt;
    common::encode_params(*chosen);
    t.params = std::move(*chosen);
  } else {
    t.params = trial.params;
  }
  t.id = static_cast<std::int64_t>(trials_.size()) + 1;
  t.state = trial.state;
  if (trial.state == TrialState::kRunning) {
    t.started = from_unix_seconds(common::now_seconds());
    t.heartbeat = t.started;
  }
  t.attempt = trial.attempt;
  t.retry_of = trial.retry_of;
  t.trial_dir = common::substitute_number(trial.trial_dir, t.number);
  t.owner = trial.owner;
  trials_.push_back(t);
  study_of_trial_.push_back(study_id);
  numbers.push_back(t.id);
  return t;
}

std::optional<Trial> MemoryStorage::claim_waiting_trial(std::int64_t study_id,
                                                        const std::string& owner,
                                                        std::optional<int> limit) {
  std::lock_guard lock(mu_);
  if (limit && count_locked(study_id, true, false) >= *limit) return std::nullopt;
  auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return std::nullopt;
  for (std::int64_t id : it->second) {
    Trial& t = *trial_locked(id);
    if (t.state != TrialState::kWaiting) continue;
    t.state = TrialState::kRunning;
    t.started = from_unix_seconds(common::now_seconds());
    t.heartbeat = t.started;
    t.owner = owner;
    return t;
  }
  return std::nullopt;
}

std::optional<Trial> MemoryStorage::adopt_trial(std::int64_t trial_id,
                                                const std::string& from_owner,
                                                const std::string& to_owner) {
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning || t->owner != from_owner)
    return std::nullopt;
  t->owner = to_owner;
  t->heartbeat = from_unix_seconds(common::now_seconds());
  return *t;
}

bool MemoryStorage::set_trial_location(std::int64_t trial_id, const std::string& location) {
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning) return false;
  t->location = location;
  return true;
}

bool MemoryStorage::set_trial_launch(std::int64_t trial_id, const TrialLaunch& launch) {
  // Through the stored form, as SQLite keeps it (and refusing what it refuses).
  const std::string text = common::encode_launch(launch);
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning) return false;
  t->launch = common::decode_launch(text);
  return true;
}

bool MemoryStorage::set_trial_params(std::int64_t trial_id, const ParamSet& params) {
  common::encode_params(params);  // refuses what SQLite could not store
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning) return false;
  t->params = params;
  return true;
}

std::optional<Trial> MemoryStorage::fail_and_requeue(std::int64_t trial_id,
                                                     const std::string& reason,
                                                     const std::string& trial_dir_pattern) {
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning) return std::nullopt;
  t->state = TrialState::kFail;
  t->reason = reason;
  t->finished = from_unix_seconds(common::now_seconds());
  const std::int64_t study_id = study_of_trial_[static_cast<std::size_t>(trial_id - 1)];
  auto& numbers = trials_by_study_.at(study_id);
  Trial r;
  r.id = static_cast<std::int64_t>(trials_.size()) + 1;
  r.number = static_cast<int>(numbers.size());
  r.state = TrialState::kWaiting;
  r.params = t->params;
  r.attempt = t->attempt + 1;
  r.retry_of = t->retry_of ? *t->retry_of : t->number;
  r.trial_dir = common::substitute_number(trial_dir_pattern, r.number);
  trials_.push_back(r);  // invalidates t
  study_of_trial_.push_back(study_id);
  numbers.push_back(r.id);
  return r;
}

bool MemoryStorage::report_intermediate(std::int64_t trial_id, std::int64_t step, double value) {
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || t->state != TrialState::kRunning) return false;
  t->intermediate[step] = common::stored_intermediate(value);
  return true;
}

bool MemoryStorage::finish_trial(std::int64_t trial_id, TrialState state,
                                 std::optional<double> value,
                                 const std::map<std::string, double>& metrics,
                                 const std::string& reason, const TrialScores& scores) {
  common::check_final_state(state);
  std::lock_guard lock(mu_);
  Trial* t = trial_locked(trial_id);
  if (t == nullptr || is_finished(t->state)) return false;
  t->state = state;
  t->value = common::stored_value(value);
  t->metrics = metrics;
  t->values = scores.values;
  t->violation = scores.violation;
  t->reason = reason;
  t->finished = from_unix_seconds(common::now_seconds());
  return true;
}

void MemoryStorage::heartbeat(std::int64_t study_id, const RunRecord& run,
                              const std::vector<std::int64_t>& trial_ids) {
  std::lock_guard lock(mu_);
  if (study_locked(study_id) == nullptr) common::throw_no_study(study_id);
  const auto now = from_unix_seconds(common::now_seconds());
  auto [it, inserted] = runs_by_study_[study_id].try_emplace(run.owner);
  RunRecord& stored = it->second;
  stored.owner = run.owner;
  stored.host = run.host;
  stored.pid = run.pid;
  if (inserted) stored.started = now;
  stored.heartbeat = now;
  for (std::int64_t id : trial_ids) {
    Trial* t = trial_locked(id);
    if (t == nullptr || t->state != TrialState::kRunning) continue;
    if (study_of_trial_[static_cast<std::size_t>(id - 1)] != study_id) continue;
    t->heartbeat = now;
  }
}

std::vector<RunRecord> MemoryStorage::list_runs(std::int64_t study_id) {
  std::lock_guard lock(mu_);
  std::vector<RunRecord> out;
  auto it = runs_by_study_.find(study_id);
  if (it == runs_by_study_.end()) return out;
  for (const auto& [owner, run] : it->second) out.push_back(run);
  // Already by owner; a stable sort by start keeps that order among equal starts.
  std::stable_sort(out.begin(), out.end(),
                   [](const RunRecord& a, const RunRecord& b) { return a.started < b.started; });
  return out;
}

void MemoryStorage::end_run(std::int64_t study_id, const std::string& owner) {
  std::lock_guard lock(mu_);
  auto it = runs_by_study_.find(study_id);
  if (it != runs_by_study_.end()) it->second.erase(owner);
}

TrialCounts MemoryStorage::count_trials(std::int64_t study_id) {
  std::lock_guard lock(mu_);
  TrialCounts counts;
  auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return counts;
  for (std::int64_t id : it->second) {
    switch (trial_locked(id)->state) {
      case TrialState::kWaiting:
        ++counts.waiting;
        break;
      case TrialState::kRunning:
        ++counts.running;
        break;
      case TrialState::kComplete:
        ++counts.complete;
        break;
      case TrialState::kPruned:
        ++counts.pruned;
        break;
      case TrialState::kFail:
        ++counts.fail;
        break;
    }
  }
  return counts;
}

std::vector<Trial> MemoryStorage::get_trials(std::int64_t study_id,
                                             std::optional<TrialState> state, int from_number,
                                             TrialDetail detail) {
  std::lock_guard lock(mu_);
  std::vector<Trial> out;
  auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return out;
  for (std::size_t n = static_cast<std::size_t>(std::max(from_number, 0)); n < it->second.size();
       ++n) {
    const Trial& t = *trial_locked(it->second[n]);
    if (state && t.state != *state) continue;
    out.push_back(t);
    if (detail == TrialDetail::kHistory) keep_history_detail(out.back());
  }
  return out;
}

std::vector<Trial> MemoryStorage::get_best_trials(std::int64_t study_id, Direction direction,
                                                  std::optional<TrialState> state, int limit) {
  std::lock_guard lock(mu_);
  std::vector<const Trial*> found;
  auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end() || limit <= 0) return {};
  for (std::int64_t id : it->second) {
    const Trial* t = trial_locked(id);
    if (t->value && (!state || t->state == *state)) found.push_back(t);
  }
  const auto keep = std::min(found.size(), static_cast<std::size_t>(limit));
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end(),
                    [&](const Trial* a, const Trial* b) {
                      if (*a->value != *b->value) return is_better(direction, *a->value, *b->value);
                      return a->number < b->number;
                    });
  std::vector<Trial> out;
  out.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.push_back(*found[i]);
  return out;
}

std::optional<Trial> MemoryStorage::get_trial(std::int64_t trial_id) {
  std::lock_guard lock(mu_);
  const Trial* t = trial_locked(trial_id);
  if (t == nullptr) return std::nullopt;
  return *t;
}

std::optional<Trial> MemoryStorage::find_trial(std::int64_t study_id, int number) {
  std::lock_guard lock(mu_);
  const auto it = trials_by_study_.find(study_id);
  // Numbers are dense: a study's list of ids is indexed by number.
  if (it == trials_by_study_.end() || number < 0 ||
      static_cast<std::size_t>(number) >= it->second.size())
    return std::nullopt;
  return *trial_locked(it->second[static_cast<std::size_t>(number)]);
}

std::vector<std::pair<int, double>> MemoryStorage::get_step_values(std::int64_t study_id,
                                                                 std::int64_t step,
                                                                 TrialState state,
                                                                 StepMatch match) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<int, double>> out;
  const auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return out;
  for (std::int64_t id : it->second) {
    const Trial* t = trial_locked(id);
    if (t->state != state) continue;
    if (const auto v = report_for_step(*t, step, match)) out.emplace_back(t->number, v->value);
  }
  return out;
}

std::optional<std::int64_t> MemoryStorage::get_last_step(std::int64_t study_id, TrialState state) {
  std::lock_guard lock(mu_);
  std::optional<std::int64_t> last;
  const auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return last;
  for (std::int64_t id : it->second) {
    const Trial* t = trial_locked(id);
    if (t->state != state || t->intermediate.empty()) continue;
    last = std::max(last.value_or(t->intermediate.rbegin()->first), t->intermediate.rbegin()->first);
  }
  return last;
}

std::vector<Trial> MemoryStorage::get_retries(std::int64_t study_id, int number) {
  std::lock_guard lock(mu_);
  std::vector<Trial> out;
  const auto it = trials_by_study_.find(study_id);
  if (it == trials_by_study_.end()) return out;
  for (std::int64_t id : it->second) {
    const Trial* t = trial_locked(id);
    if (t->retry_of == number) out.push_back(*t);
  }
  return out;
}

}  // namespace hpo
