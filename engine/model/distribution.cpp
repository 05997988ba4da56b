#include "hpo/distribution.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"

namespace hpo {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::kFloat: return "float";
    case ParamType::kInt: return "int";
    case ParamType::kCategorical: return "categorical";
  }
  return "float";
}

Distribution Distribution::float_range(double low, double high, bool log,
                                       std::optional<double> step) {
  Distribution d;
  d.type = ParamType::kFloat;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  return d;
}

Distribution Distribution::int_range(std::int64_t low, std::int64_t high, bool log,
                                     std::int64_t step) {
  Distribution d;
  d.type = ParamType::kInt;
  d.low = static_cast<double>(low);
  d.high = static_cast<double>(high);
  d.log = log;
  if (step != 1) d.step = static_cast<double>(step);
  return d;
}

Distribution Distribution::categorical(std::vector<ParamValue> choices) {
  Distribution d;
  d.type = ParamType::kCategorical;
  d.low = 0;
  d.high = choices.empty() ? 0 : static_cast<double>(choices.size() - 1);
  d.choices = std::move(choices);
  return d;
}

double Distribution::effective_step() const {
  if (type == ParamType::kInt) return step.value_or(1.0);
  if (type == ParamType::kFloat) return step.value_or(0.0);
  return 1.0;
}

std::optional<std::size_t> Distribution::choice_index(const ParamValue& value) const {
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == value) return i;
  return std::nullopt;
}

bool Distribution::contains(const ParamValue& value) const {
  switch (type) {
    case ParamType::kCategorical:
      return choice_index(value).has_value();
    case ParamType::kInt: {
      if (!value.is_int() && !(value.is_double() && std::floor(value.as_double()) ==
                                                        value.as_double()))
        return false;
      const double v = value.as_double();
      if (v < low || v > high) return false;
      const double s = effective_step();
      const double k = (v - low) / s;
      return std::fabs(k - std::round(k)) < 1e-9;
    }
    case ParamType::kFloat: {
      if (!value.is_number()) return false;
      const double v = value.as_double();
      const double tol = 1e-9 * std::max(1.0, std::fabs(high - low));
      if (std::isnan(v) || v < low - tol || v > high + tol) return false;
      if (!step) return true;
      const double k = (v - low) / *step;
      return std::fabs(k - std::round(k)) * *step <= tol;
    }
  }
  return false;
}

double Distribution::to_internal(const ParamValue& value) const {
  if (type == ParamType::kCategorical) {
    auto idx = choice_index(value);
    return idx ? static_cast<double>(*idx) : 0.0;
  }
  return value.as_double();
}

ParamValue Distribution::from_internal(double internal) const {
  switch (type) {
    case ParamType::kCategorical: {
      if (choices.empty()) return ParamValue();
      const double max_index = static_cast<double>(choices.size() - 1);
      const auto idx = static_cast<std::size_t>(std::clamp(std::round(internal), 0.0, max_index));
      return choices[idx];
    }
    case ParamType::kInt: {
      const double s = effective_step();
      const double k = std::round((std::clamp(internal, low, high) - low) / s);
      double v = low + k * s;
      if (v > high) v -= s;
      return ParamValue(static_cast<std::int64_t>(std::llround(v)));
    }
    case ParamType::kFloat: {
      double v = std::clamp(internal, low, high);
      if (step) {
        double k = std::round((v - low) / *step);
        // Step back to the last grid point as low + k * step (not v - step) so that the
        // result is a fixed point: from_internal(to_internal(v)) == v.
        if (low + k * *step > high + 1e-12 * std::max(1.0, std::fabs(high))) k -= 1;
        v = std::clamp(low + k * *step, low, high);
      }
      return ParamValue(v);
    }
  }
  return ParamValue();
}

nlohmann::json to_json(const Distribution& d) {
  nlohmann::json j;
  j["type"] = to_string(d.type);
  if (d.type == ParamType::kCategorical) {
    j["choices"] = nlohmann::json::array();
    for (const auto& c : d.choices) j["choices"].push_back(to_json(c));
    return j;
  }
  if (d.type == ParamType::kInt) {
    j["low"] = static_cast<std::int64_t>(d.low);
    j["high"] = static_cast<std::int64_t>(d.high);
    if (d.step) j["step"] = static_cast<std::int64_t>(*d.step);
  } else {
    j["low"] = d.low;
    j["high"] = d.high;
    if (d.step) j["step"] = *d.step;
  }
  if (d.log) j["log"] = true;
  return j;
}

bool operator==(const Distribution& a, const Distribution& b) {
  return a.type == b.type && a.low == b.low && a.high == b.high && a.log == b.log &&
         a.step == b.step && a.choices == b.choices;
}

}  // namespace hpo
