// CmaEsSampler: converges on a sphere and an ill-conditioned ellipsoid, keeps integers moving
// with the margin, restarts a converged run (IPOP), stays sound with parallel trials, and checks
// its options.
#include <catch2/catch.hpp>

#include <cmath>

#include "samplers/cma_es.h"
#include "samplers/cmaes_sampler.h"
#include "samplers/random_sampler.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

SearchSpace box(int n, double low, double high) {
  SearchSpace s;
  for (int i = 1; i <= n; ++i)
    s.add({"x" + std::to_string(i), Distribution::float_range(low, high), {}});
  return s;
}

double sphere(const ParamSet& p) {
  double v = 0.0;
  for (const auto& [name, value] : p) v += (value.as_double() - 1.0) * (value.as_double() - 1.0);
  return v;
}

// Axis scales 1 .. 100 (condition number 1e4), optimum 0 at x = 1.
double ellipsoid(const ParamSet& p) {
  double v = 0.0;
  const double n = static_cast<double>(p.size());
  double i = 0.0;
  for (const auto& [name, value] : p) {
    const double scale = std::pow(100.0, i / (n - 1.0));
    v += std::pow(scale * (value.as_double() - 1.0), 2);
    i += 1.0;
  }
  return v;
}

// Runs `n` trials in batches of `parallel`: the earlier trials of a batch are still RUNNING when
// the later ones are proposed, as with parallel workers.
void run_batches(Sampler& sampler, const SearchSpace& space, const Objective& f, int n,
                 int parallel, std::vector<Trial>& trials) {
  while (static_cast<int>(trials.size()) < n) {
    const std::size_t first = trials.size();
    for (int b = 0; b < parallel; ++b) {
      const int number = static_cast<int>(trials.size());
      const StudyView view(Direction::kMinimize, trials);
      trials.push_back(
          make_trial(number, TrialState::kRunning,
                     sampler.suggest(view, space, static_cast<std::uint64_t>(number))));
    }
    for (std::size_t i = first; i < trials.size(); ++i) {
      trials[i].state = TrialState::kComplete;
      trials[i].value = f(trials[i].params);
    }
  }
}

}  // namespace

TEST_CASE("cma-es converges on a sphere and on an ill-conditioned ellipsoid", "[samplers][cmaes]") {
  std::vector<double> sphere_best, ellipsoid_best, random_best;
  for (std::uint64_t seed : {1, 2, 3}) {
    CmaEsSampler a(seed), b(seed);
    RandomSampler r(seed);
    std::vector<Trial> ta, tb, tr;
    run_trials(a, box(5, -5.0, 5.0), sphere, 300, ta);
    run_trials(b, box(4, -5.0, 5.0), ellipsoid, 400, tb);
    run_trials(r, box(4, -5.0, 5.0), ellipsoid, 400, tr);
    sphere_best.push_back(best_value(ta));
    ellipsoid_best.push_back(best_value(tb));
    random_best.push_back(best_value(tr));
  }
  INFO("sphere " << median(sphere_best) << ", ellipsoid " << median(ellipsoid_best)
                 << ", random on the ellipsoid " << median(random_best));
  CHECK(median(sphere_best) < 1e-3);  // cmaes itself: ~7e-4 from the same start
  CHECK(median(ellipsoid_best) < 1e-2);
  CHECK(median(ellipsoid_best) < 1e-4 * median(random_best));
}

