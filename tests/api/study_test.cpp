// The C++ library API (include/hpo/study.h) on real SQLite files: creating and loading studies,
// ask and tell, optimize on threads, and the errors a program can make.
#include "hpo/study.h"
#include "hpo/storage.h"

#include "engine/factory.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "hpo/errors.h"
#include "storage/sqlite_storage.h"
#include "tests/support/temp_dir.h"
#include "engine/model/json_codec.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
using Catch::Contains;

StudyConfig quadratic_config(const std::string& name = "quadratic") {
  StudyConfig config;
  config.name = name;
  config.metric = "loss";
  config.space.add({"x", Distribution::float_range(-5, 5), {}});
  config.space.add({"n", Distribution::int_range(1, 4), {}});
  config.sampler.seed = 7;
  return config;
}

double loss_of(const ParamSet& p) {
  const double x = p.at("x").as_double();
  return (x - 1) * (x - 1) + static_cast<double>(p.at("n").as_int());
}

TEST_CASE("ask and tell record every trial with its value", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study study = Study::create(storage, quadratic_config());
  CHECK(study.name() == "quadratic");
  CHECK(study.metric() == "loss");
  std::set<int> numbers;
  for (int i = 0; i < 20; ++i) {
    const AskedTrial trial = study.ask();
    numbers.insert(trial.number);
    CHECK(study.space().check(trial.params).empty());
    CHECK(study.report(trial, 1, loss_of(trial.params) + 1));
    const Trial told = study.tell(trial, loss_of(trial.params));
    CHECK(told.state == TrialState::kComplete);
    REQUIRE(told.value);
    CHECK(*told.value == loss_of(trial.params));
    CHECK(told.intermediate.at(1) == loss_of(trial.params) + 1);
  }
  CHECK(numbers.size() == 20);
  CHECK(*numbers.rbegin() == 19);
  const auto trials = study.trials();
  REQUIRE(trials.size() == 20);
  const auto best = study.best_trial();
  REQUIRE(best);
  for (const auto& t : trials) CHECK(*best->value <= *t.value);
}

TEST_CASE("tell turns NaN and a missing objective metric into FAIL, and refuses a second tell",
          "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study study = Study::create(storage, quadratic_config());
  AskedTrial trial = study.ask();
  Trial told = study.tell(trial, std::numeric_limits<double>::quiet_NaN());
  CHECK(told.state == TrialState::kFail);
  CHECK(told.reason == "objective metric 'loss' is NaN");
  CHECK_THROWS_WITH(study.tell(trial, 1.0), Contains("is already finished"));

  trial = study.ask();
  told = study.tell(trial, Metrics{{"accuracy", 0.9}});
  CHECK(told.state == TrialState::kFail);
  CHECK(told.reason == "objective metric 'loss' was not reported (reported: accuracy)");

  trial = study.ask();
  told = study.tell(trial, Metrics{{"loss", 0.5}, {"accuracy", 0.9}});
  CHECK(told.state == TrialState::kComplete);
  CHECK(told.metrics == Metrics{{"loss", 0.5}, {"accuracy", 0.9}});
}

TEST_CASE("a trial told FAIL keeps its reason, PRUNED its last intermediate value", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study study = Study::create(storage, quadratic_config());
  AskedTrial trial = study.ask();
  CHECK(study.tell(trial, TrialState::kFail, "diverged").reason == "diverged");

  trial = study.ask();
  study.report(trial, 1, 5.0);
  study.report(trial, 2, 4.0);
  const Trial pruned = study.tell(trial, TrialState::kPruned);
  CHECK(pruned.state == TrialState::kPruned);
  CHECK(pruned.value == 4.0);
  CHECK_FALSE(study.report(trial, 3, 3.0));  // no longer running

  trial = study.ask();
  CHECK_THROWS_AS(study.tell(trial, TrialState::kComplete), InputError);
  CHECK_THROWS_AS(study.tell(trial, TrialState::kRunning), InputError);
}

