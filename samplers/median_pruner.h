// The median pruner ("pruner": {"name": "median"}): the median stopping rule, a
// PercentilePruner at 50 (percentile_pruner.h) with Optuna's MedianPruner defaults
// (n_startup_trials 5, n_warmup_steps 0, interval_steps 1, n_min_trials 1).
#pragma once

#include "samplers/pruner_registry.h"

namespace hpo {

PrunerRegistration median_pruner_registration();

}  // namespace hpo
