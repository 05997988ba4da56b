// Builtin test functions: classic optimisation benchmarks as pure functions of named
// parameters, shared by the sampler benchmarks (tests/bench) and the threads executor's
// builtin objectives. Definitions follow ../shared/bench/problems.py where a function appears
// there (branin, hartmann6, rosenbrock, styblinski_tang, mixed_quadratic).
//
// Inputs are named: fixed names for fixed-size functions ("x1", "x2" for branin), "x1".."xn"
// for the n-dimensional ones (n read from the parameters), and the names listed in the
// function's description for mixed_quadratic. Every function is minimised; `optimum(n)` is its
// global minimum for n inputs. The registry is immutable static data: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hpo/param_value.h"
#include "hpo/search_space.h"

namespace hpo {

struct BuiltinFunction {
  std::string name;     // "branin"
  std::string summary;  // one line for `--help` style listings: domain and optimum
  // Allowed number of "x" inputs (n-dimensional functions); min == max for fixed ones.
  std::size_t min_dims = 0;
  std::size_t max_dims = 0;
  // Parameters other than x1..xn and their kinds ("float" accepts int too, "positive" is a
  // number > 0, "categorical" a string among `choices`); only mixed_quadratic has them.
  struct Extra {
    std::string name;
    std::string kind;  // "float" | "int" | "positive" | "categorical"
    std::vector<std::string> choices;
  };
  std::vector<Extra> extras;
  // Global minimum for n x-inputs.
  std::function<double(std::size_t n)> optimum;
  // Value at `params`. Throws std::invalid_argument when an input is missing or not a number
  // (or, for a categorical input, not one of its choices): the caller reports a FAIL.
  std::function<double(const ParamSet& params)> evaluate;

  // True when `space` provides exactly the inputs this function needs, unconditionally and with
  // suitable types; otherwise false with the reason in `why` ("missing parameter x2").
  bool accepts(const SearchSpace& space, std::string& why) const;
  // Number of x-inputs in `params` (x1, x2, ... consecutive).
  static std::size_t dims_of(const ParamSet& params);
};

// Every builtin, in a stable order.
const std::vector<BuiltinFunction>& builtin_functions();
// The builtin named `name`, or nullptr.
const BuiltinFunction* find_builtin(std::string_view name);

// Direct forms, for tests and benchmarks.
double branin(double x1, double x2);
double hartmann6(const double (&x)[6]);
double hartmann3(const double (&x)[3]);
double rosenbrock(const std::vector<double>& x);
double styblinski_tang(const std::vector<double>& x);
double sphere(const std::vector<double>& x);
double ackley(const std::vector<double>& x);
double rastrigin(const std::vector<double>& x);
double levy(const std::vector<double>& x);
double six_hump_camel(double x1, double x2);
double mixed_quadratic(const double (&x)[4], std::int64_t n1, std::int64_t n2,
                       const std::string& color, double lr);

}  // namespace hpo
