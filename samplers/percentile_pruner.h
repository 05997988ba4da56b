// PercentilePruner: prunes a trial whose best intermediate value so far is worse than the given
// percentile of the COMPLETE trials' values at the same step, as Optuna's PercentilePruner
// ("pruner": {"name": "percentile", "percentile": 25}). The median pruner is this at 50
// (median_pruner.h).
//
// At each report of step s of a trial, in order (a "no" stops):
//   1. at least n_startup_trials trials are COMPLETE (and at least one);
//   2. s >= n_warmup_steps;
//   3. s is the trial's first report at or after a check point n_warmup_steps + k *
//      interval_steps (is_first_in_interval);
//   4. the trial's best value (NaN when it has only NaN: then prune);
//   5. the COMPLETE trials that reported step s: fewer than n_min_trials means no; their
//      values' percentile (linear interpolation, NaN ignored; for a maximized study the
//      (100 - percentile)th, so that 25 means "the best 25%" either way, as in Optuna);
//   6. prune when the best is worse than that percentile.
// Stateless; const.
#pragma once

#include <cstdint>
#include <string>

#include "engine/model/spec_checker.h"
#include "samplers/pruner.h"
#include "samplers/pruner_registry.h"

namespace hpo {

struct PercentileOptions {
  // Keep trials within this percentile of the best, in [0, 100]. "percentile" (required for
  // "percentile"; 50 for "median").
  double percentile = 50.0;
  // No pruning until this many trials are COMPLETE. "n_startup_trials"
  int n_startup_trials = 5;
  // No pruning before this step. "n_warmup_steps"
  std::int64_t n_warmup_steps = 0;
  // Steps between checks, from n_warmup_steps on. "interval_steps" (>= 1)
  std::int64_t interval_steps = 1;
  // Fewer COMPLETE trials than this with a value at the step: no pruning. "n_min_trials" (>= 1)
  int n_min_trials = 1;
};

// Reads the keys of a "percentile" (`with_percentile`) or "median" block, reporting problems
// with JSON paths under `path`.
PercentileOptions read_percentile_options(const OrderedJson& block, const std::string& path,
                                          bool with_percentile, SpecChecker& checker);

// np.nanpercentile's linear interpolation over `values` (sorted in place; NaN are dropped);
// NaN when nothing is left. REQUIRES: 0 <= percentile <= 100.
double percentile_of(std::vector<double>& values, double percentile);

class PercentilePruner final : public Pruner {
 public:
  // `label`: "median" or "percentile", for reasons.
  PercentilePruner(PercentileOptions options, std::string label);

  PruneDecision should_prune(const StudyView& study, const Trial& trial,
                             std::int64_t step) const override;
  // Other trials are read through study.values_at() only.
  bool reads_other_curves() const override { return false; }

 private:
  PercentileOptions options_;
  std::string label_;
};

PrunerRegistration percentile_pruner_registration();

}  // namespace hpo
