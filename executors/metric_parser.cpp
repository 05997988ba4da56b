#include "executors/metric_parser.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"

namespace hpo {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }
bool is_separator(char c) { return is_blank(c) || c == ','; }

// Removes the blanks around each '=' ("loss = 0.3" -> "loss=0.3") and turns every other run
// of separators into one ' ', so that the line splits into name=value tokens on ' '.
std::string normalize(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  std::size_t i = 0;
  while (i < line.size()) {
    if (!is_separator(line[i])) {
      out.push_back(line[i++]);
      continue;
    }
    std::size_t j = i;
    bool comma = false;
    while (j < line.size() && is_separator(line[j])) comma |= line[j++] == ',';
    const bool before_eq = j < line.size() && line[j] == '=';
    const bool after_eq = !out.empty() && out.back() == '=';
    // A comma always separates ("a=1,=2" must not glue "=2" onto a name).
    if (comma || (!before_eq && !after_eq)) out.push_back(' ');
    i = j;
  }
  return out;
}

std::optional<std::int64_t> as_step(double v) {
  // 2^63 as a double; anything at or above it does not fit an int64.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(v) || std::trunc(v) != v || v >= kLimit || v < -kLimit) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

// Markers that stand in for Python's bare NaN / Infinity / -Infinity, which are not JSON: they
// become these strings before parsing and numbers again after. \u0001 cannot come from a
// metric file by accident.
constexpr std::string_view kNanMarker = "\x01nan";
constexpr std::string_view kInfMarker = "\x01inf";
constexpr std::string_view kNegInfMarker = "\x01-inf";

std::string replace_python_non_finite(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    const std::string_view rest = text.substr(i);
    if (rest.substr(0, 3) == "NaN") {
      out += "\"\\u0001nan\"";
      i += 2;
    } else if (rest.substr(0, 8) == "Infinity") {
      out += "\"\\u0001inf\"";
      i += 7;
    } else if (rest.substr(0, 9) == "-Infinity") {
      out += "\"\\u0001-inf\"";
      i += 8;
    } else {
      if (c == '"') in_string = true;
      out.push_back(c);
    }
  }
  return out;
}

std::string describe_parse_error(const std::exception& e) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; users need only the rest.
  std::string what = e.what();
  if (const auto pos = what.find("] "); what.rfind("[json.exception", 0) == 0 && pos != what.npos)
    what.erase(0, pos + 2);
  return what;
}

}  // namespace

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(name[0]) && name[0] != '_') return false;
  for (const char c : name.substr(1)) {
    if (!alpha(c) && !digit(c) && c != '_' && c != '.' && c != '/' && c != '-') return false;
  }
  return true;
}

std::optional<double> parse_metric_value(std::string_view text) {
  // from_chars takes no leading '+'; a sign must still be followed by the number itself.
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // Too large or too small for a double: keep the magnitude's meaning (inf or 0).
    return std::strtod(std::string(text).c_str(), nullptr);
  }
  if (ec != std::errc() || ptr != end) return std::nullopt;
  // from_chars also reads "nan(chars)"; the protocol says plain nan only.
  if (std::isnan(value) && text.find('(') != text.npos) return std::nullopt;
  return value;
}

std::optional<MetricReport> parse_metric_line(std::string_view line) {
  if (std::memchr(line.data(), '=', line.size()) == nullptr) return std::nullopt;
  const std::string norm = normalize(line);
  Metrics metrics;
  std::string_view rest(norm);
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view token = rest.substr(0, space);
    rest = space == rest.npos ? std::string_view() : rest.substr(space + 1);
    const std::size_t eq = token.find('=');
    if (eq == token.npos) continue;
    const std::string_view name = token.substr(0, eq);
    if (!is_metric_name(name)) continue;
    if (const auto value = parse_metric_value(token.substr(eq + 1))) {
      metrics.insert_or_assign(std::string(name), *value);
    }
  }
  MetricReport report;
  for (const char* key : {"step", "epoch"}) {
    const auto it = metrics.find(key);
    if (it == metrics.end()) continue;
    if (const auto step = as_step(it->second)) {
      report.step = step;
      metrics.erase(it);
      break;
    }
  }
  // A "step" that is not a whole number ("step=NaN" beside "epoch=2") is a broken step, not a
  // metric named step.
  if (report.step) metrics.erase("step");
  if (metrics.empty()) return std::nullopt;
  report.metrics = std::move(metrics);
  return report;
}

ResultFileMetrics parse_result_file(std::string_view text) {
  ResultFileMetrics result;
  if (text.find_first_not_of(" \t\r\n") == text.npos) {
    result.error = "is empty";
    return result;
  }
  nlohmann::json doc;
  try {
    doc = parse_json(replace_python_non_finite(text));
  } catch (const nlohmann::json::parse_error& e) {
    result.error = "is not valid JSON (" + describe_parse_error(e) + ")";
    return result;
  } catch (const JsonRefused& e) {
    result.error = std::string("is not a metrics object (") + e.what() + ")";
    return result;
  }
  if (!doc.is_object()) {
    result.error = std::string("must hold a JSON object of metric name -> number, not ") +
                   (doc.is_array() ? "an array" : std::string("a ") + doc.type_name());
    return result;
  }
  for (const auto& [name, value] : doc.items()) {
    if (value.is_number()) {
      result.metrics[name] = value.get<double>();
      continue;
    }
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (s == kNanMarker) {
        result.metrics[name] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      if (s == kInfMarker || s == kNegInfMarker) {
        const double inf = std::numeric_limits<double>::infinity();
        result.metrics[name] = s == kInfMarker ? inf : -inf;
        continue;
      }
    }
    result.metrics.clear();
    result.error = std::string("has ") + (value.is_array() || value.is_object() ? "an " : "a ") +
                   value.type_name() + " for metric \"" + name + "\", not a number";
    return result;
  }
  return result;
}

}  // namespace hpo
