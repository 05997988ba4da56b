// hpo-bench: benchmarks that print figures (never assertions), run beside the reference
// scripts of ../shared/bench. One function per subcommand; main() only dispatches. SAMPLER is
// any registered sampler (random, tpe, grid, qmc, cmaes, gp, auto), made through the registry
// as `hpo run` makes it, with the options of --options JSON (--tpe JSON is the old spelling).
//
//   hpo-bench speed --sampler SAMPLER --history N [--options JSON]
//                   [--multivariate|--univariate] [--asks 20] [--seed 0]
//   hpo-bench speed --sweep [--sampler tpe] [--multivariate|--univariate]
//       Time one suggestion given N finished trials over the 10 mixed parameters of
//       optuna_tpe_speed.py; one JSON line per history size (median and slowest of --asks
//       suggestions, wall and CPU). TPE is multivariate by default (TpeOptions); --univariate is
//       Optuna's default mode.
//   hpo-bench quality --problem NAME --sampler SAMPLER [--options JSON]
//                     [--multivariate|--univariate] [--group] --seeds A-B --budget N
//                     --method LABEL [--parallel K]
//       Run the sampler on a problem of problems.py (or a development problem, see `problems`)
//       and print one JSON line per seed in the format of ../shared/bench/README.md.
//   hpo-bench suite [--seeds A-B] [--budget N] [--set public|dev|all] [--problems a,b]
//                   [--parallel K] --config LABEL=JSON [--config LABEL=JSON ...]
//       Mean normalized regret of sampler configurations (JSON: the sampler's options, with
//       "sampler": NAME for another sampler than TPE, {"random": true} for random search)
//       against hpo's random search, on public and development problems.
//   hpo-bench problems
//       List the problems.
//   hpo-bench eval NAME JSON
//       The problem's value at one point, to compare with `problems.py eval`.
//   hpo-bench kubernetes [--trials 1000] [--parallelism 100] [--minor 30|31]
//       `hpo run` with the Kubernetes executor against the stand-in API server: trials per
//       second, API requests per trial, hpo's CPU seconds and peak RSS (kubernetes_bench.cpp).
//   hpo-bench prune-cost [--trials 1000] [--steps 100] [--repeat 2000]
//       The cost of one pruning decision per pruner over a study of that size (prune_cost.cpp).
//   hpo-bench scale [--trials 100000] [--dir DIR] [--asks 10]
//       A 100,000-trial TPE study through `hpo run`: time, memory, database size, suggestion
//       time by history, resume and query times (scale_bench.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <time.h>

#include <nlohmann/json.hpp>

#include "hpo/errors.h"
#include "hpo/search_space.h"
#include "engine/model/study_view.h"
#include "hpo/trial.h"
#include "executors/builtin_functions.h"
#include "samplers/random_sampler.h"
#include "samplers/rng.h"
#include "samplers/sampler_registry.h"
#include "samplers/tpe_sampler.h"
#include "engine/model/json_codec.h"

