// The study core (engine/study_core.h): the one place for a study's rules. Which spec a stored
// study continues with, its seed, refusing another space, and how outcomes are judged.
#include "engine/study_core.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <utility>

#include "engine/factory.h"
#include "hpo/errors.h"
#include "storage/memory_storage.h"

namespace hpo::testing {
namespace {

StudySpec spec_with(const std::string& budget, const std::string& space_high = "1",
                    const std::string& sampler = R"({"name": "random"})") {
  return parse_spec(R"({"name": "core", "direction": "minimize", "objective": {"metric": "loss"},
    "space": {"x": {"type": "float", "low": 0, "high": )" + space_high + R"(}},
    "sampler": )" + sampler + R"(, "budget": )" + budget + R"(,
    "executor": {"command": ["train", "{x}"]}})",
                    "/specs/core");
}

OpenOptions with_mode(OpenMode mode, bool record_spec = true) {
  OpenOptions o;
  o.mode = mode;
  o.record_spec = record_spec;
  return o;
}

TEST_CASE("a stored study continues with the last spec it was run with, wherever it is loaded",
          "[engine][core]") {
  MemoryStorage storage;
  { StudyCore first(storage, spec_with(R"({"trials": 5})"), with_mode(OpenMode::kCreate)); }
  // `hpo run` of a changed budget records the new spec...
  { StudyCore run(storage, spec_with(R"({"trials": 9})"), OpenOptions{}); }
  const StudyRecord record = *storage.find_study("core");
  const StudySpec stored = StudyCore::stored_spec(record);
  CHECK(stored.budget.trials == 9);
  CHECK(stored.base_dir == "/specs/core");
  REQUIRE(stored.executor);
  // ...and the C++ API's load (and `hpo resume`) read the same one.
  StudyCore loaded(storage, stored, with_mode(OpenMode::kLoad, false));
  CHECK(loaded.spec().budget.trials == 9);
  // A load that does not record leaves the stored spec alone.
  { StudyCore api(storage, spec_with(R"({"trials": 2})"), with_mode(OpenMode::kLoad, false)); }
  CHECK(StudyCore::stored_spec(*storage.find_study("core")).budget.trials == 9);
}

TEST_CASE("a stored study refuses another space unless allowed, and names the difference",
          "[engine][core]") {
  MemoryStorage storage;
  { StudyCore first(storage, spec_with("{}"), OpenOptions{}); }
  try {
    StudyCore changed(storage, spec_with("{}", "2"), OpenOptions{});
    FAIL("another space was accepted");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("exists with another search space (below); it has no "
                                     "trials yet, so nothing would mix: rerun with "
                                     "--allow-spec-change to continue it, or give the study a "
                                     "new name"));
    CHECK_THAT(what, Catch::Contains("space.x.high: stored 1.0, now 2.0"));
  }
  OpenOptions allow;
  allow.allow_spec_change = true;
  StudyCore allowed(storage, spec_with("{}", "2"), allow);
  CHECK(allowed.spec().space.find("x")->distribution.high == 2);
  CHECK_THROWS_AS(StudyCore(storage, spec_with("{}"), with_mode(OpenMode::kCreate)), InputError);
  MemoryStorage empty;
  CHECK_THROWS_AS(StudyCore(empty, spec_with("{}"), with_mode(OpenMode::kLoad)), InputError);
}

TEST_CASE("re-running after changing only the metric explains the choice in one line, with what "
          "is at stake",
          "[engine][core]") {
  MemoryStorage storage;
  StudySpec old_metric = spec_with("{}");
  {
    StudyCore first(storage, old_metric, OpenOptions{});
    for (int i = 0; i < 3; ++i) {
      const Trial t = *first.ask("run", std::nullopt, "");
      REQUIRE(first.tell(t.id, TrialOutcome::complete({{"acc", 0.5}}), RetryPolicy{}, ""));
    }
  }
  StudySpec fixed = spec_with("{}");
  fixed.metric = "acc";
  try {
    StudyCore changed(storage, fixed, OpenOptions{});
    FAIL("another metric was accepted");
  } catch (const InputError& e) {
    REQUIRE(e.issues().size() == 2);
    CHECK(e.issues()[0].message ==
          "study 'core' exists with another metric (below); none of its 3 trials completed "
          "under the old one, so nothing would mix: rerun with --allow-spec-change to continue "
          "it, or give the study a new name (\"name\" in the spec) to start afresh");
    CHECK(e.issues()[1].message == "  objective.metric: stored \"loss\", now \"acc\"");
  }
  // A study with COMPLETE trials says they would mix; the strategy is part of what counts.
  fixed.metric = "loss";
  fixed.strategy = ValueStrategy::kBest;
  {
    StudyCore run(storage, old_metric, OpenOptions{});
    const Trial t = *run.ask("run", std::nullopt, "");
    REQUIRE(run.tell(t.id, TrialOutcome::complete({{"loss", 0.5}}), RetryPolicy{}, ""));
  }
  try {
    StudyCore changed(storage, fixed, OpenOptions{});
    FAIL("another strategy was accepted");
  } catch (const InputError& e) {
    CHECK_THAT(e.issues()[0].message,
               Catch::Contains("another value strategy (below); 1 of its trials completed under "
                               "the old one and would mix with the new ones"));
  }
}

