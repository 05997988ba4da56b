#include "samplers/pruner.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace hpo {

double best_intermediate_value(const Trial& trial, Direction direction) {
  const auto best = best_intermediate(trial, direction);
  return best ? best->value : std::numeric_limits<double>::quiet_NaN();
}

bool is_first_in_interval(const Trial& trial, std::int64_t step, std::int64_t n_warmup_steps,
                          std::int64_t interval_steps) {
  const std::int64_t check_point =
      (step - n_warmup_steps) / interval_steps * interval_steps + n_warmup_steps;
  // The trial's latest report before `step` (reports may skip steps).
  const auto it = trial.intermediate.lower_bound(step);
  if (it == trial.intermediate.begin()) return true;
  return std::prev(it)->first < check_point;
}

std::string format_judged(double value) {
  if (std::isnan(value)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return buf;
}

}  // namespace hpo
