// RunBudget: when a run starts another trial and when it stops, from the study's trial counts in
// storage (all runs' trials, so that runs sharing a study stop at exactly budget.trials).
//   - COMPLETE + PRUNED trials reaching `target` meets the budget (FAIL trials do not count);
//   - a WAITING trial (enqueued or re-queued) runs before a new one is sampled, while
//     COMPLETE + PRUNED + RUNNING stays below the target;
//   - a new trial is sampled only while COMPLETE + PRUNED + RUNNING + WAITING stays below it
//     (storage checks that again in the transaction that creates it);
//   - `max_failed` FAIL trials recorded by this run stop it.
// Value type.
#pragma once

#include <optional>

#include "storage/storage.h"

namespace hpo {

struct RunBudget {
  std::optional<int> target;      // budget.trials (or --trials); nullopt: no limit
  std::optional<int> max_failed;  // FAILs of this run that stop it; nullopt: no limit

  enum class Next {
    kMet,     // the target is reached: stop
    kClaim,   // run the oldest WAITING trial
    kCreate,  // sample a new trial
    kWait,    // enough trials are running or waiting to meet the target: wait for them
  };

  Next next(const TrialCounts& c) const {
    const int done = c.complete + c.pruned;
    if (target && done >= *target) return Next::kMet;
    if (c.waiting > 0 && (!target || done + c.running < *target)) return Next::kClaim;
    if (target && done + c.running + c.waiting >= *target) return Next::kWait;
    return Next::kCreate;
  }

  bool failures_exhausted(int failed_this_run) const {
    return max_failed && failed_this_run >= *max_failed;
  }
};

}  // namespace hpo
