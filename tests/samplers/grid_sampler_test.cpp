// GridSampler: every point exactly once (also with trials still running, failed or from
// another run), remaining() counting down, the points of conditional branches only, explicit
// values, and the spec errors of a grid that cannot be built.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"
#include "samplers/grid_sampler.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

SearchSpace small_space() {
  SearchSpace s;
  s.add({"opt", Distribution::categorical({"adam", "sgd", "rmsprop"}), {}});
  s.add({"layers", Distribution::int_range(1, 4), {}});
  s.add({"drop", Distribution::float_range(0.0, 0.5, false, 0.25), {}});
  return s;  // 3 x 4 x 3 = 36 points
}

// kernel in {rbf, poly, linear}; degree in {2, 3} under poly; gamma in {0.1, 1} under rbf and
// poly: rbf x 2 gammas, poly x 2 degrees x 2 gammas, linear: 7 points.
SearchSpace branchy_space() {
  SearchSpace s;
  s.add({"kernel", Distribution::categorical({"rbf", "poly", "linear"}), {}});
  s.add({"degree", Distribution::int_range(2, 3), Condition{{{"kernel", {ParamValue("poly")}}}}});
  s.add({"gamma", Distribution::float_range(1e-3, 10.0, true),
         Condition{{{"kernel", {ParamValue("rbf"), ParamValue("poly")}}}}});
  return s;
}

// ParamValue has no order: sets of points hold their JSON text.
std::string key(const ParamSet& p) { return params_to_json(p).dump(); }

GridOptions gamma_values() {
  GridOptions o;
  o.values["gamma"] = {ParamValue(0.1), ParamValue(1.0)};
  return o;
}

std::vector<SpecIssue> issues_of(const std::string& block, const SearchSpace& space) {
  SpecChecker c;
  read_grid_options(OrderedJson::parse(block), "sampler", space, c);
  return c.take();
}

}  // namespace

TEST_CASE("grid runs every point exactly once while remaining counts down", "[samplers][grid]") {
  const std::uint64_t seed = GENERATE(1, 2, 42);
  const SearchSpace space = small_space();
  REQUIRE(grid_point_count(space, {}) == 36u);
  GridSampler sampler(seed, {});
  std::vector<Trial> trials;
  std::set<std::string> seen;
  for (int i = 0; i < 36; ++i) {
    const StudyView view(Direction::kMinimize, trials);
    CHECK(sampler.remaining(view, space) == static_cast<std::size_t>(36 - i));
    ParamSet p = sampler.suggest(view, space, static_cast<std::uint64_t>(i));
    CHECK(space.check(p).empty());
    CHECK(seen.insert(key(p)).second);
    trials.push_back(make_trial(i, TrialState::kComplete, std::move(p), 0.0));
  }
  CHECK(seen.size() == 36);
  CHECK(sampler.remaining(StudyView(Direction::kMinimize, trials), space) == 0u);
}

TEST_CASE("grid gives each conditional branch its own points only", "[samplers][grid]") {
  const SearchSpace space = branchy_space();
  REQUIRE(grid_point_count(space, gamma_values()) == 7u);
  GridSampler sampler(3, gamma_values());
  std::vector<Trial> trials;
  run_trials(
      sampler, space, [](const ParamSet&) { return 0.0; }, 7, trials);
  std::set<std::string> seen;
  for (const auto& t : trials) seen.insert(key(t.params));
  const std::vector<ParamSet> points = {{{"kernel", "rbf"}, {"gamma", 0.1}},
                                        {{"kernel", "rbf"}, {"gamma", 1.0}},
                                        {{"kernel", "poly"}, {"degree", 2}, {"gamma", 0.1}},
                                        {{"kernel", "poly"}, {"degree", 2}, {"gamma", 1.0}},
                                        {{"kernel", "poly"}, {"degree", 3}, {"gamma", 0.1}},
                                        {{"kernel", "poly"}, {"degree", 3}, {"gamma", 1.0}},
                                        {{"kernel", "linear"}}};
  std::set<std::string> expected;
  for (const auto& p : points) expected.insert(key(p));
  CHECK(seen == expected);
}

