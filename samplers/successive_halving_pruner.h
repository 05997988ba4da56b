// SuccessiveHalvingPruner: asynchronous successive halving (ASHA, Li et al. 2018), as Optuna's
// SuccessiveHalvingPruner ("pruner": {"name": "asha", "reduction_factor": 3}).
//
// Rungs: rung k is reached at step min_resource * reduction_factor^(min_early_stopping_rate +
// k). When a trial's report is its first at or beyond a rung's step, its value there is its
// value at that rung, and it is judged: among the values at that rung of every trial that
// reached it (any state, this one included), it must be in the best 1/reduction_factor
// (the best floor(n / reduction_factor), at least the best one), else it is pruned. A NaN value
// is pruned; so is a trial while no more than bootstrap_count trials reached the rung (Optuna's
// rule). One report may cross several rungs: each is judged in turn.
//
// Stateless where Optuna stores each trial's rung values as attributes: a trial's value at a
// rung is its stored value at its first step at or after the rung's step (a pruned trial
// stores nothing after the step it was pruned at, so it counts in the rung it was pruned at
// and no further, as in Optuna).
//
// min_resource "auto" (the default): max(last step of the COMPLETE trials / 100, 1), known
// once a trial completed (no pruning before), as Optuna estimates it.
// Const and thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/model/spec_checker.h"
#include "samplers/pruner.h"
#include "samplers/pruner_registry.h"

namespace hpo {

struct SuccessiveHalvingOptions {
  // Steps before the first rung; nullopt is "auto" (see above). "min_resource" (>= 1 or
  // "auto")
  std::optional<std::int64_t> min_resource;
  // Keep the best 1/reduction_factor at each rung. "reduction_factor" (>= 2), default 4
  int reduction_factor = 4;
  // The first rung is min_resource * reduction_factor^this. "min_early_stopping_rate" (>= 0)
  int min_early_stopping_rate = 0;
  // Trials that must reach a rung before it promotes anyone. "bootstrap_count" (>= 0; needs an
  // explicit min_resource)
  int bootstrap_count = 0;
};

SuccessiveHalvingOptions read_successive_halving_options(const OrderedJson& block,
                                                         const std::string& path,
                                                         SpecChecker& checker);

// The rung rule, for ASHA and for each bracket of Hyperband: judges `trial` at `step` among the
// trials whose number `member` accepts (all when it is empty). Other trials are read only
// through study.step_values() (one query per rung and state), never from their curves.
PruneDecision successive_halving_decision(const StudyView& study, const Trial& trial,
                                          std::int64_t step, std::int64_t min_resource,
                                          int reduction_factor, int min_early_stopping_rate,
                                          int bootstrap_count,
                                          const std::function<bool(int number)>& member);

// Optuna's estimate of min_resource: max(largest last step of a COMPLETE trial / 100, 1);
// nullopt while no trial completed with a report. Reads study.last_step() only.
std::optional<std::int64_t> estimate_min_resource(const StudyView& study);

class SuccessiveHalvingPruner final : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(SuccessiveHalvingOptions options) : options_(options) {}

  PruneDecision should_prune(const StudyView& study, const Trial& trial,
                             std::int64_t step) const override;
  // Other trials are read through study.step_values() and last_step() only.
  bool reads_other_curves() const override { return false; }

 private:
  SuccessiveHalvingOptions options_;
};

PrunerRegistration successive_halving_pruner_registration();

}  // namespace hpo
