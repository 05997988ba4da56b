// Nsga2Sampler: NSGA-II (Deb et al. 2002) for multi-objective studies, with Optuna's
// NSGAIISampler options ("sampler": {"name": "nsga2", "population_size": 50, ...}); it also runs
// a single-objective study.
//
// One suggestion, rebuilt from the stored trials alone (no hidden state, no generations):
//   1. Until population_size trials are COMPLETE, draw at random (exactly RandomSampler's draws
//      for the same seed).
//   2. The population: the best population_size COMPLETE trials of the whole history, by
//      constrained non-dominated sorting (a feasible trial beats an infeasible one, the smaller
//      violation beats a larger one, feasible trials by Pareto domination), the front that does
//      not fit whole cut by crowding distance (ties: lower trial number). This is NSGA-II's
//      elitist (mu + lambda) survival applied after every trial instead of once per generation:
//      parallel workers and resumed runs draw parents from whatever has finished, so no trial is
//      lost at a generation barrier, and the same history gives the same population.
//   3. Two parents by binary tournament on (rank, crowding distance); with crossover_prob a
//      child by crossover (numeric parameters by the chosen operator on their unit axis, log
//      parameters on the log axis; categoricals by a uniform swap), else a copy of the first
//      parent; then every parameter is redrawn from its prior with mutation_prob. A parameter
//      neither parent holds (a newly active conditional one) is drawn from its prior.
// Deterministic: trial t's draws come from trial_seed(seed, t). Not thread-safe (as every Sampler).
// Where hpo departs from Optuna 3.1: steady-state survival above instead of generations keyed by
// trial attributes; an SBX or BLX child outside the bounds is clipped after 100 retries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

enum class Crossover {
  kUniform,   // each parameter from the second parent with swapping_prob
  kSbx,       // simulated binary crossover (eta 20 with several objectives, 2 with one, as Optuna)
  kBlxAlpha,  // blend crossover, alpha 0.5: uniform on the parents' interval widened by half
};

struct Nsga2Options {
  // Trials in the population (and random trials before the first crossover). >= 2.
  // JSON "population_size".
  int population_size = 50;
  // Chance that a parameter is redrawn from its prior; nullopt: 1 / number of parameters of the
  // child (Optuna's default). In [0, 1]. JSON "mutation_prob".
  std::optional<double> mutation_prob;
  // JSON "crossover": "uniform" (default, as Optuna), "sbx", "blxalpha".
  Crossover crossover = Crossover::kUniform;
  // Chance that a child is made by crossover rather than copied from one parent. In [0, 1].
  // JSON "crossover_prob".
  double crossover_prob = 0.9;
  // Uniform crossover (and categoricals with every operator): chance of taking each parameter
  // from the second parent. In [0, 1]. JSON "swapping_prob".
  double swapping_prob = 0.5;
};

// Reads the NSGA-II keys of the "sampler" object `block` at `path`, reporting every problem to
// `checker` with its JSON path. The one reader of these keys (checker and factory).
Nsga2Options read_nsga2_options(const OrderedJson& block, const std::string& path,
                                SpecChecker& checker);

// The population step 2 above selects from `study`: trial numbers, best first (by rank, then
// crowding distance); empty while fewer than population_size trials are COMPLETE.
std::vector<int> nsga2_population(const StudyView& study, int population_size);

// "nsga2": the options above.
SamplerRegistration nsga2_sampler_registration();

class Nsga2Sampler final : public Sampler {
 public:
  Nsga2Sampler(std::uint64_t seed, Nsga2Options options = {});

  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

 private:
  const std::uint64_t seed_;
  const Nsga2Options options_;
};

}  // namespace hpo
