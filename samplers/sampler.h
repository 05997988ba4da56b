// Sampler: proposes the parameters of the next trial.
//
// Call order (the shape of Optuna's sampler protocol, with the space known up front):
//   1. The study manager calls suggest(study, space, trial_number) once per new trial, on the
//      run's io_context thread. suggest() is the "relative" half: it may sample all
//      parameters jointly (multivariate TPE).
//   2. A sampler that cannot treat some parameter jointly samples it alone (its own
//      "independent" fallback), walking space.parameters() in order so that the parents of a
//      conditional parameter are chosen before it.
// Contract for every sampler (tests/samplers checks each one):
//   - the result holds exactly the parameters active under the chosen values, each inside
//     its distribution (bounds, step grid, choices);
//   - FAIL trials are ignored (a grid still counts a failed trial's point as run, as Optuna's
//     GridSampler does, so that a point that always fails cannot loop forever); RUNNING trials
//     may be used (constant liar);
//   - deterministic: the same seed, space, history and trial_number give the same result;
//     a different seed gives a different sequence.
// Samplers never see storage. Not thread-safe: one caller at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "hpo/param_value.h"
#include "hpo/search_space.h"
#include "engine/model/study_view.h"

namespace hpo {

class Sampler {
 public:
  Sampler() = default;
  virtual ~Sampler() = default;
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Proposes the parameters of trial `trial_number` of `study`, whose trials() are the
  // history (finished and still running trials; trial_number is not among them).
  virtual ParamSet suggest(const StudyView& study, const SearchSpace& space,
                           std::uint64_t trial_number) = 0;

  // How many more trials this sampler can propose for `study`, for a sampler with a finite
  // supply (a grid runs each point once); nullopt for the others (the default). The engine
  // creates no trial while it is 0, and ends the study ("grid exhausted") once nothing runs.
  virtual std::optional<std::size_t> remaining(const StudyView& study,
                                               const SearchSpace& space) const {
    return std::nullopt;
  }
};

// Completes a partial parameter set (an enqueued trial naming only some parameters, as Optuna's
// enqueue_trial; SearchSpace::check_partial passed): the given values stay, the active
// parameters missing from it take the values `sampler` suggests for trial `trial_number` of
// `study`, and one that suggestion leaves out (it chose another branch of a condition than the
// given parents) is drawn from its prior with the trial's own seed (trial_seed(seed, number)).
// The result holds exactly the parameters active under it.
ParamSet complete_params(Sampler& sampler, const StudyView& study, const SearchSpace& space,
                         const ParamSet& given, std::uint64_t trial_number, std::uint64_t seed);

// Mixes a study seed and a trial number into an independent 64-bit seed (splitmix64), so that
// every trial's draws are reproducible on their own, including after a resume.
std::uint64_t trial_seed(std::uint64_t study_seed, std::uint64_t trial_number);

}  // namespace hpo
