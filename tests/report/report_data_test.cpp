// The report's document: bounded whatever the study's size, exact where it matters (the
// best-so-far line), and safe to embed in a page.
#include <array>
#include <random>

#include <catch2/catch.hpp>

#include "engine/report/html_report.h"
#include "engine/report/report_data.h"
#include "engine/report/study_space.h"
#include "engine/report/text_safety.h"
#include "tests/report/report_test_util.h"

using hpo::ParamSet;
using hpo::testing::make_record;
using hpo::testing::make_trial;
using nlohmann::json;

namespace {

const json kSpace = json::parse(R"({
  "x": {"type": "float", "low": 0, "high": 1},
  "opt": {"type": "categorical", "choices": ["a", "b"]},
  "m": {"type": "float", "low": 0.5, "high": 0.9, "when": {"opt": "b"}}})");

std::vector<hpo::Trial> many(int n) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<hpo::Trial> trials;
  for (int i = 0; i < n; ++i) {
    const double x = u(rng);
    ParamSet p{{"x", x}, {"opt", i % 2 ? "a" : "b"}};
    if (i % 2 == 0) p["m"] = 0.7;
    trials.push_back(make_trial(i, x * x + 0.01 * (i % 7), p));
    if (i % 10 == 0) trials.back().intermediate = {{1, 2.0}, {2, 1.0}, {3, x}};
  }
  return trials;
}

}  // namespace

TEST_CASE("min-max downsampling keeps the extremes of each run and the ends", "[report][data]") {
  std::vector<double> v(10000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 100);
  v[4321] = -50;
  v[8765] = 500;
  const auto keep = hpo::downsample_min_max(v, 200);
  CHECK(keep.size() <= 202);
  CHECK(keep.front() == 0);
  CHECK(keep.back() == v.size() - 1);
  CHECK(std::find(keep.begin(), keep.end(), 4321) != keep.end());
  CHECK(std::find(keep.begin(), keep.end(), 8765) != keep.end());
  CHECK(std::is_sorted(keep.begin(), keep.end()));
  CHECK(hpo::downsample_min_max({1, 2, 3}, 200).size() == 3);
}

TEST_CASE("the report document stays small for a 100,000-trial study", "[report][data]") {
  const auto record = make_record("big", kSpace);
  const auto trials = many(100000);
  const auto space = hpo::effective_space(record, trials);
  hpo::ImportanceResult importance;  // tested on its own in importance_test
  const json doc = hpo::build_report_data(record, trials, space, importance, {.table_rows = 50});
  CHECK(doc["history"]["total"] == 100000);
  CHECK(doc["history"]["number"].size() <= 2002);
  CHECK(doc["sample"]["number"].size() == 1000);
  CHECK(doc["curves"]["trials"].size() == 50);
  CHECK(doc["curves"]["total"] == 10000);
  CHECK(doc["trials"]["rows"].size() == 50);
  CHECK(doc["trials"]["total"] == 100000);
  CHECK(hpo::json_text(doc).size() < 400 * 1024);
  // The best-so-far line is exact: it ends at the best value of all trials.
  double best = 1e9;
  for (const auto& t : trials) best = std::min(best, *t.value);
  CHECK(doc["history"]["best"]["value"].back() == best);
  CHECK(doc["summary"]["best"]["value"] == best);
  // The best trials are in the sample, so the plots show the optimum.
  const int best_number = doc["summary"]["best"]["number"];
  const auto& numbers = doc["sample"]["number"];
  CHECK(std::find(numbers.begin(), numbers.end(), best_number) != numbers.end());
  // An absent conditional parameter is null in the sample.
  CHECK(doc["sample"]["params"]["m"].size() == 1000);
}

TEST_CASE("the report page embeds its data safely and asks for nothing outside itself",
          "[report][data]") {
  const auto record = make_record("safe", kSpace);
  auto trials = many(20);
  trials[3].state = hpo::TrialState::kFail;
  trials[3].value.reset();
  trials[3].reason = "</script><script>window.pwned=1</script>\xFF\x01";
  const auto space = hpo::effective_space(record, trials);
  const std::string html = hpo::render_report_html(
      hpo::build_report_data(record, trials, space, hpo::parameter_importance(space, trials)));
  CHECK(html.find("window.pwned") != std::string::npos);  // as data, escaped
  CHECK(html.find("</script><script>window.pwned") == std::string::npos);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  CHECK(html.find("{{") == html.find("{{"));  // placeholders: none left unfilled below
  for (const char* placeholder :
       {"{{DATA}}", "{{UPLOT_JS}}", "{{REPORT_JS}}", "{{CONFIG}}", "{{CSP}}"})
    CHECK(html.find(placeholder) == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
}

TEST_CASE("the report of a study with several objectives carries its Pareto front",
          "[report][data][multiobjective]") {
  auto record = make_record("mo", kSpace);
  record.spec.erase("direction");
  record.spec.erase("objective");
  record.spec["objectives"] = json::parse(
      R"([{"metric": "loss", "direction": "minimize"}, {"metric": "size", "direction": "minimize"}])");
  record.spec["constraints"] = json::parse(R"([{"metric": "mem", "max": 10}])");
  record.spec["reference_point"] = {10, 10};
  // (loss, size, mem) by hand: #2 is dominated by #1, #4 dominates everything but is
  // infeasible, #5 failed: the front is #0, #1 and #3.
  const std::vector<std::array<double, 3>> points = {
      {1, 5, 0}, {2, 3, 0}, {3, 4, 0}, {4, 1, 0}, {0.5, 0.5, 11}};
  std::vector<hpo::Trial> trials;
  for (std::size_t i = 0; i < points.size(); ++i) {
    trials.push_back(make_trial(static_cast<int>(i), std::nullopt, {{"x", 0.1 * i}, {"opt", "a"}}));
    trials.back().metrics = {{"loss", points[i][0]}, {"size", points[i][1]}, {"mem", points[i][2]}};
  }
  trials.push_back(make_trial(5, std::nullopt, {{"x", 0.9}, {"opt", "a"}}, hpo::TrialState::kFail));
  const auto space = hpo::effective_space(record, trials);
  const json doc = hpo::build_report_data(record, trials, space, hpo::ImportanceResult{});
  REQUIRE(doc.contains("pareto"));
  const json& p = doc["pareto"];
  CHECK(p["total"] == 5);
  CHECK(p["front_size"] == 3);
  CHECK(p["number"] == json::array({0, 1, 2, 3, 4}));
  CHECK(p["x"] == json::array({1, 2, 3, 4, 0.5}));
  CHECK(p["y"] == json::array({5, 3, 4, 1, 0.5}));
  CHECK(p["front"] == json::array({true, true, false, true, false}));
  CHECK(p["feasible"] == json::array({true, true, true, true, false}));
  // The staircase of (1,5), (2,3), (4,1) under (10,10): 9*5 + 8*2 + 6*2.
  CHECK(p["hypervolume"].get<double>() == Approx(73.0));
  CHECK(p["reference_point"] == json::array({10, 10}));
  CHECK(p["objectives"][1]["metric"] == "size");
  // The page draws it: the card and its script are there.
  const std::string html = hpo::render_report_html(doc);
  CHECK(html.find("id=\"pareto\"") != std::string::npos);
  CHECK(html.find("renderPareto") != std::string::npos);
  // A single-objective study has no such part.
  const auto single = make_record("single", kSpace);
  CHECK_FALSE(hpo::build_report_data(single, many(10), space, hpo::ImportanceResult{})
                  .contains("pareto"));
}