TEST_CASE("cma-es margin keeps integers from getting stuck", "[samplers][cmaes]") {
  // Three continuous coordinates of scales 1, 30 and 1000 pull the step size down while three
  // integers start far from their optimum (x0 at 1, optimum 8). Without the margin an integer
  // freezes in whatever cell the mean holds once sigma is smaller than a cell; with it, each
  // keeps a chance of moving and selection walks it home (Hamano et al. 2022, as cmaes's CMAwM
  // shows on the same problem).
  SearchSpace space;
  for (int i = 1; i <= 3; ++i)
    space.add({"x" + std::to_string(i), Distribution::float_range(-1.0, 1.0), {}});
  for (int i = 1; i <= 3; ++i)
    space.add({"n" + std::to_string(i), Distribution::int_range(0, 10), {}});
  auto f = [](const ParamSet& p) {
    const double scales[] = {1.0, 30.0, 1000.0};
    double v = 0.0;
    for (int i = 1; i <= 3; ++i) {
      v += std::pow(scales[i - 1] * p.at("x" + std::to_string(i)).as_double(), 2);
      v += std::fabs(p.at("n" + std::to_string(i)).as_double() - 8.0);
    }
    return v;
  };
  // Per seed, how far the best trial's integers are from 8 (summed).
  std::vector<double> with_margin, without;
  for (std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    for (bool margin : {true, false}) {
      CmaEsOptions o;
      o.with_margin = margin;
      o.sigma0 = 0.1;
      o.restart_strategy = CmaRestart::kNone;
      for (int i = 1; i <= 3; ++i) o.x0["n" + std::to_string(i)] = ParamValue(1);
      CmaEsSampler sampler(seed, o);
      std::vector<Trial> trials;
      run_trials(sampler, space, f, 1000, trials);
      const Trial* best = &trials[0];
      for (const auto& t : trials)
        if (*t.value < *best->value) best = &t;
      double distance = 0.0;
      for (int i = 1; i <= 3; ++i)
        distance += std::fabs(best->params.at("n" + std::to_string(i)).as_double() - 8.0);
      (margin ? with_margin : without).push_back(distance);
    }
  }
  int stuck_with = 0, stuck_without = 0;
  for (double d : with_margin) stuck_with += d >= 10;
  for (double d : without) stuck_without += d >= 10;
  INFO("median distance with margin " << median(with_margin) << ", without " << median(without)
                                      << "; stuck " << stuck_with << " vs " << stuck_without);
  CHECK(median(with_margin) <= 1.0);
  CHECK(stuck_with == 0);
  CHECK(median(with_margin) < median(without));
}

TEST_CASE("cma-es restarts a converged run with a doubled population (ipop)", "[samplers][cmaes]") {
  // A flat objective: the fitness history stalls, so the run stops and IPOP restarts it.
  auto flat = [](const ParamSet&) { return 1.0; };
  CmaEsOptions ipop;
  CmaEsSampler restarting(1, ipop);
  CmaEsOptions none;
  none.restart_strategy = CmaRestart::kNone;
  CmaEsSampler single(1, none);
  std::vector<Trial> a, b;
  run_trials(restarting, box(2, -1.0, 1.0), flat, 400, a);
  run_trials(single, box(2, -1.0, 1.0), flat, 400, b);
  CHECK(restarting.last_replay().restarts >= 2);
  CHECK(restarting.last_replay().popsize >= 4 * 6);  // 6 = 4 + floor(3 ln 2), doubled twice
  CHECK(single.last_replay().restarts == 0);
  CHECK(single.last_replay().popsize == 6);
}

TEST_CASE("cma-es stays sound with parallel trials", "[samplers][cmaes]") {
  std::vector<double> best;
  for (std::uint64_t seed : {1, 2, 3}) {
    CmaEsSampler sampler(seed);
    std::vector<Trial> trials;
    run_batches(sampler, box(4, -5.0, 5.0), sphere, 300, 4, trials);
    // Parallel suggestions from one state still differ (each trial draws with its own seed).
    for (std::size_t i = 1; i < trials.size(); ++i) CHECK(trials[i].params != trials[i - 1].params);
    best.push_back(best_value(trials));
  }
  CHECK(median(best) < 1e-3);
}

TEST_CASE("cma-es keeps a bounded mean and finite state on a sloped function",
          "[samplers][cmaes]") {
  // The optimum sits on a corner: samples beyond it are resampled or clipped into the box.
  CmaEs cma(CmaEsConfig{{0.5, 0.5, 0.5}, 0.3, 0, {}, 0.0});
  Rng rng(3);
  std::vector<double> raw, eval;
  for (int g = 0; g < 60; ++g) {
    std::vector<std::vector<double>> xs;
    std::vector<double> values;
    for (int k = 0; k < cma.popsize(); ++k) {
      cma.ask(rng, raw, eval);
      for (double v : eval) REQUIRE((v >= 0.0 && v <= 1.0));
      xs.push_back(raw);
      values.push_back(eval[0] + eval[1] + eval[2]);
    }
    cma.tell(xs, values);
  }
  for (double m : cma.mean()) CHECK(m < 0.1);
  CHECK(std::isfinite(cma.sigma()));
}

