// MemoryStorage: a Storage that keeps everything in process memory, for tests and benchmarks
// (and the model that SqliteStorage is checked against). It follows SqliteStorage's semantics
// exactly, down to the details SQLite imposes: times are kept as double Unix seconds, a NaN
// trial value is stored as "no value", -0.0 as 0.0, parameters that SQLite could not store are
// refused with the same StorageError, and row ids count 1, 2, 3, ... per kind, as SQLite's rowids
// do. Nothing survives the object. Thread-safe: one mutex guards all state; every method is atomic.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hpo {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() = default;

  // See Storage for the contract of each method. Where Storage leaves it open:
  //   - create_trial / claim_waiting_trial set `started` and `heartbeat` of a RUNNING trial to
  //     now; create_trial throws StorageError for an unknown study or a state other than
  //     RUNNING or WAITING, and stores NewTrial::owner as given.
  //   - fail_and_requeue sets `finished` of the failed trial to now and keeps everything else
  //     of it (intermediate values, owner, attributes); the new trial has no owner, no
  //     attributes and no times. Its `reason` is stored as given.
  //   - heartbeat throws StorageError for an unknown study (and then changes nothing); a
  //     later heartbeat of the same run updates host, pid and heartbeat, never `started`
  //     (RunRecord::started and ::heartbeat passed in are ignored: the storage's clock rules).
  //     Trials of other studies among `trial_ids` are left alone.
  //   - list_runs orders runs that started at the same time by owner.
  //   - finish_trial throws StorageError when `state` is not a final state; a NaN value is
  //     stored as no value, and a value or intermediate value of -0.0 as 0.0.
  //   - set_*_user_attr throw StorageError for an unknown study or trial; attributes of a
  //     finished trial may still be set (they annotate, they are not results).
  StudyRecord create_study(const std::string& name, Direction direction, const std::string& metric,
                           const nlohmann::json& spec) override;
  std::optional<StudyRecord> find_study(const std::string& name) override;
  std::vector<StudyRecord> list_studies() override;

  Trial create_trial(std::int64_t study_id, const NewTrial& trial) override;
  std::optional<Trial> create_trial_within(std::int64_t study_id, const NewTrial& trial,
                                           int limit) override;
  std::optional<Trial> claim_waiting_trial(std::int64_t study_id, const std::string& owner,
                                           std::optional<int> limit = std::nullopt) override;
  std::optional<Trial> fail_and_requeue(std::int64_t trial_id, const std::string& reason,
                                        const std::string& trial_dir_pattern) override;

  bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) override;
  bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::map<std::string, double>& metrics,
                    const std::string& reason) override;
  void heartbeat(std::int64_t study_id, const RunRecord& run,
                 const std::vector<std::int64_t>& trial_ids) override;
  std::vector<RunRecord> list_runs(std::int64_t study_id) override;
  void end_run(std::int64_t study_id, const std::string& owner) override;
  TrialCounts count_trials(std::int64_t study_id) override;

  std::vector<Trial> get_trials(std::int64_t study_id,
                                std::optional<TrialState> state = std::nullopt) override;
  std::optional<Trial> get_trial(std::int64_t trial_id) override;

  void set_study_user_attr(std::int64_t study_id, const std::string& key,
                           const std::string& value) override;
  void set_trial_user_attr(std::int64_t trial_id, const std::string& key,
                           const std::string& value) override;

 private:
  StudyRecord* study_locked(std::int64_t study_id);
  Trial* trial_locked(std::int64_t trial_id);
  // REQUIRES: mu_ held.
  Trial create_trial_locked(std::int64_t study_id, const NewTrial& trial);
  int count_locked(std::int64_t study_id, bool with_running, bool with_waiting) const;

  std::mutex mu_;
  // Studies by id - 1 and trials by id - 1: ids are dense and never reused.
  std::vector<StudyRecord> studies_;          // GUARDED_BY(mu_)
  std::vector<Trial> trials_;                 // GUARDED_BY(mu_)
  std::vector<std::int64_t> study_of_trial_;  // GUARDED_BY(mu_); by trial id - 1
  // Trial ids of each study, in number order (index = number).
  std::map<std::int64_t, std::vector<std::int64_t>> trials_by_study_;  // GUARDED_BY(mu_)
  // Runs of each study by owner.
  std::map<std::int64_t, std::map<std::string, RunRecord>> runs_by_study_;  // GUARDED_BY(mu_)
};

}  // namespace hpo
