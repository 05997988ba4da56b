#include "executors/builtin_functions.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace hpo {
namespace {

constexpr double kPi = std::numbers::pi;

constexpr double kH6Alpha[4] = {1.0, 1.2, 3.0, 3.2};
constexpr double kH6A[4][6] = {{10.0, 3.0, 17.0, 3.5, 1.7, 8.0},
                               {0.05, 10.0, 17.0, 0.1, 8.0, 14.0},
                               {3.0, 3.5, 1.7, 10.0, 17.0, 8.0},
                               {17.0, 8.0, 0.05, 10.0, 0.1, 14.0}};
constexpr double kH6P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                               {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                               {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                               {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
constexpr double kH3A[4][3] = {{3.0, 10.0, 30.0}, {0.1, 10.0, 35.0}, {3.0, 10.0, 30.0},
                               {0.1, 10.0, 35.0}};
constexpr double kH3P[4][3] = {{0.3689, 0.1170, 0.2673}, {0.4699, 0.4387, 0.7470},
                               {0.1091, 0.8732, 0.5547}, {0.0381, 0.5743, 0.8828}};

constexpr double kStMin1d = -39.16616570377142;  // per-coordinate minimum of Styblinski-Tang

double number(const ParamSet& params, const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) throw std::invalid_argument("missing parameter " + name);
  if (!it->second.is_number()) throw std::invalid_argument("parameter " + name + " is not a number");
  return it->second.as_double();
}

std::vector<double> xs(const ParamSet& params, std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = number(params, "x" + std::to_string(i + 1));
  return x;
}

std::vector<double> xs_checked(const ParamSet& params, std::size_t min_dims) {
  const std::size_t n = BuiltinFunction::dims_of(params);
  if (n < min_dims)
    throw std::invalid_argument("needs at least " + std::to_string(min_dims) +
                                " inputs x1..xn, got " + std::to_string(n));
  return xs(params, n);
}

BuiltinFunction fixed(std::string name, std::string summary, std::size_t dims, double optimum,
                      std::function<double(const std::vector<double>&)> fn) {
  BuiltinFunction f;
  f.name = std::move(name);
  f.summary = std::move(summary);
  f.min_dims = f.max_dims = dims;
  f.optimum = [optimum](std::size_t) { return optimum; };
  f.evaluate = [dims, fn = std::move(fn)](const ParamSet& p) { return fn(xs(p, dims)); };
  return f;
}

BuiltinFunction n_dim(std::string name, std::string summary, std::size_t min_dims,
                      std::function<double(std::size_t)> optimum,
                      double (*fn)(const std::vector<double>&)) {
  BuiltinFunction f;
  f.name = std::move(name);
  f.summary = std::move(summary);
  f.min_dims = min_dims;
  f.max_dims = 1000;
  f.optimum = std::move(optimum);
  f.evaluate = [min_dims, fn](const ParamSet& p) { return fn(xs_checked(p, min_dims)); };
  return f;
}

std::vector<BuiltinFunction> make_registry() {
  std::vector<BuiltinFunction> all;
  all.push_back(fixed("branin", "Branin-Hoo, x1 in [-5, 10], x2 in [0, 15]; min 0.397887", 2,
                      5.0 / (4.0 * kPi),
                      [](const std::vector<double>& x) { return branin(x[0], x[1]); }));
  all.push_back(fixed("hartmann6", "Hartmann 6-d on [0, 1]^6; min -3.32237", 6,
                      -3.3223680114155147, [](const std::vector<double>& x) {
                        const double a[6] = {x[0], x[1], x[2], x[3], x[4], x[5]};
                        return hartmann6(a);
                      }));
  all.push_back(fixed("hartmann3", "Hartmann 3-d on [0, 1]^3; min -3.86278", 3,
                      -3.8627797869493365, [](const std::vector<double>& x) {
                        const double a[3] = {x[0], x[1], x[2]};
                        return hartmann3(a);
                      }));
  all.push_back(fixed("six_hump_camel",
                      "six-hump camel, x1 in [-3, 3], x2 in [-2, 2]; min -1.031628", 2,
                      -1.0316284534898774,
                      [](const std::vector<double>& x) { return six_hump_camel(x[0], x[1]); }));
  all.push_back(n_dim("rosenbrock", "Rosenbrock on x1..xn (n >= 2), e.g. [-5, 10]^n; min 0 at 1",
                      2, [](std::size_t) { return 0.0; }, &rosenbrock));
  all.push_back(n_dim("styblinski_tang",
                      "Styblinski-Tang on x1..xn in [-5, 5]^n; min -39.166166 n at -2.903534", 1,
                      [](std::size_t n) { return kStMin1d * static_cast<double>(n); },
                      &styblinski_tang));
  all.push_back(n_dim("sphere", "sum of squares of x1..xn; min 0 at 0", 1,
                      [](std::size_t) { return 0.0; }, &sphere));
  all.push_back(n_dim("ackley", "Ackley on x1..xn, e.g. [-32.768, 32.768]^n; min 0 at 0", 1,
                      [](std::size_t) { return 0.0; }, &ackley));
  all.push_back(n_dim("rastrigin", "Rastrigin on x1..xn in [-5.12, 5.12]^n; min 0 at 0", 1,
                      [](std::size_t) { return 0.0; }, &rastrigin));
  all.push_back(n_dim("levy", "Levy on x1..xn in [-10, 10]^n; min 0 at 1", 1,
                      [](std::size_t) { return 0.0; }, &levy));

  BuiltinFunction mq;
  mq.name = "mixed_quadratic";
  mq.summary =
      "x1..x4 in [-5, 5], n1 int [0, 20], n2 int [-10, 10], color {red, green, blue}, "
      "lr log [1e-5, 1]; min 0";
  mq.min_dims = mq.max_dims = 4;
  mq.extras = {{"n1", "int", {}},
               {"n2", "int", {}},
               {"color", "categorical", {"red", "green", "blue"}},
               {"lr", "positive", {}}};
  mq.optimum = [](std::size_t) { return 0.0; };
  mq.evaluate = [](const ParamSet& p) {
    const std::vector<double> x = xs(p, 4);
    const double arr[4] = {x[0], x[1], x[2], x[3]};
    const auto color = p.find("color");
    if (color == p.end()) throw std::invalid_argument("missing parameter color");
    if (!color->second.is_string()) throw std::invalid_argument("color must be a string");
    const double n1 = number(p, "n1"), n2 = number(p, "n2");
    if (n1 != std::round(n1) || n2 != std::round(n2))
      throw std::invalid_argument("n1 and n2 must be integers");
    return mixed_quadratic(arr, static_cast<std::int64_t>(n1), static_cast<std::int64_t>(n2),
                           color->second.as_string(), number(p, "lr"));
  };
  all.push_back(std::move(mq));
  return all;
}

bool numeric_type(const Distribution& d) { return d.type != ParamType::kCategorical; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// The functions (as in ../shared/bench/problems.py)

double branin(double x1, double x2) {
  const double b = 5.1 / (4.0 * kPi * kPi);
  const double c = 5.0 / kPi;
  const double t = 1.0 / (8.0 * kPi);
  const double u = x2 - b * x1 * x1 + c * x1 - 6.0;
  return u * u + 10.0 * (1.0 - t) * std::cos(x1) + 10.0;
}

double hartmann6(const double (&x)[6]) {
  double total = 0.0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0.0;
    for (int j = 0; j < 6; ++j) inner += kH6A[i][j] * (x[j] - kH6P[i][j]) * (x[j] - kH6P[i][j]);
    total += kH6Alpha[i] * std::exp(-inner);
  }
  return -total;
}

double hartmann3(const double (&x)[3]) {
  double total = 0.0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0.0;
    for (int j = 0; j < 3; ++j) inner += kH3A[i][j] * (x[j] - kH3P[i][j]) * (x[j] - kH3P[i][j]);
    total += kH6Alpha[i] * std::exp(-inner);
  }
  return -total;
}

double rosenbrock(const std::vector<double>& x) {
  double v = 0.0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i];
    v += 100.0 * a * a + (1.0 - x[i]) * (1.0 - x[i]);
  }
  return v;
}

