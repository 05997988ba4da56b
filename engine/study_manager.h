// StudyManager: the run loop of one `hpo run`. It creates or loads the study in storage,
// asks the sampler for parameters, hands trials to the executor, and records every event in
// storage, until the budget is met, the timeout passes, too many trials failed, or the user
// interrupts it.
//
// Threading: run() drives one boost::asio::io_context on the calling thread. The sampler,
// the storage writes and every executor event happen on that thread, so the trial cache needs
// no lock. request_stop() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/model/study_spec.h"
#include "engine/model/trial.h"
#include "executors/executor.h"
#include "storage/storage.h"

namespace boost::asio {
class io_context;
}

namespace hpo {

// Counts shown by progress output and returned by run().
struct RunStats {
  int complete = 0;  // COMPLETE trials of the study (all runs)
  int pruned = 0;
  int failed = 0;    // FAIL trials of the study (all runs)
  int failed_this_run = 0;
  int running = 0;
  std::optional<int> target;  // budget.trials
  std::optional<int> best_number;
  std::optional<double> best_value;
  std::chrono::steady_clock::duration elapsed{};
  int finished_this_run = 0;  // COMPLETE + PRUNED + FAIL recorded by this run
  int done() const { return complete + pruned; }
};

// Receives progress from the run loop (on its thread). engine/progress.h prints it.
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  // A trial was recorded as finished.
  virtual void on_trial_finished(const Trial& trial, const RunStats& stats) = 0;
  // Called about once a second while the run goes on, and once at the end.
  virtual void on_tick(const RunStats& stats) = 0;
  // Something the user should read (interrupt received, stop reason).
  virtual void on_message(const std::string& message) = 0;
  // The run is over; the live line, if any, is finished.
  virtual void on_end(const RunStats& stats) = 0;
};

enum class StopReason {
  kBudgetMet,      // budget.trials COMPLETE/PRUNED trials reached
  kTimeout,        // budget.timeout passed (running trials were allowed to finish)
  kMaxFailed,      // budget.max_failed_trials reached
  kInterrupted,    // SIGINT / SIGTERM / SIGHUP or request_stop()
};

const char* to_string(StopReason reason);

struct RunResult {
  StopReason reason = StopReason::kBudgetMet;
  RunStats stats;
  std::int64_t study_id = 0;
};

using ExecutorFactory = std::function<std::unique_ptr<Executor>(
    boost::asio::io_context&, const StudySpec&, std::size_t parallelism)>;

struct RunOptions {
  // Overrides of the spec (`hpo run --trials N --parallelism N`).
  std::optional<int> trials;
  std::optional<int> parallelism;
  // Where trial directories go when the spec has no executor.trials_dir; default
  // "<directory of the storage file>/<study>-trials".
  std::filesystem::path trials_root;
  // How often this run heartbeats its lease and its RUNNING trials in storage, and looks for
  // dead runs of the same study.
  std::chrono::milliseconds heartbeat_interval{2000};
  // A run whose heartbeat is older than this is dead (on this host a run whose process is
  // gone is dead at once); its RUNNING trials are failed "interrupted" and re-queued.
  std::chrono::milliseconds stale_after{10000};
  // Continue a stored study whose space, direction or metric differ from the spec's.
  bool allow_spec_change = false;
  // SIGINT/SIGTERM/SIGHUP stop the run (first: stop launching and ask running trials to stop;
  // second: kill them at once).
  bool handle_signals = true;
  // Progress output; nullptr for none.
  ProgressListener* progress = nullptr;
  // Executor factory; default: the factory's make_executor (tests and benchmarks inject one).
  ExecutorFactory make_executor;
};

// Study user attribute that holds the sampler seed drawn when the study was created (when the
// spec gives none), so that every later run and ask() draw the same sequence.
inline constexpr const char* kSamplerSeedAttr = "hpo.sampler_seed";

// The spec a stored study last ran with (the one `hpo resume` continues), parsed again with
// its relative paths resolved against the directory of the spec file it came from. Throws
// InputError when it cannot be parsed.
StudySpec stored_spec(const StudyRecord& study);

class StudyManager {
 public:
  // REQUIRES: spec is valid (parse_study_spec and validate_components passed).
  StudyManager(StudySpec spec, Storage& storage, RunOptions options);
  ~StudyManager();
  StudyManager(const StudyManager&) = delete;
  StudyManager& operator=(const StudyManager&) = delete;

  // Runs the study to its end (see StopReason). Throws StorageError when storage fails and
  // ExecutorError when the executor cannot be set up; trial failures are data.
  RunResult run();

  // Asks a run in progress to stop as if interrupted. Thread-safe; no-op when not running.
  void request_stop();

 private:
  class Run;
  StudySpec spec_;
  Storage& storage_;
  RunOptions options_;
  std::atomic<Run*> active_{nullptr};
};

}  // namespace hpo
