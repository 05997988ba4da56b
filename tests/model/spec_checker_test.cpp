// The private helpers behind study-spec messages: paths, value descriptions and typo hints.
#include "engine/model/spec_checker.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace hpo {
namespace {

TEST_CASE("edit distance counts an adjacent swap as one edit", "[model][spec]") {
  CHECK(edit_distance("trials", "trials") == 0);
  CHECK(edit_distance("trails", "trials") == 1);
  CHECK(edit_distance("lrr", "lr") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("Trials", "trials") == 0);
}

TEST_CASE("typo hints pick the closest candidate and stay quiet when none is close",
          "[model][spec]") {
  const std::vector<std::string> keys{"trials", "timeout", "max_failed_trials"};
  CHECK(closest_match("trails", keys) == std::optional<std::string>("trials"));
  CHECK(closest_match("timout", keys) == std::optional<std::string>("timeout"));
  CHECK(closest_match("max_failed_trails", keys) ==
        std::optional<std::string>("max_failed_trials"));
  CHECK_FALSE(closest_match("budget", keys).has_value());
  CHECK_FALSE(closest_match("x", std::vector<std::string>{"y"}).has_value());
  CHECK(did_you_mean("tpee", {"random", "tpe"}) == " (did you mean \"tpe\"?)");
  CHECK(did_you_mean("grid", {"random", "tpe"}).empty());
}

TEST_CASE("paths read like the spec, quoting keys that are not identifiers", "[model][spec]") {
  CHECK(member_path("", "space") == "space");
  CHECK(member_path("space", "lr") == "space.lr");
  CHECK(member_path("space", "learning-rate") == "space[\"learning-rate\"]");
  CHECK(member_path("", "a b") == "[\"a b\"]");
  CHECK(element_path("executor.command", 2) == "executor.command[2]");
}

TEST_CASE("values are described with their JSON type", "[model][spec]") {
  CHECK(describe(OrderedJson("abc")) == "string \"abc\"");
  CHECK(describe(OrderedJson(3)) == "number 3");
  CHECK(describe(OrderedJson(2.5)) == "number 2.5");
  CHECK(describe(OrderedJson(true)) == "boolean true");
  CHECK(describe(OrderedJson()) == "null");
  CHECK(describe(OrderedJson::array({1})) == "array");
  CHECK(describe(OrderedJson::object()) == "an empty object");
  CHECK(describe(OrderedJson(std::string(100, 'x'))).size() < 60);
}

TEST_CASE("text positions count lines and columns from one", "[model][spec]") {
  const std::string text = "ab\ncd\n\nx";
  CHECK(position_of(text, 0).line == 1);
  CHECK(position_of(text, 1).column == 2);
  CHECK(position_of(text, 3).line == 2);
  CHECK(position_of(text, 3).column == 1);
  CHECK(position_of(text, 7).line == 4);
  CHECK(position_of(text, 100).line == 4);
}

}  // namespace
}  // namespace hpo