TEST_CASE("the sampler seed is drawn once, kept with the study, and a spec's seed wins",
          "[engine][core]") {
  MemoryStorage storage;
  std::uint64_t drawn = 0;
  {
    StudyCore first(storage, spec_with("{}"), OpenOptions{});
    drawn = first.seed();
    CHECK(storage.find_study("core")->sampler_seed == drawn);
  }
  CHECK(StudyCore(storage, spec_with("{}"), OpenOptions{}).seed() == drawn);
  const StudyCore seeded(storage, spec_with("{}", "1", R"({"name": "random", "seed": 3})"),
                         OpenOptions{});
  CHECK(seeded.seed() == 3);
  // The same seed gives the same first draw in another storage.
  MemoryStorage a, b;
  StudyCore ca(a, spec_with("{}", "1", R"({"name": "random", "seed": 11})"), OpenOptions{});
  StudyCore cb(b, spec_with("{}", "1", R"({"name": "random", "seed": 11})"), OpenOptions{});
  CHECK(ca.ask("run", std::nullopt, "")->params == cb.ask("run", std::nullopt, "")->params);
}

TEST_CASE("outcomes are judged by one set of rules", "[engine][core]") {
  MemoryStorage storage;
  StudyCore core(storage, spec_with("{}"), OpenOptions{});
  Trial t;
  t.state = TrialState::kRunning;
  t.intermediate = {{1, 0.9}, {4, 0.6}};
  RetryPolicy none;

  Verdict v = core.judge(t, TrialOutcome::complete({{"loss", 0.25}, {"acc", 0.9}}), none);
  CHECK(v.state == TrialState::kComplete);
  CHECK(v.value == 0.25);
  CHECK(v.reason.empty());

  v = core.judge(t, TrialOutcome::complete({{"acc", 0.9}}), none);
  CHECK(v.state == TrialState::kFail);
  CHECK(v.reason == "objective metric 'loss' was not reported (reported: acc)");
  CHECK_FALSE(v.requeue);
  v = core.judge(t, TrialOutcome::complete({}), none);
  CHECK(v.reason == "objective metric 'loss' was not reported (reported: none)");
  // The executor's note on where it looked is appended, only when the metric is missing.
  TrialOutcome noted = TrialOutcome::complete({{"acc", 0.9}});
  noted.metrics_note = "read stdout as auto; last metric lines: \"acc=0.9\"";
  v = core.judge(t, noted, none);
  CHECK(v.reason == "objective metric 'loss' was not reported (reported: acc); read stdout as "
                    "auto; last metric lines: \"acc=0.9\"");
  noted.metrics["loss"] = 0.5;
  CHECK(core.judge(t, noted, none).reason.empty());
  v = core.judge(t, TrialOutcome::complete({{"loss", std::nan("")}}), none);
  CHECK(v.reason == "objective metric 'loss' is NaN");
  v = core.judge(t, TrialOutcome::complete({{"loss", -HUGE_VAL}}), none);
  CHECK(v.reason == "objective metric 'loss' is infinite");

  v = core.judge(t, TrialOutcome::pruned("pruned at step 4"), none);
  CHECK(v.state == TrialState::kPruned);
  CHECK(v.value == 0.6);  // the last intermediate value
  CHECK(v.reason == "pruned at step 4");

  v = core.judge(t, TrialOutcome::failed(FailureKind::kInterrupted, "interrupted"), none);
  CHECK(v.requeue);  // runs again on resume, whatever the policy
  v = core.judge(t, TrialOutcome::failed(FailureKind::kObjective, ""), none);
  CHECK(v.reason == "failed");
  CHECK_FALSE(v.requeue);

  RetryPolicy twice;
  twice.retries = 2;
  v = core.judge(t, TrialOutcome::failed(FailureKind::kTimeout, "timed out after 2s"), twice);
  CHECK(v.requeue);
  CHECK(v.reason == "timed out after 2s (retrying: attempt 2 of 3)");
  t.attempt = 2;
  v = core.judge(t, TrialOutcome::failed(FailureKind::kTimeout, "timed out after 2s"), twice);
  CHECK_FALSE(v.requeue);
}