double styblinski_tang(const std::vector<double>& x) {
  double v = 0.0;
  for (double xi : x) v += xi * xi * xi * xi - 16.0 * xi * xi + 5.0 * xi;
  return 0.5 * v;
}

double sphere(const std::vector<double>& x) {
  double v = 0.0;
  for (double xi : x) v += xi * xi;
  return v;
}

double ackley(const std::vector<double>& x) {
  if (x.empty()) return 0.0;
  double sq = 0.0, cs = 0.0;
  for (double xi : x) {
    sq += xi * xi;
    cs += std::cos(2.0 * kPi * xi);
  }
  const double n = static_cast<double>(x.size());
  return -20.0 * std::exp(-0.2 * std::sqrt(sq / n)) - std::exp(cs / n) + 20.0 + std::numbers::e;
}

double rastrigin(const std::vector<double>& x) {
  double v = 10.0 * static_cast<double>(x.size());
  for (double xi : x) v += xi * xi - 10.0 * std::cos(2.0 * kPi * xi);
  return v;
}

double levy(const std::vector<double>& x) {
  if (x.empty()) return 0.0;
  auto w = [&](std::size_t i) { return 1.0 + (x[i] - 1.0) / 4.0; };
  const double s0 = std::sin(kPi * w(0));
  double v = s0 * s0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    const double wi = w(i);
    const double s = std::sin(kPi * wi + 1.0);
    v += (wi - 1.0) * (wi - 1.0) * (1.0 + 10.0 * s * s);
  }
  const double wn = w(x.size() - 1);
  const double sn = std::sin(2.0 * kPi * wn);
  return v + (wn - 1.0) * (wn - 1.0) * (1.0 + sn * sn);
}

