// RandomForest: a small regression forest (bagged CART trees, variance-reduction splits), the
// surrogate that fANOVA (fanova.h) decomposes. Features are expected in [0, 1] (see
// param_importance.h for the encoding); a split sends x[f] < threshold left. Deterministic for
// a given seed and data. Value type: fit() builds it, const methods are thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace hpo {

struct ForestOptions {
  int trees = 64;             // Optuna's FanovaImportanceEvaluator: n_trees=64
  int max_depth = 64;         // and max_depth=64
  int min_samples_split = 2;  // a node with fewer samples is a leaf
  int min_samples_leaf = 1;   // each side of a split keeps at least this many samples
  std::uint64_t seed = 0;     // bootstrap draws
};

struct TreeNode {
  int feature = -1;        // -1: a leaf
  double threshold = 0.0;  // x[feature] < threshold goes left
  int left = -1;
  int right = -1;
  double value = 0.0;  // mean target of the node's samples (a leaf's prediction)
};

// One tree; nodes[0] is the root.
struct RegressionTree {
  std::vector<TreeNode> nodes;
  double predict(const double* x) const;
};

class RandomForest {
 public:
  // Fits `options.trees` trees, each on a bootstrap sample of the rows. `x` holds n rows of
  // `features` values (row-major), `y` n targets. REQUIRES: n >= 1, features >= 1,
  // x.size() == n * features.
  void fit(const std::vector<double>& x, const std::vector<double>& y, int features,
           const ForestOptions& options = {});

  // Mean prediction of the trees. REQUIRES: fitted, x has `features()` values.
  double predict(const double* x) const;

  const std::vector<RegressionTree>& trees() const { return trees_; }
  int features() const { return features_; }

 private:
  std::vector<RegressionTree> trees_;
  int features_ = 0;
};

}  // namespace hpo
