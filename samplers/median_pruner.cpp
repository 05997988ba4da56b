#include "samplers/median_pruner.h"

#include "samplers/percentile_pruner.h"

namespace hpo {

PrunerRegistration median_pruner_registration() {
  PrunerRegistration r;
  r.info.name = "median";
  r.info.summary = "prune below the median of the completed trials at the same step";
  r.info.keys = {"n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_percentile_options(block.json, block.path, /*with_percentile=*/false, c);
  };
  r.make = [](const StudySpec& spec) -> std::unique_ptr<Pruner> {
    SpecChecker c;
    PercentileOptions options = read_percentile_options(spec.pruner.block, "pruner", false, c);
    c.throw_if_any();
    options.percentile = 50.0;
    return std::make_unique<PercentilePruner>(options, "median");
  };
  return r;
}

}  // namespace hpo
