// hpo export --format optuna, read back by Debian's python3-optuna (3.1): the best trial,
// parameter values (categorical choices, an int, a log float, an absent conditional parameter),
// states, intermediate values and counts must all be what hpo stored.
#include <fstream>

#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/integration/seeded_study.h"
#include "tests/support/temp_dir.h"

namespace bp = boost::process;
using hpo::testing::run_hpo;
using hpo::testing::seed_study;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;
using nlohmann::json;

namespace {

// Prints what Optuna sees in the exported file, as one JSON object.
constexpr const char* kReadBack = R"(
import json, sys, warnings
warnings.simplefilter("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name=sys.argv[2], storage="sqlite:///" + sys.argv[1])
counts = {}
for t in study.trials:
    counts[t.state.name] = counts.get(t.state.name, 0) + 1
best = study.best_trial
print(json.dumps({
    "optuna": optuna.__version__,
    "direction": study.direction.name,
    "n_trials": len(study.trials),
    "counts": counts,
    "best": {"number": best.number, "value": best.value, "params": best.params},
    "trials": [{"number": t.number, "state": t.state.name, "value": t.value,
                "params": t.params,
                "intermediate": {str(k): v for k, v in t.intermediate_values.items()},
                "user_attrs": t.user_attrs, "has_start": t.datetime_start is not None,
                "has_complete": t.datetime_complete is not None}
               for t in study.trials],
    "distributions": {k: type(v).__name__ for k, v in study.best_trial.distributions.items()},
    "importance": list(optuna.importance.get_param_importances(study).keys()),
}))
)";

}  // namespace

TEST_CASE("an exported Optuna database loads in optuna with the same trials",
          "[integration][optuna]") {
  if (std::system("/usr/bin/python3 -c 'import optuna' 2>/dev/null") != 0) {
    WARN(
        "python3-optuna is not installed (apt-get install python3-optuna): skipping the Optuna "
        "round trip");
    return;
  }
  TempDir dir;
  seed_study(dir / "hpo.db", "rt", {.complete = 20});
  auto exported = run_hpo({"export", "rt", "--format", "optuna", "-o", "rt-optuna.db"}, dir.path());
  REQUIRE(exported.exit_code == 0);
  CHECK(exported.err.find("25 trials") != std::string::npos);
  write_file(dir / "read_back.py", kReadBack);

  bp::ipstream out;
  bp::ipstream err;
  bp::child py("/usr/bin/python3", bp::args({"read_back.py", "rt-optuna.db", "rt"}),
               bp::start_dir(dir.path().string()), bp::std_out > out, bp::std_err > err);
  std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  std::string errors((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  py.wait();
  INFO("python stderr: " << errors);
  REQUIRE(py.exit_code() == 0);
  const json seen = json::parse(text);
  std::printf("optuna %s read %d trials: %s; best #%d value %s params %s\n",
              seen["optuna"].get<std::string>().c_str(), seen["n_trials"].get<int>(),
              seen["counts"].dump().c_str(), seen["best"]["number"].get<int>(),
              seen["best"]["value"].dump().c_str(), seen["best"]["params"].dump().c_str());

  const auto trials = stored_trials(dir / "hpo.db", "rt");
  CHECK(seen["direction"] == "MINIMIZE");
  CHECK(seen["n_trials"] == trials.size());
  CHECK(seen["counts"] ==
        json({{"COMPLETE", 20}, {"FAIL", 2}, {"PRUNED", 1}, {"WAITING", 1}, {"RUNNING", 1}}));
  const hpo::Trial* best = hpo::best_trial(trials, hpo::Direction::kMinimize);
  REQUIRE(best != nullptr);
  CHECK(seen["best"]["number"] == best->number);
  CHECK(seen["best"]["value"].get<double>() == *best->value);
  CHECK(seen["distributions"]["lr"] == "FloatDistribution");
  CHECK(seen["distributions"]["layers"] == "IntDistribution");
  CHECK(seen["distributions"]["batch"] == "CategoricalDistribution");
  CHECK_FALSE(seen["importance"].empty());
  for (const hpo::Trial& t : trials) {
    const json& o = seen["trials"][t.number];
    INFO("trial " << t.number);
    CHECK(o["state"] == hpo::to_string(t.state));
    CHECK(o["params"].size() == t.params.size());  // absent conditional parameters stay absent
    for (const auto& [name, value] : t.params) {
      if (value.is_string()) {
        CHECK(o["params"][name] == value.as_string());
      } else if (value.is_int()) {
        CHECK(o["params"][name] == value.as_int());
        CHECK(o["params"][name].is_number_integer());
      } else {
        CHECK(o["params"][name].get<double>() == value.as_double());
      }
    }
    if (t.value) CHECK(o["value"].get<double>() == *t.value);
    CHECK(o["intermediate"].size() == t.intermediate.size());
    for (const auto& [step, v] : t.intermediate)
      CHECK(o["intermediate"][std::to_string(step)] == v);
    CHECK(o["has_start"] == (t.state != hpo::TrialState::kWaiting));
    CHECK(o["has_complete"] == hpo::is_finished(t.state));
    if (!t.reason.empty()) CHECK(o["user_attrs"].contains("reason"));
    if (t.retry_of) CHECK(o["user_attrs"]["retry_of"] == *t.retry_of);
  }
  // A second export to the same file is refused; --force replaces it.
  CHECK(
      run_hpo({"export", "rt", "--format", "optuna", "-o", "rt-optuna.db"}, dir.path()).exit_code ==
      2);
  CHECK(run_hpo({"export", "rt", "--format", "optuna", "-o", "rt-optuna.db", "--force"}, dir.path())
            .exit_code == 0);
}
