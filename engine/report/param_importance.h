// Parameter importance: how much of the variation of the objective each parameter explains.
//
// Method: fANOVA on a random forest (fanova.h, random_forest.h), as Optuna's default
// FanovaImportanceEvaluator (64 trees, depth 64) and optuna-dashboard compute it, so that the
// numbers read the same to an Optuna user. fANOVA rather than permutation importance because
// it measures variance over the whole search space: TPE concentrates its trials where the
// objective is good, and permutation importance, which scores the forest on those same trials,
// would then rate parameters by how they vary near the optimum only. Parameters are encoded
// into [0, 1] the way the sampler sees them: float and int ranges linearly (in log space for
// "log"), a categorical as equal cells, one per choice.
//
// Which trials and parameters: COMPLETE trials with a finite value, and (as Optuna's
// intersection search space) only the parameters every such trial has, so a conditional
// parameter is listed as skipped; a parameter whose range holds one value is skipped too.
// Deterministic for a given seed and trials. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/report/random_forest.h"
#include "hpo/search_space.h"
#include "hpo/trial.h"

namespace hpo {

struct ImportanceOptions {
  ForestOptions forest;
  // More COMPLETE trials than this are thinned to this many, evenly over their numbers (the
  // forest costs O(n log^2 n) per tree).
  std::size_t max_trials = 1000;
};

struct ParamImportance {
  std::string name;
  double importance = 0.0;  // share of the explained variance; the shares sum to 1
};

struct ImportanceResult {
  std::string method = "fanova";
  std::vector<ParamImportance> params;  // most important first
  std::vector<std::string> skipped;     // conditional or single-valued parameters
  int trials_used = 0;
  // Why `params` is empty (too few trials, a constant objective); empty otherwise.
  std::string note;
};

ImportanceResult parameter_importance(const SearchSpace& space, const std::vector<Trial>& trials,
                                      const ImportanceOptions& options = {});

// The feature a parameter value becomes, in [0, 1] (see above); nullopt for a value the
// distribution does not describe (not a number of a range, not one of the choices).
std::optional<double> encode_feature(const Distribution& distribution, const ParamValue& value);

// {method, trials_used, params: [{name, importance}], skipped: [...], note}.
nlohmann::json to_json(const ImportanceResult& result);

}  // namespace hpo
