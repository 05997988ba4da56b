// Storage: where studies and their trials live. SqliteStorage (default, a file) and
// MemoryStorage (tests, benchmarks) implement it.
//
// Contract (tests/storage runs the same cases on every implementation):
//   - Thread-safe: any method may be called from any thread; each mutation is atomic (one
//     transaction) and durable when it returns (SQLite: committed).
//   - Returned values are snapshots and never change afterwards.
//   - Trial numbers are dense per study (0, 1, 2, ...) and unique, also when several
//     processes share one SQLite file.
//   - A finished trial (COMPLETE, PRUNED, FAIL) is immutable: finish_trial on it returns false
//     and changes nothing.
//   - Failures are StorageError (SQLite code + message); "not found" is a value (nullopt or
//     false), never an exception.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/param_value.h"
#include "engine/model/trial.h"
#include "engine/model/trial_state.h"

namespace hpo {

struct StudyRecord {
  std::int64_t id = 0;
  std::string name;
  Direction direction = Direction::kMinimize;
  std::string metric;
  nlohmann::json spec;  // the spec document the study was created with
  TimePoint created;
  std::map<std::string, std::string> user_attrs;
};

// What a new trial starts as.
struct NewTrial {
  TrialState state = TrialState::kRunning;  // kRunning (started now) or kWaiting (enqueued)
  ParamSet params;
  int attempt = 0;
  std::optional<int> retry_of;
  std::string trial_dir;  // may contain "{number}", replaced by the assigned number
  std::string owner;      // RUNNING: the run (RunRecord::owner) that runs it; WAITING: empty
};

// One `hpo run` process working on a study (its lease). A run heartbeats itself and its
// RUNNING trials; a run whose heartbeat is older than a grace period, or whose process is
// gone, is dead, and its RUNNING trials were interrupted.
struct RunRecord {
  std::string owner;  // unique id of the run, e.g. "host:pid:random"
  std::string host;   // hostname of the process
  int pid = 0;        // process id on that host
  TimePoint started;
  TimePoint heartbeat;
};

// Number of trials of a study in each state.
struct TrialCounts {
  int waiting = 0;
  int running = 0;
  int complete = 0;
  int pruned = 0;
  int fail = 0;
  int total() const { return waiting + running + complete + pruned + fail; }
};

class Storage {
 public:
  Storage() = default;
  virtual ~Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Creates a study. Throws StorageError when a study of that name exists.
  virtual StudyRecord create_study(const std::string& name, Direction direction,
                                   const std::string& metric, const nlohmann::json& spec) = 0;
  // The study of that name; nullopt when there is none.
  virtual std::optional<StudyRecord> find_study(const std::string& name) = 0;
  // All studies, by id.
  virtual std::vector<StudyRecord> list_studies() = 0;

  // Adds a trial with the next number of the study and returns it as stored (id, number,
  // started time for RUNNING).
  virtual Trial create_trial(std::int64_t study_id, const NewTrial& trial) = 0;
  // As create_trial, but only while the study's COMPLETE + PRUNED + RUNNING + WAITING trials
  // number fewer than `limit`, checked in the same transaction (so that several processes
  // sharing a study never start more trials than its budget); nullopt otherwise.
  virtual std::optional<Trial> create_trial_within(std::int64_t study_id, const NewTrial& trial,
                                                   int limit) = 0;
  // Atomically turns the oldest WAITING trial of the study into RUNNING, owned by `owner`,
  // and returns it; nullopt when none is waiting (or another process claimed it first), or
  // when `limit` is set and COMPLETE + PRUNED + RUNNING trials already number `limit` or
  // more (checked in the same transaction). Cheap when nothing is waiting (no write
  // transaction).
  virtual std::optional<Trial> claim_waiting_trial(std::int64_t study_id, const std::string& owner,
                                                   std::optional<int> limit = std::nullopt) = 0;
  // In one transaction: a RUNNING trial becomes FAIL with `reason`, and a new WAITING trial
  // with the same parameters is added (attempt + 1, retry_of = the original's retry_of or
  // number, trial_dir = `trial_dir_pattern` with {number} replaced). Returns the new trial;
  // nullopt (and nothing changes) when the trial is not RUNNING (someone else got there
  // first, or it finished).
  virtual std::optional<Trial> fail_and_requeue(std::int64_t trial_id, const std::string& reason,
                                                const std::string& trial_dir_pattern) = 0;

  // Records the objective metric's value at `step` (the last write for a step wins).
  // Returns false (and changes nothing) when the trial is not RUNNING.
  virtual bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) = 0;
  // Finishes a RUNNING or WAITING trial. REQUIRES: state is COMPLETE, PRUNED or FAIL.
  // Returns false (and changes nothing) when the trial is already finished or unknown.
  virtual bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                            const std::map<std::string, double>& metrics,
                            const std::string& reason) = 0;
  // Records that `run` is alive now (inserting its RunRecord on first call, `started` = now)
  // and sets heartbeat = now on those of `trial_ids` that are RUNNING. One transaction.
  virtual void heartbeat(std::int64_t study_id, const RunRecord& run,
                         const std::vector<std::int64_t>& trial_ids) = 0;
  // The runs registered on a study (live or dead), by start time.
  virtual std::vector<RunRecord> list_runs(std::int64_t study_id) = 0;
  // Removes a run's record (clean exit). No-op when absent.
  virtual void end_run(std::int64_t study_id, const std::string& owner) = 0;
  // Trial counts by state; a cheap query (no trial rows are read).
  virtual TrialCounts count_trials(std::int64_t study_id) = 0;

  // Trials of a study in number order, optionally only those in `state`.
  virtual std::vector<Trial> get_trials(std::int64_t study_id,
                                        std::optional<TrialState> state = std::nullopt) = 0;
  virtual std::optional<Trial> get_trial(std::int64_t trial_id) = 0;

  virtual void set_study_user_attr(std::int64_t study_id, const std::string& key,
                                   const std::string& value) = 0;
  virtual void set_trial_user_attr(std::int64_t trial_id, const std::string& key,
                                   const std::string& value) = 0;
};

}  // namespace hpo
