// TpeSampler: the Tree-structured Parzen Estimator (Bergstra et al. 2011) as refined in Optuna
// and Hyperopt, the sampler most studies run ("sampler": {"name": "tpe", ...}).
//
// One suggestion:
//   1. Until n_startup_trials trials have finished (COMPLETE or PRUNED), draw at random: the
//      startup trials are exactly RandomSampler's for the same seed.
//   2. Rank the history: COMPLETE trials by value (best first, in the study's direction), then
//      PRUNED trials by how far they got (more steps first) and their last intermediate value,
//      then (constant liar) RUNNING trials, which count as worse than any finished trial so that
//      parallel workers steer away from each other. FAIL and WAITING trials are ignored.
//   3. The best min(ceil(gamma * n), 25) of the n finished trials are "good" (below), the rest
//      "bad" (above). Fit a Parzen estimator l(x) to the good and g(x) to the bad ones, each
//      with a prior component and age weights (ramp: older trials weigh less once a group holds
//      more than 25), draw n_ei_candidates points from l(x) and keep the one maximising
//      l(x) / g(x).
//      Beyond exact_history bad trials, the bad group is a stratified subsample that keeps
//      the cost of a suggestion flat (TpeOptions::exact_history, samplers/README.md).
//   4. Which parameters are modelled together ("units"): with multivariate (the default with
//      one objective), every unconditional parameter jointly and each conditional parameter
//      alone; with group, every set of parameters sharing the same condition jointly; with
//      multivariate: false, each parameter alone (Optuna's default, and hpo's with several
//      objectives). A unit's estimators only see the trials in which all its parameters are
//      present, so a trial without a parameter does not pollute its density. Units are sampled
//      parents first, so that a conditional parameter is drawn only
//      when active.
// Where hpo departs from Optuna 3.1 (each measured with `hpo-bench suite` on the public and
// development problems, at 50, 100 and 200 trials; see tests/bench/README.md):
//   - multivariate by default in single-objective studies, and joint kernels take per-parameter neighbour-gap bandwidths
//     instead of one Scott-like width (parzen_estimator.h);
//   - the good group's smallest kernel width follows the whole history (range / (n / 4))
//     rather than the group's own ~n / 10 size, so that TPE keeps refining after ~100 trials;
//   - log ints, like the other ints and stepped floats, get the kernels' mass over each grid
//     cell (Optuna 3.1 models them as continuous and rounds).
// Kernels per kind (see parzen_estimator.h): truncated normals on the (log) axis for floats,
// truncated normals integrated over each grid cell for ints and stepped floats, smoothed
// frequencies for categoricals.
//
// Deterministic: the draws of trial t come from trial_seed(seed, t), split per unit by the
// unit's first parameter name, so the same seed, history and trial number give the same
// suggestion whatever the thread count. Independent units are scored in parallel (oneTBB) when
// the history is large enough for it to pay. The sampler caches stored trials (id != 0) on
// their trial number, assuming, as storage guarantees, that a stored trial's parameters never
// change. Not thread-safe (as every Sampler).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

// How observations are weighted inside each group.
enum class TpeWeights {
  kRamp,     // Optuna's default: the newest 25 weigh 1, older ones ramp linearly from 1/n up
  kUniform,  // every observation weighs 1
};

struct TpeOptions {
  // Trials that must finish before TPE takes over from random sampling. >= 0.
  // JSON "n_startup_trials".
  int n_startup_trials = 10;
  // Candidates drawn from l(x) per suggestion; the best l/g ratio wins. >= 1.
  // JSON "n_ei_candidates".
  int n_ei_candidates = 24;
  // Fraction of the finished trials that form the good group: n_below = min(ceil(gamma * n),
  // 25) (Optuna's default rule). In (0, 1]. JSON "gamma".
  double gamma = 0.1;
  // Weight of the prior component of every estimator (the observations weigh ~1 each). > 0.
  // JSON "prior_weight".
  double prior_weight = 1.0;
  // Univariate bandwidths: let the domain ends widen the outermost kernels. JSON
  // "consider_endpoints".
  bool consider_endpoints = false;
  // Model the unconditional parameters jointly (captures correlations); false samples every
  // parameter on its own, as Optuna does by default. JSON "multivariate". Unset: jointly in a
  // single-objective study, on its own in a multi-objective one (as MOTPE; measured better on
  // the 3-objective problems of `hpo-bench multi-objective`, samplers/README.md).
  std::optional<bool> multivariate;
  // Whether the unconditional parameters are modelled jointly in a study with this many
  // objectives.
  bool joint(std::size_t objectives) const {
    return group || multivariate.value_or(objectives <= 1);
  }
  // Model every set of parameters sharing the same condition jointly (implies multivariate for
  // each such set). JSON "group".
  bool group = false;
  // Count RUNNING trials as bad ones so that simultaneous suggestions spread out. Only matters
  // when trials run in parallel. JSON "constant_liar".
  bool constant_liar = true;
  // Age weights of the observations. JSON "weights": "ramp" (alias "default") | "uniform".
  TpeWeights weights = TpeWeights::kRamp;
  // Bad-group size up to which densities are exact (one kernel per trial). Beyond it the bad
  // group is summarised by this many kernels: its newest exact_history / 2 trials, and one
  // trial drawn from each of exact_history / 2 equal strata (in trial order) of the older
  // ones, weighing the whole stratum. The good group (at most 25 trials) always stays exact.
  // So a suggestion costs the same at 100,000 trials as at exact_history. 0: always exact.
  // >= 0 (values 1 and above are raised to at least 2). JSON "exact_history".
  int exact_history = 1000;
};

// Reads the TPE keys of the "sampler" object `block` at `path` (its other keys are not its
// business). Every value of the wrong type or out of range is reported to `checker` with its
// JSON path ("sampler.gamma: ...") and leaves that field at its default. The one reader of
// these keys: the spec checker and the factory both call it.
TpeOptions read_tpe_options(const OrderedJson& block, const std::string& path,
                            SpecChecker& checker);

// "tpe": the options above; constant_liar defaults to on when trials run in parallel.
SamplerRegistration tpe_sampler_registration();

class TpeSampler final : public Sampler {
 public:
  TpeSampler(std::uint64_t seed, TpeOptions options = {});
  ~TpeSampler() override;

  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

  const TpeOptions& options() const { return options_; }

  struct Workspace;

 private:
  const std::uint64_t seed_;
  const TpeOptions options_;
  // Kept between suggestions, a pure cache (results never depend on it): the history's
  // parameters on the kernel axes by trial number (only trials new since the last call are
  // encoded) and every estimator's buffers.
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace hpo
