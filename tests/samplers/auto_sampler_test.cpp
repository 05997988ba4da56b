// The "auto" sampler: which sampler it picks for which space and budget, and that the pick is
// what its factory makes and its plan says.
#include <catch2/catch.hpp>

#include "samplers/auto_sampler.h"
#include "samplers/sampler_registry.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

StudySpec spec_of(SearchSpace space, std::optional<int> trials) {
  StudySpec spec;
  spec.space = std::move(space);
  spec.budget.trials = trials;
  spec.sampler.name = "auto";
  spec.sampler.block = OrderedJson::parse(R"({"name": "auto"})");
  return spec;
}

SearchSpace discrete_space() {
  SearchSpace s;
  s.add({"opt", Distribution::categorical({"adam", "sgd"}), {}});
  s.add({"layers", Distribution::int_range(1, 4), {}});
  s.add({"drop", Distribution::float_range(0.0, 0.5, false, 0.25), {}});
  return s;  // 24 points
}

SearchSpace continuous_space(int n) {
  SearchSpace s;
  for (int i = 1; i <= n; ++i)
    s.add({"x" + std::to_string(i), Distribution::float_range(-1.0, 1.0), {}});
  s.add({"lr", Distribution::float_range(1e-5, 1.0, true), {}});
  return s;
}

}  // namespace

TEST_CASE("auto runs a grid when the space is discrete and the budget covers it",
          "[samplers][auto]") {
  CHECK(resolve_auto(spec_of(discrete_space(), 24)) == "grid");
  CHECK(resolve_auto(spec_of(discrete_space(), 100)) == "grid");
  const SamplerPlan plan = plan_sampler(spec_of(discrete_space(), 30));
  CHECK(plan.name == "grid");
  CHECK(plan.grid_points == 24u);
  CHECK(plan.detail.find("auto picked grid") == 0);
  // A budget smaller than the grid, or none: not a grid.
  CHECK(resolve_auto(spec_of(discrete_space(), 23)) == "gp");
  CHECK(resolve_auto(spec_of(discrete_space(), std::nullopt)) == "tpe");
}

TEST_CASE("auto picks gp for a few numeric parameters and a modest budget", "[samplers][auto]") {
  CHECK(resolve_auto(spec_of(continuous_space(3), 100)) == "gp");
  CHECK(resolve_auto(spec_of(continuous_space(kAutoGpMaxNumeric - 1), kAutoGpMaxTrials)) == "gp");
  // Too many parameters, too long a study, no budget: TPE.
  CHECK(resolve_auto(spec_of(continuous_space(kAutoGpMaxNumeric), 100)) == "tpe");
  CHECK(resolve_auto(spec_of(continuous_space(3), kAutoGpMaxTrials + 1)) == "tpe");
  CHECK(resolve_auto(spec_of(continuous_space(3), std::nullopt)) == "tpe");
}

TEST_CASE("auto leaves conditional and categorical-heavy spaces to tpe", "[samplers][auto]") {
  CHECK(resolve_auto(spec_of(mixed_space(), 100)) == "tpe");  // conditional
  SearchSpace cats = continuous_space(2);
  for (int i = 0; i <= kAutoGpMaxCategoricals; ++i)
    cats.add({"c" + std::to_string(i), Distribution::categorical({"a", "b"}), {}});
  CHECK(resolve_auto(spec_of(cats, 100)) == "tpe");
}

TEST_CASE("auto makes the sampler it picks and that sampler runs", "[samplers][auto]") {
  const SamplerRegistration* r = find_sampler("auto");
  REQUIRE(r != nullptr);
  for (const auto& [space, budget] : std::vector<std::pair<SearchSpace, int>>{
           {discrete_space(), 30}, {continuous_space(2), 50}}) {
    const StudySpec spec = spec_of(space, budget);
    auto sampler = r->make(SamplerArgs{spec, 7, 1});
    std::vector<Trial> trials;
    run_trials(
        *sampler, space, [](const ParamSet&) { return 1.0; }, 12, trials);
    for (const auto& t : trials) CHECK(space.check(t.params).empty());
    const SamplerPlan plan = plan_sampler(spec);
    CHECK(plan.detail.find("auto picked " + plan.name) == 0);
  }
}

}  // namespace hpo::testing
