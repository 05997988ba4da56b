#include "engine/report/fanova.h"

#include <algorithm>

namespace hpo {
namespace {

struct Leaf {
  std::vector<double> lo;
  std::vector<double> hi;
  double value = 0;
  double volume = 0;
};

void collect_leaves(const RegressionTree& tree, int node, std::vector<double>& lo,
                    std::vector<double>& hi, std::vector<Leaf>& out) {
  const TreeNode& n = tree.nodes[node];
  if (n.feature < 0) {
    Leaf leaf{lo, hi, n.value, 1.0};
    for (std::size_t f = 0; f < lo.size(); ++f) leaf.volume *= std::max(0.0, hi[f] - lo[f]);
    if (leaf.volume > 0) out.push_back(std::move(leaf));
    return;
  }
  const auto f = static_cast<std::size_t>(n.feature);
  // Thresholds outside [0, 1] cannot happen for features in [0, 1]; clamp for safety.
  const double t = std::clamp(n.threshold, lo[f], hi[f]);
  const double old_hi = hi[f];
  hi[f] = t;
  collect_leaves(tree, n.left, lo, hi, out);
  hi[f] = old_hi;
  const double old_lo = lo[f];
  lo[f] = t;
  collect_leaves(tree, n.right, lo, hi, out);
  lo[f] = old_lo;
}

// Variance fractions of one tree, added to `sums`; false when the tree is constant.
bool add_tree(const RegressionTree& tree, int features, std::vector<double>& sums) {
  std::vector<double> lo(static_cast<std::size_t>(features), 0.0);
  std::vector<double> hi(static_cast<std::size_t>(features), 1.0);
  std::vector<Leaf> leaves;
  collect_leaves(tree, 0, lo, hi, leaves);
  double mean = 0;
  for (const Leaf& l : leaves) mean += l.volume * l.value;
  double total = 0;
  for (const Leaf& l : leaves) total += l.volume * (l.value - mean) * (l.value - mean);
  if (total <= 1e-300) return false;

  for (int f = 0; f < features; ++f) {
    const auto fi = static_cast<std::size_t>(f);
    std::vector<double> cuts{0.0, 1.0};
    for (const Leaf& l : leaves) {
      cuts.push_back(l.lo[fi]);
      cuts.push_back(l.hi[fi]);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<double> delta(cuts.size(), 0.0);
    for (const Leaf& l : leaves) {
      const double width = l.hi[fi] - l.lo[fi];
      const double c = l.volume / width * l.value;
      const auto a = std::lower_bound(cuts.begin(), cuts.end(), l.lo[fi]) - cuts.begin();
      const auto b = std::lower_bound(cuts.begin(), cuts.end(), l.hi[fi]) - cuts.begin();
      delta[static_cast<std::size_t>(a)] += c;
      delta[static_cast<std::size_t>(b)] -= c;
    }
    double marginal = 0;
    double variance = 0;
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
      marginal += delta[k];
      const double len = cuts[k + 1] - cuts[k];
      variance += len * (marginal - mean) * (marginal - mean);
    }
    sums[fi] += std::clamp(variance / total, 0.0, 1.0);
  }
  return true;
}

}  // namespace

std::vector<double> fanova_importance(const RandomForest& forest) {
  const int d = forest.features();
  std::vector<double> sums(static_cast<std::size_t>(d), 0.0);
  int counted = 0;
  for (const auto& tree : forest.trees())
    if (add_tree(tree, d, sums)) ++counted;
  // Optuna averages over the trees that have variance; constant trees explain nothing.
  if (counted > 0)
    for (double& s : sums) s /= counted;
  return sums;
}

}  // namespace hpo
