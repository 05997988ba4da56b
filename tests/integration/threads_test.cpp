// `hpo run` with the threads executor: the threads-plugin example end to end, builtin
// objectives, objectives that throw, and plugins that cannot be used (refused before any trial
// and before any file is written).
#include <cmath>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

const fs::path kBuild = HPO_BUILD_DIR;
const fs::path kExample = kBuild / "examples" / "threads-plugin";
const fs::path kTestPlugins = kBuild / "tests" / "executors";

double branin(double x1, double x2) {
  const double pi = 3.14159265358979323846;
  const double u = x2 - 5.1 / (4 * pi * pi) * x1 * x1 + 5 / pi * x1 - 6;
  return u * u + 10 * (1 - 1 / (8 * pi)) * std::cos(x1) + 10;
}

std::string spec(const std::string& name, const nlohmann::json& space,
                 const nlohmann::json& executor, int trials = 20,
                 const std::string& metric = "value") {
  return nlohmann::json{{"name", name},
                        {"direction", "minimize"},
                        {"objective", {{"metric", metric}}},
                        {"space", space},
                        {"sampler", {{"name", "random"}, {"seed", 5}}},
                        {"budget", {{"trials", trials}}},
                        {"parallelism", 2},
                        {"executor", executor}}
      .dump(2);
}

const nlohmann::json kBraninSpace = {{"x1", {{"type", "float"}, {"low", -5}, {"high", 10}}},
                                     {"x2", {{"type", "float"}, {"low", 0}, {"high", 15}}}};

std::string plugin_path(const std::string& target) {
  return (kTestPlugins / ("lib" + target + ".so")).string();
}

}  // namespace

TEST_CASE("the threads-plugin example runs end to end in hpo's own process",
          "[integration][threads]") {
  REQUIRE(fs::exists(kExample / "liblogreg_objective.so"));  // built with HPO_BUILD_EXAMPLES
  TempDir dir;
  const auto db = dir / "results.db";
  auto r = run_hpo({"run", (kExample / "study.json").string(), "--storage", db.string(), "--trials",
                    "12", "--progress", "plain"},
                   dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto trials = stored_trials(db, "threads-plugin");
  REQUIRE(trials.size() == 12);
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    CHECK(t.state == hpo::TrialState::kComplete);
    REQUIRE(t.value);
    CHECK(*t.value > 0.0);
    CHECK(t.metrics.count("val_accuracy"));
    CHECK(t.intermediate.size() == 15);  // one report per epoch
    CHECK(t.intermediate.rbegin()->second == *t.value);
  }
  // No process per trial, so no trial directories either.
  CHECK_FALSE(fs::exists(dir / "threads-plugin-trials"));
}

TEST_CASE("a builtin objective runs through hpo run and stores the function's values",
          "[integration][threads]") {
  TempDir dir;
  write_file(dir / "study.json",
             spec("branin", kBraninSpace, {{"kind", "threads"}, {"builtin", "branin"}}, 30));
  auto r = run_hpo({"run", "study.json"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "branin");
  REQUIRE(trials.size() == 30);
  for (const auto& t : trials) {
    REQUIRE(t.value);
    CHECK(*t.value == Approx(branin(t.params.at("x1").as_double(), t.params.at("x2").as_double())));
  }
}

TEST_CASE("an objective that throws fails its trial with the message, and the run goes on",
          "[integration][threads]") {
  TempDir dir;
  // The test plugin runs the "script" parameter (tests/executors/test_plugin.cpp).
  const nlohmann::json space = {
      {"x", {{"type", "float"}, {"low", 0}, {"high", 1}}},
      {"script", {{"type", "categorical"}, {"choices", {"out\nvalue={x}", "throw\nbad luck"}}}}};
  write_file(dir / "study.json", spec("throwing", space,
                                      {{"kind", "threads"},
                                       {"library", plugin_path("hpo_test_plugin")},
                                       {"symbol", "script_objective"}},
                                      10));
  auto r = run_hpo({"run", "study.json"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  int failed = 0, complete = 0;
  for (const auto& t : stored_trials(dir / "hpo.db", "throwing")) {
    if (t.params.at("script").as_string().rfind("throw", 0) == 0) {
      CHECK(t.state == hpo::TrialState::kFail);
      CHECK(t.reason == "bad luck");
      ++failed;
    } else {
      CHECK(t.state == hpo::TrialState::kComplete);
      CHECK(*t.value == t.params.at("x").as_double());
      ++complete;
    }
  }
  CHECK(complete == 10);
  CHECK(failed > 0);
}

TEST_CASE(
    "a plugin that cannot be used, or a space that does not fit the builtin, stops hpo "
    "before any trial and any file",
    "[integration][threads]") {
  TempDir dir;
  const nlohmann::json space = {{"x", {{"type", "float"}, {"low", 0}, {"high", 1}}}};
  struct Case {
    nlohmann::json executor;
    nlohmann::json space;
    std::string message;
    bool validate_finds_it;  // false: only loading tells, which waits for `hpo run`
  };
  const Case cases[] = {
      {{{"kind", "threads"}, {"library", "./libmissing.so"}},
       space,
       "executor.library: no such file '" + (dir / "libmissing.so").string() + "'",
       true},
      {{{"kind", "threads"}, {"library", plugin_path("hpo_test_plugin")}, {"symbol", "nope"}},
       space,
       "executor.symbol: '" + plugin_path("hpo_test_plugin") +
           "' does not export a function 'nope'",
       false},
      {{{"kind", "threads"}, {"library", plugin_path("hpo_test_plugin_wrong_version")}},
       space,
       "was built for plugin ABI version 99, this hpo speaks versions 1 to",
       false},
      {{{"kind", "threads"}, {"library", plugin_path("hpo_test_plugin_no_version")}},
       space,
       "is not an hpo plugin",
       false},
      {{{"kind", "threads"}, {"builtin", "branin"}},
       space,
       "space: branin needs parameters x1..x2",
       true},
  };
  for (const auto& c : cases) {
    INFO(c.executor.dump());
    write_file(dir / "study.json", spec("refused", c.space, c.executor));
    auto r = run_hpo({"validate", "study.json"}, dir.path());
    INFO("validate: " << r.err);
    CHECK(r.exit_code == (c.validate_finds_it ? 2 : 0));
    CHECK((r.err.find(c.message) != std::string::npos) == c.validate_finds_it);
    r = run_hpo({"run", "study.json"}, dir.path());
    INFO("run: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "hpo.db"));
  }
}
