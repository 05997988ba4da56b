// fANOVA on a random forest: exact on hand-built trees, right on functions whose answer is known,
// deterministic, and honest about what it cannot compute.
#include <cmath>
#include <random>

#include <catch2/catch.hpp>

#include "engine/report/fanova.h"
#include "engine/report/param_importance.h"
#include "engine/report/random_forest.h"
#include "tests/report/report_test_util.h"

using hpo::Distribution;
using hpo::ImportanceResult;
using hpo::Parameter;
using hpo::ParamSet;
using hpo::SearchSpace;
using hpo::Trial;
using hpo::testing::make_trial;

namespace {

double importance_of(const ImportanceResult& r, const std::string& name) {
  for (const auto& p : r.params)
    if (p.name == name) return p.importance;
  return -1;
}

SearchSpace space_xyz() {
  SearchSpace s;
  s.add(Parameter{"x", Distribution::float_range(0, 1), {}});
  s.add(Parameter{"y", Distribution::float_range(1e-4, 1, /*log=*/true), {}});
  s.add(Parameter{"opt", Distribution::categorical({"a", "b", "c"}), {}});
  return s;
}

}  // namespace

TEST_CASE("fANOVA of a tree that splits one feature gives that feature all the variance",
          "[report][importance]") {
  // Two features; the forest holds one tree: x0 < 0.25 -> 0, else 4. Over the uniform box the
  // prediction depends on x0 only.
  hpo::RandomForest forest;
  std::vector<double> x{0.1, 0.5, 0.2, 0.9, 0.6, 0.1, 0.9, 0.8};
  std::vector<double> y{0, 4, 0, 4};
  forest.fit(
      x, y, 2,
      {.trees = 1, .max_depth = 1, .min_samples_split = 2, .min_samples_leaf = 1, .seed = 0});
  const auto imp = hpo::fanova_importance(forest);
  REQUIRE(imp.size() == 2);
  // Whatever bootstrap sample the one tree got, it can only split x0 or stay constant.
  if (forest.trees()[0].nodes.size() > 1) {
    CHECK(imp[0] == Approx(1.0));
    CHECK(imp[1] == Approx(0.0).margin(1e-12));
  }
}

TEST_CASE("fANOVA splits an additive function's variance between its terms",
          "[report][importance]") {
  // y = 3 * x0 + x1 on a grid: the first-order variances are 9/12 and 1/12 of the total
  // 10/12, so the shares are 0.9 and 0.1 (the forest's steps only approximate the lines).
  std::vector<double> x;
  std::vector<double> y;
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) {
      const double a = (i + 0.5) / 20;
      const double b = (j + 0.5) / 20;
      x.push_back(a);
      x.push_back(b);
      y.push_back(3 * a + b);
    }
  hpo::RandomForest forest;
  forest.fit(
      x, y, 2,
      {.trees = 16, .max_depth = 64, .min_samples_split = 2, .min_samples_leaf = 1, .seed = 1});
  const auto imp = hpo::fanova_importance(forest);
  CHECK(imp[0] == Approx(0.9).margin(0.05));
  CHECK(imp[1] == Approx(0.1).margin(0.05));
  CHECK(imp[0] + imp[1] <= 1.0 + 1e-9);
}

