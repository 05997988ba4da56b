// StudyManager: the run loop of one `hpo run` (and of the C++ API's optimize()). It asks the
// study core (engine/study_core.h) for trials, hands them to the executor, and records every
// event through the core, until the budget is met, a trial reaches the goal, the timeout
// passes, too many trials failed (or the first ones all failed the same way), the sampler is
// exhausted, or the run is asked to stop. The study's rules live in the core; the
// run's parts each have one job:
//   RunLease (engine/run_lease.h)  this run's lease and heartbeat, and which other runs died;
//   recovery                       a dead run's RUNNING trials: taken over, then re-attached
//                                  by the executor or re-queued;
//   RetryPolicy (model)            which failures run again;
//   RunBudget (engine/budget.h)    when to claim, create, wait or stop;
//   FailFast (engine/fail_fast.h)  whether the first trials all failed the same way;
//   stop requests and signals      a flag the loop checks; Ctrl-C once stops launching and
//                                  asks running trials to stop, twice kills them;
//   ProgressListener               what the user sees.
//
// Threading: run() drives one boost::asio::io_context on the calling thread. The sampler,
// the storage writes and every executor event happen on that thread. request_stop() may be
// called from any thread, also before run() starts.
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
#include "hpo/run_result.h"
#include "hpo/trial.h"
#include "engine/study_core.h"
#include "executors/executor.h"
#include "storage/storage.h"

namespace boost::asio {
class io_context;
}

namespace hpo {


using ExecutorFactory = std::function<std::unique_ptr<Executor>(
    boost::asio::io_context&, const StudySpec&, std::size_t parallelism)>;

struct RunOptions {
  // Overrides of the spec (`hpo run --trials N --parallelism N`).
  std::optional<int> trials;
  std::optional<int> parallelism;
  // Overrides budget.max_failed_trials (the C++ API's optimize() stops after n_trials FAILs).
  std::optional<int> max_failed_trials;
  // Overrides the spec's per-run budget.timeout.
  std::optional<std::chrono::milliseconds> timeout;
  // Where trial directories go when the spec has no executor.trials_dir; default
  // "<directory of the storage file>/<study>-trials".
  std::filesystem::path trials_root;
  // How often this run heartbeats its lease and its RUNNING trials in storage, and looks for
  // dead runs of the same study.
  std::chrono::milliseconds heartbeat_interval{2000};
  // A run whose heartbeat is older than this is dead (on this host a run whose process is
  // gone is dead at once); its RUNNING trials are failed "interrupted" and re-queued.
  std::chrono::milliseconds stale_after{10000};
  // SIGINT/SIGTERM/SIGHUP stop the run (first: stop launching and ask running trials to stop;
  // second: kill them at once).
  bool handle_signals = true;
  // Progress output; nullptr for none.
  ProgressListener* progress = nullptr;
  // Executor factory; default: the factory's make_executor (tests and benchmarks inject one).
  ExecutorFactory make_executor;
};

class StudyManager {
 public:
  // Runs `core`'s study (the core outlives the manager).
  StudyManager(StudyCore& core, RunOptions options);
  ~StudyManager();
  StudyManager(const StudyManager&) = delete;
  StudyManager& operator=(const StudyManager&) = delete;

  // Runs the study to its end (see StopReason). Throws StorageError when storage fails and
  // ExecutorError when the executor cannot be set up; trial failures are data.
  RunResult run();

  // Asks the run to stop as if interrupted (a second request kills running trials at once).
  // Thread-safe; a request made before run() starts stops it as soon as it starts. The loop
  // checks for requests every kStopPollInterval.
  void request_stop();
  static constexpr std::chrono::milliseconds kStopPollInterval{50};

 private:
  class Run;
  StudyCore& core_;
  RunOptions options_;
  std::atomic<int> stop_requests_{0};
};

}  // namespace hpo
