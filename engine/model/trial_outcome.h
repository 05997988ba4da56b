// TrialOutcome: how one run of a trial ended, as an executor reports it. The study manager
// turns it into the stored trial state: it picks the objective metric out of `metrics`, and a
// COMPLETE outcome without that metric (or with a NaN) becomes FAIL.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "hpo/trial_state.h"

namespace hpo {

// Why a trial failed, for retry decisions (infrastructure failures are retried, a clean
// non-zero exit only when listed in retry_on_exit_codes).
enum class FailureKind {
  kNone,         // not a failure
  kExitCode,     // the program exited with a non-zero status (see exit_code)
  kSignal,       // the program died by a signal (OOM kill, segfault, ...)
  kTimeout,      // the executor's per-trial timeout expired
  kInterrupted,  // the run was stopped (Ctrl-C, SIGTERM) while the trial ran
  kObjective,    // the objective itself failed: an exception, no metric, NaN, bad output
  kInfrastructure,  // the executor could not run it (spawn failed, pod evicted, API error)
};

const char* to_string(FailureKind kind);

struct TrialOutcome {
  TrialState state = TrialState::kFail;
  // Final metrics: HPO_RESULT_FILE when written, else the last value of each reported metric.
  std::map<std::string, double> metrics;
  std::string reason;  // human-readable, shown by `hpo trials`; empty for COMPLETE
  FailureKind failure = FailureKind::kNone;
  std::optional<int> exit_code;  // process exit status when known
  std::optional<int> signal;     // terminating signal when killed by one
  // Where the executor looked for metrics and the last lines that looked like metrics ("read
  // stdout and stderr as auto; last metric lines: ..."): appended to the reason when the
  // objective metric is missing. Empty when the executor has nothing to say.
  std::string metrics_note;

  static TrialOutcome complete(std::map<std::string, double> metrics) {
    TrialOutcome o;
    o.state = TrialState::kComplete;
    o.metrics = std::move(metrics);
    return o;
  }
  static TrialOutcome failed(FailureKind kind, std::string reason) {
    TrialOutcome o;
    o.state = TrialState::kFail;
    o.failure = kind;
    o.reason = std::move(reason);
    return o;
  }
  static TrialOutcome pruned(std::string reason) {
    TrialOutcome o;
    o.state = TrialState::kPruned;
    o.reason = std::move(reason);
    return o;
  }
  bool ok() const { return state == TrialState::kComplete; }
};

inline const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone: return "none";
    case FailureKind::kExitCode: return "exit_code";
    case FailureKind::kSignal: return "signal";
    case FailureKind::kTimeout: return "timeout";
    case FailureKind::kInterrupted: return "interrupted";
    case FailureKind::kObjective: return "objective";
    case FailureKind::kInfrastructure: return "infrastructure";
  }
  return "none";
}

}  // namespace hpo
