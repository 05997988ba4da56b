// RunBudget: when a run starts another trial and when it stops, from the study's trial counts in
// storage (all runs' trials, so that runs sharing a study stop at exactly budget.trials).
//   - COMPLETE + PRUNED trials reaching `target` meets the budget (FAIL trials do not count);
//   - a WAITING trial (enqueued or re-queued) runs before a new one is sampled, while
//     COMPLETE + PRUNED + RUNNING stays below the target;
//   - a new trial is sampled only while COMPLETE + PRUNED + RUNNING + WAITING stays below it
//     (storage checks that again in the transaction that creates it);
//   - `max_failed` FAIL trials recorded by this run stop it, and no more trials are ever in
//     flight than failures it may still afford (so it stops at exactly that many).
// Value type.
#pragma once

#include <algorithm>
#include <cstddef>
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

  // How many more trials may be in flight, given `capacity` and the failures this run may still
  // afford: never more than that, so that trials failing all at once (a missing file, "too many
  // open files") stop the run at exactly max_failed FAILs rather than at max_failed plus
  // everything in flight. (max_failed 0 stops at the first failure, like 1.)
  std::size_t may_start(std::size_t capacity, std::size_t running, int failed_this_run) const {
    if (running >= capacity) return 0;
    std::size_t room = capacity - running;
    if (max_failed) {
      const int allowance = std::max(*max_failed, 1) - failed_this_run;
      const int left = allowance - static_cast<int>(running);
      room = std::min<std::size_t>(room, left > 0 ? static_cast<std::size_t>(left) : 0);
    }
    return room;
  }
};

}  // namespace hpo
