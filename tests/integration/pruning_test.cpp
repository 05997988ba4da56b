// Pruning end to end: the real `hpo` binary runs the quickstart trainer (a real training
// program that saves a checkpoint when it gets SIGTERM) under a pruner, then the query commands
// show where each trial was pruned.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kTrain = std::string(HPO_BUILD_DIR) + "/examples/quickstart/quickstart-train";

}  // namespace

TEST_CASE("hpo run prunes a training program mid-run: SIGTERM, checkpoint, PRUNED, logs kept",
          "[integration][pruning]") {
  TempDir dir;
  // Every validation loss is above 0.05 at epoch 1 (the spirals need several epochs), so the
  // threshold prunes each trial at its first report; 2,000 epochs would take many seconds.
  write_file(dir / "study.json", R"({
    "name": "pruned", "direction": "minimize", "objective": {"metric": "val_loss"},
    "space": {"lr": {"type": "float", "low": 0.001, "high": 0.01, "log": true}},
    "sampler": {"name": "random", "seed": 1},
    "pruner": {"name": "threshold", "upper": 0.05},
    "budget": {"trials": 3},
    "executor": {"command": [")" + kTrain +
                                     R"(", "--epochs=2000", "--hidden=64", "--lr={lr}"],
                 "kill_grace": "20s"}})");
  const auto r = run_hpo({"run", "study.json", "--progress", "plain"}, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("3 PRUNED") != std::string::npos);

  const auto trials = stored_trials(dir / "hpo.db", "pruned");
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) {
    CHECK(t.state == hpo::TrialState::kPruned);
    // Judged at epoch 1, nothing stored after it, and that value is the trial's.
    REQUIRE(t.intermediate.size() == 1);
    CHECK(t.intermediate.begin()->first == 1);
    CHECK(t.value == t.intermediate.begin()->second);
    CHECK_THAT(t.reason, Catch::StartsWith("pruned at step 1 by threshold: "));
    CHECK_THAT(t.reason, Catch::EndsWith(" > upper 0.05"));
    // The program saw SIGTERM, saved its checkpoint and said so; its logs are intact.
    const fs::path trial_dir = t.trial_dir;
    CHECK_THAT(
        read_text(trial_dir / "stderr.log"),
        Catch::Contains("stopped by SIGTERM after epoch") && Catch::Contains("(checkpoint saved)"));
    CHECK_THAT(read_text(trial_dir / "stdout.log"), Catch::StartsWith("epoch=1 "));
    CHECK(fs::exists(dir / "pruned-trials" / std::to_string(t.number) / "checkpoint" /
                     "checkpoint.bin"));
  }

  // hpo trials shows the step each was pruned at; hpo status counts them.
  const auto listed = run_hpo({"trials", "pruned"}, dir.path());
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains("STEP"));
  CHECK_THAT(listed.out, Catch::Contains("PRUNED"));
  const auto status = run_hpo({"status"}, dir.path());
  REQUIRE(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("PRUNED"));
  // Each was pruned at its first report, step 1.
  const auto csv = run_hpo(
      {"trials", "pruned", "--format", "csv", "--columns", "number,state,step"}, dir.path());
  CHECK(csv.out == "number,state,step\n0,PRUNED,1\n1,PRUNED,1\n2,PRUNED,1\n");
}

TEST_CASE("hpo validate warns about a pruner whose trials never report steps",
          "[integration][pruning]") {
  TempDir dir;
  write_file(dir / "study.json", R"({
    "name": "w", "direction": "minimize", "objective": {"metric": "value"},
    "space": {"x1": {"type": "float", "low": -5, "high": 10},
              "x2": {"type": "float", "low": 0, "high": 15}},
    "pruner": {"name": "asha"},
    "executor": {"kind": "threads", "builtin": "branin"}})");
  const auto r = run_hpo({"validate", "study.json"}, dir.path());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("asha pruner"));
  CHECK_THAT(r.err, Catch::Contains("warning: pruner: this executor's trials never report steps"));
}
