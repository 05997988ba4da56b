// hpo-bench multi-objective: ZDT1, ZDT2, DTLZ2 (3 objectives) and C2-DTLZ2 (3 objectives, one
// constraint) through hpo's samplers in process, the hypervolume of the feasible Pareto front
// at 50, 100 and 200 trials (mean over seeds), and the time of one suggestion with a history of
// 1,000 trials x 3 objectives. tests/bench/multi_objective_optuna.py runs Optuna 3.1's
// NSGAIISampler and TPESampler on the same problems with the same reference points.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "samplers/nsga2_sampler.h"
#include "samplers/pareto.h"
#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"

namespace hpo::bench {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Problem {
  std::string name;
  int vars;
  int objectives;
  Point reference;
  // Objective values and the constraint violation (0 when feasible).
  std::function<std::pair<Point, double>(const std::vector<double>&)> eval;
};

std::pair<Point, double> zdt(const std::vector<double>& x, bool concave) {
  double sum = 0.0;
  for (std::size_t i = 1; i < x.size(); ++i) sum += x[i];
  const double g = 1.0 + 9.0 * sum / static_cast<double>(x.size() - 1);
  const double r = x[0] / g;
  return {{x[0], g * (1.0 - (concave ? r * r : std::sqrt(r)))}, 0.0};
}

Point dtlz2(const std::vector<double>& x) {
  double g = 0.0;
  for (std::size_t i = 2; i < x.size(); ++i) g += (x[i] - 0.5) * (x[i] - 0.5);
  const double a = x[0] * kPi / 2, b = x[1] * kPi / 2;
  return {(1 + g) * std::cos(a) * std::cos(b), (1 + g) * std::cos(a) * std::sin(b),
          (1 + g) * std::sin(a)};
}

// C2-DTLZ2 (Jain and Deb 2014), r = 0.4 for 3 objectives: feasible inside a sphere of radius r
// around each corner of the front or around its centre.
double c2_violation(const Point& f) {
  const double r = 0.4;
  const std::size_t m = f.size();
  double best = INFINITY;
  for (std::size_t i = 0; i < m; ++i) {
    double v = (f[i] - 1) * (f[i] - 1) - r * r;
    for (std::size_t j = 0; j < m; ++j)
      if (j != i) v += f[j] * f[j];
    best = std::min(best, v);
  }
  double centre = -r * r;
  for (double fi : f) centre += (fi - 1 / std::sqrt(double(m))) * (fi - 1 / std::sqrt(double(m)));
  return std::max(0.0, std::min(best, centre));
}

std::vector<Problem> problems() {
  return {
      {"zdt1", 10, 2, {1.1, 11.0}, [](const auto& x) { return zdt(x, false); }},
      {"zdt2", 10, 2, {1.1, 11.0}, [](const auto& x) { return zdt(x, true); }},
      {"dtlz2", 12, 3, {2.0, 2.0, 2.0}, [](const auto& x) { return std::make_pair(dtlz2(x), 0.0); }},
      {"c2dtlz2", 12, 3, {2.0, 2.0, 2.0},
       [](const auto& x) {
         const Point f = dtlz2(x);
         return std::make_pair(f, c2_violation(f));
       }},
  };
}

std::unique_ptr<Sampler> make(const std::string& name, std::uint64_t seed) {
  if (name == "tpe") return std::make_unique<TpeSampler>(seed);
  if (name == "tpe-multivariate") {  // tpe's default here is one estimator per parameter
    TpeOptions options;
    options.multivariate = true;
    return std::make_unique<TpeSampler>(seed, options);
  }
  if (name == "nsga2") return std::make_unique<Nsga2Sampler>(seed);
  return std::make_unique<RandomSampler>(seed);
}

SearchSpace box(int n) {
  SearchSpace space;
  for (int i = 0; i < n; ++i)
    space.add({"x" + std::to_string(i), Distribution::float_range(0.0, 1.0), {}});
  return space;
}

std::vector<double> point_of(const ParamSet& p, int n) {
  std::vector<double> x(n);
  for (int i = 0; i < n; ++i) x[i] = p.at("x" + std::to_string(i)).as_double();
  return x;
}

double hv_at(const std::vector<Trial>& trials, std::size_t n, const Problem& pr,
             const std::vector<Direction>& dirs) {
  const std::vector<Trial> first(trials.begin(), trials.begin() + std::min(n, trials.size()));
  return front_hypervolume(pareto_front(first, dirs), dirs, pr.reference);
}

int flag(const std::vector<std::string>& args, const std::string& name, int fallback) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == name) return std::stoi(args[i + 1]);
  return fallback;
}

