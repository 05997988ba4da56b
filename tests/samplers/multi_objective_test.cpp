// Multi-objective and constrained sampling: NSGA-II (population from the stored trials alone,
// constrained survival, progress on ZDT1) and multi-objective / constrained TPE.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "samplers/nsga2_sampler.h"
#include "samplers/pareto.h"
#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

const std::vector<Direction> kMinMin = {Direction::kMinimize, Direction::kMinimize};

SearchSpace unit_box(int n) {
  SearchSpace space;
  for (int i = 0; i < n; ++i)
    space.add({"x" + std::to_string(i), Distribution::float_range(0.0, 1.0), {}});
  return space;
}

// ZDT1 (Zitzler, Deb and Thiele 2000): front f1 = 1 - sqrt(f0) at g = 1.
Point zdt1(const ParamSet& p, int n) {
  const double x0 = p.at("x0").as_double();
  double sum = 0.0;
  for (int i = 1; i < n; ++i) sum += p.at("x" + std::to_string(i)).as_double();
  const double g = 1.0 + 9.0 * sum / (n - 1);
  return {x0, g * (1.0 - std::sqrt(x0 / g))};
}

// Runs `n` trials of ZDT1 (`dims` variables) through `sampler`; a trial whose first objective
// exceeds `max_f0` is infeasible by the excess (when max_f0 < 1).
std::vector<Trial> run_zdt1(Sampler& sampler, int dims, int n, double max_f0 = 2.0) {
  const SearchSpace space = unit_box(dims);
  std::vector<Trial> trials;
  for (int i = 0; i < n; ++i) {
    ParamSet p = sampler.suggest(StudyView(kMinMin, trials), space, static_cast<std::uint64_t>(i));
    Trial t = make_trial(i, TrialState::kComplete, p);
    t.values = zdt1(p, dims);
    if (max_f0 < 1.0) t.violation = std::max(0.0, t.values[0] - max_f0);
    trials.push_back(t);
  }
  return trials;
}

double front_hypervolume(const std::vector<Trial>& trials, const Point& ref) {
  std::vector<Point> points;
  for (const Trial* t : pareto_front(trials, kMinMin)) points.push_back(t->values);
  return hypervolume(points, ref);
}

TEST_CASE("nsga2 population is the best COMPLETE trials by constrained rank and crowding",
          "[samplers][nsga2]") {
  Nsga2Options o;
  o.population_size = 10;
  Nsga2Sampler sampler(3, o);
  std::vector<Trial> trials = run_zdt1(sampler, 4, 60, 0.6);
  trials[5].state = TrialState::kFail;
  trials[7].state = TrialState::kRunning;
  const std::vector<int> population = nsga2_population(StudyView(kMinMin, trials), 10);
  REQUIRE(population.size() == 10);
  // No trial left out beats a member by constrained domination, and no FAIL/RUNNING is in.
  std::vector<bool> in(trials.size(), false);
  for (int n : population) in[n] = true;
  CHECK_FALSE(in[5]);
  CHECK_FALSE(in[7]);
  for (int m : population) {
    for (const Trial& t : trials) {
      if (in[t.number] || t.state != TrialState::kComplete) continue;
      CHECK_FALSE(constrained_dominates(t.values, *t.violation, trials[m].values,
                                        *trials[m].violation));
    }
  }
  // Fewer COMPLETE trials than the population: none yet.
  const std::vector<Trial> few(trials.begin(), trials.begin() + 9);
  CHECK(nsga2_population(StudyView(kMinMin, few), 10).empty());
}

