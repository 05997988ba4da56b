// ParzenEstimator: the kernel density of TPE (internal to samplers/). A weighted mixture of
// one kernel per observation plus a wide "prior" kernel, over one parameter (univariate TPE)
// or several jointly (multivariate TPE, where each component is a product of per-parameter
// kernels centred on one observed trial).
//
// Kernels per parameter kind, on the kernel axis (log of the value for log distributions):
//   continuous float  a normal truncated to [low, high];
//   int / stepped     the same truncated normal integrated over the cell of each grid point
//                     (a proper probability mass function over the grid, not a rounded
//                     density);
//   categorical       the observed choice with weight 1 plus prior_weight / (n + 1) spread over
//                     every choice, normalised (Optuna's smoothed frequencies); the prior
//                     component is uniform.
// The prior component sits mid-range with sigma = the range. Every observation kernel gets, in
// each dimension, the bandwidth of Optuna's univariate neighbour-gap rule: the larger distance to
// its neighbours among the sorted centres of that dimension (the prior's centre and the domain
// ends included), clipped to [range / min(100, n + 2), range] (Optuna's "magic clip"). Joint
// (multivariate) components use these per-dimension bandwidths too, rather than Optuna's single
// Scott-like width 0.2 n^(-1/(d+4)) per dimension: a kernel in a dense region of good trials is
// narrow, one in a sparse region wide, which measured better on every budget we tried (see the
// sampler benchmarks in tests/bench).
//
// Points are "encoded": per dimension, the kernel-axis value of a continuous parameter, the grid
// index of an int/stepped one, the choice index of a categorical. KernelDim converts.
//
// An estimator keeps its buffers between fit() calls, so that a sampler refitting the same
// estimator suggestion after suggestion allocates nothing once warm. Not thread-safe: one
// thread at a time per object (log_pdf uses internal scratch space).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "hpo/distribution.h"
#include "hpo/param_value.h"
#include "samplers/rng.h"

namespace hpo {

// One dimension of an estimator: a parameter's distribution and its kernel axis.
struct KernelDim {
  enum class Kind { kContinuous, kGrid, kCategorical };

  Kind kind = Kind::kContinuous;
  Distribution dist;
  double lo = 0.0;         // kernel-axis bounds (continuous and grid)
  double hi = 0.0;
  std::int64_t size = 0;   // grid points or choices

  // REQUIRES: d allows more than one value (a continuous range with low < high, a grid of two
  // points or more, two choices or more).
  static KernelDim make(const Distribution& d);

  // Encoded coordinate of a stored value; nullopt when the value does not belong to the
  // distribution (e.g. a trial from an older version of the search space).
  std::optional<double> encode(const ParamValue& value) const;
  // The parameter value of an encoded coordinate.
  ParamValue decode(double x) const;
  // Kernel-axis position of an encoded coordinate (continuous: itself; grid: the point's value,
  // in log space for log ints).
  double center(double x) const;
  // Kernel-axis edges of grid cell k. REQUIRES: kind == kGrid.
  double cell_lo(std::int64_t k) const;
  double cell_hi(std::int64_t k) const;
};

struct ParzenConfig {
  double prior_weight = 1.0;        // weight of the prior component before normalising
  bool consider_endpoints = false;  // let the domain ends widen the outermost kernels
                                    // (Optuna's consider_endpoints)
  bool magic_clip = true;           // clip sigmas below at range / min(100, clip_count + 1)
  // The count in the clip; 0 means the number of components (Optuna's rule). TPE passes a
  // larger count for the good group once the history is large (see tpe_sampler.cpp).
  double clip_count = 0.0;
};

class ParzenEstimator {
 public:
  ParzenEstimator();
  // Same as default construction followed by fit().
  ParzenEstimator(const std::vector<KernelDim>& dims, const std::vector<double>& observations,
                  const std::vector<double>& weights, const ParzenConfig& config);
  ~ParzenEstimator();
  ParzenEstimator(ParzenEstimator&&) noexcept;
  ParzenEstimator& operator=(ParzenEstimator&&) noexcept;

  // (Re)fits the mixture. `observations` holds n points of dims.size() encoded coordinates
  // each, row by row (point i is observations[i * d .. i * d + d)); `weights` holds their n
  // non-negative weights (not necessarily normalised). `sorted`, when given, lists for each
  // numeric dimension j the n point indexes in increasing order of coordinate j, ties in
  // increasing index (entries of categorical dimensions are ignored): a caller that keeps its
  // history sorted spares the estimator its sorts. REQUIRES: every coordinate valid for its
  // dimension; dims not empty; config.prior_weight > 0.
  void fit(const std::vector<KernelDim>& dims, const std::vector<double>& observations,
           const std::vector<double>& weights, const ParzenConfig& config,
           const std::vector<std::vector<std::uint32_t>>* sorted = nullptr);

  std::size_t dims() const;
  std::size_t components() const;  // observations + 1 (the prior)

  // Draws `count` points into `out` (count * dims() encoded coordinates, row by row).
  void sample(Rng& rng, std::size_t count, std::vector<double>& out) const;
  std::vector<double> sample(Rng& rng, std::size_t count) const;

  // Log density of each of the `count` points (a density for continuous dimensions, a mass for
  // grid and categorical ones, multiplied across dimensions) into `out`.
  void log_pdf(const std::vector<double>& points, std::size_t count,
               std::vector<double>& out) const;
  std::vector<double> log_pdf(const std::vector<double>& points, std::size_t count) const;

  // For tests: component weights (normalised; the prior last) and kernels of numeric dim j.
  const std::vector<double>& TEST_weights() const;
  const std::vector<double>& TEST_mus(std::size_t j) const;
  const std::vector<double>& TEST_sigmas(std::size_t j) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpo
