// The spec parser and the component catalog: the parser reads the generic keys of each block
// and leaves the rest to the component that the block names, whichever components a catalog
// holds. A test catalog stands in for the registries of samplers/ and executors/ here (the
// real ones are tested through the engine, tests/engine/spec_test.cpp).
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/model/component.h"
#include "hpo/errors.h"
#include "tests/support/spec_issues.h"
#include "engine/model/study_spec.h"

namespace hpo {
namespace {

using testing::has_issue;

struct Seen {
  std::vector<std::string> paths;
  std::vector<std::string> param_names;
  std::string metric;
};

// One sampler ("grid", own key "values") and two executors; the checkers record what they
// were given and report one problem each when asked to ("fail": true).
ComponentCatalog test_catalog(Seen& seen) {
  auto check = [&seen](const ComponentBlock& block, SpecChecker& c) {
    seen.paths.push_back(block.path);
    if (block.param_names) seen.param_names = *block.param_names;
    seen.metric = block.spec.metric;
    if (const OrderedJson* f = SpecChecker::member(block.json, "fail"); f && f->is_boolean() &&
                                                                        f->get<bool>())
      c.add(member_path(block.path, "fail"), "asked to fail");
  };
  ComponentCatalog catalog;
  catalog.samplers.push_back({"random", "baseline", {}, {}});
  catalog.samplers.push_back({"grid", "every point", {"values", "fail"}, check});
  catalog.executors.push_back({"subprocess", "processes", {"command", "fail"}, check});
  catalog.executors.push_back({"local", "in process", {}, {}});
  return catalog;
}

std::string spec_text(const std::string& sampler, const std::string& executor) {
  return R"({"name": "t", "direction": "minimize", "objective": {"metric": "loss"},
    "space": {"b": {"type": "int", "low": 0, "high": 3}, "a": {"type": "float", "low": 0, "high": 1}},
    "sampler": )" + sampler + R"(, "executor": )" + executor + "}";
}

std::vector<SpecIssue> issues_of(const std::string& text, const ComponentCatalog& catalog) {
  try {
    parse_study_spec(text, "/specs", catalog);
  } catch (const InputError& e) {
    return e.issues();
  }
  FAIL("the spec was accepted");
  return {};
}


TEST_CASE("each block goes to the checker of the component it names, with the spec around it",
          "[model][spec][component]") {
  Seen seen;
  const ComponentCatalog catalog = test_catalog(seen);
  const StudySpec spec = parse_study_spec(
      spec_text(R"({"name": "grid", "seed": 3, "values": {"a": [0.5]}})",
                R"({"kind": "subprocess", "command": ["p"], "retries": 2, "timeout": "1m"})"),
      "/specs", catalog);
  CHECK(seen.paths == std::vector<std::string>{"sampler", "executor"});
  CHECK(seen.param_names == std::vector<std::string>{"b", "a"});  // as written
  CHECK(seen.metric == "loss");
  CHECK(spec.sampler.name == "grid");
  CHECK(spec.sampler.seed == std::optional<std::uint64_t>(3));
  CHECK(spec.sampler.block["values"]["a"][0] == 0.5);
  REQUIRE(spec.executor);
  CHECK(spec.executor->kind == "subprocess");
  CHECK(spec.executor->retry.retries == 2);
  CHECK(spec.executor->timeout == std::optional<std::chrono::milliseconds>(60000));
  CHECK(spec.executor->block["command"][0] == "p");
}

TEST_CASE("a component's problems are reported with the spec's other problems",
          "[model][spec][component]") {
  Seen seen;
  const ComponentCatalog catalog = test_catalog(seen);
  const auto issues = issues_of(
      spec_text(R"({"name": "grid", "fail": true, "valeus": 1})",
                R"({"kind": "subprocess", "command": ["p"], "fail": true, "retries": -1})"),
      catalog);
  CHECK(issues.size() == 4);
  CHECK(has_issue(issues, "sampler.fail", "asked to fail"));
  CHECK(has_issue(issues, "sampler.valeus", "did you mean \"values\"?"));
  CHECK(has_issue(issues, "executor.fail", "asked to fail"));
  CHECK(has_issue(issues, "executor.retries", "must be >= 0"));
}

TEST_CASE("keys of one component are unknown to another, names come from the catalog",
          "[model][spec][component]") {
  Seen seen;
  const ComponentCatalog catalog = test_catalog(seen);
  auto issues = issues_of(spec_text(R"({"name": "random", "values": 1})",
                                    R"({"kind": "local", "command": ["p"]})"),
                          catalog);
  CHECK(has_issue(issues, "sampler.values", "unknown key"));
  CHECK(has_issue(issues, "executor.command", "unknown key"));
  issues = issues_of(spec_text(R"({"name": "gird"})", R"({"kind": "lcoal"})"), catalog);
  CHECK(has_issue(issues, "sampler.name", "did you mean \"grid\"?"));
  CHECK(has_issue(issues, "executor.kind", "did you mean \"local\"?"));
  // An unknown component's keys are not checked at all: nothing to check them against.
  CHECK(seen.paths.empty());
}

}  // namespace
}  // namespace hpo
