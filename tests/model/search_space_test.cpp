#include "hpo/search_space.h"

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/study_spec.h"
#include "engine/model/json_codec.h"

namespace hpo {
namespace {

// kernel (rbf|poly) -> degree (when kernel == poly) -> coef (when degree in {3, 4}); lr always.
SearchSpace conditional_space() {
  SearchSpace s;
  s.add({"kernel", Distribution::categorical({ParamValue("rbf"), ParamValue("poly")}), {}});
  s.add({"degree", Distribution::int_range(2, 5), Condition{{{"kernel", {ParamValue("poly")}}}}});
  s.add({"coef", Distribution::float_range(0, 1),
         Condition{{{"degree", {ParamValue(3), ParamValue(4)}}}}});
  s.add({"lr", Distribution::float_range(1e-4, 1, true), {}});
  return s;
}

bool has_issue(const std::vector<SpecIssue>& issues, const std::string& path,
               const std::string& part) {
  return std::any_of(issues.begin(), issues.end(), [&](const SpecIssue& i) {
    return i.path == path && i.message.find(part) != std::string::npos;
  });
}

TEST_CASE("a parameter is active only when every parent holds an accepted value",
          "[model][search_space]") {
  const SearchSpace s = conditional_space();
  const Parameter& kernel = *s.find("kernel");
  const Parameter& degree = *s.find("degree");
  const Parameter& coef = *s.find("coef");
  CHECK(SearchSpace::is_active(kernel, {}));
  CHECK_FALSE(SearchSpace::is_active(degree, {}));
  CHECK_FALSE(SearchSpace::is_active(degree, {{"kernel", "rbf"}}));
  CHECK(SearchSpace::is_active(degree, {{"kernel", "poly"}}));
  CHECK(SearchSpace::is_active(coef, {{"kernel", "poly"}, {"degree", 4}}));
  CHECK(SearchSpace::is_active(coef, {{"degree", 3.0}}));  // numbers compare by value
  CHECK_FALSE(SearchSpace::is_active(coef, {{"kernel", "poly"}, {"degree", 2}}));

  Parameter both{"both", Distribution::float_range(0, 1),
                 Condition{{{"kernel", {ParamValue("poly")}}, {"degree", {ParamValue(2)}}}}};
  CHECK(SearchSpace::is_active(both, {{"kernel", "poly"}, {"degree", 2}}));
  CHECK_FALSE(SearchSpace::is_active(both, {{"kernel", "poly"}}));
  CHECK_FALSE(SearchSpace::is_active(both, {{"kernel", "rbf"}, {"degree", 2}}));
}

TEST_CASE("a complete, valid parameter set passes the check", "[model][search_space]") {
  const SearchSpace s = conditional_space();
  CHECK(s.check({{"kernel", "rbf"}, {"lr", 0.01}}).empty());
  CHECK(s.check({{"kernel", "poly"}, {"degree", 2}, {"lr", 0.01}}).empty());
  CHECK(s.check({{"kernel", "poly"}, {"degree", 3}, {"coef", 0.5}, {"lr", 1.0}}).empty());
}

TEST_CASE("the check reports missing, inactive, unknown and out-of-range parameters",
          "[model][search_space]") {
  const SearchSpace s = conditional_space();
  const auto missing = s.check({{"kernel", "poly"}, {"lr", 0.01}});
  CHECK(missing.size() == 1);
  CHECK(has_issue(missing, "params.degree", "is missing"));

  const auto inactive = s.check({{"kernel", "rbf"}, {"degree", 3}, {"lr", 0.01}});
  CHECK(inactive.size() == 1);
  CHECK(has_issue(inactive, "params.degree", "inactive"));

  const auto unknown = s.check({{"kernel", "rbf"}, {"lr", 0.01}, {"momentum", 0.9}});
  CHECK(unknown.size() == 1);
  CHECK(has_issue(unknown, "params.momentum", "not in the search space"));

  const auto outside = s.check({{"kernel", "rbf"}, {"lr", 2.0}});
  CHECK(outside.size() == 1);
  CHECK(has_issue(outside, "params.lr", "outside"));

  const auto wrong_kind = s.check({{"kernel", 1}, {"lr", 0.5}});
  CHECK(has_issue(wrong_kind, "params.kernel", "outside"));
}

TEST_CASE("search spaces find parameters and report conditions", "[model][search_space]") {
  const SearchSpace s = conditional_space();
  CHECK(s.size() == 4);
  CHECK_FALSE(s.empty());
  CHECK(s.find("nope") == nullptr);
  CHECK(s.find("lr")->distribution.log);
  CHECK(s.has_conditions());
  SearchSpace flat;
  CHECK(flat.empty());
  flat.add({"x", Distribution::float_range(0, 1), {}});
  CHECK_FALSE(flat.has_conditions());
}

TEST_CASE("a search space written as a spec's space parses back to itself",
          "[model][search_space]") {
  const SearchSpace s = conditional_space();
  const nlohmann::json space = to_json(s);
  CHECK(space["degree"]["when"]["kernel"] == "poly");
  CHECK(space["coef"]["when"]["degree"] == nlohmann::json::array({3, 4}));
  nlohmann::json doc = {{"name", "t"},
                        {"direction", "minimize"},
                        {"objective", {{"metric", "m"}}},
                        {"space", space},
                        {"executor", {{"command", {"p"}}}}};
  ComponentCatalog catalog;
  catalog.samplers.push_back({"random", "", {}, {}});
  catalog.executors.push_back({"subprocess", "", {"command"}, {}});
  const StudySpec spec = parse_study_spec(doc.dump(), "/", catalog);
  // nlohmann::json sorts keys (coef, degree, kernel, lr); the parser restores parents first.
  std::vector<std::string> order;
  for (const auto& p : spec.space.parameters()) order.push_back(p.name);
  CHECK(order == std::vector<std::string>{"kernel", "degree", "coef", "lr"});
  CHECK(spec.space == s);
}

}  // namespace
}  // namespace hpo
