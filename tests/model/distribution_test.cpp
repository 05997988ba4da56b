#include "hpo/distribution.h"
#include "engine/model/json_codec.h"

#include <cmath>
#include <limits>
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace hpo {
namespace {

TEST_CASE("a float range contains its bounds and nothing outside", "[model][distribution]") {
  const auto d = Distribution::float_range(-1.0, 2.0);
  CHECK(d.contains(-1.0));
  CHECK(d.contains(2.0));
  CHECK(d.contains(0.5));
  CHECK(d.contains(1));  // an int is a number too
  CHECK_FALSE(d.contains(2.001));
  CHECK_FALSE(d.contains(-1.001));
  CHECK_FALSE(d.contains(std::nan("")));
  CHECK_FALSE(d.contains(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(d.contains("1"));
  CHECK_FALSE(d.contains(true));
  CHECK(d.effective_step() == 0.0);
}

TEST_CASE("a stepped float range contains only grid points", "[model][distribution]") {
  const auto d = Distribution::float_range(0.0, 1.0, false, 0.1);
  CHECK(d.contains(0.0));
  CHECK(d.contains(0.3));  // 0.1 * 3 is not exactly 0.3, but within tolerance
  CHECK(d.contains(0.1 + 0.2));
  CHECK(d.contains(1.0));
  CHECK_FALSE(d.contains(0.35));
  CHECK(d.effective_step() == 0.1);
}

TEST_CASE("an int range is inclusive at both ends and on its step grid", "[model][distribution]") {
  const auto d = Distribution::int_range(2, 5);
  CHECK(d.contains(2));
  CHECK(d.contains(5));
  CHECK(d.contains(3.0));  // an integral double is an int value
  CHECK_FALSE(d.contains(1));
  CHECK_FALSE(d.contains(6));
  CHECK_FALSE(d.contains(2.5));
  CHECK_FALSE(d.contains(true));
  CHECK_FALSE(d.contains("3"));
  CHECK(d.effective_step() == 1.0);

  const auto stepped = Distribution::int_range(1, 10, false, 3);
  CHECK(stepped.contains(1));
  CHECK(stepped.contains(4));
  CHECK(stepped.contains(10));
  CHECK_FALSE(stepped.contains(2));
  CHECK(stepped.effective_step() == 3.0);

  const auto single = Distribution::int_range(7, 7);
  CHECK(single.contains(7));
  CHECK(single.from_internal(100.0) == ParamValue(7));
}

TEST_CASE("a categorical contains exactly its choices", "[model][distribution]") {
  const auto d = Distribution::categorical({ParamValue("a"), ParamValue(1), ParamValue(true)});
  CHECK(d.contains("a"));
  CHECK(d.contains(1));
  CHECK(d.contains(1.0));
  CHECK(d.contains(true));
  CHECK_FALSE(d.contains("b"));
  CHECK_FALSE(d.contains(false));
  CHECK(d.choice_index(ParamValue(true)) == std::optional<std::size_t>(2));
  CHECK_FALSE(d.choice_index(ParamValue(2)).has_value());
}

TEST_CASE("categorical internal values are choice indexes, rounded and clamped",
          "[model][distribution]") {
  const auto d = Distribution::categorical({ParamValue("x"), ParamValue("y"), ParamValue("z")});
  for (std::size_t i = 0; i < d.choices.size(); ++i) {
    CHECK(d.to_internal(d.choices[i]) == static_cast<double>(i));
    CHECK(d.from_internal(static_cast<double>(i)) == d.choices[i]);
  }
  CHECK(d.from_internal(1.4) == ParamValue("y"));
  CHECK(d.from_internal(1.6) == ParamValue("z"));
  CHECK(d.from_internal(-3.0) == ParamValue("x"));
  CHECK(d.from_internal(99.0) == ParamValue("z"));
}

TEST_CASE("int internal values round to the grid and never pass high", "[model][distribution]") {
  const auto d = Distribution::int_range(0, 10, false, 3);  // grid 0 3 6 9; 10 is off-grid
  CHECK(d.from_internal(10.0) == ParamValue(9));
  CHECK(d.from_internal(4.4) == ParamValue(3));
  CHECK(d.from_internal(4.6) == ParamValue(6));
  CHECK(d.from_internal(-5.0) == ParamValue(0));
  CHECK(d.from_internal(4.6).is_int());

  const auto plain = Distribution::int_range(-3, 3);
  CHECK(plain.from_internal(3.0) == ParamValue(3));
  CHECK(plain.from_internal(3.49) == ParamValue(3));
  CHECK(plain.from_internal(-3.49) == ParamValue(-3));
  CHECK(plain.to_internal(ParamValue(-2)) == -2.0);
}

TEST_CASE("float internal values are clamped and snapped to the step grid",
          "[model][distribution]") {
  const auto quarter = Distribution::float_range(0.0, 1.0, false, 0.25);
  CHECK(quarter.from_internal(0.3) == ParamValue(0.25));
  CHECK(quarter.from_internal(0.9) == ParamValue(1.0));
  CHECK(quarter.from_internal(2.0) == ParamValue(1.0));
  CHECK(quarter.from_internal(-2.0) == ParamValue(0.0));

  const auto off_grid = Distribution::float_range(0.0, 1.0, false, 0.4);  // grid 0 .4 .8
  CHECK(off_grid.from_internal(1.0).as_double() == Approx(0.8));
  CHECK(off_grid.from_internal(0.95).as_double() == Approx(0.8));

  const auto continuous = Distribution::float_range(1e-3, 1.0, true);
  CHECK(continuous.from_internal(0.5) == ParamValue(0.5));
  CHECK(continuous.from_internal(5.0) == ParamValue(1.0));
  CHECK(continuous.from_internal(0.0) == ParamValue(1e-3));
  CHECK(continuous.to_internal(ParamValue(0.5)) == 0.5);
}

TEST_CASE("from_internal always yields a value the distribution contains",
          "[model][distribution]") {
  const Distribution dists[] = {
      Distribution::float_range(-1.0, 1.0),
      Distribution::float_range(0.0, 1.0, false, 0.1),
      Distribution::float_range(0.1, 0.95, false, 0.15),
      Distribution::float_range(1e-5, 10.0, true),
      Distribution::int_range(-7, 13),
      Distribution::int_range(1, 100, false, 7),
      Distribution::int_range(1, 1024, true),
      Distribution::categorical({ParamValue("a"), ParamValue(2), ParamValue(false)}),
  };
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-20.0, 120.0);
  for (const auto& d : dists) {
    INFO(to_json(d).dump());
    for (int i = 0; i < 2000; ++i) {
      const double x = u(rng);
      const ParamValue v = d.from_internal(x);
      INFO("internal " << x << " -> " << v.to_string());
      REQUIRE(d.contains(v));
      // Values on the grid are fixed points.
      REQUIRE(d.from_internal(d.to_internal(v)) == v);
    }
  }
}

TEST_CASE("distributions serialise to the spec form", "[model][distribution]") {
  CHECK(to_json(Distribution::float_range(0.001, 1.0, true)) ==
        nlohmann::json::parse(R"({"type": "float", "low": 0.001, "high": 1.0, "log": true})"));
  CHECK(to_json(Distribution::int_range(1, 9, false, 2)) ==
        nlohmann::json::parse(R"({"type": "int", "low": 1, "high": 9, "step": 2})"));
  CHECK(to_json(Distribution::categorical({ParamValue("a"), ParamValue(1)})) ==
        nlohmann::json::parse(R"({"type": "categorical", "choices": ["a", 1]})"));
  CHECK(to_json(Distribution::int_range(1, 9))["low"].is_number_integer());
  CHECK(std::string(to_string(ParamType::kCategorical)) == "categorical");
}

TEST_CASE("distributions compare by every field", "[model][distribution]") {
  CHECK(Distribution::int_range(1, 9) == Distribution::int_range(1, 9, false, 1));
  CHECK(Distribution::int_range(1, 9) != Distribution::int_range(1, 9, true));
  CHECK(Distribution::float_range(0, 1) != Distribution::float_range(0, 1, false, 0.5));
  CHECK(Distribution::float_range(0, 1) != Distribution::int_range(0, 1));
  CHECK(Distribution::categorical({ParamValue("a")}) !=
        Distribution::categorical({ParamValue("b")}));
}

}  // namespace
}  // namespace hpo
