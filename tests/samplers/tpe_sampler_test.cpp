// TpeSampler: what the algorithm must achieve (concentrate near an optimum, beat random search,
// capture correlations jointly, spread parallel suggestions) and how it reads the history
// (PRUNED, RUNNING, maximize, odd values), on fixed seeds with medians over seeds.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"
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
  for (const auto& [name, value] : p) v += value.as_double() * value.as_double();
  return v;
}

TpeOptions univariate() {
  TpeOptions o;
  o.multivariate = false;
  return o;
}

// Distance between the two closest of the points (x1, x2).
double closest_pair_distance(const std::vector<ParamSet>& points) {
  double closest = INFINITY;
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = i + 1; j < points.size(); ++j) {
      const double dx = points[i].at("x1").as_double() - points[j].at("x1").as_double();
      const double dy = points[i].at("x2").as_double() - points[j].at("x2").as_double();
      closest = std::min(closest, std::sqrt(dx * dx + dy * dy));
    }
  }
  return closest;
}

}  // namespace

TEST_CASE("tpe good group concentrates near the optimum of a 1-D quadratic", "[samplers][tpe]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const TpeOptions options = GENERATE(TpeOptions{}, univariate());
  TpeSampler sampler(seed, options);
  SearchSpace space;
  space.add({"x", Distribution::float_range(-10.0, 10.0), {}});
  auto f = [](const ParamSet& p) { return std::pow(p.at("x").as_double() - 3.3, 2); };
  std::vector<Trial> trials;
  run_trials(sampler, space, f, 60, trials);

  // The good group (best 10%) sits within a small neighbourhood of 3.3 ...
  std::vector<double> values;
  for (const auto& t : trials) values.push_back(*t.value);
  std::sort(values.begin(), values.end());
  CHECK(std::sqrt(values[5]) < 0.5);
  // ... and the late suggestions come from it: random search would be ~5 away on average.
  std::vector<double> late;
  for (std::size_t i = 40; i < 60; ++i)
    late.push_back(std::fabs(trials[i].params.at("x").as_double() - 3.3));
  CHECK(median(late) < 2.0);
}

TEST_CASE("tpe beats random search on a sphere by the median over seeds", "[samplers][tpe]") {
  const SearchSpace space = box(4, -5.0, 5.0);
  std::vector<double> tpe, random;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    TpeSampler t(seed);
    RandomSampler r(seed);
    std::vector<Trial> a, b;
    run_trials(t, space, sphere, 60, a);
    run_trials(r, space, sphere, 60, b);
    tpe.push_back(best_value(a));
    random.push_back(best_value(b));
  }
  INFO("median best: tpe " << median(tpe) << ", random " << median(random));
  CHECK(median(tpe) < 0.5 * median(random));
}

TEST_CASE("multivariate tpe follows a rotated ellipse better than univariate tpe",
          "[samplers][tpe]") {
  // An ellipse elongated along the diagonal x1 = x2: only a joint model sees that good points
  // line up.
  const SearchSpace space = box(2, -5.0, 5.0);
  auto valley = [](const ParamSet& p) {
    const double x = p.at("x1").as_double(), y = p.at("x2").as_double();
    const double along = (x + y) / std::sqrt(2.0) - 1.0, across = (x - y) / std::sqrt(2.0);
    return along * along + 10.0 * across * across;
  };
  std::vector<double> joint, independent;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    TpeSampler mv(seed), uv(seed, univariate());
    std::vector<Trial> a, b;
    run_trials(mv, space, valley, 50, a);
    run_trials(uv, space, valley, 50, b);
    joint.push_back(best_value(a));
    independent.push_back(best_value(b));
  }
  INFO("median best: multivariate " << median(joint) << ", univariate " << median(independent));
  CHECK(median(joint) < median(independent));
}

