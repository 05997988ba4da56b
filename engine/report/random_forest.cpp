#include "engine/report/random_forest.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace hpo {
namespace {

struct Builder {
  const std::vector<double>& x;
  const std::vector<double>& y;
  int features;
  const ForestOptions& options;
  RegressionTree tree;

  double feature(int row, int f) const { return x[static_cast<std::size_t>(row) * features + f]; }

  // Grows the node for rows[begin, end) and returns its index.
  int grow(std::vector<int>& rows, std::size_t begin, std::size_t end, int depth) {
    const int index = static_cast<int>(tree.nodes.size());
    tree.nodes.emplace_back();
    const std::size_t n = end - begin;
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += y[rows[i]];
    tree.nodes[index].value = sum / static_cast<double>(n);
    if (static_cast<int>(n) < options.min_samples_split || depth >= options.max_depth) return index;

    // The split with the largest reduction of the sum of squared errors, over every feature
    // and every midpoint between consecutive distinct values.
    double best_gain = 1e-12;
    int best_feature = -1;
    double best_threshold = 0;
    double total_sq = 0;
    for (std::size_t i = begin; i < end; ++i) total_sq += y[rows[i]] * y[rows[i]];
    const double parent_sse = total_sq - sum * sum / static_cast<double>(n);
    if (parent_sse <= 1e-12 * std::max(1.0, total_sq)) return index;  // constant target
    std::vector<int> sorted(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                            rows.begin() + static_cast<std::ptrdiff_t>(end));
    for (int f = 0; f < features; ++f) {
      std::sort(sorted.begin(), sorted.end(),
                [&](int a, int b) { return feature(a, f) < feature(b, f); });
      double left_sum = 0;
      double left_sq = 0;
      const auto min_leaf = static_cast<std::size_t>(std::max(1, options.min_samples_leaf));
      for (std::size_t k = 0; k + 1 < n; ++k) {
        const double v = y[sorted[k]];
        left_sum += v;
        left_sq += v * v;
        const std::size_t nl = k + 1;
        const std::size_t nr = n - nl;
        if (nl < min_leaf || nr < min_leaf) continue;
        const double a = feature(sorted[k], f);
        const double b = feature(sorted[k + 1], f);
        if (!(a < b)) continue;
        const double right_sum = sum - left_sum;
        const double right_sq = total_sq - left_sq;
        const double sse = (left_sq - left_sum * left_sum / static_cast<double>(nl)) +
                           (right_sq - right_sum * right_sum / static_cast<double>(nr));
        const double gain = parent_sse - sse;
        if (gain > best_gain) {
          best_gain = gain;
          best_feature = f;
          best_threshold = 0.5 * (a + b);
        }
      }
    }
    if (best_feature < 0) return index;
    const auto middle = std::partition(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                       rows.begin() + static_cast<std::ptrdiff_t>(end), [&](int r) {
                                         return feature(r, best_feature) < best_threshold;
                                       });
    const auto mid = static_cast<std::size_t>(middle - rows.begin());
    tree.nodes[index].feature = best_feature;
    tree.nodes[index].threshold = best_threshold;
    const int left = grow(rows, begin, mid, depth + 1);
    const int right = grow(rows, mid, end, depth + 1);
    tree.nodes[index].left = left;
    tree.nodes[index].right = right;
    return index;
  }
};

}  // namespace

double RegressionTree::predict(const double* x) const {
  int i = 0;
  while (nodes[i].feature >= 0)
    i = x[nodes[i].feature] < nodes[i].threshold ? nodes[i].left : nodes[i].right;
  return nodes[i].value;
}

void RandomForest::fit(const std::vector<double>& x, const std::vector<double>& y, int features,
                       const ForestOptions& options) {
  features_ = features;
  trees_.clear();
  const int n = static_cast<int>(y.size());
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int> pick(0, n - 1);
  for (int t = 0; t < options.trees; ++t) {
    std::vector<int> rows(static_cast<std::size_t>(n));
    for (int& r : rows) r = pick(rng);
    Builder builder{x, y, features, options, {}};
    builder.grow(rows, 0, rows.size(), 0);
    trees_.push_back(std::move(builder.tree));
  }
}

double RandomForest::predict(const double* x) const {
  double sum = 0;
  for (const auto& tree : trees_) sum += tree.predict(x);
  return trees_.empty() ? 0.0 : sum / static_cast<double>(trees_.size());
}

}  // namespace hpo
