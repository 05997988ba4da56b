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
  //     RUNNING or WAITING.
  //   - finish_trial throws StorageError when `state` is not a final state; a NaN value is
  //     stored as no value, and a value or intermediate value of -0.0 as 0.0.
  //   - set_*_user_attr throw StorageError for an unknown study or trial; attributes of a
  //     finished trial may still be set (they annotate, they are not results).
  StudyRecord create_study(const std::string& name, Direction direction, const std::string& metric,
                           const nlohmann::json& spec) override;
  std::optional<StudyRecord> find_study(const std::string& name) override;
  std::vector<StudyRecord> list_studies() override;

  Trial create_trial(std::int64_t study_id, const NewTrial& trial) override;
  std::optional<Trial> claim_waiting_trial(std::int64_t study_id) override;

  bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) override;
  bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::map<std::string, double>& metrics,
                    const std::string& reason) override;
  void heartbeat(const std::vector<std::int64_t>& trial_ids) override;

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

  std::mutex mu_;
  // Studies by id - 1 and trials by id - 1: ids are dense and never reused.
  std::vector<StudyRecord> studies_;  // GUARDED_BY(mu_)
  std::vector<Trial> trials_;         // GUARDED_BY(mu_)
  // Trial ids of each study, in number order (index = number).
  std::map<std::int64_t, std::vector<std::int64_t>> trials_by_study_;  // GUARDED_BY(mu_)
};

}  // namespace hpo