TEST_CASE("tpe within exact_history suggests exactly what the always-exact sampler does",
          "[samplers][tpe]") {
  // The exact path is the threshold's default below 1,000 bad trials: the same draws, bit for
  // bit, in every mode, on a mixed conditional space.
  TpeOptions group;
  group.group = true;
  const TpeOptions mode = GENERATE_COPY(TpeOptions{}, univariate(), group);
  TpeOptions exact = mode;
  exact.exact_history = 0;
  TpeOptions bounded = mode;
  bounded.exact_history = 200;
  TpeSampler a(7, exact), b(7, bounded);
  std::vector<Trial> ta, tb;
  run_trials(a, mixed_space(), mixed_objective, 120, ta);
  run_trials(b, mixed_space(), mixed_objective, 120, tb);
  for (std::size_t i = 0; i < ta.size(); ++i) {
    INFO("trial " << i);
    CHECK(ta[i].params == tb[i].params);
  }
}

TEST_CASE("tpe with a subsampled bad group still finds the optimum and stays on its grids",
          "[samplers][tpe]") {
  // exact_history 40 over 300 trials: from trial ~65 on the bad group is 20 newest trials and
  // 20 strata. Suggestions must stay valid and TPE must still beat random search.
  TpeOptions group;
  group.group = true;
  group.exact_history = 40;
  TpeOptions joint;
  joint.exact_history = 40;
  TpeOptions single = univariate();
  single.exact_history = 40;
  const TpeOptions options = GENERATE_COPY(joint, single, group);
  std::vector<double> tpe, random;
  for (std::uint64_t seed : {1, 2, 3, 42}) {
    TpeSampler t(seed, options);
    RandomSampler r(seed);
    std::vector<Trial> a, b;
    run_trials(t, mixed_space(), mixed_objective, 300, a);
    run_trials(r, mixed_space(), mixed_objective, 300, b);
    for (const Trial& trial : a) REQUIRE(mixed_space().check(trial.params).empty());
    tpe.push_back(best_value(a));
    random.push_back(best_value(b));
  }
  INFO("median best: tpe " << median(tpe) << ", random " << median(random));
  CHECK(median(tpe) < 0.5 * median(random));

  // Deterministic: the subsample comes from the trial's seed.
  TpeSampler again(1, options), once(1, options);
  std::vector<Trial> x, y;
  run_trials(again, mixed_space(), mixed_objective, 120, x);
  run_trials(once, mixed_space(), mixed_objective, 120, y);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i].params == y[i].params);
}

TEST_CASE("tpe constant liar spreads simultaneous suggestions", "[samplers][tpe]") {
  // Eight workers ask one after another while the earlier ones still run. Without the liar they
  // all chase the same good region and some land nearly on top of each other; with it, each
  // RUNNING trial counts as bad and pushes the next suggestion away.
  const SearchSpace space = box(2, -5.0, 5.0);
  std::vector<double> with_liar, without_liar;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    for (bool liar : {true, false}) {
      TpeOptions o;
      o.constant_liar = liar;
      TpeSampler sampler(seed, o);
      std::vector<Trial> trials;
      run_trials(sampler, space, sphere, 30, trials);
      std::vector<ParamSet> batch;
      for (int w = 0; w < 8; ++w) {
        const int number = static_cast<int>(trials.size());
        ParamSet p = sampler.suggest(StudyView(Direction::kMinimize, trials), space,
                                     static_cast<std::uint64_t>(number));
        batch.push_back(p);
        trials.push_back(make_trial(number, TrialState::kRunning, std::move(p)));
      }
      (liar ? with_liar : without_liar).push_back(closest_pair_distance(batch));
    }
  }
  INFO("median closest pair: liar " << median(with_liar) << ", no liar "
                                    << median(without_liar));
  CHECK(median(with_liar) > 2.0 * median(without_liar));
}

