// The where-expression parser and TrialFilter: what `hpo trials --where/--sort/--limit` keep.
#include <catch2/catch.hpp>

#include "engine/report/trial_filter.h"
#include "hpo/errors.h"
#include "tests/report/report_test_util.h"

using hpo::CompareOp;
using hpo::Distribution;
using hpo::InputError;
using hpo::ParamSet;
using hpo::parse_where;
using hpo::Trial;
using hpo::TrialState;
using hpo::WhereClause;
using hpo::testing::make_trial;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_where(text);
  } catch (const InputError& e) {
    return e.issues().front().to_string();
  }
  return "";
}

hpo::SearchSpace test_space() {
  hpo::SearchSpace space;
  space.add({"batch", Distribution::categorical({std::int64_t{16}, std::int64_t{32}}), {}});
  space.add({"lr", Distribution::float_range(1e-4, 1, true), {}});
  space.add({"layers", Distribution::int_range(1, 4), {}});
  space.add({"optimizer", Distribution::categorical({"sgd", "momentum", "adam"}), {}});
  space.add({"flag", Distribution::categorical({true, false}), {}});
  space.add({"momentum", Distribution::float_range(0.5, 0.99), {}});
  return space;
}

WhereClause resolved(const std::string& text) {
  WhereClause w = parse_where(text);
  resolve_where(w, test_space(), {"accuracy"});
  return w;
}

std::string resolve_error(const std::string& text) {
  try {
    resolved(text);
  } catch (const InputError& e) {
    return e.issues().front().to_string();
  }
  return "";
}

}  // namespace

TEST_CASE("where-expressions parse names, every operator and each kind of value",
          "[report][where]") {
  auto w = parse_where("lr < 0.01");
  CHECK(w.name == "lr");
  CHECK(w.op == CompareOp::kLt);
  CHECK(w.literal.is_double());
  CHECK(w.literal.as_double() == 0.01);
  CHECK(parse_where("lr<=1e-3").op == CompareOp::kLe);
  CHECK(parse_where("  lr>3 ").op == CompareOp::kGt);
  CHECK(parse_where("lr >= -2").literal.as_double() == -2);
  CHECK(parse_where("optimizer = adam").literal.as_string() == "adam");
  CHECK(parse_where("optimizer == adam").op == CompareOp::kEq);
  CHECK(parse_where("optimizer != 'sgd'").literal.as_string() == "sgd");
  CHECK(parse_where("name = \"two words\"").literal.as_string() == "two words");
  CHECK(parse_where("flag = true").literal.as_bool());
  CHECK(parse_where("params.value = 3").prefix == WhereClause::Field::kParam);
  CHECK(parse_where("params.value = 3").name == "value");
  CHECK(parse_where("metrics.accuracy > 0.9").prefix == WhereClause::Field::kMetric);
  // A word that only looks like a number is a string.
  CHECK(parse_where("tag = nan").literal.is_string());
  CHECK(parse_where("tag = 0x10").literal.is_string());
}

TEST_CASE("a bad where-expression is an error that quotes it and says what was expected",
          "[report][where]") {
  CHECK(error_of("").find("--where: '': expected NAME OP VALUE") == 0);
  CHECK(error_of("lr").find("expected one of =, !=, <, <=, >, >= after 'lr'") != std::string::npos);
  CHECK(error_of("lr ~ 3").find("expected one of =, !=") != std::string::npos);
  CHECK(error_of("lr << 3").find("got '<<'") != std::string::npos);
  CHECK(error_of("lr <").find("expected a value after '<'") != std::string::npos);
  CHECK(error_of("optimizer = 'adam").find("unterminated string") != std::string::npos);
  CHECK(error_of("optimizer = two words").find("must be quoted") != std::string::npos);
  CHECK(error_of("< 3").find("a name cannot start with '<'") != std::string::npos);
  CHECK(error_of("lr < 0.1").empty());
}

TEST_CASE("resolving a where-expression finds parameters, fields and metrics, or says what exists",
          "[report][where]") {
  CHECK(resolved("lr < 1").field == WhereClause::Field::kParam);
  CHECK(resolved("value < 1").field == WhereClause::Field::kValue);
  CHECK(resolved("duration > 2").field == WhereClause::Field::kDuration);
  CHECK(resolved("accuracy > 0.5").field == WhereClause::Field::kMetric);
  try {
    resolved("lrr < 1");
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string m = e.issues().front().to_string();
    CHECK(m.find("'lrr < 1'") != std::string::npos);
    CHECK(m.find("did you mean \"lr\"") != std::string::npos);
    CHECK(m.find("parameters: batch, lr, layers, optimizer, flag, momentum") !=
          std::string::npos);
  }
  CHECK_THROWS_AS(resolved("flag < true"), InputError);
  CHECK_THROWS_AS(resolved("value = fast"), InputError);
}