namespace hpo {
namespace {

using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Command-line helpers

class Options {
 public:
  explicit Options(const Args& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) != 0) {
        throw std::runtime_error("unexpected argument " + a);
      }
      const std::string key = a.substr(2);
      if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        values_[key].push_back(args[++i]);
      } else {
        values_[key].push_back("");
      }
    }
  }
  bool flag(const std::string& key) const { return values_.count(key) > 0; }
  std::string get(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second.back();
  }
  std::vector<std::string> all(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  long number(const std::string& key, long fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::stol(it->second.back());
  }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

std::pair<int, int> parse_range(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return {std::stoi(text), std::stoi(text)};
  return {std::stoi(text.substr(0, dash)), std::stoi(text.substr(dash + 1))};
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A sampler built from the command line: --sampler NAME (any registered sampler) with the
// options of --options JSON (and --multivariate, --group), through the sampler registry as
// `hpo run` makes it, for a study of `space` with `budget` trials (what grid and auto look at).
std::unique_ptr<Sampler> make_sampler(const std::string& kind, const nlohmann::json& options,
                                      std::uint64_t seed, const SearchSpace& space,
                                      std::optional<int> budget = std::nullopt) {
  const SamplerRegistration* registration = find_sampler(kind);
  if (registration == nullptr) throw std::runtime_error("unknown sampler " + kind);
  StudySpec spec;
  spec.space = space;
  spec.budget.trials = budget;
  spec.sampler.name = kind;
  spec.sampler.block = OrderedJson(options);
  spec.sampler.block["name"] = kind;
  SpecChecker checker;
  ComponentBlock block{spec.sampler.block, "sampler", spec, nullptr};
  if (registration->info.check) registration->info.check(block, checker);
  checker.throw_if_any();
  return registration->make(SamplerArgs{spec, seed, 1});
}

nlohmann::json sampler_options_from(const Options& o) {
  nlohmann::json j = nlohmann::json::parse(o.get("options", o.get("tpe", "{}")));
  if (o.flag("multivariate")) j["multivariate"] = true;
  if (o.flag("univariate")) j["multivariate"] = false;
  if (o.flag("group")) j["group"] = true;
  return j;
}

// ---------------------------------------------------------------------------------------------
// speed: the search space and objective of optuna_tpe_speed.py

SearchSpace speed_space() {
  SearchSpace s;
  s.add({"x0", Distribution::float_range(-5.0, 5.0), {}});
  s.add({"x1", Distribution::float_range(-5.0, 5.0), {}});
  s.add({"x2", Distribution::float_range(0.0, 1.0), {}});
  s.add({"x3", Distribution::float_range(-10.0, 10.0), {}});
  s.add({"lr", Distribution::float_range(1e-5, 1e-1, true), {}});
  s.add({"wd", Distribution::float_range(1e-6, 1e-2, true), {}});
  s.add({"layers", Distribution::int_range(1, 8), {}});
  s.add({"units", Distribution::int_range(16, 1024, true), {}});
  s.add({"dropout", Distribution::float_range(0.0, 0.5, false, 0.05), {}});
  s.add({"act", Distribution::categorical({"relu", "tanh", "gelu", "silu"}), {}});
  return s;
}

double speed_objective(const ParamSet& p) {
  double v = 0.0;
  for (const char* k : {"x0", "x1", "x2", "x3"}) {
    const double d = p.at(k).as_double() - 0.3;
    v += d * d;
  }
  const double lr = std::log10(p.at("lr").as_double()) + 3.0;
  const double wd = std::log10(p.at("wd").as_double()) + 4.0;
  const double layers = p.at("layers").as_double() - 3.0;
  v += lr * lr + wd * wd + layers * layers * 0.1 +
       std::fabs(std::log2(p.at("units").as_double()) - 7.0) + p.at("dropout").as_double();
  static const std::map<std::string, double> act = {
      {"relu", 0.0}, {"tanh", 0.5}, {"gelu", 0.2}, {"silu", 0.1}};
  return v + act.at(p.at("act").as_string());
}

// CPU time of the whole process (every thread) in microseconds: on a shared machine the wall
// clock also counts time spent waiting for a core.
double process_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

Trial finished_trial(int number, ParamSet params, double value) {
  Trial t;
  t.id = number + 1;  // as stored trials have
  t.number = number;
  t.state = TrialState::kComplete;
  t.params = std::move(params);
  t.value = value;
  return t;
}

nlohmann::json time_suggestions(const std::string& kind, const nlohmann::json& options_json,
                                int history, int asks, std::uint64_t seed) {
  const SearchSpace space = speed_space();
  std::vector<Trial> trials;
  trials.reserve(static_cast<std::size_t>(history + asks));
  Rng rng(seed ^ 0x5EEDULL);
  for (int i = 0; i < history; ++i) {
    ParamSet p = draw_params(space, rng);
    const double v = speed_objective(p);
    trials.push_back(finished_trial(i, std::move(p), v));
  }
  auto sampler = make_sampler(kind, options_json, seed, space);
  std::vector<double> us, cpu_us;
  for (int a = 0; a < asks; ++a) {
    const int number = static_cast<int>(trials.size());
    const StudyView view(Direction::kMinimize, trials);
    const double c0 = process_cpu_us();
    const auto t0 = Clock::now();
    ParamSet p = sampler->suggest(view, space, static_cast<std::uint64_t>(number));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    cpu_us.push_back(process_cpu_us() - c0);
    const double v = speed_objective(p);
    trials.push_back(finished_trial(number, std::move(p), v));
  }
  std::vector<double> sorted = us;
  std::sort(sorted.begin(), sorted.end());
  SpecChecker ignored;
  const bool multivariate =
      read_tpe_options(OrderedJson(options_json), "sampler", ignored).joint(1);
  std::string label = "hpo-" + kind + (kind == "tpe" ? (multivariate ? "-multivariate" : "-univariate") : "");
  auto round1 = [](double x) { return std::round(x * 10.0) / 10.0; };
  return {{"sampler", label},
          {"history", history},
          {"params", space.size()},
          {"us_per_suggest", round1(sorted[sorted.size() / 2])},
          {"us_min", round1(sorted.front())},
          {"us_max", round1(sorted.back())},
          {"cpu_us_per_suggest", round1(median(cpu_us))},
          {"cpu_us_max", round1(*std::max_element(cpu_us.begin(), cpu_us.end()))},
          {"asks", asks}};
}

int cmd_speed(const Args& args) {
  const Options o(args);
  const std::string kind = o.get("sampler", "tpe");
  const nlohmann::json options_json = sampler_options_from(o);
  const int asks = static_cast<int>(o.number("asks", 20));
  const auto seed = static_cast<std::uint64_t>(o.number("seed", 0));
  if (o.flag("sweep")) {
    for (int n : {100, 200, 500, 1000, 2000, 5000, 10000})
      std::cout << time_suggestions(kind, options_json, n, asks, seed).dump() << std::endl;
    return 0;
  }
  const int history = static_cast<int>(o.number("history", 1000));
  std::cout << time_suggestions(kind, options_json, history, asks, seed).dump() << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// quality: problems

struct Problem {
  std::string name;
  bool is_public = false;
  SearchSpace space;
  std::function<double(const ParamSet&)> fn;
  double optimum = 0.0;
};

SearchSpace box(std::size_t n, double low, double high) {
  SearchSpace s;
  for (std::size_t i = 1; i <= n; ++i)
    s.add({"x" + std::to_string(i), Distribution::float_range(low, high), {}});
  return s;
}

Problem builtin_problem(const std::string& name, const std::string& fn_name, bool is_public,
                        SearchSpace space) {
  const BuiltinFunction* f = find_builtin(fn_name);
  if (f == nullptr) throw std::logic_error("no builtin " + fn_name);
  std::string why;
  if (!f->accepts(space, why)) throw std::logic_error(name + ": " + why);
  std::size_t n = 0;
  while (space.find("x" + std::to_string(n + 1)) != nullptr) ++n;
  return Problem{name, is_public, std::move(space), f->evaluate, f->optimum(n)};
}

// The public problems of problems.py (same names, types, bounds and log scales), then
// development problems used to check that tuning generalises beyond those five.
const std::vector<Problem>& problems() {
  static const std::vector<Problem> all = [] {
    std::vector<Problem> p;
    {
      SearchSpace s;
      s.add({"x1", Distribution::float_range(-5.0, 10.0), {}});
      s.add({"x2", Distribution::float_range(0.0, 15.0), {}});
      p.push_back(builtin_problem("branin", "branin", true, std::move(s)));
    }
    p.push_back(builtin_problem("hartmann6", "hartmann6", true, box(6, 0.0, 1.0)));
    p.push_back(builtin_problem("rosenbrock_5d", "rosenbrock", true, box(5, -5.0, 10.0)));
    p.push_back(
        builtin_problem("styblinski_tang_8d", "styblinski_tang", true, box(8, -5.0, 5.0)));
    {
      SearchSpace s;
      for (int i = 1; i <= 4; ++i)
        s.add({"x" + std::to_string(i), Distribution::float_range(-5.0, 5.0), {}});
      s.add({"n1", Distribution::int_range(0, 20), {}});
      s.add({"n2", Distribution::int_range(-10, 10), {}});
      s.add({"color", Distribution::categorical({"red", "green", "blue"}), {}});
      s.add({"lr", Distribution::float_range(1e-5, 1.0, true), {}});
      p.push_back(builtin_problem("mixed_quadratic", "mixed_quadratic", true, std::move(s)));
    }
    // Development problems (not in problems.py).
    p.push_back(builtin_problem("hartmann3", "hartmann3", false, box(3, 0.0, 1.0)));
    {
      SearchSpace s;
      s.add({"x1", Distribution::float_range(-3.0, 3.0), {}});
      s.add({"x2", Distribution::float_range(-2.0, 2.0), {}});
      p.push_back(builtin_problem("six_hump_camel", "six_hump_camel", false, std::move(s)));
    }
    p.push_back(builtin_problem("ackley_5d", "ackley", false, box(5, -32.768, 32.768)));
    p.push_back(builtin_problem("rastrigin_4d", "rastrigin", false, box(4, -5.12, 5.12)));
    p.push_back(builtin_problem("levy_6d", "levy", false, box(6, -10.0, 10.0)));
    p.push_back(builtin_problem("sphere_10d", "sphere", false, box(10, -5.0, 5.0)));
    p.push_back(builtin_problem("rosenbrock_2d", "rosenbrock", false, box(2, -2.0, 2.0)));
    p.push_back(builtin_problem("styblinski_tang_3d", "styblinski_tang", false, box(3, -5, 5)));
    p.push_back(builtin_problem("styblinski_tang_20d", "styblinski_tang", false, box(20, -5, 5)));
    p.push_back(builtin_problem("levy_20d", "levy", false, box(20, -10.0, 10.0)));
    p.push_back(builtin_problem("rosenbrock_10d", "rosenbrock", false, box(10, -5.0, 10.0)));
    for (double ratio : {10.0, 200.0}) {
      // A rotated ellipse: a narrow valley along the diagonal x1 = x2 (only a joint model sees
      // that good points line up).
      const std::string name = ratio < 100 ? "rotated_ellipse" : "rotated_valley";
      p.push_back(Problem{name, false, box(2, -5.0, 5.0),
                          [ratio](const ParamSet& q) {
                            const double x = q.at("x1").as_double(), y = q.at("x2").as_double();
                            const double along = (x + y) / std::sqrt(2.0) - 1.0;
                            const double across = (x - y) / std::sqrt(2.0);
                            return along * along + ratio * across * across;
                          },
                          0.0});
    }
    {
      // Small and fully discrete (3 x 5 x 5 = 75 points) with interactions: what a grid covers
      // when the budget allows it (the auto rule's grid case).
      SearchSpace s;
      s.add({"opt", Distribution::categorical({"adam", "sgd", "rmsprop"}), {}});
      s.add({"layers", Distribution::int_range(1, 5), {}});
      s.add({"drop", Distribution::float_range(0.0, 0.5, false, 0.125), {}});
      p.push_back(Problem{"discrete_small", false, std::move(s),
                          [](const ParamSet& q) {
                            const std::string opt = q.at("opt").as_string();
                            const double layers = q.at("layers").as_double();
                            const double drop = q.at("drop").as_double();
                            const double best_layers = opt == "sgd" ? 4.0 : 2.0;
                            const double pen = opt == "adam" ? 0.0 : opt == "sgd" ? 0.3 : 0.15;
                            const double d = drop - 0.0625 * layers;
                            return 0.1 * (layers - best_layers) * (layers - best_layers) +
                                   4.0 * d * d + pen;  // min 0: adam, 2 layers, drop 0.125
                          },
                          0.0});
    }
    {
      // The same 75 points with unstructured values (a fixed pseudo-random table, 0 at one
      // point): no model can do better than trying everything, which a grid does without
      // repeats.
      SearchSpace s;
      s.add({"opt", Distribution::categorical({"adam", "sgd", "rmsprop"}), {}});
      s.add({"layers", Distribution::int_range(1, 5), {}});
      s.add({"drop", Distribution::float_range(0.0, 0.5, false, 0.125), {}});
      p.push_back(Problem{"discrete_table", false, std::move(s),
                          [](const ParamSet& q) {
                            const std::string opt = q.at("opt").as_string();
                            const auto layers = q.at("layers").as_int();
                            const auto drop = std::llround(q.at("drop").as_double() * 8);
                            const auto cell = static_cast<std::uint64_t>(
                                (opt == "adam" ? 0 : opt == "sgd" ? 1 : 2) * 25 +
                                (layers - 1) * 5 + drop);
                            if (cell == 58) return 0.0;  // rmsprop, 2 layers, drop 0.375
                            Rng rng(cell * 7919 + 13);
                            return 0.1 + rng.uniform();
                          },
                          0.0});
    }
    {
      // Integer-only: a shifted quadratic bowl over wide int ranges, one of them log-scaled.
      SearchSpace s;
      s.add({"a", Distribution::int_range(-50, 50), {}});
      s.add({"b", Distribution::int_range(0, 10), {}});
      s.add({"c", Distribution::int_range(1, 4096, true), {}});
      s.add({"d", Distribution::float_range(0.0, 1.0, false, 0.1), {}});
      p.push_back(Problem{"int_bowl", false, std::move(s),
                          [](const ParamSet& q) {
                            const double a = q.at("a").as_double() - 17.0;
                            const double b = q.at("b").as_double() - 3.0;
                            const double c = std::log2(q.at("c").as_double()) - 7.0;
                            const double d = q.at("d").as_double() - 0.7;
                            return 0.01 * a * a + 0.3 * b * b + 0.5 * c * c + 10.0 * d * d;
                          },
                          0.0});
    }
    {
      // An ML-like surface: log-scaled learning rate and regularisation with an interaction,
      // a categorical optimiser and a noisy-free plateau away from the optimum.
      SearchSpace s;
      s.add({"lr", Distribution::float_range(1e-6, 1.0, true), {}});
      s.add({"reg", Distribution::float_range(1e-8, 1e-1, true), {}});
      s.add({"opt", Distribution::categorical({"sgd", "adam", "rmsprop", "adagrad"}), {}});
      s.add({"batch", Distribution::int_range(16, 512, true), {}});
      s.add({"momentum", Distribution::float_range(0.0, 0.99), {}});
      p.push_back(Problem{"ml_surface", false, std::move(s),
                          [](const ParamSet& q) {
                            const std::string opt = q.at("opt").as_string();
                            const double best_lr = opt == "sgd" ? -1.5 : -3.2;
                            const double l = std::log10(q.at("lr").as_double()) - best_lr;
                            const double r = std::log10(q.at("reg").as_double()) + 4.0;
                            const double b = std::log2(q.at("batch").as_double()) - 6.0;
                            const double m = q.at("momentum").as_double() - 0.9;
                            const double opt_pen = opt == "adam"      ? 0.0
                                                   : opt == "rmsprop" ? 0.03
                                                   : opt == "sgd"     ? 0.05
                                                                      : 0.12;
                            const double loss = 1.0 - std::exp(-0.5 * (l * l + 0.3 * l * r)) *
                                                          std::exp(-0.05 * r * r) *
                                                          std::exp(-0.02 * b * b) *
                                                          std::exp(-(opt == "sgd" ? 2.0 : 0.2) * m * m);
                            return loss + opt_pen;
                          },
                          0.0});
    }
    {
      // Categorical-heavy: six unordered choices with per-choice costs, one pairwise
      // interaction, and two floats.
      SearchSpace s;
      const std::vector<ParamValue> five = {"a", "b", "c", "d", "e"};
      const std::vector<ParamValue> three = {"p", "q", "r"};
      for (int i = 1; i <= 4; ++i) s.add({"c" + std::to_string(i), Distribution::categorical(five), {}});
      for (int i = 5; i <= 6; ++i) s.add({"c" + std::to_string(i), Distribution::categorical(three), {}});
      s.add({"u", Distribution::float_range(0.0, 1.0), {}});
      s.add({"v", Distribution::float_range(1e-3, 1e3, true), {}});
      p.push_back(Problem{"categorical_mix", false, std::move(s),
                          [](const ParamSet& q) {
                            auto idx = [&](const char* name) {
                              return static_cast<int>(q.at(name).as_string()[0]);
                            };
                            double v = 0.0;
                            // Costs per choice: a pseudo-random but fixed table (best: 0).
                            for (int i = 1; i <= 6; ++i) {
                              const int c = idx(("c" + std::to_string(i)).c_str());
                              v += static_cast<double>((c * 7 + i * 13) % 5) * 0.4;
                            }
                            if (idx("c1") == idx("c2") + 1) v -= 0.6;  // interaction bonus
                            const double u = q.at("u").as_double() - 0.62;
                            const double l = std::log10(q.at("v").as_double()) - 1.3;
                            return v + 3.0 * u * u + 0.3 * l * l - 0.6;  // min 0
                          },
                          0.0});
    }
    {
      // Conditional: a categorical chooses one of three models, each with its own parameters.
      SearchSpace s;
      s.add({"model", Distribution::categorical({"linear", "tree", "kernel"}), {}});
      s.add({"alpha", Distribution::float_range(1e-4, 10.0, true),
             Condition{{{"model", {ParamValue("linear")}}}}});
      s.add({"depth", Distribution::int_range(1, 20), Condition{{{"model", {ParamValue("tree")}}}}});
      s.add({"leaf", Distribution::float_range(0.0, 1.0),
             Condition{{{"model", {ParamValue("tree")}}}}});
      s.add({"gamma", Distribution::float_range(1e-4, 10.0, true),
             Condition{{{"model", {ParamValue("kernel")}}}}});
      s.add({"c", Distribution::float_range(1e-2, 1e3, true),
             Condition{{{"model", {ParamValue("kernel")}}}}});
      s.add({"shared", Distribution::float_range(-1.0, 1.0), {}});
      p.push_back(Problem{"conditional", false, std::move(s),
                          [](const ParamSet& q) {
                            const std::string m = q.at("model").as_string();
                            const double sh = q.at("shared").as_double() - 0.3;
                            double v = 0.2 * sh * sh;
                            if (m == "linear") {
                              const double a = std::log10(q.at("alpha").as_double()) + 1.0;
                              v += 0.4 + 0.1 * a * a;
                            } else if (m == "tree") {
                              const double d = q.at("depth").as_double() - 7.0;
                              const double l = q.at("leaf").as_double() - 0.25;
                              v += 0.2 + 0.004 * d * d + 0.5 * l * l;
                            } else {
                              const double g = std::log10(q.at("gamma").as_double()) + 2.0;
                              const double c = std::log10(q.at("c").as_double()) - 1.5;
                              v += 0.15 * (g * g + c * c + g * c);
                            }
                            return v;
                          },
                          0.0});
    }
    return p;
  }();
  return all;
}

const Problem& find_problem(const std::string& name) {
  for (const auto& p : problems())
    if (p.name == name) return p;
  throw std::runtime_error("unknown problem " + name + " (see `hpo-bench problems`)");
}

struct RunResult {
  std::vector<double> best_so_far;  // after each trial
  double seconds = 0.0;
  double sampler_seconds = 0.0;
  ParamSet best_params;
};

// Runs `budget` trials; with parallel > 1 the sampler proposes `parallel` trials at a time, the
// earlier ones of each batch still RUNNING (as parallel workers would see them).
RunResult run_study(const Problem& problem, Sampler& sampler, int budget, int parallel) {
  RunResult r;
  std::vector<Trial> trials;
  trials.reserve(static_cast<std::size_t>(budget));
  double best = std::numeric_limits<double>::infinity();
  const auto start = Clock::now();
  while (static_cast<int>(trials.size()) < budget) {
    const std::size_t first = trials.size();
    const int batch = std::min(parallel, budget - static_cast<int>(first));
    for (int b = 0; b < batch; ++b) {
      const int number = static_cast<int>(trials.size());
      const StudyView view(Direction::kMinimize, trials);
      const auto t0 = Clock::now();
      ParamSet p = sampler.suggest(view, problem.space, static_cast<std::uint64_t>(number));
      r.sampler_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      Trial t;
      t.number = number;
      t.state = TrialState::kRunning;
      t.params = std::move(p);
      trials.push_back(std::move(t));
    }
    for (std::size_t i = first; i < trials.size(); ++i) {
      const double v = problem.fn(trials[i].params);
      trials[i].state = TrialState::kComplete;
      trials[i].value = v;
      if (v < best) {
        best = v;
        r.best_params = trials[i].params;
      }
      r.best_so_far.push_back(best);
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

std::vector<int> checkpoints(int budget) {
  std::vector<int> cps;
  for (int c : {10, 25, 50, 100})
    if (c <= budget) cps.push_back(c);
  if (cps.empty() || cps.back() != budget) cps.push_back(budget);
  return cps;
}

int cmd_quality(const Args& args) {
  const Options o(args);
  const Problem& problem = find_problem(o.get("problem", ""));
  const std::string kind = o.get("sampler", "tpe");
  const nlohmann::json options_json = sampler_options_from(o);
  const auto [first_seed, last_seed] = parse_range(o.get("seeds", "0-9"));
  const int budget = static_cast<int>(o.number("budget", 100));
  const int parallel = static_cast<int>(o.number("parallel", 1));
  const std::string method = o.get("method", "hpo-" + kind);
  for (int seed = first_seed; seed <= last_seed; ++seed) {
    auto sampler =
        make_sampler(kind, options_json, static_cast<std::uint64_t>(seed), problem.space, budget);
    const RunResult r = run_study(problem, *sampler, budget, parallel);
    nlohmann::json best_at = nlohmann::json::object();
    for (int c : checkpoints(budget)) best_at[std::to_string(c)] = r.best_so_far[c - 1];
    nlohmann::json line = {{"problem", problem.name},
                           {"method", method},
                           {"seed", seed},
                           {"budget", budget},
                           {"best_at", best_at},
                           {"seconds", r.seconds},
                           {"sampler_seconds", r.sampler_seconds},
                           {"best_params", params_to_json(r.best_params)},
                           {"method_version", "hpo 0.1.0"}};
    std::cout << line.dump() << std::endl;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// suite: normalized regret of configurations against random search

int cmd_suite(const Args& args) {
  const Options o(args);
  const auto [first_seed, last_seed] = parse_range(o.get("seeds", "0-19"));
  const int budget = static_cast<int>(o.number("budget", 100));
  const int parallel = static_cast<int>(o.number("parallel", 1));
  const std::string set = o.get("set", "all");
  const std::vector<std::string> only = split(o.get("problems", ""), ',');
  std::vector<std::pair<std::string, nlohmann::json>> configs;
  for (const std::string& c : o.all("config")) {
    const auto eq = c.find('=');
    if (eq == std::string::npos) throw std::runtime_error("--config LABEL=JSON");
    configs.emplace_back(c.substr(0, eq), nlohmann::json::parse(c.substr(eq + 1)));
  }
  if (configs.empty()) configs.emplace_back("tpe", nlohmann::json::object());
  configs.insert(configs.begin(), {"random", nlohmann::json{{"random", true}}});
  const std::vector<int> cps = checkpoints(budget);

  // regret[config][problem][checkpoint] = median over seeds
  std::vector<std::map<std::string, std::vector<double>>> med(configs.size());
  std::vector<std::string> names;
  for (const Problem& p : problems()) {
    if (!only.empty() && std::find(only.begin(), only.end(), p.name) == only.end()) continue;
    if (only.empty() && set == "public" && !p.is_public) continue;
    if (only.empty() && set == "dev" && p.is_public) continue;
    names.push_back(p.name);
    for (std::size_t c = 0; c < configs.size(); ++c) {
      std::vector<std::vector<double>> per_cp(cps.size());
      for (int seed = first_seed; seed <= last_seed; ++seed) {
        nlohmann::json opts = configs[c].second;
        const bool random = opts.value("random", false);
        const std::string kind = opts.value("sampler", random ? "random" : "tpe");
        opts.erase("random");
        opts.erase("sampler");
        auto sampler = make_sampler(kind, opts, static_cast<std::uint64_t>(seed), p.space, budget);
        const RunResult r = run_study(p, *sampler, budget, parallel);
        for (std::size_t k = 0; k < cps.size(); ++k)
          per_cp[k].push_back(std::max(0.0, r.best_so_far[cps[k] - 1] - p.optimum) + 1e-12);
      }
      for (std::size_t k = 0; k < cps.size(); ++k) med[c][p.name].push_back(median(per_cp[k]));
    }
  }
  std::printf("%-22s", "normalized regret");
  for (std::size_t c = 1; c < configs.size(); ++c) std::printf(" %16s", configs[c].first.c_str());
  std::printf("\n");
  for (std::size_t k = 0; k < cps.size(); ++k) {
    if (cps[k] < 25) continue;
    std::vector<double> mean(configs.size(), 0.0), mean_pub(configs.size(), 0.0);
    int n_pub = 0;
    for (const std::string& name : names) {
      std::printf("%-18s@%-3d", name.c_str(), cps[k]);
      const bool pub = find_problem(name).is_public;
      n_pub += pub;
      for (std::size_t c = 1; c < configs.size(); ++c) {
        const double norm = med[c][name][k] / med[0][name][k];
        mean[c] += norm;
        if (pub) mean_pub[c] += norm;
        std::printf(" %16.4f", norm);
      }
      std::printf("\n");
    }
    std::printf("%-18s@%-3d", "MEAN", cps[k]);
    for (std::size_t c = 1; c < configs.size(); ++c)
      std::printf(" %16.4f", mean[c] / static_cast<double>(names.size()));
    std::printf("\n");
    if (n_pub > 0 && n_pub < static_cast<int>(names.size())) {
      std::printf("%-18s@%-3d", "MEAN public", cps[k]);
      for (std::size_t c = 1; c < configs.size(); ++c) std::printf(" %16.4f", mean_pub[c] / n_pub);
      std::printf("\n%-18s@%-3d", "MEAN dev", cps[k]);
      for (std::size_t c = 1; c < configs.size(); ++c)
        std::printf(" %16.4f", (mean[c] - mean_pub[c]) / (static_cast<double>(names.size()) - n_pub));
      std::printf("\n");
    }
    std::printf("\n");
  }
  return 0;
}

// eval NAME JSON: the problem's value at one point (to check against problems.py eval).
int cmd_eval(const Args& args) {
  if (args.size() != 2) throw std::runtime_error("usage: hpo-bench eval NAME '{\"x1\": ...}'");
  const Problem& problem = find_problem(args[0]);
  const ParamSet params = params_from_json(nlohmann::json::parse(args[1]));
  const auto issues = problem.space.check(params);
  if (!issues.empty()) throw InputError(issues);
  nlohmann::json out = {{"value", problem.fn(params)}};
  std::cout << out.dump() << std::endl;
  return 0;
}

int cmd_problems(const Args&) {
  for (const Problem& p : problems()) {
    nlohmann::json j = {{"name", p.name},
                        {"set", p.is_public ? "public" : "dev"},
                        {"optimum", p.optimum},
                        {"space", to_json(p.space)}};
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

void usage() {
  std::cerr << "usage: hpo-bench <speed|quality|suite|problems> [options]\n"
               "  speed   --sampler NAME --history N [--options JSON] [--multivariate|--univariate]\n"
               "          [--sweep]\n"
               "  quality --problem NAME --sampler NAME [--options JSON] [--multivariate|--univariate]\n"
               "          --seeds A-B --budget N --method LABEL\n"
               "  suite   --config LABEL=JSON ... [--seeds A-B] [--budget N] [--set public|dev]\n"
               "  problems\n"
               "  eval    NAME JSON\n"
               "  overhead --trials N [--sampler random|tpe] [--storage sqlite|memory] [--parallelism P]\n"
               "  threads-overhead --trials N [--parallelism 1,2] [--sampler random|tpe]\n"
               "          [--storage sqlite|memory] [--sync normal|full]\n"
               "  kubernetes [--trials 1000] [--parallelism 100] [--minor 30|31]\n"
               "  results-db --out FILE [--study NAME] [--trials 100000] [--steps 10] [--seed 1]\n"
               "  prune-cost [--trials 1000] [--steps 100] [--repeat 2000]\n"
               "  scale   [--trials 100000] [--dir DIR] [--asks 10]\n"
               "  multi-objective [--seeds 10] [--budget 200] [--samplers tpe,nsga2,random]\n"
               "          [--problems zdt1,zdt2,dtlz2,c2dtlz2] [--speed 1 --history 1000]\n";
}

}  // namespace
}  // namespace hpo

namespace hpo::bench {
int overhead_main(const std::vector<std::string>& args);          // overhead.cpp
int threads_overhead_main(const std::vector<std::string>& args);  // threads_overhead.cpp
int kubernetes_main(const std::vector<std::string>& args);        // kubernetes_bench.cpp
int results_db_main(const std::vector<std::string>& args);        // results_db.cpp
int prune_cost_main(const std::vector<std::string>& args);        // prune_cost.cpp
int scale_main(const std::vector<std::string>& args);             // scale_bench.cpp
int multi_objective_main(const std::vector<std::string>& args);   // multi_objective.cpp
}  // namespace hpo::bench

int main(int argc, char** argv) {
  using Command = int (*)(const hpo::Args&);
  static const std::map<std::string, Command> commands = {
      {"speed", &hpo::cmd_speed},
      {"quality", &hpo::cmd_quality},
      {"suite", &hpo::cmd_suite},
      {"problems", &hpo::cmd_problems},
      {"eval", &hpo::cmd_eval},
      {"overhead", [](const hpo::Args& a) { return hpo::bench::overhead_main(a); }},
      {"threads-overhead",
       [](const hpo::Args& a) { return hpo::bench::threads_overhead_main(a); }},
      {"kubernetes", [](const hpo::Args& a) { return hpo::bench::kubernetes_main(a); }},
      {"results-db", [](const hpo::Args& a) { return hpo::bench::results_db_main(a); }},
      {"prune-cost", [](const hpo::Args& a) { return hpo::bench::prune_cost_main(a); }},
      {"scale", [](const hpo::Args& a) { return hpo::bench::scale_main(a); }},
      {"multi-objective",
       [](const hpo::Args& a) { return hpo::bench::multi_objective_main(a); }},
  };
  if (argc < 2 || commands.find(argv[1]) == commands.end()) {
    hpo::usage();
    return 2;
  }
  const hpo::Args args(argv + 2, argv + argc);
  try {
    return commands.at(argv[1])(args);
  } catch (const std::exception& e) {
    std::cerr << "hpo-bench " << argv[1] << ": " << e.what() << "\n";
    return 2;
  }
}
