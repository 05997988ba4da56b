// What a new user meets in the first hour (issue 10), through the real `hpo` binary: which
// report is a trial's value and the goal that ends a study; a broken setup stopping the run
// after a few trials with what to fix; and the housekeeping commands (enqueue before the first
// run, partial sets, delete, the spec-change explanation).
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::Trial;
using hpo::TrialState;
using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;
using nlohmann::json;

namespace {

// hpo_it_objective's final loss for a trial's parameters.
double loss_of(const Trial& t) {
  const double x = t.params.at("x").as_double();
  const double y = t.params.at("y").as_double();
  return (x - 1) * (x - 1) + (y + 2) * (y + 2);
}

}  // namespace

TEST_CASE("objective.goal ends the study at the first COMPLETE trial that reaches it",
          "[integration][first_hour]") {
  TempDir dir;
  write_file(dir / "goal.json", objective_spec("goal", "ok",
                                               R"({"objective": {"metric": "loss", "goal": 20},
                                "budget": {"trials": 40}, "parallelism": 1})"));
  const auto r = run_hpo({"run", "goal.json"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "goal");
  REQUIRE_FALSE(trials.empty());
  CHECK(trials.size() < 40);
  // The last trial reached it, none before did.
  const Trial& last = trials.back();
  REQUIRE(last.state == TrialState::kComplete);
  CHECK(*last.value <= 20);
  for (std::size_t i = 0; i + 1 < trials.size(); ++i) CHECK(*trials[i].value > 20);
  CHECK_THAT(r.out, Catch::Contains("(goal reached (value ") &&
                        Catch::Contains("of trial " + std::to_string(last.number) + ")"));
  // Run again: the goal is met, nothing more runs.
  const auto again = run_hpo({"run", "goal.json"}, dir.path());
  CHECK(again.exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "goal").size() == trials.size());
}

TEST_CASE("objective.strategy best takes the best report of a trial, shown beside its curve",
          "[integration][first_hour]") {
  TempDir dir;
  // hpo_it_objective prints epoch=i loss=L+1/i, then loss=L: maximizing, the best is epoch 1.
  write_file(dir / "best.json", objective_spec("best", "ok",
                                               R"({"direction": "maximize",
                                "objective": {"metric": "loss", "strategy": "best"},
                                "budget": {"trials": 3}})"));
  REQUIRE(run_hpo({"run", "best.json"}, dir.path()).exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "best");
  REQUIRE(trials.size() == 3);
  for (const Trial& t : trials) {
    REQUIRE(t.state == TrialState::kComplete);
    CHECK(*t.value == Approx(loss_of(t) + 1.0));
    CHECK(t.metrics.at("loss") == Approx(loss_of(t)));  // the final report stays a metric
  }
  const auto table = run_hpo({"trials", "--spec", "best.json"}, dir.path());
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("BEST_INTERM"));
  const json j = json::parse(run_hpo({"trials", "best", "--format", "json"}, dir.path()).out);
  CHECK(j[0]["best_intermediate"]["value"].get<double>() == Approx(*trials[0].value));
  CHECK(j[0]["best_intermediate"]["step"] == 1);
}

TEST_CASE(
    "a spec whose metric name is wrong stops after budget.fail_fast trials, saying what "
    "to fix",
    "[integration][first_hour]") {
  TempDir dir;
  write_file(dir / "typo.json",
             objective_spec("typo", "ok",
                            R"({"objective": {"metric": "los"}, "budget": {"trials": 20},
                                "parallelism": 1})"));
  const auto r = run_hpo({"run", "typo.json"}, dir.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  const auto trials = stored_trials(dir / "hpo.db", "typo");
  CHECK(trials.size() == 3);
  for (const Trial& t : trials) CHECK(t.state == TrialState::kFail);
  CHECK_THAT(r.out, Catch::Contains("the first 3 trials all failed the same way") &&
                        Catch::Contains("never reported objective.metric 'los'") &&
                        Catch::Contains("fix objective.metric in the spec"));

  // Fixing only the metric: the rerun explains the choice in one line, and each way works.
  write_file(dir / "typo.json",
             objective_spec("typo", "ok", R"({"budget": {"trials": 2}, "parallelism": 1})"));
  const auto refused = run_hpo({"run", "typo.json"}, dir.path());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err,
             Catch::Contains("study 'typo' exists with another metric (below); none of its 3 "
                             "trials completed under the old one, so nothing would mix: rerun "
                             "with --allow-spec-change to continue it, or give the study a new "
                             "name"));
  const auto allowed = run_hpo({"run", "typo.json", "--allow-spec-change"}, dir.path());
  CHECK(allowed.exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "typo").size() == 5);
}

