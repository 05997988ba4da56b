// Resume, retries, enqueue and spec changes, end to end with the real binary.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace bp = boost::process;
using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

int count(const std::vector<hpo::Trial>& trials, hpo::TrialState s) {
  return static_cast<int>(std::count_if(trials.begin(), trials.end(),
                                        [s](const hpo::Trial& t) { return t.state == s; }));
}

// Live (not zombie) processes whose HPO_TRIAL_DIR lies under `dir`: trial processes of that
// test's study, whoever their parent is.
int trial_processes_under(const fs::path& dir) {
  int n = 0;
  const std::string prefix = "HPO_TRIAL_DIR=" + dir.string() + "/";
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    if (line[line.rfind(')') + 2] == 'Z') continue;
    std::ifstream env(entry.path() / "environ", std::ios::binary);
    for (std::string var; std::getline(env, var, '\0');) {
      if (var.rfind(prefix, 0) == 0) {
        ++n;
        break;
      }
    }
  }
  return n;
}

// Starts `hpo run study.json` in `dir` and waits until trials 0..n-1 run (the database says
// where) and have each left their checkpoint mark ("slow-once" objectives write it, then sleep).
bp::child start_run(const TempDir& dir, const std::string& study, int n) {
  bp::child child(std::string(HPO_BIN), bp::args({"run", "study.json", "--progress", "plain"}),
                  bp::start_dir(dir.path().string()), bp::std_out > bp::null,
                  bp::std_err > bp::null, bp::std_in < bp::null);
  REQUIRE(hpo::testing::wait_for([&] {
    for (int k = 0; k < n; ++k)
      if (!fs::exists(dir / (study + "-trials/" + std::to_string(k) + "/checkpoint/mark")))
        return false;
    return hpo::testing::running_and_started(dir / "hpo.db", study) == n;
  }));
  return child;
}

}  // namespace