TEST_CASE("should_prune asks the study's pruner about an asked trial's latest report",
          "[api][pruning]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  StudyConfig config = quadratic_config();
  config.pruner.name = "median";
  config.pruner.options = R"({"n_startup_trials": 2, "n_warmup_steps": 1})";
  Study study = Study::create(storage, config);
  // Two COMPLETE trials with the curve 1.0, 0.8, 0.6 make the median at every step.
  for (int i = 0; i < 2; ++i) {
    const AskedTrial t = study.ask();
    CHECK_FALSE(study.should_prune(t));  // no report yet
    for (int step = 1; step <= 3; ++step) {
      study.report(t, step, 1.2 - 0.2 * step);
      CHECK_FALSE(study.should_prune(t));  // fewer than n_startup_trials COMPLETE
    }
    study.tell(t, 0.6);
  }
  const AskedTrial good = study.ask();
  const AskedTrial bad = study.ask();
  // Step 0 is inside the warm-up, however bad; then a bad value is pruned, a good one kept.
  study.report(bad, 0, 9.0);
  CHECK_FALSE(study.should_prune(bad));
  study.report(good, 1, 0.7);
  CHECK_FALSE(study.should_prune(good));
  study.report(bad, 1, 5.0);
  CHECK(study.should_prune(bad));
  CHECK(study.should_prune(bad));  // asking again changes nothing
  // Reported through another Study object on the same storage (another process, as far as
  // this one knows): judged all the same.
  const AskedTrial third = study.ask();
  Study other = Study::load(storage, "quadratic");
  CHECK(other.report(third, 1, 4.0));
  CHECK(study.should_prune(third));
  // The median rule judges a trial's best value so far: a worse later report keeps a good one.
  study.report(good, 2, 3.0);
  CHECK_FALSE(study.should_prune(good));
  // The pruner's reason is recorded unless the program gives its own.
  const Trial pruned = study.tell(bad, TrialState::kPruned);
  CHECK(pruned.state == TrialState::kPruned);
  CHECK(pruned.value == 5.0);
  CHECK_THAT(pruned.reason, Catch::StartsWith("pruned at step 1 by median: "));
  CHECK(study.tell(third, TrialState::kPruned, "my reason").reason == "my reason");
  CHECK_FALSE(study.should_prune(bad));  // no longer running

  // Without a pruner, nothing is pruned; a bad pruner block is an InputError with its path.
  StudyConfig plain = quadratic_config("plain");
  Study no_pruner = Study::create(storage, plain);
  const AskedTrial t = no_pruner.ask();
  no_pruner.report(t, 1, 1e9);
  CHECK_FALSE(no_pruner.should_prune(t));
  StudyConfig wrong = quadratic_config("wrong");
  wrong.pruner.name = "asha";
  wrong.pruner.options = R"({"reduction_factor": 1})";
  try {
    Study::create(storage, wrong);
    FAIL("a reduction_factor of 1 was accepted");
  } catch (const InputError& e) {
    REQUIRE_FALSE(e.issues().empty());
    CHECK(e.issues()[0].path == "pruner.reduction_factor");
  }
}

TEST_CASE("create refuses an existing study, create_or_load continues it unless it differs",
          "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  {
    Study study = Study::create(storage, quadratic_config());
    study.tell(study.ask(), 1.0);
  }
  CHECK_THROWS_WITH(Study::create(storage, quadratic_config()), Contains("exists already"));

  Study again = Study::create_or_load(storage, quadratic_config());
  CHECK(again.trials().size() == 1);
  CHECK(again.ask().number == 1);

  StudyConfig other = quadratic_config();
  other.direction = Direction::kMaximize;
  other.space.add({"extra", Distribution::categorical({"a", "b"}), {}});
  try {
    Study::create_or_load(storage, other);
    FAIL("a study with another space and direction was continued");
  } catch (const InputError& e) {
    REQUIRE(e.issues().size() == 3);
    // A headline, then one line per difference.
    CHECK_THAT(e.issues()[1].message, Catch::StartsWith("  direction: stored minimize, now maximize"));
    CHECK_THAT(e.issues()[2].message, Catch::StartsWith("  space.extra: added"));
  }

  Study loaded = Study::load(storage, "quadratic");
  CHECK(to_json(loaded.space()) == to_json(quadratic_config().space));
  CHECK(loaded.metric() == "loss");
  CHECK_THROWS_WITH(Study::load(storage, "nope"), "no study named \"nope\" in this storage");
}

TEST_CASE("an invalid config is an InputError with every issue", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  StudyConfig config;
  config.name = "bad name";
  config.sampler.name = "tpe";
  config.sampler.options = R"({"n_startup_trials": "ten"})";
  try {
    Study::create(storage, config);
    FAIL("an invalid config was accepted");
  } catch (const InputError& e) {
    std::set<std::string> paths;
    for (const auto& issue : e.issues()) paths.insert(issue.path);
    CHECK(paths.count("name"));
    CHECK(paths.count("space"));
  }
  CHECK(storage.list_studies().empty());
}

TEST_CASE("the same seed asks the same parameters in a fresh storage", "[api]") {
  TempDir dir;
  SqliteStorage a(dir / "a.db"), b(dir / "b.db");
  Study sa = Study::create(a, quadratic_config());
  Study sb = Study::create(b, quadratic_config());
  for (int i = 0; i < 10; ++i) {
    const AskedTrial ta = sa.ask(), tb = sb.ask();
    CHECK(ta.params == tb.params);
    sa.tell(ta, loss_of(ta.params));
    sb.tell(tb, loss_of(tb.params));
  }
}

TEST_CASE("ask sees trials that another Study object added", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study one = Study::create(storage, quadratic_config());
  Study two = Study::load(storage, "quadratic");
  one.tell(one.ask(), 1.0);
  const AskedTrial next = two.ask();
  CHECK(next.number == 1);
  two.tell(next, 2.0);
  CHECK(one.ask().number == 2);
}