std::vector<std::string> list_flag(const std::vector<std::string>& args, const std::string& name,
                                   const std::string& fallback) {
  std::string text = fallback;
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == name) text = args[i + 1];
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void speed(const std::vector<std::string>& samplers, int history, int repeat) {
  // History: 1,000 trials of DTLZ2 drawn at random, 3 objectives; then the time of one
  // suggestion (the median of `repeat`) for the next trial number.
  const Problem pr = problems()[2];
  const SearchSpace space = box(pr.vars);
  const std::vector<Direction> dirs(3, Direction::kMinimize);
  std::vector<Trial> trials;
  RandomSampler random(1);
  for (int i = 0; i < history; ++i) {
    Trial t;
    t.id = i + 1;
    t.number = i;
    t.state = TrialState::kComplete;
    t.params = random.suggest(StudyView(dirs, trials), space, i);
    t.values = pr.eval(point_of(t.params, pr.vars)).first;
    trials.push_back(std::move(t));
  }
  // CPU time of the calling thread: on a shared machine the wall time is mostly waiting for a
  // core (the suggestion runs on this thread alone below TPE's parallel threshold).
  auto cpu_ms = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  };
  for (const std::string& name : samplers) {
    std::vector<double> ms, cpu;
    std::unique_ptr<Sampler> s = make(name, 7);
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_ms();
      s->suggest(StudyView(dirs, trials), space, static_cast<std::uint64_t>(history + r));
      cpu.push_back(cpu_ms() - c0);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                       .count());
    }
    std::sort(ms.begin(), ms.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("suggest %-6s history %d x 3 objectives, %d vars: CPU median %.3f ms, max %.3f "
                "ms; wall min %.3f ms, median %.3f ms, max %.3f ms\n",
                name.c_str(), history, pr.vars, cpu[cpu.size() / 2], cpu.back(), ms.front(),
                ms[ms.size() / 2], ms.back());
  }
}

}  // namespace

int multi_objective_main(const std::vector<std::string>& args) {
  const int seeds = flag(args, "--seeds", 10);
  const int budget = flag(args, "--budget", 200);
  const auto samplers = list_flag(args, "--samplers", "tpe,nsga2,random");
  const auto names = list_flag(args, "--problems", "zdt1,zdt2,dtlz2,c2dtlz2");
  if (flag(args, "--speed", 0) != 0) {
    speed(samplers, flag(args, "--history", 1000), flag(args, "--repeat", 20));
    return 0;
  }
  const std::vector<std::size_t> checkpoints = {50, 100, static_cast<std::size_t>(budget)};
  std::printf("%-8s %-7s %10s %10s %10s   feasible front at %d (seeds)\n", "problem", "sampler",
              "hv@50", "hv@100", ("hv@" + std::to_string(budget)).c_str(), budget);
  for (const Problem& pr : problems()) {
    if (std::find(names.begin(), names.end(), pr.name) == names.end()) continue;
    const SearchSpace space = box(pr.vars);
    const std::vector<Direction> dirs(pr.objectives, Direction::kMinimize);
    for (const std::string& name : samplers) {
      std::vector<double> mean(checkpoints.size(), 0.0);
      int with_front = 0;
      for (int seed = 0; seed < seeds; ++seed) {
        std::unique_ptr<Sampler> s = make(name, static_cast<std::uint64_t>(seed));
        std::vector<Trial> trials;
        for (int i = 0; i < budget; ++i) {
          Trial t;
          t.id = i + 1;
          t.number = i;
          t.state = TrialState::kComplete;
          t.params = s->suggest(StudyView(dirs, trials), space, static_cast<std::uint64_t>(i));
          auto [f, violation] = pr.eval(point_of(t.params, pr.vars));
          t.values = f;
          if (pr.name == "c2dtlz2") t.violation = violation;
          trials.push_back(std::move(t));
        }
        for (std::size_t c = 0; c < checkpoints.size(); ++c)
          mean[c] += hv_at(trials, checkpoints[c], pr, dirs) / seeds;
        if (!pareto_front(trials, dirs).empty()) ++with_front;
      }
      std::printf("%-8s %-7s %10.4f %10.4f %10.4f   %d/%d\n", pr.name.c_str(), name.c_str(),
                  mean[0], mean[1], mean[2], with_front, seeds);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace hpo::bench