TEST_CASE("a program that cannot be started stops the run after budget.fail_fast trials",
          "[integration][first_hour]") {
  TempDir dir;
  // It exists and is executable (the preflight of `hpo run` passes), but its interpreter does
  // not: every spawn fails.
  const fs::path trainer = write_file(dir / "train.sh", "#!/no/such/interpreter\n");
  fs::permissions(trainer, fs::perms::owner_all);
  json spec = json::parse(objective_spec(
      "missing", "ok", R"({"budget": {"trials": 10, "fail_fast": 2}, "parallelism": 1})"));
  spec["executor"]["command"][0] = trainer.string();
  write_file(dir / "missing.json", spec.dump(2));
  const auto r = run_hpo({"run", "missing.json"}, dir.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(stored_trials(dir / "hpo.db", "missing").size() == 2);
  CHECK_THAT(r.out, Catch::Contains("the first 2 trials all failed the same way: the trial "
                                    "program cannot be started") &&
                        Catch::Contains("executor.command[0]"));
}

TEST_CASE("hpo enqueue --spec creates the study, and a partial set is completed by the sampler",
          "[integration][first_hour]") {
  TempDir dir;
  write_file(dir / "warm.json", objective_spec("warm", "ok", R"({"parallelism": 1})"));
  // Nothing is written when a set is wrong.
  const auto bad =
      run_hpo({"enqueue", "--spec", "warm.json", "--params", R"({"x": 9})"}, dir.path());
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("params.x"));
  CHECK_FALSE(fs::exists(dir / "hpo.db"));

  const auto r =
      run_hpo({"enqueue", "--spec", "warm.json", "--params", R"({"x": 1.0})"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("created study 'warm'") &&
                        Catch::Contains("enqueued trial #0: {\"x\":1.0}") &&
                        Catch::Contains("the sampler chooses 1 more when it starts"));
  // The study exists now: enqueue by name works too, and --spec again adds to it.
  CHECK(
      run_hpo({"enqueue", "warm", "--params", R"({"x": -1.0, "y": 0.5})"}, dir.path()).exit_code ==
      0);
  CHECK(run_hpo({"enqueue", "--spec", "warm.json", "--params", R"({"y": -2.0})"}, dir.path())
            .exit_code == 0);
  REQUIRE(stored_trials(dir / "hpo.db", "warm").size() == 3);

  const auto run = run_hpo({"run", "warm.json"}, dir.path());
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "warm");
  REQUIRE(trials.size() == 6);
  CHECK(trials[0].params.at("x").as_double() == 1.0);
  CHECK(trials[1].params.at("x").as_double() == -1.0);
  CHECK(trials[2].params.at("y").as_double() == -2.0);
  for (const Trial& t : trials) {
    INFO("trial " << t.number);
    CHECK(t.state == TrialState::kComplete);
    REQUIRE(t.params.size() == 2);  // filled in before the trial ran
    CHECK(std::abs(t.params.at("x").as_double()) <= 5);
    CHECK(std::abs(t.params.at("y").as_double()) <= 5);
    CHECK(*t.value == Approx(loss_of(t)));  // and the trial ran with them
  }
}

TEST_CASE("hpo delete asks, refuses without a terminal, and removes a study and its trials",
          "[integration][first_hour]") {
  TempDir dir;
  write_file(dir / "a.json", objective_spec("a", "ok", R"({"budget": {"trials": 2}})"));
  write_file(dir / "b.json", objective_spec("b", "ok", R"({"budget": {"trials": 2}})"));
  REQUIRE(run_hpo({"run", "a.json"}, dir.path()).exit_code == 0);
  REQUIRE(run_hpo({"run", "b.json"}, dir.path()).exit_code == 0);
  REQUIRE(fs::is_directory(dir / "a-trials" / "0"));

  // stdin is not a terminal here: without --yes nothing is deleted.
  const auto refused = run_hpo({"delete", "a"}, dir.path());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("--yes") && Catch::Contains("nothing was deleted"));
  CHECK(stored_trials(dir / "hpo.db", "a").size() == 2);

  const auto kept_dirs = run_hpo({"delete", "--spec", "a.json", "--yes"}, dir.path());
  INFO(kept_dirs.out << kept_dirs.err);
  CHECK(kept_dirs.exit_code == 0);
  CHECK_THAT(kept_dirs.out, Catch::Contains("deleted study 'a' (2 trials: 2 COMPLETE)") &&
                                Catch::Contains("its trial directories stay in"));
  CHECK_THROWS(stored_trials(dir / "hpo.db", "a"));
  CHECK(stored_trials(dir / "hpo.db", "b").size() == 2);
  CHECK(fs::is_directory(dir / "a-trials" / "0"));
  const auto status = run_hpo({"status"}, dir.path());
  CHECK(status.out.find("\na ") == std::string::npos);
  CHECK_THAT(status.out, Catch::Contains("SAMPLER") && Catch::Contains("random"));

  // With --with-trials the directories go too, so a new study of the name can run there.
  const auto all = run_hpo({"delete", "b", "--yes", "--with-trials"}, dir.path());
  INFO(all.out << all.err);
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("removed 2 trial directories"));
  CHECK_FALSE(fs::exists(dir / "b-trials"));
  CHECK(run_hpo({"run", "b.json"}, dir.path()).exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "b").size() == 2);

  const auto unknown = run_hpo({"delete", "nope", "--yes"}, dir.path());
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("no study named 'nope'"));
}
