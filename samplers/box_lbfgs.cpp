#include "samplers/box_lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace hpo {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

BoxLbfgsResult minimize_in_box(const BoxObjective& f, std::vector<double>& x,
                               const std::vector<double>& lower, const std::vector<double>& upper,
                               const BoxLbfgsOptions& options) {
  const std::size_t n = x.size();
  BoxLbfgsResult result;
  for (std::size_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], lower[i], upper[i]);
  std::vector<double> g(n), g_new(n), x_new(n), d(n), q(n);
  double fx = f(x, g);
  result.evaluations = 1;
  if (!std::isfinite(fx)) {
    result.value = fx;
    return result;
  }
  std::deque<std::vector<double>> ss, ys;
  std::deque<double> rhos;
  for (int it = 0; it < options.max_iterations; ++it) {
    result.iterations = it + 1;
    // Variables held at a bound by the gradient stay fixed this iteration.
    std::vector<bool> fixed(n, false);
    double pg_max = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool at_low = x[i] <= lower[i] && g[i] > 0.0;
      const bool at_high = x[i] >= upper[i] && g[i] < 0.0;
      fixed[i] = at_low || at_high || lower[i] == upper[i];
      if (!fixed[i]) pg_max = std::max(pg_max, std::fabs(g[i]));
    }
    if (pg_max < options.pgtol) break;

    // Two-loop recursion over the free variables.
    for (std::size_t i = 0; i < n; ++i) q[i] = fixed[i] ? 0.0 : g[i];
    std::vector<double> alpha(ss.size());
    for (std::size_t k = ss.size(); k-- > 0;) {
      alpha[k] = rhos[k] * dot(ss[k], q);
      for (std::size_t i = 0; i < n; ++i) q[i] -= alpha[k] * ys[k][i];
    }
    double gamma = 1.0;
    if (!ys.empty()) gamma = dot(ss.back(), ys.back()) / dot(ys.back(), ys.back());
    for (std::size_t i = 0; i < n; ++i) q[i] *= gamma;
    for (std::size_t k = 0; k < ss.size(); ++k) {
      const double beta = rhos[k] * dot(ys[k], q);
      for (std::size_t i = 0; i < n; ++i) q[i] += (alpha[k] - beta) * ss[k][i];
    }
    double slope = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      d[i] = fixed[i] ? 0.0 : -q[i];
      slope += d[i] * g[i];
    }
    if (!(slope < 0.0)) {  // not a descent direction: steepest descent, forget the curvature
      ss.clear();
      ys.clear();
      rhos.clear();
      for (std::size_t i = 0; i < n; ++i) d[i] = fixed[i] ? 0.0 : -g[i];
    }
    // The first step of a fresh memory is scaled so that no variable moves by more than 1.
    double t = 1.0;
    if (ss.empty()) {
      double d_max = 0.0;
      for (double v : d) d_max = std::max(d_max, std::fabs(v));
      if (d_max > 1.0) t = 1.0 / d_max;
    }
    bool accepted = false;
    double f_new = fx;
    for (int back = 0; back < 30 && result.evaluations < options.max_evaluations; ++back) {
      for (std::size_t i = 0; i < n; ++i)
        x_new[i] = std::clamp(x[i] + t * d[i], lower[i], upper[i]);
      double decrease = 0.0;
      for (std::size_t i = 0; i < n; ++i) decrease += g[i] * (x_new[i] - x[i]);
      f_new = f(x_new, g_new);
      ++result.evaluations;
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) break;
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = x_new[i] - x[i];
      y[i] = g_new[i] - g[i];
    }
    const double sy = dot(s, y);
    if (sy > 1e-12 * dot(y, y)) {
      ss.push_back(std::move(s));
      ys.push_back(std::move(y));
      rhos.push_back(1.0 / sy);
      if (static_cast<int>(ss.size()) > options.memory) {
        ss.pop_front();
        ys.pop_front();
        rhos.pop_front();
      }
    }
    const double improvement = fx - f_new;
    x.swap(x_new);
    g.swap(g_new);
    fx = f_new;
    if (improvement < options.ftol * std::max({std::fabs(fx), std::fabs(f_new), 1.0})) break;
    if (result.evaluations >= options.max_evaluations) break;
  }
  result.value = fx;
  return result;
}

}  // namespace hpo
