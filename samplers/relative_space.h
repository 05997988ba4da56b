// The relative search space of a model-based sampler (CMA-ES, GP): the parameters it models
// jointly, each on a coordinate of the unit interval, and how its values merge with those of
// its independent sampler (Optuna's infer_relative_search_space / sample_independent split).
//
// A UnitAxis maps one unconditional float or int parameter with more than one value to [0, 1]:
// linearly between low and high, or between their logarithms for log parameters. For an int or
// a stepped float the axis ends at the first and last grid points, the points sit at their own
// coordinates, and decoding takes the nearest point on the axis (so a log int's cells are
// halves of the log gaps between neighbours). Categoricals and conditional parameters are left
// to an independent sampler. Value types and pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hpo/distribution.h"
#include "hpo/param_value.h"
#include "hpo/search_space.h"
#include "samplers/rng.h"
#include "samplers/sampler.h"

namespace hpo {

class UnitAxis {
 public:
  // REQUIRES: d is a float or int distribution with more than one value.
  UnitAxis(std::size_t param, std::string name, Distribution d);

  std::size_t param() const { return param_; }  // index into space.parameters()
  const std::string& name() const { return name_; }
  const Distribution& distribution() const { return d_; }
  // True for ints and stepped floats.
  bool is_grid() const { return points_ > 0; }
  // Number of grid points (0 for a continuous float).
  std::int64_t points() const { return points_; }

  // The coordinate of a value (clamped into [0, 1]); nullopt when `v` is not a number.
  std::optional<double> to_unit(const ParamValue& v) const;
  // The value at coordinate u (clamped): a float, or the nearest grid point.
  ParamValue from_unit(double u) const;
  // The coordinate of from_unit(u): u itself for a continuous float, else the grid point's.
  double snap(double u) const;
  // Grid axes: the coordinate of grid point k, and the index of the point nearest to u.
  double point(std::int64_t k) const;
  std::int64_t nearest(double u) const;

 private:
  double axis(double value) const;  // value -> (log) axis

  std::size_t param_;
  std::string name_;
  Distribution d_;
  std::int64_t points_ = 0;
  double lo_ = 0.0, hi_ = 1.0;  // (log) axis at coordinates 0 and 1
};

// The unconditional float and int parameters of `space` with more than one value, in space
// order.
std::vector<UnitAxis> numeric_axes(const SearchSpace& space);

// Which sampler draws the parameters a model sampler does not model (categoricals, conditional
// parameters, everything before its startup trials are done).
enum class IndependentKind {
  kRandom,  // RandomSampler
  kTpe,     // univariate TPE (Optuna's default TPESampler)
};

// The independent sampler of `kind`, seeded with `seed`.
std::unique_ptr<Sampler> make_independent_sampler(IndependentKind kind, std::uint64_t seed);

// The final parameters of a trial: walks `space` in order, taking `relative`'s value for each
// parameter it holds, else `independent`'s when that is a valid value of the parameter, else a
// draw from the prior by `rng`; only active parameters are kept (a parent chosen by the model
// may activate a child the independent sampler did not draw).
ParamSet merge_independent(const SearchSpace& space, const ParamSet& relative,
                           const ParamSet& independent, Rng& rng);

// A seed for one purpose of a sampler (its own draws, its independent sampler, restarts) that is
// unrelated to the seed's other uses: trial_seed(seed, stable_hash(tag)).
std::uint64_t derived_seed(std::uint64_t seed, const char* tag);

}  // namespace hpo