TEST_CASE("with objective.strategy best a trial's value is the best of its curve and its final "
          "report",
          "[engine][core]") {
  MemoryStorage storage;
  StudySpec spec = spec_with("{}");
  REQUIRE(spec.strategy == ValueStrategy::kLatest);  // the default keeps the final report
  spec.strategy = ValueStrategy::kBest;
  StudyCore core(storage, spec, OpenOptions{});
  Trial t;
  t.state = TrialState::kRunning;
  t.intermediate = {{1, 0.9}, {2, std::nan("")}, {4, 0.4}, {6, 0.6}};
  const RetryPolicy none;

  // Minimizing: the curve's 0.4 beats the final 0.6; a better final report wins over the curve.
  Verdict v = core.judge(t, TrialOutcome::complete({{"loss", 0.6}}), none);
  CHECK(v.state == TrialState::kComplete);
  CHECK(v.value == 0.4);
  CHECK(core.judge(t, TrialOutcome::complete({{"loss", 0.1}}), none).value == 0.1);
  // Only intermediate reports: the trial completes with their best.
  v = core.judge(t, TrialOutcome::complete({}), none);
  CHECK(v.state == TrialState::kComplete);
  CHECK(v.value == 0.4);
  // A NaN final report is still a failure, and a PRUNED trial keeps the best of its curve.
  CHECK(core.judge(t, TrialOutcome::complete({{"loss", std::nan("")}}), none).state ==
        TrialState::kFail);
  CHECK(core.judge(t, TrialOutcome::pruned("pruned at step 6"), none).value == 0.4);
  // Without a curve nothing changes: no final report is a failure.
  t.intermediate.clear();
  CHECK(core.judge(t, TrialOutcome::complete({}), none).state == TrialState::kFail);
}

TEST_CASE("objective.goal is reached by a COMPLETE trial at or beyond it in the study's direction",
          "[engine][core]") {
  MemoryStorage storage;
  StudySpec spec = spec_with("{}");
  spec.goal = 0.25;
  StudyCore core(storage, spec, OpenOptions{});
  CHECK_FALSE(core.goal_reached());  // no trial yet
  auto finish = [&](double loss) {
    const Trial t = *core.ask("run", std::nullopt, "");
    REQUIRE(core.tell(t.id, TrialOutcome::complete({{"loss", loss}}), RetryPolicy{}, ""));
  };
  finish(0.5);
  CHECK_FALSE(core.goal_reached());
  // A FAIL or PRUNED trial never reaches it, whatever its curve.
  const Trial pruned = *core.ask("run", std::nullopt, "");
  REQUIRE(core.report(pruned.id, 1, 0.01));
  REQUIRE(core.tell(pruned.id, TrialOutcome::pruned("pruned"), RetryPolicy{}, ""));
  CHECK_FALSE(core.goal_reached());
  finish(0.25);  // exactly the goal counts
  CHECK(core.goal_reached());
  CHECK(core.tally().best_number == 2);
  // A study loaded later knows at once.
  CHECK(StudyCore(storage, spec, OpenOptions{}).goal_reached());
  // Without a goal, never.
  CHECK_FALSE(StudyCore(storage, spec_with("{}"), OpenOptions{}).goal_reached());
}

TEST_CASE("what a trial reports is cleaned where it enters: invalid UTF-8, terminal escapes",
          "[engine][core][hardening]") {
  MemoryStorage storage;
  StudyCore core(storage, spec_with("{}"), OpenOptions{});
  const Trial t = *core.ask("run", std::nullopt, "");
  REQUIRE(core.set_location(t.id, "pgid:1@h\x1b[2J"));
  TrialOutcome outcome = TrialOutcome::failed(FailureKind::kExitCode, "bad \xff\x1b[31m");
  outcome.metrics = {{"lo\xffss", 1.0}};
  const auto recorded = core.tell(t.id, outcome, RetryPolicy{}, "");
  REQUIRE(recorded);
  const Trial stored = *storage.get_trial(t.id);
  CHECK(stored.reason == "bad \xef\xbf\xbd\\x1b[31m");
  CHECK(stored.location == "pgid:1@h\\x1b[2J");
  CHECK(stored.metrics.count("lo\xef\xbf\xbdss") == 1);
}

