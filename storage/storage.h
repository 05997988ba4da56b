// Storage: where studies, their trials and the leases of the runs working on them live.
// SqliteStorage (default, a file) and MemoryStorage (tests, benchmarks) implement it; the same
// contract suite (tests/storage/storage_contract_test.cpp) and a model-based test hold both to
// every word below. Storage is the union of four small interfaces, so that a part of hpo can
// say which one it needs: StudyCatalog (studies), TrialJournal (the life of trials),
// TrialQueries (reading trials) and LeaseStore (runs and their heartbeats).
//
// Contract of every method of all four:
//   - Thread-safe: any method may be called from any thread; each mutation is atomic (one
//     transaction) and durable when it returns (SQLite: committed). Several processes may share
//     one SQLite file; they see each other's committed changes.
//   - Returned values are snapshots and never change afterwards.
//   - Trial numbers are dense per study (0, 1, 2, ...) and unique, also across processes.
//   - Times come from the storage's clock (Unix seconds, as doubles): a time passed in is
//     ignored where the storage sets one. What a method returns equals what a later read
//     returns.
//   - A finished trial (COMPLETE, PRUNED, FAIL) is immutable: every method that would change
//     its state, value or metrics returns false / nullopt and changes nothing.
//   - A NaN value is stored as no value, a value of -0.0 as 0.0 (SQLite's REAL semantics);
//     intermediate values keep NaN. Parameters that JSON cannot hold (a non-finite double,
//     invalid UTF-8) are refused with StorageError(kMismatch).
//   - Failures are StorageError with a backend-neutral StorageErrc (and the backend's own code
//     for diagnostics); an unknown study or trial passed to a mutation is kNotFound; "not
//     found" from a lookup is a value (nullopt, false, empty), never an exception.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/param_value.h"
#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

struct StudyRecord {
  std::int64_t id = 0;
  std::string name;
  Direction direction = Direction::kMinimize;
  std::string metric;
  // The spec the study continues with: the last one a run or the C++ API gave it (the study
  // is created with the first). One copy; `spec_dir` is the directory its relative paths
  // resolve against ("" when unknown).
  nlohmann::json spec;
  std::string spec_dir;
  // The seed every run of the study samples with when its spec names none: drawn once, when
  // the study was created.
  std::uint64_t sampler_seed = 0;
  TimePoint created;
  // Annotations of files written by an hpo before version 3 of the schema; nothing writes
  // them any more.
  std::map<std::string, std::string> user_attrs;
};

// What a new study starts as.
struct NewStudy {
  std::string name;
  Direction direction = Direction::kMinimize;
  std::string metric;
  nlohmann::json spec;
  std::string spec_dir;
  std::uint64_t sampler_seed = 0;
};

// What a new trial starts as.
struct NewTrial {
  TrialState state = TrialState::kRunning;  // kRunning (started now) or kWaiting (enqueued)
  // The parameters, unless `sample` is set.
  ParamSet params;
  // When set, chooses the parameters inside the transaction that creates the trial, knowing
  // the number the trial gets and every trial of the study numbered `known_trials` or higher
  // (those created since the caller last looked, by any process): so that two processes
  // sampling at once never draw for the same number or miss each other's trials. Returning
  // nullopt creates nothing (create_trial returns nullopt). It must not call the storage.
  std::function<std::optional<ParamSet>(int number, const std::vector<Trial>& newer)> sample;
  int known_trials = 0;
  int attempt = 0;
  std::optional<int> retry_of;
  std::string trial_dir;  // may contain "{number}", replaced by the assigned number
  std::string owner;      // RUNNING: the run (RunRecord::owner) that runs it; WAITING: empty
};

// Number of trials of a study in each state.
struct TrialCounts {
  int waiting = 0;
  int running = 0;
  int complete = 0;
  int pruned = 0;
  int fail = 0;
  int total() const { return waiting + running + complete + pruned + fail; }
  friend bool operator==(const TrialCounts&, const TrialCounts&) = default;
};

// How much of each trial TrialQueries::get_trials reads.
enum class TrialDetail {
  kFull,  // everything (as get_trial)
  // What the study core and its sampler keep of a long history (opening or resuming a study
  // reads every trial): a finished trial (COMPLETE, PRUNED, FAIL) as keep_history_detail()
  // leaves it; WAITING and RUNNING trials whole.
  kHistory,
};

// The one rule for TrialDetail::kHistory, for a finished trial: its metrics, launch, user
// attributes and intermediate values are dropped, except a PRUNED trial's last intermediate
// value (samplers rank a pruned trial by how far it got and what it reported there). Everything
// else stays. WAITING and RUNNING trials are left whole.
inline void keep_history_detail(Trial& trial) {
  if (!is_finished(trial.state)) return;
  trial.metrics.clear();
  trial.launch.reset();
  trial.user_attrs.clear();
  if (trial.state == TrialState::kPruned && !trial.intermediate.empty()) {
    const auto last = *trial.intermediate.rbegin();
    trial.intermediate.clear();
    trial.intermediate.insert(last);
  } else {
    trial.intermediate.clear();
  }
}

