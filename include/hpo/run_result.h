// What a run of a study reports: why it stopped, the counts, the best trial so far, and the
// listener that hears about it while it goes (`hpo run`'s progress line is one). Shared by the
// run loop and the C++ API's optimize(). Value types; a ProgressListener is called on the run's
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "hpo/trial.h"

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
  // A multi-objective study: the trials of its Pareto front and the hypervolume they cover up
  // to the reference point (the spec's "reference_point", else derived from the trials).
  std::optional<int> front_size;
  std::optional<double> hypervolume;
  std::chrono::steady_clock::duration elapsed{};
  int finished_this_run = 0;  // COMPLETE + PRUNED + FAIL recorded by this run
  int complete_this_run = 0;
  int pruned_this_run = 0;
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
  kExhausted,      // the sampler has nothing more to propose (every grid point ran)
  kGoalReached,    // a COMPLETE trial reached objective.goal
  kFailFast,       // the run's first budget.fail_fast trials all FAILed the same way
};

const char* to_string(StopReason reason);

struct RunResult {
  StopReason reason = StopReason::kBudgetMet;
  // Why, in one line, when to_string(reason) does not say it all: "goal reached (value 0.97 of
  // trial 4)", or for kFailFast what is broken and how to fix it. Empty otherwise.
  std::string detail;
  RunStats stats;
  std::int64_t study_id = 0;
};

}  // namespace hpo
