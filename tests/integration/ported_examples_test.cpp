// examples/ported end to end: each of the three ported jobs (a scikit-learn script logging to
// stderr, a Katib-shaped trainer printing "Epoch N:" lines with a conditional "--eta0" flag, a
// Keras-shaped log) runs for a few trials from its own spec file through the real `hpo`
// binary; then what was stored: values, per-epoch intermediate values, the launch record, and
// what `hpo best` / `hpo show` print. Needs a python3 that imports sklearn; without one the
// tests say they were skipped and check nothing.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::testing::read_file;
using hpo::testing::run_hpo;
using hpo::testing::sklearn_python;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

const fs::path kPorted = fs::path(HPO_SOURCE_DIR) / "examples" / "ported";

// Copies examples/ported/<job> into `dir`, running `python` instead of /usr/bin/python3.
void copy_job(const std::string& job, const fs::path& dir, const std::string& python) {
  for (const auto& entry : fs::directory_iterator(kPorted / job))
    fs::copy_file(entry.path(), dir / entry.path().filename());
  auto spec = nlohmann::json::parse(read_file(dir / "study.json"));
  REQUIRE(spec["executor"]["command"][0] == "/usr/bin/python3");
  spec["executor"]["command"][0] = python;
  write_file(dir / "study.json", spec.dump(2));
}

// Runs `job` for `trials` trials in `dir`; returns its stored trials.
std::vector<hpo::Trial> run_job(const std::string& job, const fs::path& dir, int trials) {
  copy_job(job, dir, sklearn_python());
  const auto r = run_hpo({"run", "study.json", "--trials", std::to_string(trials), "--storage",
                          (dir / "hpo.db").string(), "--progress", "plain"},
                         dir);
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return stored_trials(dir / "hpo.db", job);
}

// `hpo best JOB` on the job's database.
std::string best_of(const std::string& job, const fs::path& dir) {
  const auto r = run_hpo({"best", job, "--storage", (dir / "hpo.db").string()}, dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("ported rf-logging: metrics logged to stderr by python's logging are read",
          "[integration][ported]") {
  if (sklearn_python().empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  TempDir dir("hpo-ported-rf");
  const auto trials = run_job("rf-logging", dir.path(), 3);
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    REQUIRE(t.state == hpo::TrialState::kComplete);
    CHECK(*t.value > 0.5);
    CHECK(*t.value <= 1.0);
    // The four stages of the forest, logged as step=1..4; the last is the final value.
    REQUIRE(t.intermediate.size() == 4);
    CHECK(t.intermediate.rbegin()->second == Approx(*t.value));
    // What ran: in the spec's directory, with the trial directory in the environment.
    REQUIRE(t.launch);
    CHECK(fs::equivalent(t.launch->cwd, dir.path()));
    CHECK(t.launch->argv.at(1) == "train_rf.py");
  }
  CHECK_THAT(best_of("rf-logging", dir.path()), Catch::Contains("accuracy"));
}

TEST_CASE("ported katib-sgd: 'Epoch N:' lines store one value per epoch, --eta0 only when active",
          "[integration][ported]") {
  if (sklearn_python().empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  TempDir dir("hpo-ported-katib");
  // validate --show-commands: one line per branch, the optimal one without --eta0.
  copy_job("katib-sgd", dir.path(), sklearn_python());
  const auto shown = run_hpo({"validate", "study.json", "--show-commands"}, dir.path());
  INFO(shown.out);
  REQUIRE(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("branch 1 of 2"));
  CHECK_THAT(shown.out, Catch::Contains("--learning-rate optimal\n"));
  CHECK_THAT(shown.out, Catch::Contains("--learning-rate constant --eta0 "));
  fs::remove_all(dir.path());
  fs::create_directories(dir.path());

  const auto trials = run_job("katib-sgd", dir.path(), 6);
  REQUIRE(trials.size() == 6);
  bool saw_inactive = false;
  bool saw_active = false;
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    REQUIRE(t.state == hpo::TrialState::kComplete);
    CHECK(t.intermediate.size() == 8);  // epochs 1..8
    CHECK(t.intermediate.begin()->first == 1);
    CHECK(t.intermediate.rbegin()->second == Approx(*t.value));
    CHECK(t.metrics.count("Train-accuracy"));
    REQUIRE(t.launch);
    const auto& argv = t.launch->argv;
    const bool has_eta0 = std::find(argv.begin(), argv.end(), "--eta0") != argv.end();
    CHECK(has_eta0 == (t.params.count("eta0") == 1));
    (has_eta0 ? saw_active : saw_inactive) = true;
  }
  CHECK(saw_inactive);
  CHECK(saw_active);
  CHECK_THAT(best_of("katib-sgd", dir.path()), Catch::Contains("Validation-accuracy"));
}

TEST_CASE("ported keras-log: a Keras 3 progress log gives one value per epoch",
          "[integration][ported]") {
  if (sklearn_python().empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  TempDir dir("hpo-ported-keras");
  const auto trials = run_job("keras-log", dir.path(), 3);
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    REQUIRE(t.state == hpo::TrialState::kComplete);
    REQUIRE(t.intermediate.size() == 6);  // "Epoch 1/6" .. "Epoch 6/6"
    CHECK(t.intermediate.begin()->first == 1);
    CHECK(t.intermediate.rbegin()->second == Approx(*t.value));
    CHECK(*t.value > 0.3);
    CHECK(t.metrics.count("val_loss"));
  }
  CHECK_THAT(best_of("keras-log", dir.path()), Catch::Contains("val_accuracy"));
  const auto show = run_hpo({"show", "keras-log", "0", "--storage", (dir / "hpo.db").string()},
                            dir.path());
  INFO(show.out);
  REQUIRE(show.exit_code == 0);
  CHECK_THAT(show.out, Catch::Contains("command:"));
  CHECK_THAT(show.out, Catch::Contains("train_keras_log.py --learning-rate"));
  CHECK_THAT(show.out, Catch::Contains("HPO_TRIAL_DIR="));
}
