// GpSampler: Gaussian-process Bayesian optimization ("sampler": {"name": "gp"}), for expensive
// trials of which only a few dozen or hundred fit in the budget.
//
// One suggestion:
//   1. Until n_startup_trials trials have completed, the point of the trial number in a
//      scrambled Sobol sequence over the whole space (qmc_sampler.h), an even first sweep.
//   2. The model: the unconditional float and int parameters on the unit cube (log parameters in
//      log space, relative_space.h) plus one 0/1 coordinate per choice of every unconditional
//      categorical (one-hot); the COMPLETE trials holding all of them, their values standardized
//      (after a monotone warping that tames heavy-tailed objectives, see gp_sampler.cpp). A
//      Matern-5/2 GP with one length scale per coordinate and a noise nugget, its
//      hyperparameters fitted by maximum a posteriori (gaussian_process.h).
//   3. Trials still RUNNING (parallel workers) join the model as if they had returned the
//      posterior mean at their point (kriging believer): the variance there collapses, so
//      simultaneous suggestions spread out. Their rows extend the Cholesky factor.
//   4. The log of expected improvement over the best value so far (expected_improvement.h) is
//      maximized: scrambled Sobol candidates plus perturbations of the best trials are scored in
//      one batch, and the best few start a box-constrained L-BFGS over the continuous
//      coordinates, then a discrete local search (neighbouring grid points of ints and stepped
//      floats, every other choice of a categorical), alternating while it improves. Ints and
//      stepped floats with at most 64 points are rounded inside the acquisition (the GP only ever
//      sees grid points); wider ones are searched continuously and rounded at the end.
//   5. Conditional parameters (and categoricals when the model has no numeric part) come from
//      the independent sampler.
// Cost: one suggestion is O(n^3) in the n modelled trials (n <= max_observations: beyond it the
// model keeps the best quarter and the most recent rest). The hyperparameters are refitted on
// every suggestion while n <= 100, then each time n has grown by ~5%, always on a prefix of the
// history (so that the result depends on the history alone) and on at most 100 of its trials.
//
// Deterministic: draws come from trial_seed(seed, trial number); the same seed, history and
// trial number give the same suggestion. Not thread-safe (as every Sampler); the class caches
// the last hyperparameter fit (a pure cache: it is reused only for the same prefix).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/model/spec_checker.h"
#include "samplers/relative_space.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

struct GpOptions {
  // Trials completed before the GP takes over (Sobol points until then). >= 1. JSON
  // "n_startup_trials", default 10 (as Optuna's GPSampler).
  int n_startup_trials = 10;
  // The objective has no noise: the nugget stays at 1e-6 instead of being fitted. JSON
  // "deterministic_objective", default false (as Optuna).
  bool deterministic_objective = false;
  // Who draws conditional parameters. JSON "independent_sampler": "random" | "tpe"; default
  // "tpe".
  IndependentKind independent_sampler = IndependentKind::kTpe;
  // Candidate points scored per suggestion before the local search. >= 16. JSON
  // "n_candidates", default 512.
  int n_candidates = 512;
  // Most trials the model is conditioned on (the best quarter and the most recent rest beyond
  // it). >= 20. JSON "max_observations", default 300.
  int max_observations = 300;
};

// Reads the GP keys of the "sampler" object `block` at `path` and reports their problems with
// JSON paths to `checker`. The one reader of these keys: the checker and the factory both call
// it.
GpOptions read_gp_options(const OrderedJson& block, const std::string& path, SpecChecker& checker);

// "gp": the options above.
SamplerRegistration gp_sampler_registration();

class GpSampler final : public Sampler {
 public:
  GpSampler(std::uint64_t seed, GpOptions options = {});
  ~GpSampler() override;

  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

  struct Cache;

 private:
  const std::uint64_t seed_;
  const GpOptions options_;
  std::unique_ptr<Sampler> startup_;
  std::unique_ptr<Sampler> independent_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace hpo
