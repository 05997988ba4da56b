// RandomSampler: independent draws from each parameter's prior, the baseline every other
// sampler is measured against (and TPE's startup phase).
//   float        uniform on [low, high]
//   log float    uniform in log space (log-uniform)
//   stepped      uniform over the grid points low, low + step, ... <= high
//   int          uniform over the integers (or step grid) in [low, high], both ends included
//   log int      uniform in log space over [low - 1/2, high + 1/2], then the integer whose
//                cell holds the draw (as Optuna)
//   categorical  uniform over the choices
// Each trial's draws come from its own stream, trial_seed(seed, trial_number), so a trial's
// parameters do not depend on the history or on how many trials came before (resume-safe).
// Not thread-safe (as every Sampler); the class itself holds only its seed.
#pragma once

#include <cstdint>
#include <string>

#include "samplers/rng.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(std::uint64_t seed) : seed_(seed) {}

  // Ignores the history; walks space.parameters() in order, drawing only active parameters.
  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

 private:
  const std::uint64_t seed_;
};

// "random": no options besides name and seed.
SamplerRegistration random_sampler_registration();

// One draw from the prior of `d` (the rules above). REQUIRES: d is valid (low <= high, low > 0
// when log, choices not empty).
ParamValue draw_from_prior(const Distribution& d, Rng& rng);

// The value of `d` at quantile u in [0, 1) of its prior, mapped by the same rules as
// draw_from_prior (u uniform on [0, 1) gives exactly the prior): a float at low + u (high - low)
// (on the log axis for log), a grid point k = floor(u * points) (a log int: the cell holding
// the log-axis point), a choice floor(u * choices). Quasi-random samplers feed it their
// low-discrepancy coordinates. REQUIRES: d is valid, 0 <= u < 1 (u = 1 is clamped).
ParamValue prior_quantile(const Distribution& d, double u);

// Draws every active parameter of `space` in order from `rng` (what RandomSampler does for one
// trial). Shared with TPE, whose startup trials are exactly the random sampler's.
ParamSet draw_params(const SearchSpace& space, Rng& rng);

}  // namespace hpo
