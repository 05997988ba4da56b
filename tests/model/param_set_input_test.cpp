// Parameter sets as `hpo enqueue` reads them (engine/model/param_set_input.h): CSV and JSON,
// every problem an issue with its line, nothing thrown.
#include <catch2/catch.hpp>

#include "engine/model/param_set_input.h"

namespace hpo::testing {
namespace {

SearchSpace space() {
  SearchSpace s;
  s.add({"x", Distribution::float_range(0, 1, false, std::nullopt), {}});
  s.add({"n", Distribution::int_range(1, 10, false, 1), {}});
  s.add({"opt",
         Distribution::categorical({ParamValue(std::string("adam")), ParamValue(std::int64_t{1})}),
         {}});
  return s;
}

std::string all(const std::vector<SpecIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.to_string() + "\n";
  return out;
}

TEST_CASE("CSV rows become typed parameter sets, a BOM and CRLF are fine", "[model][enqueue]") {
  std::vector<SpecIssue> issues;
  const auto sets = read_param_sets_csv("\xef\xbb\xbfx,n,opt\r\n0.5,3,adam\r\n\"0.25\",,1\r\n\r\n",
                                        "in.csv", space(), issues);
  INFO(all(issues));
  REQUIRE(issues.empty());
  REQUIRE(sets.size() == 2);
  CHECK(sets[0].at("x") == ParamValue(0.5));
  CHECK(sets[0].at("n") == ParamValue(std::int64_t{3}));
  CHECK(sets[0].at("opt") == ParamValue(std::string("adam")));
  CHECK(sets[1].count("n") == 0);  // an empty cell: inactive
  CHECK(sets[1].at("opt") == ParamValue(std::int64_t{1}));
}

TEST_CASE("CSV problems are one issue each, located by line", "[model][enqueue]") {
  std::vector<SpecIssue> issues;
  read_param_sets_csv("", "e.csv", space(), issues);
  CHECK(all(issues) == "e.csv: is empty (expected a header of parameter names)\n");
  issues.clear();
  read_param_sets_csv("x,n\n\"0.5,1\n0.5,1,2\n0.5,1e400\n", "r.csv", space(), issues);
  CHECK(all(issues) ==
        "r.csv:2: has a quoted cell that is not closed\n"
        "r.csv:3: has 3 cells, the header 2\n"
        "r.csv:4: n: '1e400' is not a valid value\n");
  issues.clear();
  // A wrong header is said once; its rows are not read against it.
  const auto sets = read_param_sets_csv("xx,n,n\n1,2,3\n4,5,6\n", "h.csv", space(), issues);
  CHECK(sets.empty());
  CHECK(all(issues) ==
        "h.csv:1: unknown parameter \"xx\" (did you mean \"x\"?)\n"
        "h.csv:1: names the parameter \"n\" twice\n");
}

TEST_CASE("JSON parameter sets: one object or an array, bad input is an issue",
          "[model][enqueue]") {
  std::vector<SpecIssue> issues;
  auto sets = read_param_sets_json(R"([{"x": 0.5}, {"n": 2, "opt": "adam"}])", "s.json", issues);
  CHECK(issues.empty());
  CHECK(sets.size() == 2);
  sets = read_param_sets_json(R"({"x": 1, "x": 2})", "--params", issues);
  CHECK(sets.empty());
  CHECK(all(issues) == "--params: is refused: duplicate key \"x\"\n");
  issues.clear();
  read_param_sets_json(R"([{"x": [1]}, 3])", "a.json", issues);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].path == "a.json[0]");
  CHECK(issues[1].path == "a.json[1]");
  issues.clear();
  read_param_sets_json("{", "b.json", issues);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].message.rfind("is not valid JSON: ", 0) == 0);
}

}  // namespace
}  // namespace hpo::testing
