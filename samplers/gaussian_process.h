// GaussianProcess: Gaussian-process regression with a Matern-5/2 kernel with one length scale
// per input dimension (ARD) plus a noise nugget, for the GP sampler:
//   k(x, x') = s2 (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r),  r^2 = sum_d (x_d - x'_d)^2 / l_d^2
//   y = f(x) + eps,  eps ~ N(0, noise),  zero prior mean (callers standardize y).
// fit() chooses (l, s2, noise) by maximizing the log marginal likelihood plus log priors
// (maximum a posteriori) with box-constrained L-BFGS on their logarithms:
//   1 / l_d^2 ~ Gamma(2, rate 1/2)          as Optuna's GPSampler: inputs on the unit cube, a
//                                           mode at l = 0.5, length scales much shorter than
//                                           the cube strongly penalized (with few points, ARD
//                                           otherwise fits some dimensions with l ~ 0.05 and
//                                           the acquisition chases the box's corners);
//   log s2    ~ N(0, 1)                     standardized outputs;
//   log noise ~ N(-8, 2^2), noise >= 1e-6   a nugget that noisy objectives can grow and smooth
//                                           ones keep near zero.
// The posterior (mean and variance of f, with their gradients in x) comes from one Cholesky
// factor; append() conditions on further points by extending that factor (O(n^2) per point
// instead of a new O(n^3) factorization), which the sampler uses for trials still running.
//
// Inputs are row-major arrays of n points x dims. Value type with a pimpl (Eigen stays in the
// .cpp); const methods are thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace hpo {

struct GpHyperparameters {
  std::vector<double> lengthscales;  // one per dimension
  double signal_variance = 1.0;
  double noise_variance = 1e-4;
};

struct GpFitOptions {
  // Keep the noise at min_noise (a deterministic objective): only l and s2 are fitted.
  bool fixed_noise = false;
  double min_noise = 1e-6;
  // Iterations of the optimizer per start (the fit is the costliest part of a suggestion; more
  // iterations refine length scales of dimensions that hardly matter).
  int max_iterations = 30;
};

class GaussianProcess {
 public:
  GaussianProcess();
  GaussianProcess(const GaussianProcess& other);
  GaussianProcess& operator=(const GaussianProcess& other);
  ~GaussianProcess();

  // Fits the hyperparameters to n = y.size() points `x` (n x dims) and conditions on them. Each
  // of `starts` is a starting point of the optimizer (empty: length scales 0.5, s2 1, noise at
  // the prior's median); the best optimum wins. REQUIRES: n >= 1, x.size() == n * dims.
  void fit(const std::vector<double>& x, const std::vector<double>& y, std::size_t dims,
           const std::vector<GpHyperparameters>& starts, const GpFitOptions& options = {});

  // Conditions on the points with the given hyperparameters (no fitting).
  void condition(const std::vector<double>& x, const std::vector<double>& y, std::size_t dims,
                 const GpHyperparameters& hyper);

  // Adds points and their values to the conditioning set with the same hyperparameters.
  void append(const std::vector<double>& x, const std::vector<double>& y);

  std::size_t size() const;
  std::size_t dims() const;
  const GpHyperparameters& hyperparameters() const;
  // log p(y | x, hyper) + log prior(hyper) of the last fit or condition (before append).
  double log_posterior() const;

  // Posterior mean and variance of f at m points (row-major, m x dims).
  void predict(const double* x, std::size_t m, double* mean, double* variance) const;

  // Posterior mean and variance of f at one point, with their gradients (dims each).
  void predict_with_gradient(const double* x, double& mean, double& variance, double* d_mean,
                             double* d_variance) const;

  // The log marginal likelihood plus log priors of `hyper` on (x, y) and its gradient in the
  // logarithms of (lengthscales..., signal variance, noise variance): what fit() maximizes.
  // For tests.
  static double log_posterior_of(const std::vector<double>& x, const std::vector<double>& y,
                                 std::size_t dims, const GpHyperparameters& hyper,
                                 std::vector<double>* gradient);

 private:
  struct Model;
  std::unique_ptr<Model> m_;
};

}  // namespace hpo
