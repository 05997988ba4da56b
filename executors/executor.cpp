#include "executors/executor.h"

namespace hpo {

const char* to_string(StopCause cause) {
  switch (cause) {
    case StopCause::kInterrupted: return "interrupted";
    case StopCause::kPruned: return "pruned";
    case StopCause::kTimedOut: return "timed out";
  }
  return "interrupted";
}

TrialOutcome stopped_outcome(StopCause cause, const std::string& detail) {
  const std::string reason = detail.empty() ? to_string(cause) : to_string(cause) + (" " + detail);
  switch (cause) {
    case StopCause::kPruned: return TrialOutcome::pruned(reason);
    case StopCause::kTimedOut: return TrialOutcome::failed(FailureKind::kTimeout, reason);
    case StopCause::kInterrupted: break;
  }
  return TrialOutcome::failed(FailureKind::kInterrupted, reason);
}

}  // namespace hpo