TEST_CASE("parameter importance ranks the parameter that drives the objective first",
          "[report][importance]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Trial> trials;
  const char* opts[] = {"a", "b", "c"};
  for (int i = 0; i < 200; ++i) {
    const double x = u(rng);
    const double y = std::exp(std::log(1e-4) + u(rng) * (std::log(1.0) - std::log(1e-4)));
    const std::string opt = opts[i % 3];
    const double value =
        10 * (x - 0.3) * (x - 0.3) + 0.1 * std::log10(y) + (opt == "b" ? 1.0 : 0.0);
    trials.push_back(make_trial(i, value, ParamSet{{"x", x}, {"y", y}, {"opt", opt}}));
  }
  trials.push_back(make_trial(200, std::nullopt, ParamSet{{"x", 0.5}}, hpo::TrialState::kFail));
  const ImportanceResult r = hpo::parameter_importance(space_xyz(), trials);
  REQUIRE(r.params.size() == 3);
  CHECK(r.method == "fanova");
  CHECK(r.trials_used == 200);
  // Variances of the terms over the space: the parabola 1.89, the step of opt 0.22, the log
  // term 0.013.
  CHECK(r.params[0].name == "x");
  CHECK(r.params[1].name == "opt");
  CHECK(r.params[2].name == "y");
  CHECK(importance_of(r, "x") == Approx(1.89 / (1.89 + 0.22 + 0.013)).margin(0.1));
  double sum = 0;
  for (const auto& p : r.params) sum += p.importance;
  CHECK(sum == Approx(1.0));
  // Deterministic: the same trials give the same numbers.
  const ImportanceResult again = hpo::parameter_importance(space_xyz(), trials);
  for (std::size_t i = 0; i < r.params.size(); ++i)
    CHECK(again.params[i].importance == r.params[i].importance);
}

TEST_CASE("parameter importance skips conditional parameters and says why it cannot compute",
          "[report][importance]") {
  SearchSpace space = space_xyz();
  space.add(Parameter{"m", Distribution::float_range(0.5, 0.99), {{{"opt", {"b"}}}}});
  std::vector<Trial> trials;
  for (int i = 0; i < 30; ++i) {
    ParamSet p{{"x", i / 30.0}, {"y", 0.01}, {"opt", i % 2 ? "a" : "b"}};
    if (i % 2 == 0) p["m"] = 0.9;
    trials.push_back(make_trial(i, i / 30.0, p));
  }
  const ImportanceResult r = hpo::parameter_importance(space, trials);
  CHECK(std::find(r.skipped.begin(), r.skipped.end(), "m") != r.skipped.end());
  CHECK(importance_of(r, "m") < 0);
  CHECK(importance_of(r, "x") > 0.5);

  CHECK(hpo::parameter_importance(space, {trials[0]}).note == "needs at least 2 COMPLETE trials");
  // No COMPLETE trial: the note says why, and no parameter is blamed as skipped.
  std::vector<Trial> failed = trials;
  for (Trial& t : failed) {
    t.state = hpo::TrialState::kFail;
    t.value.reset();
  }
  const ImportanceResult none = hpo::parameter_importance(space, failed);
  CHECK(none.note == "needs at least 2 COMPLETE trials");
  CHECK(none.skipped.empty());
  std::vector<Trial> flat = trials;
  for (Trial& t : flat) t.value = 1.0;
  CHECK(hpo::parameter_importance(space, flat).params.empty());
  CHECK_FALSE(hpo::parameter_importance(space, flat).note.empty());
}

TEST_CASE("features encode ranges linearly, log ranges in log space and choices as cells",
          "[report][importance]") {
  CHECK(*hpo::encode_feature(Distribution::float_range(0, 10), 2.5) == Approx(0.25));
  CHECK(*hpo::encode_feature(Distribution::float_range(1e-4, 1, true), 1e-2) == Approx(0.5));
  CHECK(*hpo::encode_feature(Distribution::int_range(1, 5), std::int64_t{3}) == Approx(0.5));
  CHECK(*hpo::encode_feature(Distribution::categorical({"a", "b"}), "b") == Approx(0.75));
  CHECK_FALSE(hpo::encode_feature(Distribution::categorical({"a", "b"}), "z").has_value());
}

TEST_CASE("importance over many trials thins them to a bounded sample", "[report][importance]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Trial> trials;
  for (int i = 0; i < 20000; ++i) {
    const double x = u(rng);
    trials.push_back(make_trial(i, x * x, ParamSet{{"x", x}, {"y", 0.5}, {"opt", "a"}}));
  }
  const ImportanceResult r = hpo::parameter_importance(space_xyz(), trials);
  CHECK(r.trials_used == 1000);  // thinned: the forest's cost does not grow with the study
  CHECK(r.params[0].name == "x");
}
