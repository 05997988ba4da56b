// CmaEs: the state of one CMA-ES run (Hansen's tutorial, "The CMA Evolution Strategy", 2016,
// with negative weights, as the cmaes library Optuna uses) on coordinates in [0, 1]^n, with the
// margin correction of CMA-ES with margin for discrete coordinates (Hamano et al., "CMA-ES with
// Margin: Lower-Bounding Marginal Probability for Mixed-Integer Black-Box Optimization", GECCO
// 2022; the cmaes library's CMAwM).
//
// A discrete coordinate lists its allowed values (sorted); a sample's raw value x is told back
// to the distribution, and the value evaluated is the allowed value nearest to
// m + A (x - m), where the per-coordinate scale A and the mean are corrected after every
// update so that the probability of leaving the mean's cell stays at least margin / 2 on each
// side: an integer can never get stuck at one value.
//
// Continuous coordinates are kept inside [0, 1] by resampling (up to 10 n times) and then
// clipping, as cmaes does. The state is a plain value: nothing random lives in it (ask() takes
// the caller's Rng), so a state rebuilt from the same generations is the same state. Value type
// with an internal pimpl (Eigen stays in the .cpp); not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "samplers/rng.h"

namespace hpo {

struct CmaEsConfig {
  std::vector<double> mean;  // initial mean, one coordinate per dimension (n >= 1)
  double sigma = 1.0 / 6.0;  // initial step size
  int popsize = 0;           // lambda; 0: 4 + floor(3 ln n)
  // Per dimension: the allowed values of a discrete coordinate (sorted, >= 2), or empty for a
  // continuous one.
  std::vector<std::vector<double>> discrete;
  // Lower bound on the probability of leaving the mean's cell; 0: 1 / (n lambda) (CMAwM's
  // default). Only used when some coordinate is discrete.
  double margin = 0.0;
  // Separable CMA-ES (Ros and Hansen 2008; the cmaes library's SepCMA): a diagonal covariance,
  // O(n) per sample instead of O(n^2), with learning rates (n + 2) / 3 times larger, so that it
  // adapts faster on separable functions and in high dimension; only positive weights.
  bool separable = false;
  // Initial covariance, n x n row by row (symmetric positive definite); empty: the identity.
  // A warm start (warm_start_distribution) sets it; ignored when separable.
  std::vector<double> cov;
};

// The initial distribution of a warm start from another study's trials (Nomura et al., "Warm
// Starting CMA-ES for Hyperparameter Optimization", AAAI 2021; cmaes's get_warm_start_mgd, as
// Optuna's source_trials uses it): the best gamma fraction of `xs` (at least one point), ranked by
// `values` (lower is better), give the mean, and their covariance plus alpha^2 I, normalized to
// determinant 1, the covariance; sigma is that matrix's determinant^(1 / 2n).
// REQUIRES: xs non-empty, each of the same dimension, values.size() == xs.size().
struct WarmStart {
  std::vector<double> mean;
  double sigma = 0.0;
  std::vector<double> cov;  // n x n, row by row
};
WarmStart warm_start_distribution(const std::vector<std::vector<double>>& xs,
                                  const std::vector<double>& values, double gamma = 0.1,
                                  double alpha = 0.1);

class CmaEs {
 public:
  explicit CmaEs(const CmaEsConfig& config);
  CmaEs(const CmaEs& other);
  CmaEs& operator=(const CmaEs& other);
  ~CmaEs();

  std::size_t dim() const;
  int popsize() const;
  int generation() const;  // updates done
  double sigma() const;
  std::vector<double> mean() const;

  // One sample from the current distribution drawn with `rng`: `raw` (what tell() takes back)
  // and `eval` (continuous coordinates within [0, 1], discrete ones on their allowed values).
  void ask(Rng& rng, std::vector<double>& raw, std::vector<double>& eval) const;

  // One generation: popsize() raw samples and their values (lower is better). Updates mean,
  // step size, covariance and paths, then applies the margin correction.
  // REQUIRES: xs.size() == values.size() == popsize(), each of dim() coordinates.
  void tell(const std::vector<std::vector<double>>& xs, const std::vector<double>& values);

  // The termination criteria of cmaes (flat fitness history, tiny step size in every
  // coordinate, divergence, no-effect coordinate or axis, ill-conditioned covariance): true
  // when this run has converged and a restart would serve better.
  bool should_stop() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace hpo