TEST_CASE("a where-expression that no value of the parameter could satisfy is refused",
          "[report][where]") {
  CHECK(resolve_error("lr < abc") ==
        "--where: 'lr < abc': 'lr' is a float parameter; compare it with a number");
  CHECK(resolve_error("layers = '2'").find("'layers' is an int parameter") != std::string::npos);
  CHECK(resolve_error("optimizer = adamm") ==
        "--where: 'optimizer = adamm': 'adamm' is not a choice of 'optimizer' (did you mean "
        "\"adam\"?) (choices: sgd, momentum, adam)");
  CHECK(resolve_error("batch != 64").find("'64' is not a choice of 'batch'") != std::string::npos);
  CHECK(resolve_error("optimizer < 3") ==
        "--where: 'optimizer < 3': 'optimizer' has no choice that orders with a number (choices: "
        "sgd, momentum, adam)");
  // What can match is accepted: a choice as a number, as quoted text, or an ordering.
  CHECK(resolve_error("batch = 32").empty());
  CHECK(resolve_error("batch = '32'").empty());
  CHECK(resolve_error("batch < 20").empty());
  CHECK(resolve_error("flag = true").empty());
  CHECK(resolve_error("optimizer < b").empty());
  CHECK(resolve_error("layers = 2.5").empty());  // a number: it just matches no trial
}

TEST_CASE("where-expressions compare numbers as numbers, strings as text and absent as no match",
          "[report][where]") {
  const Trial t = make_trial(
      3, 0.5,
      ParamSet{{"batch", std::int64_t{32}}, {"lr", 0.005}, {"optimizer", "adam"}, {"flag", true}});
  CHECK(resolved("batch = 32").matches(t));
  CHECK(resolved("batch = 32.0").matches(t));
  CHECK(resolved("batch >= 16").matches(t));
  CHECK_FALSE(resolved("batch > 32").matches(t));
  CHECK(resolved("lr < 0.01").matches(t));
  CHECK(resolved("optimizer = adam").matches(t));
  CHECK(resolved("optimizer != sgd").matches(t));
  CHECK(resolved("optimizer < b").matches(t));
  CHECK(resolved("flag = true").matches(t));
  CHECK(resolved("batch = '32'").matches(t));  // a quoted number compares as text
  // momentum is conditional and absent here: no comparison holds, not even !=.
  CHECK_FALSE(resolved("momentum = 0.9").matches(t));
  CHECK_FALSE(resolved("momentum != 0.9").matches(t));
  CHECK(resolved("value <= 0.5").matches(t));
  CHECK(resolved("number = 3").matches(t));
}

TEST_CASE("TrialFilter keeps matching trials, sorts stably and limits", "[report][where]") {
  std::vector<Trial> trials{make_trial(0, 3.0, {{"x", 1.0}}), make_trial(1, 1.0, {{"x", 2.0}}),
                            make_trial(2, std::nullopt, {{"x", 3.0}}, TrialState::kFail),
                            make_trial(3, 1.0, {{"x", 4.0}}), make_trial(4, 2.0, {{"x", 5.0}})};
  trials[3].finished = *trials[3].started + std::chrono::seconds(9);
  hpo::TrialFilter by_value;
  by_value.sort = hpo::TrialSort::kValue;
  auto sorted = by_value.apply(trials, hpo::Direction::kMinimize);
  REQUIRE(sorted.size() == 5);
  CHECK(sorted[0].number == 1);  // ties keep number order
  CHECK(sorted[1].number == 3);
  CHECK(sorted[4].number == 2);  // no value: last
  by_value.limit = 2;
  CHECK(by_value.apply(trials, hpo::Direction::kMaximize)[0].number == 0);

  hpo::TrialFilter slow;
  slow.sort = hpo::TrialSort::kDuration;
  CHECK(slow.apply(trials, hpo::Direction::kMinimize)[0].number == 3);

  hpo::TrialFilter where;
  where.state = TrialState::kComplete;
  WhereClause w = parse_where("x > 1.5");
  hpo::SearchSpace x_space;
  x_space.add({"x", Distribution::float_range(0, 10), {}});
  resolve_where(w, x_space, {});
  where.where.push_back(w);
  auto kept = where.apply(trials, hpo::Direction::kMinimize);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].number == 1);
  CHECK(kept[2].number == 4);
}
