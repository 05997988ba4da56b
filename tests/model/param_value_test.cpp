#include "hpo/param_value.h"
#include "engine/model/json_codec.h"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace hpo {
namespace {

TEST_CASE("param values print in the form programs read back", "[model][param_value]") {
  CHECK(ParamValue(0.001).to_string() == "0.001");
  CHECK(ParamValue(1e-05).to_string() == "1e-05");
  CHECK(ParamValue(3.0).to_string() == "3");
  CHECK(ParamValue(-2.5).to_string() == "-2.5");
  CHECK(ParamValue(42).to_string() == "42");
  CHECK(ParamValue(std::int64_t{-9007199254740993}).to_string() == "-9007199254740993");
  CHECK(ParamValue(true).to_string() == "true");
  CHECK(ParamValue(false).to_string() == "false");
  CHECK(ParamValue("rbf").to_string() == "rbf");
  CHECK(ParamValue(std::string("a b")).to_string() == "a b");
}

TEST_CASE("a double's text reads back as exactly the same double", "[model][param_value]") {
  const double values[] = {0.1,
                           1.0 / 3.0,
                           1e-300,
                           -2.5e10,
                           123456789.123456789,
                           5e-324,
                           std::numeric_limits<double>::max(),
                           0.0,
                           1e21,
                           0.3};
  for (double v : values) {
    INFO(v);
    // strtod, not stod: stod throws on subnormals such as 5e-324.
    CHECK(std::strtod(ParamValue(v).to_string().c_str(), nullptr) == v);
    CHECK(std::strtod(format_double(v).c_str(), nullptr) == v);
  }
}

TEST_CASE("param values keep their kind through JSON", "[model][param_value]") {
  const ParamValue values[] = {ParamValue(2.0),  ParamValue(0.25), ParamValue(7),
                               ParamValue(true), ParamValue("x"),  ParamValue(-1)};
  for (const auto& v : values) {
    const ParamValue back = param_from_json(nlohmann::json::parse(to_json(v).dump()));
    INFO(to_json(v).dump());
    CHECK(back == v);
    CHECK(back.variant().index() == v.variant().index());
  }
  CHECK(param_from_json(nlohmann::json::parse("5")).is_int());
  CHECK(param_from_json(nlohmann::json::parse("5.0")).is_double());
  CHECK(param_from_json(nlohmann::json::parse("-5")).as_int() == -5);
}

TEST_CASE("unsigned JSON numbers beyond int64 become doubles, not negative ints",
          "[model][param_value]") {
  const ParamValue v = param_from_json(nlohmann::json::parse("18446744073709551615"));
  CHECK(v.is_double());
  CHECK(v.as_double() > 1.8e19);
  const ParamValue fits = param_from_json(nlohmann::json::parse("9223372036854775807"));
  CHECK(fits.is_int());
  CHECK(fits.as_int() == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("null, arrays and objects are not param values", "[model][param_value]") {
  CHECK_THROWS_AS(param_from_json(nlohmann::json()), std::invalid_argument);
  CHECK_THROWS_AS(param_from_json(nlohmann::json::array({1})), std::invalid_argument);
  CHECK_THROWS_AS(param_from_json(nlohmann::json::object()), std::invalid_argument);
}

TEST_CASE("numbers compare by value, other kinds must match", "[model][param_value]") {
  CHECK(ParamValue(2) == ParamValue(2.0));
  CHECK(ParamValue(2.0) == ParamValue(2));
  CHECK(ParamValue(2) != ParamValue(2.5));
  CHECK(ParamValue(true) != ParamValue(1));
  CHECK(ParamValue("1") != ParamValue(1));
  CHECK(ParamValue("a") == ParamValue(std::string("a")));
  CHECK(ParamValue(false) == ParamValue(false));
  // Large ints compare exactly, not through a lossy double.
  CHECK(ParamValue(std::int64_t{9007199254740993}) != ParamValue(std::int64_t{9007199254740992}));
}

TEST_CASE("numeric accessors convert between int and double", "[model][param_value]") {
  CHECK(ParamValue(2.6).as_int() == 3);
  CHECK(ParamValue(-2.5).as_int() == -3);
  CHECK(ParamValue(7).as_double() == 7.0);
  CHECK(ParamValue(7).is_number());
  CHECK_FALSE(ParamValue(true).is_number());
  CHECK_FALSE(ParamValue("7").is_number());
}

TEST_CASE("param sets round-trip through JSON", "[model][param_value]") {
  const ParamSet params{{"lr", 0.01}, {"layers", 3}, {"kernel", "rbf"}, {"bn", true}};
  const nlohmann::json j = params_to_json(params);
  CHECK(j["layers"] == 3);
  CHECK(j["kernel"] == "rbf");
  const ParamSet back = params_from_json(nlohmann::json::parse(j.dump()));
  CHECK(back == params);
  CHECK(back.at("layers").is_int());
  CHECK(back.at("lr").is_double());

  CHECK_THROWS_AS(params_from_json(nlohmann::json::array()), std::invalid_argument);
  CHECK_THROWS_AS(params_from_json(nlohmann::json{{"a", nlohmann::json::array()}}),
                  std::invalid_argument);
}

}  // namespace
}  // namespace hpo
