// Grid helpers shared by the samplers (internal): the points of an int or stepped-float
// distribution, and the cells around them. A grid distribution holds the values
// v_k = low + k * step for k = 0 .. size-1, with v_{size-1} <= high (a range that is not a
// whole number of steps ends at the last point that fits). Cell k is
// [v_k - step/2, v_k + step/2]; the cells tile [v_0 - step/2, v_last + step/2]. For a log int
// the cells are the same intervals, taken in log space (the first one starts at low/2 when
// low - step/2 would not be positive). Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hpo/distribution.h"

namespace hpo {

// True for an int or a stepped float: values live on a finite grid.
inline bool is_grid(const Distribution& d) {
  return d.type == ParamType::kInt || (d.type == ParamType::kFloat && d.step.has_value());
}

// Number of grid points. REQUIRES: is_grid(d), low <= high, step > 0.
inline std::int64_t grid_size(const Distribution& d) {
  const double s = d.effective_step();
  const double span = (d.high - d.low) / s;
  // The same relative slack as Distribution::contains, so a high that is a whole number of
  // steps away (up to rounding) is a grid point.
  return static_cast<std::int64_t>(std::floor(span + 1e-9)) + 1;
}

// The value of grid point k (exact for ints).
inline double grid_value(const Distribution& d, std::int64_t k) {
  const double v = d.low + static_cast<double>(k) * d.effective_step();
  return d.type == ParamType::kInt ? std::round(v) : std::min(v, d.high);
}

// Index of the grid point nearest to `value`, clamped to the grid.
inline std::int64_t grid_index(const Distribution& d, double value) {
  const double k = std::round((value - d.low) / d.effective_step());
  return static_cast<std::int64_t>(std::clamp(k, 0.0, static_cast<double>(grid_size(d) - 1)));
}

// Lower edge of cell k on the value axis (positive for log distributions).
inline double cell_lower(const Distribution& d, std::int64_t k) {
  const double s = d.effective_step();
  const double v = d.low + static_cast<double>(k) * s;
  double e = v - 0.5 * s;
  if (d.log && e <= 0.0) e = 0.5 * v;
  return e;
}

// Upper edge of cell k on the value axis.
inline double cell_upper(const Distribution& d, std::int64_t k) {
  const double s = d.effective_step();
  return d.low + static_cast<double>(k) * s + 0.5 * s;
}

// Index of the cell that holds `value` (on the value axis), clamped to the grid.
inline std::int64_t cell_of(const Distribution& d, double value) {
  const double s = d.effective_step();
  const double k = std::floor((value - (d.low - 0.5 * s)) / s);
  return static_cast<std::int64_t>(std::clamp(k, 0.0, static_cast<double>(grid_size(d) - 1)));
}

}  // namespace hpo
