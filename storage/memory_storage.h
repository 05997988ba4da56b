// MemoryStorage: a Storage that keeps everything in process memory, for tests and benchmarks
// (and the model that SqliteStorage is checked against). It follows the contract of
// storage/storage.h exactly, down to the details it inherits from SQLite: times are kept as
// double Unix seconds, a NaN trial value is stored as "no value", -0.0 as 0.0, and row ids count
// 1, 2, 3, ... per kind, as SQLite's rowids do. Nothing survives the object. Thread-safe: one mutex guards all state; every method is atomic.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hpo {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() = default;

  // The contract of each method is in storage/storage.h.
  StudyRecord create_study(const NewStudy& study) override;
  std::optional<StudyRecord> find_study(const std::string& name) override;
  std::vector<StudyRecord> list_studies() override;
  void update_study_spec(std::int64_t study_id, const nlohmann::json& spec,
                         const std::string& spec_dir) override;
  bool delete_study(std::int64_t study_id) override;

  std::optional<Trial> create_trial(std::int64_t study_id, const NewTrial& trial,
                                    std::optional<int> limit = std::nullopt) override;
  std::optional<Trial> claim_waiting_trial(std::int64_t study_id, const std::string& owner,
                                           std::optional<int> limit = std::nullopt) override;
  std::optional<Trial> adopt_trial(std::int64_t trial_id, const std::string& from_owner,
                                   const std::string& to_owner) override;
  bool set_trial_location(std::int64_t trial_id, const std::string& location) override;
  bool set_trial_launch(std::int64_t trial_id, const TrialLaunch& launch) override;
  bool set_trial_params(std::int64_t trial_id, const ParamSet& params) override;
  bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) override;
  using TrialJournal::finish_trial;
  bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::map<std::string, double>& metrics, const std::string& reason,
                    const TrialScores& scores) override;
  std::optional<Trial> fail_and_requeue(std::int64_t trial_id, const std::string& reason,
                                        const std::string& trial_dir_pattern) override;

  TrialCounts count_trials(std::int64_t study_id) override;
  std::vector<Trial> get_trials(std::int64_t study_id,
                                std::optional<TrialState> state = std::nullopt,
                                int from_number = 0,
                                TrialDetail detail = TrialDetail::kFull) override;
  std::optional<Trial> get_trial(std::int64_t trial_id) override;
  std::optional<Trial> find_trial(std::int64_t study_id, int number) override;
  std::vector<Trial> get_retries(std::int64_t study_id, int number) override;
  std::optional<std::int64_t> get_last_step(std::int64_t study_id, TrialState state) override;
  std::vector<std::pair<int, double>> get_step_values(std::int64_t study_id, std::int64_t step,
                                                      TrialState state, StepMatch match) override;
  std::vector<Trial> get_best_trials(std::int64_t study_id, Direction direction,
                                     std::optional<TrialState> state, int limit) override;

  void heartbeat(std::int64_t study_id, const RunRecord& run,
                 const std::vector<std::int64_t>& trial_ids) override;
  std::vector<RunRecord> list_runs(std::int64_t study_id) override;
  void end_run(std::int64_t study_id, const std::string& owner) override;

 private:
  StudyRecord* study_locked(std::int64_t study_id);
  Trial* trial_locked(std::int64_t trial_id);
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
  // Deleted studies, by id. As SQLite's rowids, a deleted row's id comes back only when no
  // higher one exists: deleted studies (and trials, whose study_of_trial_ becomes 0) at the end
  // of their vector are dropped, the others stay as tombstones that lookups treat as unknown.
  std::set<std::int64_t> deleted_studies_;  // GUARDED_BY(mu_)
};

}  // namespace hpo
