#include "samplers/successive_halving_pruner.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <vector>

namespace hpo {
namespace {

// min_resource * factor^exponent, or nullopt once it exceeds any step.
std::optional<std::int64_t> rung_step(std::int64_t min_resource, int factor, int exponent) {
  std::int64_t s = min_resource;
  for (int i = 0; i < exponent; ++i) {
    if (s > std::numeric_limits<std::int64_t>::max() / factor) return std::nullopt;
    s *= factor;
  }
  return s;
}

}  // namespace

SuccessiveHalvingOptions read_successive_halving_options(const OrderedJson& block,
                                                         const std::string& path, SpecChecker& c) {
  SuccessiveHalvingOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](const char* key) { return member_path(path, key); };
  if (const OrderedJson* m = SpecChecker::member(block, "min_resource")) {
    if (m->is_number()) {
      if (auto v = c.get_int(*m, key_path("min_resource"), 1)) out.min_resource = *v;
    } else if (!m->is_string() || m->get<std::string>() != "auto") {
      c.add(key_path("min_resource"), "must be an integer >= 1 or \"auto\", got " + describe(*m));
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "reduction_factor"))
    if (auto v = c.get_int(*m, key_path("reduction_factor"), 2, 1000))
      out.reduction_factor = static_cast<int>(*v);
  if (const OrderedJson* m = SpecChecker::member(block, "min_early_stopping_rate"))
    if (auto v = c.get_int(*m, key_path("min_early_stopping_rate"), 0, 62))
      out.min_early_stopping_rate = static_cast<int>(*v);
  if (const OrderedJson* m = SpecChecker::member(block, "bootstrap_count")) {
    if (auto v = c.get_int(*m, key_path("bootstrap_count"), 0, INT_MAX)) {
      out.bootstrap_count = static_cast<int>(*v);
      const OrderedJson* given = SpecChecker::member(block, "min_resource");
      if (*v > 0 && (given == nullptr || given->is_string()))
        c.add(key_path("bootstrap_count"),
              "needs an explicit integer \"min_resource\" (not \"auto\"), as in Optuna");
    }
  }
  return out;
}

std::optional<std::int64_t> estimate_min_resource(const StudyView& study) {
  const std::optional<std::int64_t> last = study.last_step(TrialState::kComplete);
  if (!last) return std::nullopt;
  return std::max<std::int64_t>(*last / 100, 1);
}

PruneDecision successive_halving_decision(const StudyView& study, const Trial& trial,
                                          std::int64_t step, std::int64_t min_resource,
                                          int reduction_factor, int min_early_stopping_rate,
                                          int bootstrap_count,
                                          const std::function<bool(int number)>& member) {
  const double value = trial.intermediate.at(step);
  std::vector<double> competing;
  for (int rung = 0;; ++rung) {
    const auto promotion_step =
        rung_step(min_resource, reduction_factor, min_early_stopping_rate + rung);
    if (!promotion_step || step < *promotion_step) return PruneDecision::keep();
    // Judged at this rung by an earlier report (and promoted, since it still runs): go on.
    if (report_for_step(trial, *promotion_step, StepMatch::kFirstFrom)->step < step) continue;
    const std::string where =
        "rung " + std::to_string(rung) + " (step " + std::to_string(*promotion_step) + ")";
    if (std::isnan(value)) return PruneDecision::prune_because("NaN at " + where);
    competing.clear();
    competing.push_back(value);
    // Every trial that reached the rung, whatever became of it since.
    for (TrialState state : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned,
                             TrialState::kFail}) {
      for (const auto& [number, v] :
           study.step_values(*promotion_step, state, StepMatch::kFirstFrom)) {
        if (number == trial.number || (member && !member(number))) continue;
        if (!std::isnan(v)) competing.push_back(v);
      }
    }
    const std::size_t n = competing.size();
    if (n <= static_cast<std::size_t>(bootstrap_count))
      return PruneDecision::prune_because("only " + std::to_string(n) + " trial(s) at " + where +
                                          ", bootstrap_count " + std::to_string(bootstrap_count));
    std::size_t keep = n / static_cast<std::size_t>(reduction_factor);
    if (keep == 0) keep = 1;
    // The keep-th best value is the cut-off.
    const Direction direction = study.direction();
    std::nth_element(competing.begin(), competing.begin() + static_cast<std::ptrdiff_t>(keep - 1),
                     competing.end(),
                     [direction](double a, double b) { return is_better(direction, a, b); });
    const double cutoff = competing[keep - 1];
    if (is_better(direction, cutoff, value))
      return PruneDecision::prune_because(
          format_judged(value) + " not in the best " + std::to_string(keep) + " of " +
          std::to_string(n) + " at " + where + " (cut-off " + format_judged(cutoff) + ")");
  }
}

PruneDecision SuccessiveHalvingPruner::should_prune(const StudyView& study, const Trial& trial,
                                                    std::int64_t step) const {
  const std::optional<std::int64_t> min_resource =
      options_.min_resource ? options_.min_resource : estimate_min_resource(study);
  if (!min_resource) return PruneDecision::keep();
  return successive_halving_decision(study, trial, step, *min_resource, options_.reduction_factor,
                                     options_.min_early_stopping_rate, options_.bootstrap_count,
                                     {});
}

PrunerRegistration successive_halving_pruner_registration() {
  return options_pruner_registration(
      "asha", "asynchronous successive halving: keep the best 1/reduction_factor per rung",
      {"min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"},
      read_successive_halving_options, [](SuccessiveHalvingOptions options) {
        return std::make_unique<SuccessiveHalvingPruner>(options);
      });
}

}  // namespace hpo
