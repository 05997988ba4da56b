// `hpo run` end to end with real child processes and a real SQLite file, then the query
// commands on what it stored.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"
#include "engine/model/json_codec.h"

namespace fs = std::filesystem;
using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

double expected_loss(const hpo::ParamSet& p) {
  const double x = p.at("x").as_double(), y = p.at("y").as_double();
  return (x - 1) * (x - 1) + (y + 2) * (y + 2);
}

}  // namespace

TEST_CASE("hpo run completes the budget and stores every trial with its value", "[integration][run]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("e2e", "ok", R"({"budget": {"trials": 8}})"));
  auto r = run_hpo({"run", "study.json", "--progress", "plain"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("8 COMPLETE") != std::string::npos);
  CHECK(r.out.find("best trial #") != std::string::npos);

  auto trials = stored_trials(dir / "hpo.db", "e2e");
  REQUIRE(trials.size() == 8);
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    CHECK(t.number == static_cast<int>(i));
    CHECK(t.state == hpo::TrialState::kComplete);
    REQUIRE(t.value);
    CHECK(*t.value == Approx(expected_loss(t.params)).epsilon(1e-12));
    // Three epochs reported as intermediate values, in order.
    REQUIRE(t.intermediate.size() == 3);
    CHECK(t.intermediate.at(1) == Approx(*t.value + 1.0));
    CHECK(t.intermediate.at(3) == Approx(*t.value + 1.0 / 3));
    CHECK(t.started);
    CHECK(t.finished);
    CHECK(fs::exists(fs::path(t.trial_dir) / "stdout.log"));
    CHECK(fs::exists(fs::path(t.trial_dir) / "stderr.log"));
    CHECK(fs::path(t.trial_dir).parent_path() == dir / "e2e-trials");
  }
}

TEST_CASE("the same seed gives the same parameters in a new database", "[integration][run]") {
  TempDir a, b;
  write_file(a / "study.json", objective_spec("seeded"));
  write_file(b / "study.json", objective_spec("seeded"));
  REQUIRE(run_hpo({"run", "study.json", "--parallelism", "1"}, a.path()).exit_code == 0);
  REQUIRE(run_hpo({"run", "study.json", "--parallelism", "1"}, b.path()).exit_code == 0);
  auto ta = stored_trials(a / "hpo.db", "seeded");
  auto tb = stored_trials(b / "hpo.db", "seeded");
  REQUIRE(ta.size() == tb.size());
  for (std::size_t i = 0; i < ta.size(); ++i) CHECK(ta[i].params == tb[i].params);
}

TEST_CASE("hpo trials, best and status show what the run stored", "[integration][run]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("query"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  auto trials = stored_trials(dir / "hpo.db", "query");
  const auto best = *std::min_element(trials.begin(), trials.end(), [](auto& a, auto& b) {
    return *a.value < *b.value;
  });

  auto json_out = run_hpo({"trials", "query", "--format", "json"}, dir.path());
  REQUIRE(json_out.exit_code == 0);
  auto j = nlohmann::json::parse(json_out.out);
  REQUIRE(j.size() == trials.size());
  for (const char* key : {"number", "state", "value", "params", "intermediate", "started",
                          "finished", "duration_s", "reason"})
    CHECK(j[0].contains(key));
  CHECK(j[0]["params"].is_object());
  CHECK(j[0]["intermediate"].size() == 3);

  auto sorted = run_hpo({"trials", "query", "--sort", "value", "--limit", "2", "--format", "json"},
                        dir.path());
  auto js = nlohmann::json::parse(sorted.out);
  REQUIRE(js.size() == 2);
  CHECK(js[0]["number"] == best.number);
  CHECK(js[0]["value"].get<double>() <= js[1]["value"].get<double>());

  auto csv = run_hpo({"trials", "query", "--format", "csv"}, dir.path());
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("number,state,value,duration_s", 0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == static_cast<long>(trials.size()) + 1);

  auto table = run_hpo({"trials", "query", "--state", "complete"}, dir.path());
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("COMPLETE") != std::string::npos);
  CHECK(table.out.find("loss") != std::string::npos);

  auto best_json = run_hpo({"best", "query", "--format", "json"}, dir.path());
  REQUIRE(best_json.exit_code == 0);
  CHECK(nlohmann::json::parse(best_json.out)["number"] == best.number);

  auto status = run_hpo({"status"}, dir.path());
  REQUIRE(status.exit_code == 0);
  CHECK(status.out.find("query") != std::string::npos);
  CHECK(status.out.find("minimize") != std::string::npos);

  auto bad_state = run_hpo({"trials", "query", "--state", "DONE"}, dir.path());
  CHECK(bad_state.exit_code == 2);
  CHECK(bad_state.err.find("--state") != std::string::npos);
  auto no_study = run_hpo({"trials", "nope"}, dir.path());
  CHECK(no_study.exit_code == 2);
  CHECK(no_study.err.find("query") != std::string::npos);  // lists the studies it has
}