TEST_CASE("tpe without constant liar ignores RUNNING trials", "[samplers][tpe]") {
  TpeOptions o;
  o.constant_liar = false;
  TpeSampler a(8, o), b(8, o);
  const SearchSpace space = mixed_space();
  std::vector<Trial> history;
  run_trials(a, space, mixed_objective, 25, history);
  std::vector<Trial> with_running = history;
  for (int i = 0; i < 3; ++i) {
    with_running.push_back(make_trial(25 + i, TrialState::kRunning, history[static_cast<std::size_t>(i)].params));
  }
  CHECK(a.suggest(StudyView(Direction::kMinimize, history), space, 28) ==
        b.suggest(StudyView(Direction::kMinimize, with_running), space, 28));
}

TEST_CASE("tpe counts PRUNED trials by their last intermediate value", "[samplers][tpe]") {
  // Only pruned trials: their last reports (step 5) point at x = 4; their step-1 reports and
  // final values (absent) say nothing. TPE must leave random search (they count as finished)
  // and follow the reports.
  SearchSpace space;
  space.add({"x", Distribution::float_range(-10.0, 10.0), {}});
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  RandomSampler random(seed + 100);
  std::vector<Trial> trials;
  for (int i = 0; i < 40; ++i) {
    ParamSet p = random.suggest(StudyView(Direction::kMinimize, trials), space,
                                static_cast<std::uint64_t>(i));
    const double x = p.at("x").as_double();
    Trial t = make_trial(i, TrialState::kPruned, std::move(p));
    t.intermediate = {{1, -x}, {5, (x - 4.0) * (x - 4.0)}};
    trials.push_back(t);
  }
  TpeSampler sampler(seed);
  std::vector<double> distance;
  for (int k = 0; k < 15; ++k) {
    const ParamSet p =
        sampler.suggest(StudyView(Direction::kMinimize, trials), space, 40 + k);
    distance.push_back(std::fabs(p.at("x").as_double() - 4.0));
  }
  CHECK(median(distance) < 1.5);
}

TEST_CASE("tpe ranks COMPLETE trials before PRUNED ones, as Optuna does", "[samplers][tpe]") {
  // Ten complete trials near x = -8 (value 50) and twenty pruned ones near x = 6 with lower
  // reports: the good group (3 of 30) holds complete trials only.
  SearchSpace space;
  space.add({"x", Distribution::float_range(-10.0, 10.0), {}});
  std::vector<Trial> trials;
  for (int i = 0; i < 10; ++i)
    trials.push_back(make_trial(i, TrialState::kComplete, {{"x", -8.0 + 0.05 * i}}, 50.0));
  for (int i = 10; i < 30; ++i) {
    Trial t = make_trial(i, TrialState::kPruned, {{"x", 6.0 + 0.05 * (i - 10)}});
    t.intermediate = {{3, 0.0}};
    trials.push_back(t);
  }
  TpeSampler sampler(5);
  std::vector<double> xs;
  for (int k = 0; k < 15; ++k)
    xs.push_back(sampler.suggest(StudyView(Direction::kMinimize, trials), space, 30 + k)
                     .at("x")
                     .as_double());
  CHECK(median(xs) < -5.0);
}

TEST_CASE("tpe maximizing -f takes exactly the path of minimizing f", "[samplers][tpe]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const SearchSpace space = mixed_space();
  TpeSampler up(seed), down(seed);
  std::vector<Trial> maximized, minimized;
  run_trials(up, space, [](const ParamSet& p) { return -mixed_objective(p); }, 40, maximized,
             Direction::kMaximize);
  run_trials(down, space, mixed_objective, 40, minimized);
  for (std::size_t i = 0; i < 40; ++i) CHECK(maximized[i].params == minimized[i].params);
  // And the study does climb: its best beats random search's.
  RandomSampler random(seed);
  std::vector<Trial> baseline;
  run_trials(random, space, mixed_objective, 40, baseline);
  CHECK(best_value(minimized) < best_value(baseline));
}

