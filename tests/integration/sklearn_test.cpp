// examples/sklearn end to end: a short run of its study (TPE, the subprocess executor, a real
// scikit-learn model with conditional parameters) through the real `hpo` binary, then what it
// stored. Needs a python3 that imports sklearn (Debian's python3-sklearn, which CI installs);
// without one the tests say they were skipped (Catch2 v2 has no SKIP) and check nothing.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"
#include "engine/model/json_codec.h"

namespace fs = std::filesystem;
namespace bp = boost::process;
using hpo::testing::read_file;
using hpo::testing::run_process;
using hpo::testing::sklearn_python;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

const fs::path kExampleDir = fs::path(HPO_SOURCE_DIR) / "examples" / "sklearn";

// Copies the example into `dir` with command[0] set to `python` (the spec says "python3",
// whichever that is on the user's PATH) and returns the study name.
std::string copy_example(const fs::path& dir, const std::string& python) {
  auto spec = nlohmann::json::parse(read_file(kExampleDir / "study.json"));
  REQUIRE(spec["executor"]["command"][0] == "python3");
  spec["executor"]["command"][0] = python;
  write_file(dir / "study.json", spec.dump(2));
  fs::copy_file(kExampleDir / "train.py", dir / "train.py");
  return spec["name"].get<std::string>();
}

// The value of `name=` on the last line of `out` that has it.
double last_metric(const std::string& out, const std::string& name) {
  std::istringstream lines(out);
  std::string line, value;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string field;
    while (fields >> field)
      if (field.rfind(name + "=", 0) == 0) value = field.substr(name.size() + 1);
  }
  REQUIRE_FALSE(value.empty());
  return std::stod(value);
}

}  // namespace

TEST_CASE("a short sklearn study completes, each parameter present only when it applies",
          "[integration][sklearn]") {
  const std::string& python = sklearn_python();
  if (python.empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  TempDir dir("hpo-sklearn");
  const std::string study = copy_example(dir.path(), python);
  auto r = run_hpo({"run", "study.json", "--trials", "6", "--storage",
                    (dir / "sklearn.db").string(), "--progress", "plain"},
                   dir.path());
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("6 COMPLETE") != std::string::npos);

  const auto trials = stored_trials(dir / "sklearn.db", study);
  REQUIRE(trials.size() == 6);
  const std::set<std::string> svc_only = {"C", "gamma", "kernel"};
  const std::set<std::string> forest_only = {"n_estimators", "max_depth", "min_samples_leaf"};
  const hpo::Trial* best = nullptr;
  for (const auto& t : trials) {
    INFO("trial " << t.number << " " << hpo::params_to_json(t.params).dump() << " " << t.reason);
    REQUIRE(t.state == hpo::TrialState::kComplete);
    REQUIRE(t.value);
    // Cross-validated accuracy. Bad SVC settings can fall to chance (predicting the
    // majority class, about 0.4), so only the forest, which is never near chance on this data,
    // has to beat 0.5.
    CHECK(*t.value > 0.0);
    CHECK(*t.value <= 1.0);
    CHECK(t.metrics.count("accuracy_std") == 1);
    // One intermediate value per fold (the running mean); the last is the final value.
    REQUIRE(t.intermediate.size() == 5);
    CHECK(t.intermediate.begin()->first == 1);
    CHECK(t.intermediate.rbegin()->first == 5);
    CHECK(t.intermediate.rbegin()->second == Approx(*t.value).margin(1e-12));

    // Every parameter is present exactly when its condition holds. train.py also refuses a
    // flag of the other model (exit 2), so COMPLETE shows the executor dropped the flags of
    // the inactive ones.
    REQUIRE(t.params.count("model") == 1);
    const std::string model = t.params.at("model").as_string();
    REQUIRE((model == "svc" || model == "forest"));
    for (const auto& name : svc_only) CHECK(t.params.count(name) == (model == "svc" ? 1u : 0u));
    for (const auto& name : forest_only)
      CHECK(t.params.count(name) == (model == "forest" ? 1u : 0u));
    const bool poly = model == "svc" && t.params.at("kernel").as_string() == "poly";
    CHECK(t.params.count("degree") == (poly ? 1u : 0u));
    CHECK(t.params.size() ==
          1 + (model == "svc" ? svc_only.size() + (poly ? 1 : 0) : forest_only.size()));
    if (model == "forest") CHECK(*t.value > 0.5);
    if (best == nullptr || *t.value > *best->value) best = &t;
  }
  REQUIRE(best != nullptr);
  CHECK(*best->value > 0.9);

  // The stored parameters are the ones that produced the stored value: running train.py by
  // hand with them prints the same accuracy (it is deterministic).
  std::vector<std::string> args = {"train.py"};
  for (const auto& [name, value] : best->params)
    args.push_back("--" + name + "=" + value.to_string());
  const auto again = run_process(python, args, dir.path());
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(last_metric(again.out, "accuracy") == Approx(*best->value).margin(1e-12));
}

TEST_CASE("the sklearn example's train.py refuses a flag that does not apply to its model",
          "[integration][sklearn]") {
  const std::string& python = sklearn_python();
  if (python.empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--model=forest", "--C=1"},
      {"--model=forest", "--kernel=rbf"},
      {"--model=svc", "--max-depth=3"},
      {"--model=svc", "--kernel=rbf", "--degree=3"},
      {"--model=svc", "--C=-1"},
      {"--model=tree"},
      {"--C=1"},
  };
  for (const auto& flags : bad) {
    std::vector<std::string> args = {(kExampleDir / "train.py").string()};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto r = run_process(python, args, fs::temp_directory_path());
    INFO(nlohmann::json(flags).dump() << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("accuracy=") == std::string::npos);
    CHECK(r.err.find("error:") != std::string::npos);
  }
}