TEST_CASE("optimize runs the objective on threads until n_trials more have completed", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study study = Study::create(storage, quadratic_config());
  study.tell(study.ask(), 100.0);  // one from ask and tell first

  std::atomic<int> calls{0};
  Objective objective = [&](const ParamSet& p, ObjectiveContext& trial) -> ObjectiveResult {
    ++calls;
    if (trial.trial_number() % 5 == 3) throw std::runtime_error("unlucky trial");
    for (int step = 1; step <= 3; ++step) trial.report(step, {{"loss", loss_of(p) + 1.0 / step}});
    return loss_of(p);
  };
  RunResult result = study.optimize(objective, 20, 2);
  CHECK(result.reason == StopReason::kBudgetMet);
  const auto complete = study.trials(TrialState::kComplete);
  const auto failed = study.trials(TrialState::kFail);
  CHECK(complete.size() == 21);
  CHECK(failed.size() + complete.size() == study.trials().size());
  CHECK(static_cast<std::size_t>(calls) == failed.size() + 20);
  for (const auto& t : failed) CHECK(t.reason == "unlucky trial");
  for (const auto& t : complete) {
    if (t.number == 0) continue;
    CHECK(*t.value == loss_of(t.params));
    REQUIRE(t.intermediate.size() == 3);
    CHECK(t.intermediate.at(1) == Approx(loss_of(t.params) + 1));
  }

  // Again: 5 more, numbered after the others; ask and tell still work in between.
  study.tell(study.ask(), 50.0);
  result = study.optimize([](const ParamSet& p, ObjectiveContext&) { return loss_of(p); }, 5);
  CHECK(study.trials(TrialState::kComplete).size() == 27);
  CHECK(study.best_trial()->value < 50.0);
}

TEST_CASE("optimize fails a trial past its timeout and goes on", "[api]") {
  TempDir dir;
  SqliteStorage storage(dir / "api.db");
  Study study = Study::create(storage, quadratic_config());
  OptimizeOptions options;
  options.n_trials = 2;
  options.trial_timeout = 100ms;
  options.trials_dir = dir / "trials";
  bool first = true;
  const RunResult result = study.optimize(
      [&](const ParamSet& p, ObjectiveContext& trial) -> ObjectiveResult {
        if (std::exchange(first, false)) {
          while (!trial.should_stop()) std::this_thread::sleep_for(1ms);
        }
        trial.checkpoint_dir();
        return loss_of(p);
      },
      options);
  CHECK(result.reason == StopReason::kBudgetMet);
  const auto failed = study.trials(TrialState::kFail);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].reason == "timed out after 100ms");
  CHECK(study.trials(TrialState::kComplete).size() == 2);
  CHECK(std::filesystem::is_directory(dir / "trials" / "1" / "checkpoint"));
}

TEST_CASE("from_spec_file continues the study a spec file describes", "[api]") {
  TempDir dir;
  StoragePtr storage = open_storage(dir / "api.db");
  const auto spec = write_file(dir / "branin.json", R"({
    "name": "branin", "direction": "minimize", "objective": {"metric": "value"},
    "space": {"x1": {"type": "float", "low": -5, "high": 10},
              "x2": {"type": "float", "low": 0, "high": 15}},
    "sampler": {"name": "tpe", "seed": 3},
    "executor": {"kind": "threads", "builtin": "branin"}})");
  Study study = Study::from_spec_file(*storage, spec);
  study.optimize([](const ParamSet& p,
                    ObjectiveContext&) { return p.at("x1").as_double() + p.at("x2").as_double(); },
                 10, 2);
  CHECK(Study::from_spec_file(*storage, spec).trials(TrialState::kComplete).size() == 10);
  // A spec file with a problem is refused with its JSON path, as hpo validate would.
  write_file(dir / "bad.json", R"({"name": "b", "direction": "down", "objective": {"metric": "v"},
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "executor": {"kind": "threads", "builtin": "sphere"}})");
  CHECK_THROWS_WITH(Study::from_spec_file(*storage, dir / "bad.json"),
                    Catch::Contains("direction: must be"));
}

TEST_CASE("a database opened through the public handle is the one hpo's tools read",
          "[api]") {
  TempDir dir;
  {
    StoragePtr storage = open_storage(dir / "handle.db");
    Study study = Study::create(*storage, quadratic_config());
    const AskedTrial t = study.ask();
    study.tell(t, 0.5);
  }
  SqliteStorage reopened(dir / "handle.db");
  CHECK(reopened.find_study("quadratic").has_value());
  StoragePtr memory = open_memory_storage();
  Study in_memory = Study::create(*memory, quadratic_config());
  CHECK(in_memory.trials().empty());
}

}  // namespace
}  // namespace hpo::testing
