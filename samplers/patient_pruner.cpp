#include "samplers/patient_pruner.h"

#include <cmath>
#include <iterator>
#include <string>

namespace hpo {

PatientPruner::PatientPruner(int patience, std::unique_ptr<Pruner> wrapped)
    : patience_(patience), wrapped_(std::move(wrapped)) {}

PruneDecision PatientPruner::should_prune(const StudyView& study, const Trial& trial,
                                          std::int64_t step) const {
  const auto& values = trial.intermediate;
  const auto window = static_cast<std::size_t>(patience_) + 1;
  if (values.size() <= window) return PruneDecision::keep();
  const Direction direction = study.direction();
  // Best before the window and best inside it (the last patience + 1 reports), NaN ignored.
  const auto split = std::prev(values.end(), static_cast<std::ptrdiff_t>(window));
  auto best_of = [&](auto from, auto to) {
    double best = std::nan("");
    for (auto it = from; it != to; ++it) {
      if (std::isnan(it->second)) continue;
      if (std::isnan(best) || is_better(direction, it->second, best)) best = it->second;
    }
    return best;
  };
  const double before = best_of(values.begin(), split);
  const double recent = best_of(split, values.end());
  // Optuna: prune only when the window is worse than before (NaN compares false: keep).
  const bool stalled = direction == Direction::kMinimize ? before < recent : before > recent;
  if (!stalled) return PruneDecision::keep();
  const std::string why = "no improvement on " + format_judged(before) + " in the last " +
                          std::to_string(window) + " reports (patience " +
                          std::to_string(patience_) + ")";
  if (!wrapped_) return PruneDecision::prune_because(why);
  PruneDecision inner = wrapped_->should_prune(study, trial, step);
  if (inner.prune) inner.reason = why + ", and " + inner.reason;
  return inner;
}

BracketRule PatientPruner::brackets(const StudyView& study) const {
  return wrapped_ ? wrapped_->brackets(study) : BracketRule();
}

}  // namespace hpo