// What a COMPLETE trial of a multi-objective or constrained study stores besides its value.
struct TrialScores {
  std::vector<double> values;       // one per objective (Trial::values)
  std::optional<double> violation;  // Trial::violation
};

// The studies of a storage.
class StudyCatalog {
 public:
  StudyCatalog() = default;
  virtual ~StudyCatalog() = default;
  StudyCatalog(const StudyCatalog&) = delete;
  StudyCatalog& operator=(const StudyCatalog&) = delete;

  // Creates a study and returns it as stored. Throws StorageError(kExists) when a study of
  // that name exists (another process may have created it a moment ago).
  virtual StudyRecord create_study(const NewStudy& study) = 0;
  // The study of that name; nullopt when there is none.
  virtual std::optional<StudyRecord> find_study(const std::string& name) = 0;
  // All studies, by id.
  virtual std::vector<StudyRecord> list_studies() = 0;
  // Replaces the spec the study continues with (and its directory). Its name, direction,
  // metric and seed stay. Throws StorageError(kNotFound) for an unknown study.
  virtual void update_study_spec(std::int64_t study_id, const nlohmann::json& spec,
                                 const std::string& spec_dir) = 0;
  // Removes the study and everything of it (its trials with their intermediate values and
  // attributes, its attributes, its runs' leases) in one transaction (`hpo delete`). Returns
  // false, and changes nothing, when there is no such study. Its name is free again at once.
  virtual bool delete_study(std::int64_t study_id) = 0;
};

// The life of trials: created, claimed, started somewhere, reported on, finished.
class TrialJournal {
 public:
  TrialJournal() = default;
  virtual ~TrialJournal() = default;
  TrialJournal(const TrialJournal&) = delete;
  TrialJournal& operator=(const TrialJournal&) = delete;

  // Adds a trial with the next number of the study and returns it as stored (id, number;
  // `started` and `heartbeat` are now for a RUNNING trial). With `limit`, only while the
  // study's COMPLETE + PRUNED + RUNNING + WAITING trials number fewer than it, checked in the
  // same transaction (so that processes sharing a study never start more trials than its
  // budget). nullopt when the limit is reached or `sample` chose nothing. Throws
  // StorageError(kNotFound) for an unknown study, kMisuse for a state other than RUNNING or
  // WAITING.
  virtual std::optional<Trial> create_trial(std::int64_t study_id, const NewTrial& trial,
                                            std::optional<int> limit = std::nullopt) = 0;
  // Atomically turns the oldest WAITING trial of the study into RUNNING (started and
  // heartbeat now), owned by `owner`, and returns it; nullopt when none is waiting (or another
  // process claimed it first), or when `limit` is set and COMPLETE + PRUNED + RUNNING trials
  // already number `limit` or more (checked in the same transaction). Cheap when nothing is
  // waiting: no write transaction.
  virtual std::optional<Trial> claim_waiting_trial(std::int64_t study_id,
                                                   const std::string& owner,
                                                   std::optional<int> limit = std::nullopt) = 0;
  // Hands a RUNNING trial from `from_owner` (a run found dead) to `to_owner`, with a fresh
  // heartbeat, and returns it; nullopt (and nothing changes) when it is not RUNNING or
  // another run took it first. Of several runs recovering the same trial, one wins.
  virtual std::optional<Trial> adopt_trial(std::int64_t trial_id, const std::string& from_owner,
                                           const std::string& to_owner) = 0;
  // Records where a RUNNING trial runs (what its executor's on_started said: a process group,
  // a Job), for a later run's recovery. Returns false (and changes nothing) when the trial is
  // not RUNNING.
  virtual bool set_trial_location(std::int64_t trial_id, const std::string& location) = 0;
  // Records what was started for a RUNNING trial (argv, working directory, the environment
  // hpo added; secrets already redacted by the caller), shown by `hpo show`; a later call
  // replaces it. Returns false (and changes nothing) when the trial is not RUNNING. Throws
  // StorageError(kMismatch) for a string that is not valid UTF-8.
  virtual bool set_trial_launch(std::int64_t trial_id, const TrialLaunch& launch) = 0;
  // Replaces the parameters of a RUNNING trial: an enqueued partial set, completed by the
  // sampler when the trial is claimed. Returns false (and changes nothing) when the trial is not
  // RUNNING. Refuses what JSON cannot hold as create_trial does.
  virtual bool set_trial_params(std::int64_t trial_id, const ParamSet& params) = 0;
  // Records the objective metric's value at `step` (the last write for a step wins). Returns
  // false (and changes nothing) when the trial is not RUNNING.
  virtual bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) = 0;
  // Finishes a RUNNING or WAITING trial as `state` (COMPLETE, PRUNED or FAIL, else
  // StorageError(kMisuse)), finished = now, with `scores` (a multi-objective or constrained
  // study's COMPLETE trial: Trial::values and Trial::violation). Returns false (and changes
  // nothing) when the trial is already finished or unknown.
  virtual bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                            const std::map<std::string, double>& metrics,
                            const std::string& reason, const TrialScores& scores) = 0;
  // The same without scores (a single-objective study without constraints).
  bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::map<std::string, double>& metrics, const std::string& reason) {
    return finish_trial(trial_id, state, value, metrics, reason, TrialScores{});
  }
  // In one transaction: a RUNNING trial becomes FAIL with `reason` (finished now; everything
  // else of it stays), and a new WAITING trial with the same parameters is added (attempt + 1,
  // retry_of = the original's retry_of or else its number, trial_dir = `trial_dir_pattern`
  // with {number} replaced; no owner, location or times). Returns the new trial; nullopt (and
  // nothing changes) when the trial is not RUNNING.
  virtual std::optional<Trial> fail_and_requeue(std::int64_t trial_id, const std::string& reason,
                                                const std::string& trial_dir_pattern) = 0;
};

