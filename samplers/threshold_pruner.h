// ThresholdPruner: prunes a trial whose latest intermediate value leaves [lower, upper] (or is
// NaN), as Optuna's ThresholdPruner ("pruner": {"name": "threshold", "upper": 1.0}). Judged at
// each check point after n_warmup_steps, every interval_steps (is_first_in_interval), on the
// value of the step just reported. Needs no other trial. Stateless; const.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/model/spec_checker.h"
#include "samplers/pruner.h"
#include "samplers/pruner_registry.h"

namespace hpo {

struct ThresholdOptions {
  // Prune below this. "lower"; at least one of lower and upper is required.
  std::optional<double> lower;
  // Prune above this. "upper"
  std::optional<double> upper;
  // No pruning before this step. "n_warmup_steps"
  std::int64_t n_warmup_steps = 0;
  // Steps between checks. "interval_steps" (>= 1)
  std::int64_t interval_steps = 1;
};

ThresholdOptions read_threshold_options(const OrderedJson& block, const std::string& path,
                                        SpecChecker& checker);

class ThresholdPruner final : public Pruner {
 public:
  explicit ThresholdPruner(ThresholdOptions options) : options_(options) {}

  PruneDecision should_prune(const StudyView& study, const Trial& trial,
                             std::int64_t step) const override;
  // Reads the judged trial only.
  bool reads_other_curves() const override { return false; }

 private:
  ThresholdOptions options_;
};

PrunerRegistration threshold_pruner_registration();

}  // namespace hpo
