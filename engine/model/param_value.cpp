#include "hpo/param_value.h"

#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"

namespace hpo {

double ParamValue::as_double() const {
  if (is_int()) return static_cast<double>(std::get<std::int64_t>(value_));
  return std::get<double>(value_);
}

std::int64_t ParamValue::as_int() const {
  if (is_int()) return std::get<std::int64_t>(value_);
  return static_cast<std::int64_t>(std::llround(std::get<double>(value_)));
}

std::string format_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string ParamValue::to_string() const {
  if (is_bool()) return as_bool() ? "true" : "false";
  if (is_int()) return std::to_string(std::get<std::int64_t>(value_));
  if (is_double()) return format_double(std::get<double>(value_));
  return as_string();
}

nlohmann::json parse_json(std::string_view text, int max_depth) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> keys;  // of the objects being read, innermost last
  nlohmann::json::parser_callback_t check = [&](int depth, Event event, nlohmann::json& parsed) {
    if (depth >= max_depth)  // depths count from 0: the outermost value is at 0
      throw JsonRefused("nested deeper than " + std::to_string(max_depth) + " levels");
    switch (event) {
      case Event::object_start: keys.emplace_back(); break;
      case Event::object_end: keys.pop_back(); break;
      case Event::key:
        if (!keys.back().insert(parsed.get<std::string>()).second)
          throw JsonRefused("duplicate key " + parsed.dump());
        break;
      default: break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), check);
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond a double (1e400): nlohmann says it with the literal in quotes.
    const std::string what = e.what();
    const auto open = what.find('\'');
    const auto close = what.rfind('\'');
    throw JsonRefused("number out of range" +
                      (open != std::string::npos && close > open
                           ? ": " + what.substr(open + 1, close - open - 1)
                           : std::string()));
  }
}

nlohmann::json to_json(const ParamValue& value) {
  if (value.is_bool()) return value.as_bool();
  if (value.is_int()) return std::get<std::int64_t>(value.variant());
  if (value.is_double()) return std::get<double>(value.variant());
  return value.as_string();
}

ParamValue param_from_json(const nlohmann::json& j) {
  if (j.is_boolean()) return ParamValue(j.get<bool>());
  // Unsigned values beyond int64 would wrap to negative ints; keep their magnitude instead.
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return ParamValue(j.get<double>());
  if (j.is_number_integer()) return ParamValue(j.get<std::int64_t>());
  if (j.is_number_float()) return ParamValue(j.get<double>());
  if (j.is_string()) return ParamValue(j.get<std::string>());
  throw std::invalid_argument("a parameter value must be a number, string or boolean, not " +
                              std::string(j.type_name()));
}

bool operator==(const ParamValue& a, const ParamValue& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  return a.value_ == b.value_;
}

nlohmann::json params_to_json(const ParamSet& params) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : params) j[name] = to_json(value);
  return j;
}

ParamSet params_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("parameters must be a JSON object");
  ParamSet out;
  for (const auto& [name, value] : j.items()) out.emplace(name, param_from_json(value));
  return out;
}

}  // namespace hpo