TEST_CASE("grid counts running, waiting and failed trials as taken, also from other runs",
          "[samplers][grid]") {
  const SearchSpace space = small_space();
  GridSampler first(9, {});
  std::vector<Trial> trials;
  // Parallel workers: each suggestion sees the earlier ones still RUNNING or WAITING.
  for (int i = 0; i < 6; ++i) {
    const StudyView view(Direction::kMinimize, trials);
    ParamSet p = first.suggest(view, space, static_cast<std::uint64_t>(i));
    trials.push_back(make_trial(i, i % 2 ? TrialState::kRunning : TrialState::kWaiting, p));
  }
  trials[0].state = TrialState::kFail;
  // Another run of the study (a fresh sampler, another seed even) continues the grid.
  GridSampler other(10, {});
  std::set<std::string> seen;
  for (const auto& t : trials) seen.insert(key(t.params));
  CHECK(seen.size() == 6);
  for (int i = 6; i < 36; ++i) {
    const StudyView view(Direction::kMinimize, trials);
    ParamSet p = other.suggest(view, space, static_cast<std::uint64_t>(i));
    CHECK(seen.insert(key(p)).second);
    trials.push_back(make_trial(i, TrialState::kComplete, std::move(p), 1.0));
  }
  CHECK(other.remaining(StudyView(Direction::kMinimize, trials), space) == 0u);
  // Exhausted: the engine stops asking; if asked anyway, a point still running comes back.
  const ParamSet again = other.suggest(StudyView(Direction::kMinimize, trials), space, 36);
  bool running = false;
  for (const auto& t : trials)
    if (t.params == again) running = !is_finished(t.state);
  CHECK(running);
}

TEST_CASE("grid order is shuffled by the seed", "[samplers][grid]") {
  const SearchSpace space = small_space();
  auto order = [&](std::uint64_t seed) {
    GridSampler sampler(seed, {});
    std::vector<Trial> trials;
    run_trials(
        sampler, space, [](const ParamSet&) { return 0.0; }, 36, trials);
    std::vector<ParamSet> out;
    for (const auto& t : trials) out.push_back(t.params);
    return out;
  };
  CHECK(order(4) == order(4));
  CHECK(order(4) != order(5));
}

TEST_CASE("grid of billions of points costs no memory and still never repeats",
          "[samplers][grid]") {
  SearchSpace space;
  space.add({"a", Distribution::int_range(0, 99999), {}});
  space.add({"b", Distribution::int_range(0, 99999), {}});
  space.add({"c", Distribution::categorical({"x", "y"}), {}});
  REQUIRE(grid_point_count(space, {}) == 20000000000ULL);
  GridSampler sampler(1, {});
  std::vector<Trial> trials;
  run_trials(
      sampler, space, [](const ParamSet&) { return 0.0; }, 200, trials);
  std::set<std::string> seen;
  for (const auto& t : trials) seen.insert(key(t.params));
  CHECK(seen.size() == 200);
  CHECK(sampler.remaining(StudyView(Direction::kMinimize, trials), space) ==
        static_cast<std::size_t>(20000000000ULL - 200));
}

TEST_CASE("grid ignores trials whose parameters are not points of it", "[samplers][grid]") {
  const SearchSpace space = small_space();
  GridSampler sampler(2, {});
  std::vector<Trial> trials = {
      make_trial(0, TrialState::kComplete, {{"opt", "adam"}, {"layers", 9}, {"drop", 0.0}}, 1.0),
      make_trial(1, TrialState::kComplete, {{"opt", "adam"}}, 1.0)};
  CHECK(sampler.remaining(StudyView(Direction::kMinimize, trials), space) == 36u);
}

TEST_CASE("grid values replace the space's points and are checked", "[samplers][grid]") {
  const SearchSpace space = branchy_space();
  CHECK(issues_of(R"({"values": {"gamma": [0.1, 1]}})", space).empty());
  // A continuous parameter without values is an error naming it.
  auto issues = issues_of("{}", space);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "space.gamma");
  CHECK(issues[0].message.find("sampler.values.gamma") != std::string::npos);
  issues = issues_of(R"({"values": {"gamma": [0.1, 100, 0.1], "gama": [1], "degree": []}})", space);
  REQUIRE(issues.size() == 4);
  CHECK(issues[0].path == "sampler.values.gamma[1]");  // outside [1e-3, 10]
  CHECK(issues[1].path == "sampler.values.gamma[2]");  // duplicate
  CHECK(issues[2].path == "sampler.values.gama");
  CHECK(issues[2].message.find("did you mean \"gamma\"") != std::string::npos);
  CHECK(issues[3].path == "sampler.values.degree");
  // Explicit values of an int replace its range; 2.0 is the int 2.
  GridOptions o = gamma_values();
  SpecChecker c;
  o = read_grid_options(OrderedJson::parse(R"({"values": {"gamma": [1], "degree": [2.0]}})"),
                        "sampler", space, c);
  CHECK(c.ok());
  CHECK(grid_point_count(space, o) == 3u);  // rbf, (poly, 2), linear
  CHECK(o.values.at("degree")[0].is_int());
}

}  // namespace hpo::testing