TEST_CASE("failing trials are FAIL with a reason and max_failed_trials stops the run", "[integration][run]") {
  TempDir dir;
  write_file(dir / "study.json",
             objective_spec("failing", "fail", R"({"budget": {"trials": 10, "max_failed_trials": 3}})"));
  auto r = run_hpo({"run", "study.json"}, dir.path());
  CHECK(r.exit_code == 1);
  auto trials = stored_trials(dir / "hpo.db", "failing");
  REQUIRE(trials.size() >= 3);
  for (const auto& t : trials) {
    CHECK(t.state == hpo::TrialState::kFail);
    CHECK(t.reason.find("status 3") != std::string::npos);
    CHECK(t.reason.find("exploded on purpose") != std::string::npos);
  }
  auto shown = run_hpo({"trials", "failing"}, dir.path());
  CHECK(shown.out.find("exploded on purpose") != std::string::npos);
}

TEST_CASE("a missing or NaN objective metric fails the trial", "[integration][run]") {
  for (const char* mode : {"nan", "nometric"}) {
    TempDir dir;
    write_file(dir / "study.json", objective_spec("m", mode, R"({"budget": {"trials": 2}})"));
    run_hpo({"run", "study.json"}, dir.path());
    auto trials = stored_trials(dir / "hpo.db", "m");
    REQUIRE_FALSE(trials.empty());
    INFO(mode);
    CHECK(trials[0].state == hpo::TrialState::kFail);
    CHECK(trials[0].reason.find(std::string(mode) == "nan" ? "NaN" : "not reported") !=
          std::string::npos);
  }
}

TEST_CASE("HPO_RESULT_FILE wins over stdout metrics", "[integration][run]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("rf", "result", R"({"budget": {"trials": 2}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  for (const auto& t : stored_trials(dir / "hpo.db", "rf"))
    CHECK(*t.value == Approx(expected_loss(t.params) + 100));
}

TEST_CASE("storage location: --storage beats the spec, the spec beats HPO_STORAGE, which beats ./hpo.db", "[integration][run]") {
  TempDir dir;
  fs::create_directories(dir / "specdir");
  write_file(dir / "specdir/study.json",
             objective_spec("where", "ok", R"({"budget": {"trials": 1}, "storage": "spec.db"})"));
  write_file(dir / "plain.json", objective_spec("where", "ok", R"({"budget": {"trials": 1}})"));

  REQUIRE(run_hpo({"run", "specdir/study.json", "--storage", "cli.db"}, dir.path()).exit_code == 0);
  CHECK(fs::exists(dir / "cli.db"));
  REQUIRE(run_hpo({"run", "specdir/study.json"}, dir.path(), {{"HPO_STORAGE", "env.db"}}).exit_code == 0);
  CHECK(fs::exists(dir / "specdir/spec.db"));  // relative to the spec file
  CHECK_FALSE(fs::exists(dir / "env.db"));
  // cli.db's study "where" left its trials in ./where-trials: a new study of that name in
  // another database must not mix its trials with them.
  auto refused = run_hpo({"run", "plain.json"}, dir.path(), {{"HPO_STORAGE", "env.db"}});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("already holds files") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "env.db"));  // nothing written
  fs::rename(dir / "where-trials", dir / "where-trials-of-cli.db");
  REQUIRE(run_hpo({"run", "plain.json"}, dir.path(), {{"HPO_STORAGE", "env.db"}}).exit_code == 0);
  CHECK(fs::exists(dir / "env.db"));
  CHECK_FALSE(fs::exists(dir / "hpo.db"));
  fs::remove_all(dir / "where-trials");
  REQUIRE(run_hpo({"run", "plain.json"}, dir.path()).exit_code == 0);
  CHECK(fs::exists(dir / "hpo.db"));
}

