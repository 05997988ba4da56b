// Multi-objective studies through the real binary: NSGA-II and TPE runs with a constraint, the
// Pareto front `hpo best` prints recomputed here from the stored parameters, `hpo trials` with
// every objective and feasibility, a resumed study, and a constraint metric that is missing.
#include <algorithm>
#include <cmath>
#include <future>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;
using nlohmann::json;

namespace {

// minimize loss, minimize size, subject to mem <= 150 (|x| <= 1.5).
std::string multi_spec(const std::string& name, const std::string& sampler, int trials,
                       const std::string& mode = "multi") {
  return objective_spec(
      name, mode,
      R"({"direction": null, "objective": null,
          "objectives": [{"metric": "loss", "direction": "minimize"},
                         {"metric": "size", "direction": "minimize"}],
          "constraints": [{"metric": "mem", "max": 150}],
          "reference_point": [100, 60],
          "sampler": {"name": ")" + sampler + R"(", "seed": 3)" +
          (sampler == "nsga2" ? R"(, "population_size": 6)" : "") + R"(},
          "budget": {"trials": )" + std::to_string(trials) + R"(, "max_failed_trials": 2}})");
}

struct Objectives {
  double loss, size, mem;
};

// The objectives recomputed from the parameters (as hpo_it_objective computes them).
Objectives recompute(const hpo::Trial& t) {
  const double x = t.params.at("x").as_double();
  const double y = t.params.at("y").as_double();
  return {(x - 1) * (x - 1) + (y + 2) * (y + 2), x * x + y * y, 100 * std::fabs(x)};
}

// The feasible non-dominated COMPLETE trials, by plain pairwise comparison.
std::set<int> front_of(const std::vector<hpo::Trial>& trials) {
  std::set<int> front;
  for (const auto& a : trials) {
    if (a.state != hpo::TrialState::kComplete) continue;
    const Objectives oa = recompute(a);
    if (oa.mem > 150) continue;
    bool dominated = false;
    for (const auto& b : trials) {
      if (b.state != hpo::TrialState::kComplete) continue;
      const Objectives ob = recompute(b);
      if (ob.mem > 150) continue;
      if (ob.loss <= oa.loss && ob.size <= oa.size && (ob.loss < oa.loss || ob.size < oa.size))
        dominated = true;
    }
    if (!dominated) front.insert(a.number);
  }
  return front;
}

}  // namespace

TEST_CASE("a multi-objective study with a constraint runs, and hpo best prints its Pareto front",
          "[integration][multiobjective]") {
  const std::string sampler = GENERATE(std::string("nsga2"), std::string("tpe"));
  TempDir dir;
  write_file(dir / "study.json", multi_spec("mo", sampler, 16));
  const auto run = run_hpo({"run", "study.json"}, dir.path());
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.out.find("Pareto front:") != std::string::npos);
  CHECK(run.err.find("minimize loss, minimize size; mem <= 150") != std::string::npos);

  const std::vector<hpo::Trial> trials = stored_trials(dir / "hpo.db", "mo");
  REQUIRE(trials.size() == 16);
  const std::set<int> expected = front_of(trials);
  REQUIRE_FALSE(expected.empty());

  const auto best = run_hpo({"best", "mo", "--format", "json"}, dir.path());
  REQUIRE(best.exit_code == 0);
  const json j = json::parse(best.out);
  std::set<int> printed;
  for (const auto& t : j["front"]) {
    printed.insert(t["number"].get<int>());
    CHECK(t["feasible"] == true);
    REQUIRE(t["values"].size() == 2);
  }
  CHECK(printed == expected);
  CHECK(j["reference_point"] == json::array({100, 60}));
  CHECK(j["hypervolume"].get<double>() > 0.0);

  const auto csv = run_hpo({"best", "mo", "--format", "csv"}, dir.path());
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("number,metrics_loss,metrics_size,feasible,violation", 0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == static_cast<long>(expected.size()) + 1);

  const auto table = run_hpo({"trials", "mo"}, dir.path());
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("FEASIBLE") != std::string::npos);
  CHECK(table.out.find("size") != std::string::npos);
  // Infeasible trials are stored COMPLETE with their violation: mem - 150.
  for (const auto& t : json::parse(run_hpo({"trials", "mo", "--format", "json"}, dir.path()).out)) {
    if (t["state"] != "COMPLETE") continue;
    const double mem = t["metrics"]["mem"].get<double>();
    CHECK(t["feasible"] == (mem <= 150));
    CHECK(t["violation"].get<double>() == Approx(std::max(0.0, mem - 150)));
  }
}

