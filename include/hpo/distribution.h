// Distribution: the domain of one hyperparameter.
//   kFloat        real in [low, high]; `log` searches in log space (low > 0); `step` puts
//                 values on the grid low, low+step, ... <= high (not with log).
//   kInt          integer in [low, high], both ends inclusive; `step` (default 1) as for
//                 floats; `log` searches in log space (low >= 1, step 1).
//   kCategorical  one of `choices` (strings, numbers or booleans; unordered).
// Internal representation (as in Optuna): a float or int is its own value as a double, a
// categorical is the index of its choice. Samplers work on the internal value and convert back
// with from_internal(). Value type; thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hpo/param_value.h"

namespace hpo {

enum class ParamType { kFloat, kInt, kCategorical };

const char* to_string(ParamType type);  // "float", "int", "categorical"

struct Distribution {
  ParamType type = ParamType::kFloat;
  double low = 0.0;
  double high = 0.0;
  bool log = false;
  std::optional<double> step;       // float: grid step; int: step (nullopt means 1)
  std::vector<ParamValue> choices;  // categorical only

  static Distribution float_range(double low, double high, bool log = false,
                                  std::optional<double> step = std::nullopt);
  static Distribution int_range(std::int64_t low, std::int64_t high, bool log = false,
                                std::int64_t step = 1);
  static Distribution categorical(std::vector<ParamValue> choices);

  // Grid step of an int (1 when unset) or stepped float; 0 for a continuous float.
  double effective_step() const;
  // True when `value` is of the right kind, inside the bounds and on the step grid (with a
  // relative tolerance of 1e-9 of the range for floats), or one of the choices.
  bool contains(const ParamValue& value) const;
  // Index of `value` among the choices; nullopt when it is not one (categorical only).
  std::optional<std::size_t> choice_index(const ParamValue& value) const;

  // REQUIRES: contains(value).
  double to_internal(const ParamValue& value) const;
  // Inverse of to_internal; floats are clamped into [low, high] and snapped to the step
  // grid, ints rounded to the grid, categorical indexes rounded and clamped.
  ParamValue from_internal(double internal) const;


  friend bool operator==(const Distribution& a, const Distribution& b);
  friend bool operator!=(const Distribution& a, const Distribution& b) { return !(a == b); }
};

}  // namespace hpo
