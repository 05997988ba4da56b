// FailFast: notices a broken setup from the first trials of a run. When the run's first
// budget.fail_fast finished trials all FAILed for the same kind of reason, every later trial
// would fail that way too: the run stops and says what is broken and how to fix it, instead of
// burning trials until budget.max_failed_trials. The kinds (classify_failure):
//   - the program cannot be started (not found, not executable, no working directory);
//   - the objective metric was not reported, or was NaN or infinite;
//   - the same exit status (or signal) with the same last stderr line;
//   - the executor's per-trial timeout;
//   - otherwise the same reason text.
// Numbers in a reason (trial numbers, paths like trials/3/, pids) do not make two reasons
// differ. A COMPLETE or PRUNED trial among the first ones proves the setup works: it disarms the
// check for the rest of the run.
// Value type; one per run, used on the run's thread.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "hpo/trial.h"

namespace hpo {

// What a FAIL reason says is broken.
struct FailureClass {
  // Equal for reasons of the same kind ("exit 1: ModuleNotFoundError: No module named '#'").
  std::string key;
  // What is broken and how to fix it, in one line, for people.
  std::string advice;
};

// Classifies the reason of a FAIL trial of study `study` whose objective metric is `metric`.
// nullopt for a reason that says nothing about the setup (an interrupted trial).
std::optional<FailureClass> classify_failure(const std::string& reason, const std::string& study,
                                             const std::string& metric);

class FailFast {
 public:
  // `limit`: budget.fail_fast (0: never stop).
  FailFast(int limit, std::string study, std::string metric)
      : limit_(limit), study_(std::move(study)), metric_(std::move(metric)) {}

  // Observes a trial this run finished (a FAIL that is re-queued to run again is not finished).
  // Returns the one-line diagnosis when it is the limit-th of the run's first trials and all of
  // them FAILed with the same FailureClass; nullopt otherwise.
  std::optional<std::string> observe(const Trial& trial);

 private:
  int limit_;
  std::string study_;
  std::string metric_;
  int failed_alike_ = 0;   // the run's first trials, all FAIL of class key_
  bool disarmed_ = false;  // a trial succeeded, or failed otherwise: the setup is not broken
  std::string key_;
};

}  // namespace hpo