TEST_CASE("separable cma-es learns a separable ill-conditioned function faster than full cma-es",
          "[samplers][cmaes]") {
  // A 20-D ellipsoid with axis scales 1 .. 1000 (condition 1e6) on the unit cube, optimum 0 at
  // 0.3. Sep-CMA adapts its diagonal (n + 2) / 3 = 7.3 times faster than full CMA-ES learns
  // the covariance (Ros and Hansen 2008), so after the same number of evaluations it is far
  // closer.
  const std::size_t n = 20;
  auto f = [n](const std::vector<double>& x) {
    double v = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      v += std::pow(std::pow(1000.0, static_cast<double>(i) / (n - 1.0)) * (x[i] - 0.3), 2);
    return v;
  };
  std::vector<double> sep_best, full_best;
  for (std::uint64_t seed : {1, 2, 3}) {
    for (const bool separable : {true, false}) {
      CmaEsConfig config;
      config.mean.assign(n, 0.5);
      config.sigma = 0.1;
      config.separable = separable;
      CmaEs cma(config);
      Rng rng(seed);
      double best = 1e300;
      std::vector<std::vector<double>> xs;
      std::vector<double> values, raw, eval;
      for (int evals = 0; evals < 6000; evals += cma.popsize()) {
        xs.clear();
        values.clear();
        for (int k = 0; k < cma.popsize(); ++k) {
          cma.ask(rng, raw, eval);
          xs.push_back(raw);
          values.push_back(f(eval));
          best = std::min(best, values.back());
        }
        cma.tell(xs, values);
      }
      (separable ? sep_best : full_best).push_back(best);
    }
  }
  INFO("best after 6000 evaluations: separable " << median(sep_best) << ", full "
                                                 << median(full_best));
  CHECK(median(sep_best) < 1e-6);
  CHECK(median(sep_best) < 1e-3 * median(full_best));
}

TEST_CASE("use_separable_cma converges through the sampler, ints included", "[samplers][cmaes]") {
  SearchSpace space = box(4, -5.0, 5.0);
  space.add({"n", Distribution::int_range(0, 10), {}});
  auto f = [](const ParamSet& p) {
    double v = std::fabs(p.at("n").as_double() - 7.0);
    for (int i = 1; i <= 4; ++i) v += std::pow(p.at("x" + std::to_string(i)).as_double() - 1.0, 2);
    return v;
  };
  std::vector<double> best;
  for (std::uint64_t seed : {1, 2, 3}) {
    CmaEsOptions o;
    o.use_separable_cma = true;
    CmaEsSampler sampler(seed, o);
    std::vector<Trial> trials;
    run_trials(sampler, space, f, 300, trials);
    best.push_back(best_value(trials));
  }
  INFO("median best " << median(best));
  CHECK(median(best) < 1e-2);
}

TEST_CASE("a warm start from source trials starts near their best region", "[samplers][cmaes]") {
  // Source trials of the same problem (a sphere at 1 on [-5, 5]^3) from an earlier CMA-ES study
  // of 150 trials, whose best 10% sit near the optimum. Warm-started, CMA-ES is there from its
  // first generation on.
  const SearchSpace space = box(3, -5.0, 5.0);
  std::vector<double> warm_best, cold_best;
  for (std::uint64_t seed : {1, 2, 3, 42}) {
    CmaEsSampler earlier(seed + 100);
    std::vector<Trial> source;
    run_trials(earlier, space, sphere, 150, source);
    for (const bool warm : {true, false}) {
      CmaEsOptions o;
      o.n_startup_trials = 0;
      if (warm) o.source_trials = source;
      CmaEsSampler sampler(seed, o);
      std::vector<Trial> trials;
      run_trials(sampler, space, sphere, 14, trials);  // two generations of 7
      (warm ? warm_best : cold_best).push_back(best_value(trials));
    }
  }
  INFO("best of the first 14 trials: warm " << median(warm_best) << ", cold " << median(cold_best));
  CHECK(median(warm_best) < 0.5);
  CHECK(median(warm_best) < 0.2 * median(cold_best));
  // The distribution itself: the best 10% of the points give mean and covariance.
  const WarmStart w = warm_start_distribution(
      {{0.1, 0.1},   {0.2, 0.3},   {0.9, 0.9},   {0.5, 0.5},   {0.6, 0.4},
       {0.3, 0.2},   {0.7, 0.8},   {0.4, 0.6},   {0.8, 0.1},   {0.0, 1.0},
       {0.15, 0.2},  {0.25, 0.1},  {0.5, 0.9},   {0.9, 0.1},   {0.35, 0.35},
       {0.45, 0.05}, {0.05, 0.45}, {0.65, 0.65}, {0.75, 0.25}, {0.55, 0.15}},
      {1, 2, 20, 10, 11, 3, 15, 12, 14, 19, 4, 5, 16, 18, 6, 7, 8, 13, 9, 17});
  // floor(20 * 0.1) = 2 points: (0.1, 0.1) and (0.2, 0.3); cov = 0.01 I + their covariance.
  CHECK(w.mean[0] == Approx(0.15));
  CHECK(w.mean[1] == Approx(0.2));
  const double a = 0.01 + 0.0025, b = 0.005, d = 0.01 + 0.01;  // [[a, b], [b, d]]
  const double det = a * d - b * b;
  CHECK(w.sigma == Approx(std::pow(det, 0.25)));
  CHECK(w.cov[0] == Approx(a / std::sqrt(det)));
  CHECK(w.cov[1] == Approx(b / std::sqrt(det)));
  CHECK(w.cov[3] == Approx(d / std::sqrt(det)));
}