TEST_CASE("a run killed with SIGKILL resumes: running trials re-run with their checkpoint dir", "[integration][resume]") {
  TempDir dir;
  // Budget 2: both trials are killed, and the resumed run needs no new (slow) trial.
  write_file(dir / "study.json", objective_spec("killed", "slow-once", R"({"budget": {"trials": 2}})"));
  bp::child child = start_run(dir, "killed", 2);
  ::kill(child.id(), SIGKILL);
  child.wait();
  // The two trials are still RUNNING in storage, owned by a process that no longer exists.
  auto before = stored_trials(dir / "hpo.db", "killed");
  REQUIRE(before.size() == 2);
  CHECK(count(before, hpo::TrialState::kRunning) == 2);

  // SIGKILL does not reach the trials: their processes live on, sleeping.
  CHECK(trial_processes_under(dir.path()) == 2);

  auto r = run_hpo({"resume", "killed", "--progress", "plain"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The resumed run killed them before running the trials again.
  CHECK(trial_processes_under(dir.path()) == 0);
  auto after = stored_trials(dir / "hpo.db", "killed");
  CHECK(count(after, hpo::TrialState::kComplete) == 2);  // exactly the budget
  CHECK(count(after, hpo::TrialState::kFail) == 2);      // the two interrupted ones
  for (const auto& t : after) {
    if (t.state != hpo::TrialState::kFail) continue;
    CHECK(t.reason.find("interrupted") != std::string::npos);
    // Its re-run has the same parameters, points back to it, and found the checkpoint mark.
    auto rerun = std::find_if(after.begin(), after.end(), [&](const hpo::Trial& o) {
      return o.retry_of == t.number;
    });
    REQUIRE(rerun != after.end());
    CHECK(rerun->params == t.params);
    CHECK(rerun->attempt == t.attempt + 1);
    CHECK(rerun->state == hpo::TrialState::kComplete);
    CHECK(rerun->metrics.count("resumed") == 1);
  }
}

TEST_CASE("Ctrl-C re-queues running trials and hpo run of the same spec continues them", "[integration][resume]") {
  TempDir dir;
  // Budget 2: both trials are interrupted, and the resumed run needs no new (slow) trial.
  write_file(dir / "study.json", objective_spec("ctrlc", "slow-once",
                                                R"({"budget": {"trials": 2}, "executor": {"kill_grace": "1s"}})"));
  bp::child child = start_run(dir, "ctrlc", 2);
  ::kill(child.id(), SIGINT);
  child.wait();
  CHECK(child.exit_code() == 130);
  auto mid = stored_trials(dir / "hpo.db", "ctrlc");
  CHECK(count(mid, hpo::TrialState::kFail) == 2);
  CHECK(count(mid, hpo::TrialState::kWaiting) == 2);
  auto status = run_hpo({"status"}, dir.path());
  CHECK(status.out.find("ctrlc") != std::string::npos);

  auto r = run_hpo({"run", "study.json"}, dir.path());
  REQUIRE(r.exit_code == 0);
  auto after = stored_trials(dir / "hpo.db", "ctrlc");
  CHECK(count(after, hpo::TrialState::kComplete) == 2);
  CHECK(count(after, hpo::TrialState::kWaiting) == 0);
  int resumed = 0;
  for (const auto& t : after) resumed += t.metrics.count("resumed") ? 1 : 0;
  CHECK(resumed == 2);
}

TEST_CASE("a changed search space is refused with the difference unless allowed", "[integration][resume]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("changed", "ok", R"({"budget": {"trials": 2}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  write_file(dir / "study.json",
             objective_spec("changed", "ok",
                            R"({"budget": {"trials": 4}, "space": {"x": {"high": 9}}})"));
  auto refused = run_hpo({"run", "study.json"}, dir.path());
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("space.x.high: stored 5") != std::string::npos);
  CHECK(refused.err.find("--allow-spec-change") != std::string::npos);
  CHECK(stored_trials(dir / "hpo.db", "changed").size() == 2);

  // Budget and parallelism may change freely.
  write_file(dir / "study.json",
             objective_spec("changed", "ok", R"({"budget": {"trials": 3}, "parallelism": 1})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "changed").size() == 3);

  write_file(dir / "study.json",
             objective_spec("changed", "ok",
                            R"({"budget": {"trials": 4}, "space": {"x": {"high": 9}}})"));
  REQUIRE(run_hpo({"run", "study.json", "--allow-spec-change"}, dir.path()).exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "changed").size() == 4);
}

TEST_CASE("infrastructure failures are retried with the same parameters, clean exits are not", "[integration][resume]") {
  TempDir dir;
  write_file(dir / "study.json",
             objective_spec("retry", "crash",
                            R"({"budget": {"trials": 1, "max_failed_trials": 1}, "parallelism": 1,
                                "executor": {"retries": 2}})"));
  run_hpo({"run", "study.json"}, dir.path());
  auto trials = stored_trials(dir / "hpo.db", "retry");
  REQUIRE(trials.size() == 3);  // the first attempt and two retries
  for (int i = 0; i < 3; ++i) {
    CHECK(trials[i].state == hpo::TrialState::kFail);
    CHECK(trials[i].attempt == i);
    CHECK(trials[i].params == trials[0].params);
    CHECK(trials[i].reason.find("signal") != std::string::npos);
    CHECK(fs::exists(fs::path(trials[i].trial_dir) / "stderr.log"));  // each attempt's logs
  }
  CHECK(trials[1].retry_of == 0);
  CHECK(trials[2].retry_of == 0);

  TempDir clean;
  write_file(clean / "study.json",
             objective_spec("noretry", "fail",
                            R"({"budget": {"trials": 1, "max_failed_trials": 1}, "parallelism": 1,
                                "executor": {"retries": 2}})"));
  run_hpo({"run", "study.json"}, clean.path());
  CHECK(stored_trials(clean / "hpo.db", "noretry").size() == 1);
}

TEST_CASE("hpo enqueue adds validated trials that run before sampled ones", "[integration][resume]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("warm", "ok", R"({"budget": {"trials": 1}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);

  auto bad = run_hpo({"enqueue", "warm", "--params", R"({"x": 7, "y": 0})"}, dir.path());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("params.x") != std::string::npos);
  auto unknown = run_hpo({"enqueue", "warm", "--params", R"({"x": 1, "y": 0, "z": 1})"}, dir.path());
  CHECK(unknown.exit_code == 2);
  CHECK(stored_trials(dir / "hpo.db", "warm").size() == 1);

  REQUIRE(run_hpo({"enqueue", "warm", "--params", R"({"x": 1.0, "y": -2.0})"}, dir.path()).exit_code == 0);
  write_file(dir / "more.csv", "x,y\n0.5,-1.5\n-1,3\n");
  REQUIRE(run_hpo({"enqueue", "warm", "--file", "more.csv"}, dir.path()).exit_code == 0);
  auto waiting = stored_trials(dir / "hpo.db", "warm");
  CHECK(count(waiting, hpo::TrialState::kWaiting) == 3);

  REQUIRE(run_hpo({"run", "study.json", "--trials", "5", "--parallelism", "1"}, dir.path()).exit_code == 0);
  auto trials = stored_trials(dir / "hpo.db", "warm");
  REQUIRE(trials.size() == 5);
  CHECK(trials[1].params.at("x").as_double() == 1.0);
  CHECK(*trials[1].value == Approx(0.0));  // the optimum, enqueued by hand
  CHECK(trials[2].params.at("y").as_double() == -1.5);
  CHECK(trials[3].params.at("y").as_double() == 3.0);
  for (const auto& t : trials) CHECK(t.state == hpo::TrialState::kComplete);
}