TEST_CASE("running the same spec again continues the study instead of starting over", "[integration][run]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("again", "ok", R"({"budget": {"trials": 3}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  REQUIRE(run_hpo({"run", "study.json", "--trials", "5"}, dir.path()).exit_code == 0);
  auto trials = stored_trials(dir / "hpo.db", "again");
  CHECK(trials.size() == 5);
  std::set<std::string> distinct;
  for (const auto& t : trials) distinct.insert(hpo::params_to_json(t.params).dump());
  CHECK(distinct.size() == 5);  // the second run did not replay the first run's draws
}

TEST_CASE("Ctrl-C stops launching, stops running trials and records them", "[integration][run]") {
  namespace bp = boost::process;
  TempDir dir;
  write_file(dir / "study.json",
             objective_spec("sigint", "sleep",
                            R"({"budget": {"trials": 20}, "executor": {"kill_grace": "1s"}})"));
  bp::child child(std::string(HPO_BIN), bp::args({"run", "study.json", "--progress", "plain"}),
                  bp::start_dir(dir.path().string()), bp::std_out > bp::null,
                  bp::std_err > (dir / "err").string(), bp::std_in < bp::null);
  // Wait until both trials run, then interrupt.
  REQUIRE(hpo::testing::wait_for(
      [&] { return hpo::testing::running_and_started(dir / "hpo.db", "sigint") == 2; }));
  ::kill(child.id(), SIGINT);
  child.wait();
  CHECK(child.exit_code() == 130);
  auto trials = stored_trials(dir / "hpo.db", "sigint");
  // Nothing launched after the interrupt; the two running trials are FAIL "interrupted", and
  // re-queued as WAITING with the same parameters for the next run.
  REQUIRE(trials.size() == 4);
  for (int i : {0, 1}) {
    CHECK(trials[i].state == hpo::TrialState::kFail);
    CHECK(trials[i].reason.find("interrupted") != std::string::npos);
  }
  for (int i : {2, 3}) {
    CHECK(trials[i].state == hpo::TrialState::kWaiting);
    REQUIRE(trials[i].retry_of);
    CHECK(trials[i].params == trials[*trials[i].retry_of].params);
  }
}

TEST_CASE("a program that cannot be found stops hpo run before any trial and any file",
          "[integration][run]") {
  TempDir dir;
  for (const char* program : {"./no-such-trainer.sh", "no-such-program-on-path"}) {
    INFO(program);
    write_file(dir / "study.json", R"({"name": "missing", "direction": "minimize",
      "objective": {"metric": "loss"}, "space": {"x": {"type": "float", "low": 0, "high": 1}},
      "executor": {"command": [")" + std::string(program) + R"(", "{x}"]}})");
    // Nothing of the machine is looked at by validate.
    CHECK(run_hpo({"validate", "study.json"}, dir.path()).exit_code == 0);
    auto r = run_hpo({"run", "study.json"}, dir.path());
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("executor.command[0]: cannot run '" + std::string(program) +
                     "': No such file or directory") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "hpo.db"));
    CHECK_FALSE(fs::exists(dir / "missing-trials"));
  }
}

TEST_CASE("the quickstart study runs as the README's first command runs it", "[integration][run]") {
  // A copy of build/examples/quickstart (the trainer beside its study.json), run from there
  // with a smaller budget.
  TempDir dir;
  const fs::path built = fs::path(HPO_BUILD_DIR) / "examples" / "quickstart";
  fs::copy_file(built / "quickstart-train", dir / "quickstart-train");
  fs::copy_file(built / "study.json", dir / "study.json");
  auto r = run_hpo({"run", "study.json", "--trials", "4", "--progress", "plain"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("4 COMPLETE") != std::string::npos);
  CHECK(r.out.find("best trial #") != std::string::npos);
  const auto trials = stored_trials(dir / "hpo.db", "quickstart");
  REQUIRE(trials.size() == 4);
  for (const auto& t : trials) {
    CHECK(t.state == hpo::TrialState::kComplete);
    CHECK(t.intermediate.size() >= 2);  // val_loss per epoch
  }
}

TEST_CASE("a grid study runs each point once and ends when the grid is exhausted",
          "[integration][run][samplers]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("grid", "ok", R"({
    "space": {"x": {"type": "float", "low": -1, "high": 1, "step": 1},
              "y": {"type": "int", "low": 0, "high": 2}},
    "sampler": {"name": "grid"}, "budget": {"trials": 100}})"));
  auto v = run_hpo({"validate", "study.json"}, dir.path());
  CHECK(v.out.find("grid of 9 points") != std::string::npos);
  auto r = run_hpo({"run", "study.json"}, dir.path());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("sampler exhausted") != std::string::npos);
  const auto trials = stored_trials(dir / "hpo.db", "grid");
  CHECK(trials.size() == 9);
  std::set<std::string> points;
  for (const auto& t : trials) points.insert(hpo::params_to_json(t.params).dump());
  CHECK(points.size() == 9);
}

TEST_CASE("auto picks a sampler when the study is created, says which, and keeps it",
          "[integration][run][samplers]") {
  TempDir dir;
  nlohmann::json spec = nlohmann::json::parse(objective_spec("picked", "ok",
                                                             R"({"budget": {"trials": 3}})"));
  spec.erase("sampler");  // the default: auto
  write_file(dir / "study.json", spec.dump());
  auto r = run_hpo({"run", "study.json"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("auto picked gp") != std::string::npos);
  // With a budget too large for a GP, a new study would get TPE; this one keeps its GP.
  r = run_hpo({"run", "study.json", "--trials", "5"}, dir.path());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("gp sampler") != std::string::npos);
  spec["budget"]["trials"] = 5000;
  write_file(dir / "study.json", spec.dump());
  r = run_hpo({"resume", "picked", "--trials", "6"}, dir.path());
  CHECK(r.err.find("gp sampler") != std::string::npos);
}
