// ParamValue: the value of one hyperparameter in a trial. A float parameter holds a double,
// an int parameter an int64, a categorical parameter one of its choices (string, number or
// boolean). ParamSet maps parameter names to values; it is ordered so that iteration, JSON
// output and hashing are deterministic. Value types, no shared state: thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace hpo {

class ParamValue {
 public:
  using Variant = std::variant<bool, std::int64_t, double, std::string>;

  ParamValue() : value_(0.0) {}
  ParamValue(double v) : value_(v) {}                       // NOLINT: implicit by design
  ParamValue(std::int64_t v) : value_(v) {}                 // NOLINT
  ParamValue(int v) : value_(static_cast<std::int64_t>(v)) {}  // NOLINT
  ParamValue(bool v) : value_(v) {}                         // NOLINT
  ParamValue(std::string v) : value_(std::move(v)) {}       // NOLINT
  ParamValue(const char* v) : value_(std::string(v)) {}     // NOLINT

  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(value_); }
  bool is_double() const { return std::holds_alternative<double>(value_); }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }

  // REQUIRES: is_number(). An int converts exactly when |v| < 2^53.
  double as_double() const;
  // REQUIRES: is_number(). A double is rounded to the nearest integer.
  std::int64_t as_int() const;
  // REQUIRES: is_string().
  const std::string& as_string() const { return std::get<std::string>(value_); }
  // REQUIRES: is_bool().
  bool as_bool() const { return std::get<bool>(value_); }

  const Variant& variant() const { return value_; }

  // Text used for argv substitution and HPO_PARAM_<NAME>: shortest round-trip form for doubles
  // ("0.001", "1e-05"), decimal for ints, "true"/"false", a string as is.
  std::string to_string() const;

  // Numbers compare by value (int 2 == double 2.0); otherwise kinds must match.
  friend bool operator==(const ParamValue& a, const ParamValue& b);
  friend bool operator!=(const ParamValue& a, const ParamValue& b) { return !(a == b); }

 private:
  Variant value_;
};

using ParamSet = std::map<std::string, ParamValue>;

// Shortest decimal text that reads back as exactly `v` ("0.1", "1e-05", "3").
std::string format_double(double v);

}  // namespace hpo