// Reading trials.
class TrialQueries {
 public:
  TrialQueries() = default;
  virtual ~TrialQueries() = default;
  TrialQueries(const TrialQueries&) = delete;
  TrialQueries& operator=(const TrialQueries&) = delete;

  // Trial counts by state; cheap (no trial rows are read). All zero for an unknown study.
  virtual TrialCounts count_trials(std::int64_t study_id) = 0;
  // Trials of a study in number order (with their intermediate values), optionally only those
  // in `state`, optionally only those numbered `from_number` or higher; with `detail`
  // kHistory, the finished ones as keep_history_detail() leaves them, read without their
  // metrics, launch and intermediate values (a PRUNED trial's last one is one index seek).
  virtual std::vector<Trial> get_trials(std::int64_t study_id,
                                        std::optional<TrialState> state = std::nullopt,
                                        int from_number = 0,
                                        TrialDetail detail = TrialDetail::kFull) = 0;
  // One trial; nullopt when unknown.
  virtual std::optional<Trial> get_trial(std::int64_t trial_id) = 0;
  // The trial of the study numbered `number`, as get_trial returns it; nullopt when there is
  // none. Bounded: one index lookup, whatever the size of the study (`hpo show STUDY N`).
  virtual std::optional<Trial> find_trial(std::int64_t study_id, int number) = 0;
  // The values the study's trials in `state` reported for `step` (report_for_step: at exactly
  // `step`, or their first report at or after it): (number, value) in number order, NaN kept,
  // trials without such a report left out. Bounded: one index seek per trial in `state` (never
  // a read of the study's intermediate values as a whole), for pruners that ask about one step.
  virtual std::vector<std::pair<int, double>> get_step_values(
      std::int64_t study_id, std::int64_t step, TrialState state,
      StepMatch match) = 0;
  // The latest step any trial of the study in `state` reported; nullopt when none reported.
  // Bounded: one index seek per trial in `state` (ASHA's and Hyperband's "auto" resources).
  virtual std::optional<std::int64_t> get_last_step(std::int64_t study_id, TrialState state) = 0;
  // The trials of the study that re-ran trial `number` (retry_of == number), in number order,
  // as get_trial returns them. Bounded: the cost follows their count, not the study's size.
  virtual std::vector<Trial> get_retries(std::int64_t study_id, int number) = 0;
  // The trials of a study holding a value, optionally only those in `state`, best first in
  // `direction` (the lowest number first among equal values), at most `limit` of them (none
  // for limit <= 0), with their intermediate values. Bounded: the cost follows `limit`, not
  // the size of the study (`hpo best`, `hpo status`, `hpo trials --sort value --limit N`).
  // With state COMPLETE and limit 1, the one best trial of best_trial() (include/hpo/trial.h).
  virtual std::vector<Trial> get_best_trials(std::int64_t study_id, Direction direction,
                                             std::optional<TrialState> state, int limit) = 0;
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

// The leases of the runs working on a study.
class LeaseStore {
 public:
  LeaseStore() = default;
  virtual ~LeaseStore() = default;
  LeaseStore(const LeaseStore&) = delete;
  LeaseStore& operator=(const LeaseStore&) = delete;

  // Records that `run` is alive now (inserting it on the first call, started = now; later
  // calls update host, pid and heartbeat, never started), and sets heartbeat = now on those of
  // `trial_ids` that are RUNNING trials of the study (others are left alone). One
  // transaction. Throws StorageError(kNotFound) for an unknown study, and then changes nothing.
  virtual void heartbeat(std::int64_t study_id, const RunRecord& run,
                         const std::vector<std::int64_t>& trial_ids) = 0;
  // The runs registered on a study (live or dead), by start time, then owner.
  virtual std::vector<RunRecord> list_runs(std::int64_t study_id) = 0;
  // Removes a run's lease (a clean exit, or a dead run recovered). No-op when absent.
  virtual void end_run(std::int64_t study_id, const std::string& owner) = 0;
};

// Everything a run needs. Implementations: SqliteStorage, MemoryStorage.
class Storage : public StudyCatalog,
                public TrialJournal,
                public TrialQueries,
                public LeaseStore {};

}  // namespace hpo
