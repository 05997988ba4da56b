// Box-constrained L-BFGS (in the manner of L-BFGS-B, Byrd et al. 1995, simplified): minimizes a
// smooth function of a few dozen variables within lower and upper bounds, for the GP sampler's
// kernel fit and its acquisition search. Each iteration takes the two-loop L-BFGS direction over
// the free variables (those not held at a bound by the gradient), projects the step onto the box
// and backtracks until the Armijo condition holds; curvature pairs that would break positive
// definiteness are skipped. Stops at max_iterations, when the projected gradient is below
// pgtol, or when an iteration improves the value by less than ftol (relative).
// Pure function of its inputs (no randomness); thread-safe.
#pragma once

#include <functional>
#include <vector>

namespace hpo {

struct BoxLbfgsOptions {
  int max_iterations = 50;
  int memory = 8;       // curvature pairs kept
  double pgtol = 1e-6;  // stop when max |projected gradient| is below this
  double ftol = 1e-9;   // stop when the relative improvement of an iteration is below this
  int max_evaluations = 200;
};

// Value of the objective at x, writing its gradient to `grad` (same size as x).
using BoxObjective = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

struct BoxLbfgsResult {
  double value = 0.0;
  int iterations = 0;
  int evaluations = 0;
};

// Minimizes f from `x` (clamped into the box first), leaving the best point found in `x`.
// REQUIRES: lower.size() == upper.size() == x.size(), lower <= upper. A non-finite value counts
// as worse than any finite one (the line search backs off).
BoxLbfgsResult minimize_in_box(const BoxObjective& f, std::vector<double>& x,
                               const std::vector<double>& lower, const std::vector<double>& upper,
                               const BoxLbfgsOptions& options = {});

}  // namespace hpo
