// RetryPolicy: when a failed trial runs again with the same parameters and checkpoint
// directory ("executor": {"retries": 2, "retry_on_exit_codes": [75]}). Infrastructure is to
// blame for a trial killed by a signal, timed out, or that could not start: those are retried
// while attempts remain. A clean non-zero exit is the program's own verdict and is retried only
// for the exit codes listed. An interrupted trial is not a failure of its own: it is re-queued
// on resume, whatever the policy says. Value type.
#pragma once

#include <algorithm>
#include <vector>

#include "engine/model/trial_outcome.h"

namespace hpo {

struct RetryPolicy {
  // Extra attempts after the first one. JSON "executor.retries", default 0.
  int retries = 0;
  // Exit codes worth another attempt. JSON "executor.retry_on_exit_codes", default none.
  std::vector<int> retry_on_exit_codes;

  // True when a trial that ended with `outcome` on attempt `attempt` (0 for the first) should
  // run again.
  bool should_retry(const TrialOutcome& outcome, int attempt) const {
    if (outcome.state != TrialState::kFail || attempt >= retries) return false;
    switch (outcome.failure) {
      case FailureKind::kSignal:
      case FailureKind::kTimeout:
      case FailureKind::kInfrastructure:
        return true;
      case FailureKind::kExitCode:
        return outcome.exit_code &&
               std::find(retry_on_exit_codes.begin(), retry_on_exit_codes.end(),
                         *outcome.exit_code) != retry_on_exit_codes.end();
      default:
        return false;
    }
  }

  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

}  // namespace hpo