TEST_CASE("nsga2 rebuilds its population from the trials alone, as after a resume",
          "[samplers][nsga2]") {
  Nsga2Options o;
  o.population_size = 8;
  o.crossover = Crossover::kSbx;
  Nsga2Sampler first(11, o);
  std::vector<Trial> trials = run_zdt1(first, 3, 40);
  // A new sampler (a resumed run, another worker) on the same stored trials proposes exactly
  // what the one that ran them would.
  Nsga2Sampler resumed(11, o);
  const SearchSpace space = unit_box(3);
  for (std::uint64_t n = 40; n < 45; ++n)
    CHECK(resumed.suggest(StudyView(kMinMin, trials), space, n) ==
          first.suggest(StudyView(kMinMin, trials), space, n));
  // Trials still running do not hold the next suggestion back (no generation barrier): with
  // the last 5 RUNNING, the population comes from the 35 finished ones.
  for (int i = 35; i < 40; ++i) trials[i].state = TrialState::kRunning;
  CHECK(nsga2_population(StudyView(kMinMin, trials), 8).size() == 8);
}

TEST_CASE("nsga2 and multi-objective tpe beat random search on ZDT1", "[samplers][nsga2][tpe]") {
  const int seed = GENERATE(1, 2, 3);
  const Point ref = {1.1, 11.0};
  RandomSampler random(seed);
  Nsga2Options o;
  o.population_size = 20;
  Nsga2Sampler nsga2(seed, o);
  TpeSampler tpe(seed);
  const double hv_random = front_hypervolume(run_zdt1(random, 5, 200), ref);
  const double hv_nsga2 = front_hypervolume(run_zdt1(nsga2, 5, 200), ref);
  const double hv_tpe = front_hypervolume(run_zdt1(tpe, 5, 200), ref);
  INFO("random " << hv_random << " nsga2 " << hv_nsga2 << " tpe " << hv_tpe);
  CHECK(hv_nsga2 > hv_random);
  CHECK(hv_tpe > hv_random);
}

TEST_CASE("constrained tpe and nsga2 find more feasible trials than random",
          "[samplers][nsga2][tpe]") {
  // Feasible only where f0 <= 0.1: a tenth of the box.
  const int seed = GENERATE(1, 2, 3);
  auto feasible_count = [](const std::vector<Trial>& trials) {
    int n = 0;
    for (std::size_t i = 100; i < trials.size(); ++i) n += trials[i].feasible() ? 1 : 0;
    return n;
  };
  RandomSampler random(seed);
  Nsga2Options o;
  o.population_size = 20;
  Nsga2Sampler nsga2(seed, o);
  TpeSampler tpe(seed);
  const int r = feasible_count(run_zdt1(random, 3, 200, 0.1));
  const int n = feasible_count(run_zdt1(nsga2, 3, 200, 0.1));
  const int t = feasible_count(run_zdt1(tpe, 3, 200, 0.1));
  INFO("feasible of trials 100-199: random " << r << " nsga2 " << n << " tpe " << t);
  CHECK(n > 2 * r);
  CHECK(t > 2 * r);
}

TEST_CASE("multi-objective tpe moves toward less violation while no trial is feasible",
          "[samplers][tpe]") {
  // Feasible only at x0 = 0.8 exactly, so every trial is infeasible by |x0 - 0.8|: the good
  // group holds infeasible trials alone. It must still guide the search (TPE on the violation),
  // not fall back to the prior: the next suggestions lie closer to 0.8 than random ones.
  const int seed = GENERATE(1, 2, 3, 42);
  const SearchSpace space = unit_box(2);
  auto run = [&](Sampler& sampler) {
    std::vector<Trial> trials;
    double distance = 0.0;
    for (int i = 0; i < 80; ++i) {
      ParamSet p = sampler.suggest(StudyView(kMinMin, trials), space, static_cast<std::uint64_t>(i));
      Trial t = make_trial(i, TrialState::kComplete, p);
      const double x0 = p.at("x0").as_double();
      t.values = {x0, 1.0 - x0};
      t.violation = std::fabs(x0 - 0.8) + 1e-9;
      if (i >= 40) distance += std::fabs(x0 - 0.8) / 40.0;
      trials.push_back(t);
    }
    return distance;
  };
  RandomSampler random(seed);
  TpeSampler tpe(seed);
  const double d_random = run(random);
  const double d_tpe = run(tpe);
  INFO("mean |x0 - 0.8| of trials 40-79: random " << d_random << " tpe " << d_tpe);
  CHECK(d_tpe < 0.5 * d_random);
}

}  // namespace
}  // namespace hpo::testing
