#include "samplers/median_pruner.h"

#include "samplers/percentile_pruner.h"

namespace hpo {

PrunerRegistration median_pruner_registration() {
  return options_pruner_registration(
      "median", "prune below the median of the completed trials at the same step",
      {"n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"},
      [](const OrderedJson& block, const std::string& path, SpecChecker& c) {
        return read_percentile_options(block, path, /*with_percentile=*/false, c);
      },
      [](PercentileOptions options) {
        options.percentile = 50.0;
        return std::make_unique<PercentilePruner>(options, "median");
      });
}

}  // namespace hpo