TEST_CASE("the cache catches up with trials made by another core on the same storage",
          "[engine][core]") {
  MemoryStorage storage;
  StudyCore a(storage, spec_with("{}"), OpenOptions{});
  StudyCore b(storage, spec_with("{}"), OpenOptions{});
  const Trial t0 = *a.ask("run-a", std::nullopt, "");
  const Trial t1 = *b.ask("run-b", std::nullopt, "");  // b learns of t0 while drawing t1
  CHECK(t1.number == 1);
  CHECK(b.trials().size() == 2);
  REQUIRE(a.tell(t0.id, TrialOutcome::complete({{"loss", 0.5}}), RetryPolicy{}, ""));
  REQUIRE(b.tell(t1.id, TrialOutcome::complete({{"loss", 0.25}}), RetryPolicy{}, ""));
  CHECK(a.tally().counts.complete == 1);
  a.refresh();
  CHECK(a.tally().counts.complete == 2);
  CHECK(a.tally().best_number == 1);
  REQUIRE(a.best() != nullptr);
  CHECK(a.best()->value == 0.25);
  // Telling a finished trial again changes nothing.
  CHECK_FALSE(a.tell(t1.id, TrialOutcome::complete({{"loss", 0.0}}), RetryPolicy{}, ""));
}

TEST_CASE("a CMA-ES warm start reads the source study's trials from the same storage",
          "[engine][core]") {
  const auto spec = [](const std::string& name, const std::string& sampler,
                       const std::string& direction = "minimize") {
    return parse_spec(R"({"name": ")" + name + R"(", "direction": ")" + direction +
                          R"(", "objective": {"metric": "loss"},
      "space": {"x": {"type": "float", "low": 0, "high": 1},
                "y": {"type": "float", "low": 0, "high": 1}},
      "sampler": )" + sampler +
                          R"(, "executor": {"command": ["train", "{x}", "{y}"]}})",
                      "/specs");
  };
  MemoryStorage storage;
  // The source: 60 random trials of a sphere centred at (0.8, 0.2).
  StudyCore source(storage, spec("source", R"({"name": "random", "seed": 3})"), OpenOptions{});
  for (int i = 0; i < 60; ++i) {
    const Trial t = *source.ask("me", std::nullopt, "");
    const double x = t.params.at("x").as_double(), y = t.params.at("y").as_double();
    source.tell(t.id,
                TrialOutcome::complete({{"loss", (x - 0.8) * (x - 0.8) + (y - 0.2) * (y - 0.2)}}),
                RetryPolicy{}, "");
  }
  // Warm-started, the first CMA-ES generation already samples around the source's optimum; a
  // cold start samples around the middle of the box.
  const auto first_points = [&](const std::string& name, const std::string& sampler) {
    StudyCore core(storage, spec(name, sampler), OpenOptions{});
    double mx = 0, my = 0;
    for (int i = 0; i < 6; ++i) {
      const Trial t = *core.ask("me", std::nullopt, "");
      mx += t.params.at("x").as_double() / 6;
      my += t.params.at("y").as_double() / 6;
    }
    return std::pair{mx, my};
  };
  const auto [wx, wy] = first_points(
      "warm", R"({"name": "cmaes", "seed": 1, "n_startup_trials": 0, "source_study": "source"})");
  const auto [cx, cy] =
      first_points("cold", R"({"name": "cmaes", "seed": 1, "n_startup_trials": 0})");
  INFO("warm mean (" << wx << ", " << wy << "), cold (" << cx << ", " << cy << ")");
  CHECK(std::hypot(wx - 0.8, wy - 0.2) < 0.15);
  CHECK(std::hypot(wx - 0.8, wy - 0.2) < 0.5 * std::hypot(cx - 0.8, cy - 0.2));

  // Naming no study, this study itself, or a study of the other direction is an InputError at
  // sampler.source_study, before anything is written.
  const auto path_of = [&](const StudySpec& s) {
    try {
      StudyCore core(storage, s, OpenOptions{});
    } catch (const InputError& e) {
      return e.issues().empty() ? std::string() : e.issues()[0].path + ": " + e.issues()[0].message;
    }
    return std::string("no error");
  };
  CHECK(path_of(spec("w2", R"({"name": "cmaes", "source_study": "nope"})")) ==
        "sampler.source_study: no study named \"nope\" in this storage");
  CHECK(path_of(spec("w3", R"({"name": "cmaes", "source_study": "w3"})")) ==
        "sampler.source_study: names this study itself; a warm start comes from another study");
  CHECK(path_of(spec("w4", R"({"name": "cmaes", "source_study": "source"})", "maximize")) ==
        "sampler.source_study: study \"source\" is minimize but this one is maximize");
  CHECK_FALSE(storage.find_study("w2"));
}

}  // namespace
}  // namespace hpo::testing
