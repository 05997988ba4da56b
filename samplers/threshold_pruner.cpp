#include "samplers/threshold_pruner.h"

#include <cmath>

#include "hpo/param_value.h"

namespace hpo {

ThresholdOptions read_threshold_options(const OrderedJson& block, const std::string& path,
                                        SpecChecker& c) {
  ThresholdOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](const char* key) { return member_path(path, key); };
  if (const OrderedJson* m = SpecChecker::member(block, "lower"))
    out.lower = c.get_number(*m, key_path("lower"));
  if (const OrderedJson* m = SpecChecker::member(block, "upper"))
    out.upper = c.get_number(*m, key_path("upper"));
  if (!SpecChecker::member(block, "lower") && !SpecChecker::member(block, "upper"))
    c.add(path, "needs \"lower\", \"upper\" or both (the range a trial's values must stay in)");
  if (out.lower && out.upper && *out.lower > *out.upper)
    c.add(key_path("lower"),
          "must be <= upper (" + format_double(*out.upper) + "), got " + format_double(*out.lower));
  if (const OrderedJson* m = SpecChecker::member(block, "n_warmup_steps"))
    if (auto v = c.get_int(*m, key_path("n_warmup_steps"), 0)) out.n_warmup_steps = *v;
  if (const OrderedJson* m = SpecChecker::member(block, "interval_steps"))
    if (auto v = c.get_int(*m, key_path("interval_steps"), 1)) out.interval_steps = *v;
  return out;
}

PruneDecision ThresholdPruner::should_prune(const StudyView&, const Trial& trial,
                                            std::int64_t step) const {
  if (step < options_.n_warmup_steps) return PruneDecision::keep();
  if (!is_first_in_interval(trial, step, options_.n_warmup_steps, options_.interval_steps))
    return PruneDecision::keep();
  const double value = trial.intermediate.at(step);
  if (std::isnan(value)) return PruneDecision::prune_because("the value is NaN");
  if (options_.lower && value < *options_.lower)
    return PruneDecision::prune_because(format_judged(value) + " < lower " +
                                        format_judged(*options_.lower));
  if (options_.upper && value > *options_.upper)
    return PruneDecision::prune_because(format_judged(value) + " > upper " +
                                        format_judged(*options_.upper));
  return PruneDecision::keep();
}

PrunerRegistration threshold_pruner_registration() {
  return options_pruner_registration(
      "threshold", "prune a trial whose value leaves [lower, upper]",
      {"lower", "upper", "n_warmup_steps", "interval_steps"}, read_threshold_options,
      [](ThresholdOptions options) { return std::make_unique<ThresholdPruner>(options); });
}

}  // namespace hpo
