#include "samplers/percentile_pruner.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>

#include "hpo/param_value.h"

namespace hpo {

PercentileOptions read_percentile_options(const OrderedJson& block, const std::string& path,
                                          bool with_percentile, SpecChecker& c) {
  PercentileOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](const char* key) { return member_path(path, key); };
  if (with_percentile) {
    if (const OrderedJson* m = c.required(block, path, "percentile")) {
      if (auto p = c.get_number(*m, key_path("percentile"))) {
        if (*p >= 0.0 && *p <= 100.0)
          out.percentile = *p;
        else
          c.add(key_path("percentile"), "must be between 0 and 100, got " + format_double(*p));
      }
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "n_startup_trials"))
    if (auto v = c.get_int(*m, key_path("n_startup_trials"), 0, INT_MAX))
      out.n_startup_trials = static_cast<int>(*v);
  if (const OrderedJson* m = SpecChecker::member(block, "n_warmup_steps"))
    if (auto v = c.get_int(*m, key_path("n_warmup_steps"), 0)) out.n_warmup_steps = *v;
  if (const OrderedJson* m = SpecChecker::member(block, "interval_steps"))
    if (auto v = c.get_int(*m, key_path("interval_steps"), 1)) out.interval_steps = *v;
  if (const OrderedJson* m = SpecChecker::member(block, "n_min_trials"))
    if (auto v = c.get_int(*m, key_path("n_min_trials"), 1, INT_MAX))
      out.n_min_trials = static_cast<int>(*v);
  return out;
}

double percentile_of(std::vector<double>& values, double percentile) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double rank = percentile / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

PercentilePruner::PercentilePruner(PercentileOptions options, std::string label)
    : options_(options), label_(std::move(label)) {}

PruneDecision PercentilePruner::should_prune(const StudyView& study, const Trial& trial,
                                             std::int64_t step) const {
  int n_complete = 0;
  for (const Trial& t : study.trials())
    if (t.state == TrialState::kComplete) ++n_complete;
  if (n_complete == 0 || n_complete < options_.n_startup_trials) return PruneDecision::keep();
  if (step < options_.n_warmup_steps) return PruneDecision::keep();
  if (!is_first_in_interval(trial, step, options_.n_warmup_steps, options_.interval_steps))
    return PruneDecision::keep();
  const Direction direction = study.direction();
  const double best = best_intermediate_value(trial, direction);
  if (std::isnan(best)) return PruneDecision::prune_because("every value it reported is NaN");
  std::vector<double> values = study.values_at(step, TrialState::kComplete);
  const std::size_t n_values = values.size();
  if (n_values < static_cast<std::size_t>(options_.n_min_trials)) return PruneDecision::keep();
  const double q =
      direction == Direction::kMaximize ? 100.0 - options_.percentile : options_.percentile;
  const double p = percentile_of(values, q);
  if (std::isnan(p) || !is_better(direction, p, best)) return PruneDecision::keep();
  const std::string what =
      label_ == "median" ? std::string("median") : format_judged(q) + "th percentile";
  return PruneDecision::prune_because(
      "best " + format_judged(best) + (direction == Direction::kMinimize ? " > " : " < ") + what +
      " " + format_judged(p) + " of " + std::to_string(n_values) + " trials");
}

PrunerRegistration percentile_pruner_registration() {
  return options_pruner_registration(
      "percentile", "prune below a percentile of the completed trials at the same step",
      {"percentile", "n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"},
      [](const OrderedJson& block, const std::string& path, SpecChecker& c) {
        return read_percentile_options(block, path, /*with_percentile=*/true, c);
      },
      [](PercentileOptions options) {
        return std::make_unique<PercentilePruner>(options, "percentile");
      });
}

}  // namespace hpo