TEST_CASE("tpe startup trials are exactly the random sampler's", "[samplers][tpe]") {
  TpeSampler tpe(21);
  RandomSampler random(21);
  std::vector<Trial> a, b;
  run_trials(tpe, mixed_space(), mixed_objective, 10, a);
  run_trials(random, mixed_space(), mixed_objective, 10, b);
  for (std::size_t i = 0; i < 10; ++i) CHECK(a[i].params == b[i].params);
  // The 11th is TPE's own.
  const ParamSet next_tpe = tpe.suggest(StudyView(Direction::kMinimize, a), mixed_space(), 10);
  const ParamSet next_random =
      random.suggest(StudyView(Direction::kMinimize, b), mixed_space(), 10);
  CHECK_FALSE(next_tpe == next_random);
}

TEST_CASE("tpe keeps int, log int and stepped suggestions on their grids near the optimum",
          "[samplers][tpe]") {
  SearchSpace space;
  space.add({"n", Distribution::int_range(0, 100, false, 5), {}});
  space.add({"units", Distribution::int_range(1, 4096, true), {}});
  space.add({"d", Distribution::float_range(0.0, 1.0, false, 0.1), {}});
  auto f = [](const ParamSet& p) {
    return std::fabs(p.at("n").as_double() - 35.0) +
           10.0 * std::fabs(std::log2(p.at("units").as_double()) - 5.0) +
           30.0 * std::fabs(p.at("d").as_double() - 0.7);
  };
  const TpeOptions options = GENERATE(TpeOptions{}, univariate());
  TpeSampler sampler(3, options);
  std::vector<Trial> trials;
  run_trials(sampler, space, f, 80, trials);
  for (const auto& t : trials) CHECK(space.check(t.params).empty());
  CHECK(best_value(trials) < 10.0);  // random search: ~20 after 80 trials
}

TEST_CASE("tpe returns the only value of single-valued distributions", "[samplers][tpe]") {
  SearchSpace space;
  space.add({"x", Distribution::float_range(-1.0, 1.0), {}});
  space.add({"fixed", Distribution::float_range(2.5, 2.5), {}});
  space.add({"one", Distribution::int_range(7, 7), {}});
  space.add({"only", Distribution::categorical({"a"}), {}});
  TpeSampler sampler(1);
  std::vector<Trial> trials;
  auto f = [](const ParamSet& p) { return std::pow(p.at("x").as_double(), 2); };
  run_trials(sampler, space, f, 20, trials);
  for (const auto& t : trials) {
    CHECK(t.params.at("fixed") == ParamValue(2.5));
    CHECK(t.params.at("one") == ParamValue(7));
    CHECK(t.params.at("only") == ParamValue("a"));
  }
}

TEST_CASE("tpe skips history values that no longer fit the search space", "[samplers][tpe]") {
  // Trials from an older version of the space: out-of-range values, missing parameters,
  // strings where numbers are expected, unknown parameters.
  const SearchSpace space = mixed_space();
  std::vector<Trial> trials;
  TpeSampler builder(2);
  run_trials(builder, space, mixed_objective, 20, trials);
  trials[0].params["x"] = ParamValue(100.0);
  trials[1].params.erase("lr");
  trials[2].params["layers"] = ParamValue("many");
  trials[3].params["retired"] = ParamValue(1.0);
  trials[4].params["kernel"] = ParamValue("sigmoid");
  TpeSampler sampler(2);
  for (int k = 0; k < 10; ++k) {
    const ParamSet p = sampler.suggest(StudyView(Direction::kMinimize, trials), space, 20 + k);
    CHECK(space.check(p).empty());
  }
}

// The one reader of TPE's keys, as the spec checker and the factory call it.
TpeOptions read_options(const std::string& json, std::vector<SpecIssue>& issues) {
  SpecChecker checker;
  const TpeOptions options = read_tpe_options(OrderedJson::parse(json), "sampler", checker);
  issues = checker.take();
  return options;
}

