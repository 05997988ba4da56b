// fANOVA (Hutter, Hoos and Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter
// Importance", ICML 2014), first-order terms only, as Optuna's FanovaImportanceEvaluator
// reports them: for each tree of a random forest fitted to the trials, the variance of the
// tree's marginal prediction over one feature (the others integrated out, uniformly over the
// box [0, 1]^d) divided by the variance of the tree's prediction over the whole box; averaged
// over the trees. Exact for piecewise-constant trees: each leaf is a box, so the marginal is a
// step function computed with one sweep over the leaf boundaries. Stateless; thread-safe.
#pragma once

#include <vector>

#include "engine/report/random_forest.h"

namespace hpo {

// One importance per feature, each in [0, 1] (their sum is at most 1: the rest is explained by
// interactions). All zero when every tree is constant. REQUIRES: the forest is fitted on
// features in [0, 1].
std::vector<double> fanova_importance(const RandomForest& forest);

}  // namespace hpo