TEST_CASE("a resumed NSGA-II study continues to its budget with the population it had",
          "[integration][multiobjective]") {
  // One trial at a time, so that each suggestion depends on nothing but the seed and the stored
  // trials: a study stopped after 8 trials (a population of 6, so inside its second
  // generation) and resumed to 14 proposes the same trials as one run straight to 14.
  auto one_at_a_time = [](std::string spec) {
    nlohmann::json j = nlohmann::json::parse(spec);
    j["parallelism"] = 1;
    return j.dump();
  };
  TempDir dir;
  write_file(dir / "study.json", one_at_a_time(multi_spec("mo", "nsga2", 8)));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  write_file(dir / "study.json", one_at_a_time(multi_spec("mo", "nsga2", 14)));
  const auto again = run_hpo({"run", "study.json"}, dir.path());
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "mo");
  REQUIRE(trials.size() == 14);

  TempDir straight_dir;
  write_file(straight_dir / "study.json", one_at_a_time(multi_spec("mo", "nsga2", 14)));
  REQUIRE(run_hpo({"run", "study.json"}, straight_dir.path()).exit_code == 0);
  const auto straight = stored_trials(straight_dir / "hpo.db", "mo");
  REQUIRE(straight.size() == 14);
  for (std::size_t i = 0; i < trials.size(); ++i) {
    INFO("trial " << trials[i].number);
    CHECK(trials[i].number == straight[i].number);
    CHECK(trials[i].params == straight[i].params);
  }
}

TEST_CASE("two concurrent runs of one NSGA-II study share its trials and reach the budget",
          "[integration][multiobjective]") {
  TempDir dir;
  // Created by a first run, so that both concurrent runs continue the same study.
  write_file(dir / "study.json", multi_spec("mo", "nsga2", 4));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  write_file(dir / "study.json", multi_spec("mo", "nsga2", 16));
  auto a = std::async(std::launch::async, [&] { return run_hpo({"run", "study.json"}, dir.path()); });
  auto b = std::async(std::launch::async, [&] { return run_hpo({"run", "study.json"}, dir.path()); });
  const auto ra = a.get();
  const auto rb = b.get();
  INFO(ra.err << rb.err);
  CHECK(ra.exit_code == 0);
  CHECK(rb.exit_code == 0);
  const auto trials = stored_trials(dir / "hpo.db", "mo");
  int complete = 0;
  std::set<int> numbers;
  for (const auto& t : trials) {
    complete += t.state == hpo::TrialState::kComplete ? 1 : 0;
    numbers.insert(t.number);
  }
  CHECK(complete >= 16);
  CHECK(numbers.size() == trials.size());
  CHECK(*numbers.rbegin() == static_cast<int>(trials.size()) - 1);
}

TEST_CASE("a trial that does not report a constraint metric fails with that reason",
          "[integration][multiobjective]") {
  TempDir dir;
  write_file(dir / "study.json", multi_spec("mo", "random", 2, "multi-nomem"));
  run_hpo({"run", "study.json"}, dir.path());
  const auto trials = stored_trials(dir / "hpo.db", "mo");
  REQUIRE_FALSE(trials.empty());
  for (const auto& t : trials) {
    CHECK(t.state == hpo::TrialState::kFail);
    CHECK(t.reason.find("constraint metric 'mem' was not reported") != std::string::npos);
  }
}

TEST_CASE("examples/multi-objective runs, and hpo best prints the front of accuracy and size",
          "[integration][multiobjective][examples]") {
  namespace fs = std::filesystem;
  const std::string python = hpo::testing::sklearn_python();
  if (python.empty()) {
    WARN("skipped: no python3 here imports sklearn (install python3-sklearn)");
    return;
  }
  TempDir dir("hpo-mo-example");
  const fs::path example = fs::path(HPO_SOURCE_DIR) / "examples" / "multi-objective";
  for (const char* file : {"study.json", "train_forest.py"})
    fs::copy_file(example / file, dir / file);
  json spec = json::parse(hpo::testing::read_file(dir / "study.json"));
  REQUIRE(spec["executor"]["command"][0] == "/usr/bin/python3");
  spec["executor"]["command"][0] = python;
  write_file(dir / "study.json", spec.dump(2));

  const auto run = run_hpo({"run", "study.json", "--trials", "6", "--progress", "plain"},
                           dir.path());
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  // The progress line carries the front and its hypervolume.
  CHECK(run.err.find("front") != std::string::npos);
  CHECK(run.err.find("hv") != std::string::npos);

  const std::vector<hpo::Trial> trials = stored_trials(dir / "hpo.db", "forest-tradeoff");
  REQUIRE(trials.size() == 6);
  // The front recomputed from the stored metrics: accuracy up, size down, predict_ms <= 250.
  std::set<int> expected;
  for (const auto& a : trials) {
    REQUIRE(a.state == hpo::TrialState::kComplete);
    CHECK(a.feasible() == (a.metrics.at("predict_ms") <= 250));
    if (!a.feasible()) continue;
    bool dominated = false;
    for (const auto& b : trials) {
      if (!b.feasible()) continue;
      const double acc_a = a.metrics.at("accuracy"), acc_b = b.metrics.at("accuracy");
      const double kb_a = a.metrics.at("size_kb"), kb_b = b.metrics.at("size_kb");
      if (acc_b >= acc_a && kb_b <= kb_a && (acc_b > acc_a || kb_b < kb_a)) dominated = true;
    }
    if (!dominated) expected.insert(a.number);
  }
  REQUIRE_FALSE(expected.empty());
  const auto best = run_hpo({"best", "forest-tradeoff", "--format", "json"}, dir.path());
  REQUIRE(best.exit_code == 0);
  const json j = json::parse(best.out);
  std::set<int> printed;
  for (const auto& t : j["front"]) printed.insert(t["number"].get<int>());
  CHECK(printed == expected);
  CHECK(j["reference_point"] == json::array({0.5, 4000}));
  CHECK(j["hypervolume"].get<double>() > 0.0);
}