TEST_CASE("tpe options parse every key and report bad values with their paths",
          "[samplers][tpe]") {
  std::vector<SpecIssue> issues;
  const TpeOptions o = read_options(R"({
      "name": "tpe", "seed": 3, "n_startup_trials": 5, "n_ei_candidates": 48, "gamma": 0.2,
      "prior_weight": 2.0, "consider_endpoints": true, "multivariate": true, "group": true,
      "constant_liar": false, "weights": "uniform", "exact_history": 5000})",
                                    issues);
  CHECK(issues.empty());
  CHECK(o.n_startup_trials == 5);
  CHECK(o.n_ei_candidates == 48);
  CHECK(o.gamma == 0.2);
  CHECK(o.prior_weight == 2.0);
  CHECK(o.consider_endpoints);
  CHECK(o.multivariate == true);
  CHECK(o.group);
  CHECK_FALSE(o.constant_liar);
  CHECK(o.weights == TpeWeights::kUniform);
  CHECK(o.exact_history == 5000);

  const TpeOptions defaults = read_options("{}", issues);
  CHECK(issues.empty());
  CHECK(defaults.n_startup_trials == 10);
  CHECK(defaults.n_ei_candidates == 24);
  CHECK(defaults.gamma == 0.1);
  CHECK_FALSE(defaults.multivariate.has_value());
  CHECK(defaults.joint(1));        // unset: jointly with one objective,
  CHECK_FALSE(defaults.joint(3));  // one parameter at a time with several (as MOTPE)
  CHECK(defaults.constant_liar);
  CHECK(defaults.weights == TpeWeights::kRamp);
  CHECK(defaults.exact_history == 1000);

  const TpeOptions bad = read_options(R"({
      "n_startup_trials": -1, "n_ei_candidates": 2.5, "gamma": 0, "prior_weight": "big",
      "consider_endpoints": 1, "multivariate": "yes", "group": null, "constant_liar": [],
      "weights": "linear", "exact_history": -1})",
                                      issues);
  std::vector<std::string> paths;
  for (const auto& i : issues) paths.push_back(i.path);
  CHECK(paths == std::vector<std::string>{"sampler.n_startup_trials", "sampler.n_ei_candidates",
                                          "sampler.gamma", "sampler.prior_weight",
                                          "sampler.exact_history", "sampler.consider_endpoints", "sampler.multivariate",
                                          "sampler.group", "sampler.constant_liar",
                                          "sampler.weights"});
  CHECK(bad.gamma == 0.1);  // bad values leave the defaults
  CHECK(bad.n_startup_trials == 10);
  CHECK(read_options(R"({"weights": "default"})", issues).weights == TpeWeights::kRamp);
  CHECK(read_options(R"({"weights": "ramp"})", issues).weights == TpeWeights::kRamp);
  CHECK(issues.empty());
  // Group modelling needs the joint model it groups.
  read_options(R"({"multivariate": false, "group": true})", issues);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "sampler.group");
}

TEST_CASE("the tpe registration turns constant liar on for parallel trials unless told",
          "[samplers][tpe]") {
  const SamplerRegistration* tpe = find_sampler("tpe");
  REQUIRE(tpe != nullptr);
  StudySpec spec;
  spec.sampler.name = "tpe";
  auto options_of = [&](int parallelism) {
    auto sampler = tpe->make(SamplerArgs{spec, 1, parallelism});
    return dynamic_cast<TpeSampler&>(*sampler).options();
  };
  CHECK_FALSE(options_of(1).constant_liar);
  CHECK(options_of(4).constant_liar);
  spec.sampler.block = OrderedJson{{"name", "tpe"}, {"constant_liar", false}};
  CHECK_FALSE(options_of(4).constant_liar);
  spec.sampler.block = OrderedJson{{"name", "tpe"}, {"gamma", 7}};
  CHECK_THROWS_AS(options_of(1), InputError);
}

}  // namespace hpo::testing