double six_hump_camel(double x1, double x2) {
  const double a = x1 * x1;
  return (4.0 - 2.1 * a + a * a / 3.0) * a + x1 * x2 + (-4.0 + 4.0 * x2 * x2) * x2 * x2;
}

double mixed_quadratic(const double (&x)[4], std::int64_t n1, std::int64_t n2,
                       const std::string& color, double lr) {
  constexpr double kCenter[4] = {1.5, -2.5, 3.0, -0.5};
  constexpr double kWeight[4] = {1.0, 2.0, 0.5, 1.5};
  double d[4];
  double v = 0.0;
  for (int i = 0; i < 4; ++i) {
    d[i] = x[i] - kCenter[i];
    v += kWeight[i] * d[i] * d[i];
  }
  v += 0.8 * d[0] * d[1];
  v += 0.25 * static_cast<double>((n1 - 13) * (n1 - 13));
  v += 0.5 * static_cast<double>((n2 + 4) * (n2 + 4));
  if (color == "red") v += 2.0;
  else if (color == "blue") v += 5.0;
  else if (color != "green") throw std::invalid_argument("color must be red, green or blue");
  if (!(lr > 0.0)) throw std::invalid_argument("lr must be > 0");
  const double l = std::log10(lr) - std::log10(3e-3);
  return v + 3.0 * l * l;
}

// ---------------------------------------------------------------------------------------------
// Registry

std::size_t BuiltinFunction::dims_of(const ParamSet& params) {
  std::size_t n = 0;
  while (params.count("x" + std::to_string(n + 1))) ++n;
  return n;
}

bool BuiltinFunction::accepts(const SearchSpace& space, std::string& why) const {
  std::size_t n = 0;
  while (space.find("x" + std::to_string(n + 1)) != nullptr) ++n;
  if (n < min_dims || n > max_dims) {
    why = min_dims == max_dims
              ? name + " needs parameters x1..x" + std::to_string(min_dims)
              : name + " needs parameters x1..xn with n >= " + std::to_string(min_dims);
    return false;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    const Parameter* p = space.find("x" + std::to_string(i));
    if (!numeric_type(p->distribution)) {
      why = "parameter " + p->name + " must be a float or an int";
      return false;
    }
  }
  for (const Extra& e : extras) {
    const Parameter* p = space.find(e.name);
    if (p == nullptr) {
      why = name + " needs a parameter " + e.name;
      return false;
    }
    const Distribution& d = p->distribution;
    bool ok = true;
    if (e.kind == "categorical") {
      ok = d.type == ParamType::kCategorical &&
           std::all_of(d.choices.begin(), d.choices.end(), [&](const ParamValue& c) {
             return c.is_string() &&
                    std::find(e.choices.begin(), e.choices.end(), c.as_string()) != e.choices.end();
           });
    } else if (e.kind == "int") {
      ok = d.type == ParamType::kInt;
    } else if (e.kind == "positive") {
      ok = numeric_type(d) && d.low > 0.0;
    } else {
      ok = numeric_type(d);
    }
    if (!ok) {
      why = "parameter " + e.name + " must be " +
            (e.kind == "categorical" ? std::string("a categorical over red, green, blue")
             : e.kind == "positive"  ? std::string("a number > 0")
                                     : "of type " + e.kind);
      return false;
    }
  }
  const std::size_t expected = n + extras.size();
  if (space.size() != expected) {
    for (const auto& p : space.parameters()) {
      const bool is_x = p.name.size() > 1 && p.name[0] == 'x' &&
                        std::all_of(p.name.begin() + 1, p.name.end(),
                                    [](unsigned char ch) { return std::isdigit(ch) != 0; });
      const bool is_extra = std::any_of(extras.begin(), extras.end(),
                                        [&](const Extra& e) { return e.name == p.name; });
      if (!is_x && !is_extra) {
        why = name + " has no input " + p.name;
        return false;
      }
    }
    why = name + ": the x parameters must be numbered x1..xn without gaps";
    return false;
  }
  for (const auto& p : space.parameters()) {
    if (!p.when.empty()) {
      why = "parameter " + p.name + " must not be conditional for " + name;
      return false;
    }
  }
  return true;
}

const std::vector<BuiltinFunction>& builtin_functions() {
  static const std::vector<BuiltinFunction> registry = make_registry();
  return registry;
}

const BuiltinFunction* find_builtin(std::string_view name) {
  for (const auto& f : builtin_functions())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace hpo