TEST_CASE("cma-es source_study excludes x0, sigma0 and use_separable_cma, as in Optuna",
          "[samplers][cmaes]") {
  const SearchSpace space = box(2, -1.0, 1.0);
  SpecChecker c;
  read_cmaes_options(
      OrderedJson::parse(R"({"source_study": "old", "sigma0": 0.1, "use_separable_cma": true})"),
      "sampler", space, c);
  const auto issues = c.take();
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].to_string() ==
        "sampler.source_study: cannot be used with \"sigma0\" (the warm start sets the mean, "
        "step size and covariance)");
  CHECK(issues[1].path == "sampler.source_study");
  SpecChecker ok;
  const CmaEsOptions o = read_cmaes_options(
      OrderedJson::parse(R"({"source_study": "old", "use_separable_cma": false})"), "sampler",
      space, ok);
  CHECK(ok.ok());  // use_separable_cma false is no conflict
  const CmaEsOptions sep = read_cmaes_options(OrderedJson::parse(R"({"use_separable_cma": true})"),
                                              "sampler", space, ok);
  CHECK(sep.use_separable_cma);
  CHECK(o.source_study == "old");
}

TEST_CASE("cma-es checker names the problem of each option", "[samplers][cmaes]") {
  SearchSpace space = box(2, -1.0, 1.0);
  space.add({"c", Distribution::categorical({"a", "b"}), {}});
  SpecChecker c;
  read_cmaes_options(OrderedJson::parse(R"({"sigma0": 0, "popsize": 1, "restart_strategy": "bipop",
      "independent_sampler": "tpe", "x0": {"x1": 3, "c": "a"}})"),
                     "sampler", space, c);
  const auto issues = c.take();
  REQUIRE(issues.size() == 5);
  CHECK(issues[0].path == "sampler.sigma0");
  CHECK(issues[1].path == "sampler.popsize");
  CHECK(issues[2].path == "sampler.restart_strategy");
  CHECK(issues[3].path == "sampler.x0.x1");
  CHECK(issues[4].path == "sampler.x0.c");
  SpecChecker ok;
  const CmaEsOptions o = read_cmaes_options(
      OrderedJson::parse(R"({"restart_strategy": null, "x0": {"x2": 0.5}, "with_margin": false})"),
      "sampler", space, ok);
  CHECK(ok.ok());
  CHECK(o.restart_strategy == CmaRestart::kNone);
  CHECK(o.x0.at("x2") == ParamValue(0.5));
  CHECK_FALSE(o.with_margin);
}

}  // namespace hpo::testing

namespace hpo::testing {

TEST_CASE("cma-es runs on a single parameter and maximizes when the study does",
          "[samplers][cmaes]") {
  SearchSpace space;
  space.add({"x", Distribution::float_range(-1.0, 1.0), {}});
  auto f = [](const ParamSet& p) { return -std::pow(p.at("x").as_double() - 0.3, 2); };
  CmaEsSampler cma(1);
  std::vector<Trial> trials;
  run_trials(cma, space, f, 80, trials, Direction::kMaximize);
  double best = -INFINITY;
  for (const auto& t : trials) best = std::max(best, *t.value);
  CHECK(best > -1e-4);
}

}  // namespace hpo::testing
