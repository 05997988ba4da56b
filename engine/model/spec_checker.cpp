#include "engine/model/spec_checker.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "hpo/param_value.h"
#include "engine/model/study_spec.h"

namespace hpo {
namespace {

constexpr std::size_t kMaxDescribedString = 40;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Bounds as shown in messages; a maximum of INT_MAX or more only guards against overflow, so
// it is left out unless it is the bound that was crossed.
std::string range_text(std::int64_t min, std::int64_t max, bool above_max = false) {
  const bool show_min = min != std::numeric_limits<std::int64_t>::min();
  const bool show_max = max < std::numeric_limits<int>::max() || above_max;
  if (show_min && show_max) return "between " + std::to_string(min) + " and " + std::to_string(max);
  if (show_min) return ">= " + std::to_string(min);
  if (show_max) return "<= " + std::to_string(max);
  return "";
}

}  // namespace

std::string member_path(const std::string& parent, std::string_view key) {
  if (!is_identifier(key)) return parent + "[" + OrderedJson(std::string(key)).dump() + "]";
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string element_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string describe(const OrderedJson& value) {
  switch (value.type()) {
    case OrderedJson::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() <= kMaxDescribedString) return "string " + value.dump();
      return "string " + OrderedJson(s.substr(0, kMaxDescribedString)).dump() + "...";
    }
    case OrderedJson::value_t::number_integer:
      return "number " + std::to_string(value.get<std::int64_t>());
    case OrderedJson::value_t::number_unsigned:
      return "number " + std::to_string(value.get<std::uint64_t>());
    case OrderedJson::value_t::number_float:
      return "number " + format_double(value.get<double>());
    case OrderedJson::value_t::boolean:
      return value.get<bool>() ? "boolean true" : "boolean false";
    case OrderedJson::value_t::null:
      return "null";
    case OrderedJson::value_t::array:
      return value.empty() ? "an empty array" : "array";
    case OrderedJson::value_t::object:
      return value.empty() ? "an empty object" : "object";
    default:
      return value.type_name();
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the optimal-string-alignment table: "trails" -> "trials" is one edit.
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    const std::size_t longest = std::max(word.size(), c.size());
    const std::size_t d = edit_distance(word, c);
    // A hint must keep most of the word: at most a third of it edited, and never all of it
    // (so "x" does not suggest "y").
    if (d >= longest || d > std::max<std::size_t>(1, longest / 3)) continue;
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto match = closest_match(word, candidates);
  return match ? " (did you mean " + OrderedJson(*match).dump() + "?)" : "";
}

std::string quoted_list(const std::vector<std::string>& words, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? std::string(last_sep) : ", ";
    out += OrderedJson(words[i]).dump();
  }
  return out;
}

bool is_identifier(std::string_view text) {
  if (text.empty()) return false;
  auto alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  if (!alpha(text[0])) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return alpha(c) || std::isdigit(static_cast<unsigned char>(c));
  });
}

TextPosition position_of(std::string_view text, std::size_t offset) {
  TextPosition pos;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

void SpecChecker::add(const std::string& path, std::string message) {
  issues_.push_back(SpecIssue{path, std::move(message)});
}

const OrderedJson* SpecChecker::member(const OrderedJson& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

const OrderedJson* SpecChecker::required(const OrderedJson& obj, const std::string& path,
                                         std::string_view key) {
  const OrderedJson* m = member(obj, key);
  if (m == nullptr) add(member_path(path, key), "is required");
  return m;
}

void SpecChecker::reject_unknown_keys(const OrderedJson& obj, const std::string& path,
                                      const std::vector<std::string>& allowed) {
  if (!obj.is_object()) return;
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string hint = did_you_mean(key, allowed);
    if (hint.empty()) hint = "; expected one of " + quoted_list(allowed);
    add(member_path(path, key), "unknown key" + hint);
  }
}

void SpecChecker::type_error(const std::string& path, std::string_view expected,
                             const OrderedJson& got) {
  add(path, "must be " + std::string(expected) + ", got " + describe(got));
}

bool SpecChecker::expect_object(const OrderedJson& value, const std::string& path) {
  if (value.is_object()) return true;
  type_error(path, "an object", value);
  return false;
}

bool SpecChecker::expect_array(const OrderedJson& value, const std::string& path) {
  if (value.is_array()) return true;
  type_error(path, "an array", value);
  return false;
}

std::optional<std::string> SpecChecker::get_string(const OrderedJson& value,
                                                   const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  type_error(path, "a string", value);
  return std::nullopt;
}

std::optional<bool> SpecChecker::get_bool(const OrderedJson& value, const std::string& path) {
  if (value.is_boolean()) return value.get<bool>();
  type_error(path, "a boolean (true or false)", value);
  return std::nullopt;
}

std::optional<double> SpecChecker::get_number(const OrderedJson& value, const std::string& path) {
  if (!value.is_number()) {
    type_error(path, "a number", value);
    return std::nullopt;
  }
  const double v = value.get<double>();
  if (!std::isfinite(v)) {
    add(path, "must be a finite number");
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> SpecChecker::get_int(const OrderedJson& value, const std::string& path,
                                                 std::int64_t min, std::int64_t max) {
  std::optional<std::int64_t> v;
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    v = value.get<std::int64_t>();
  } else if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      v = static_cast<std::int64_t>(u);
  } else if (value.is_number_float()) {
    // 1e3 or 2.0 are integers a user may well write; 2.5 is not.
    const double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0)
      v = static_cast<std::int64_t>(d);
  }
  if (!v) {
    type_error(path, "an integer", value);
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    add(path, "must be " + range_text(min, max, *v > max) + ", got " + std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<std::uint64_t> SpecChecker::get_uint64(const OrderedJson& value,
                                                     const std::string& path) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  auto v = get_int(value, path, 0);
  if (!v) return std::nullopt;
  return static_cast<std::uint64_t>(*v);
}

std::optional<std::string> SpecChecker::get_enum(const OrderedJson& value, const std::string& path,
                                                 const std::vector<std::string>& allowed) {
  if (!value.is_string()) {
    type_error(path, quoted_list(allowed), value);
    return std::nullopt;
  }
  const auto& s = value.get_ref<const std::string&>();
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  add(path,
      "must be " + quoted_list(allowed) + ", got " + describe(value) + did_you_mean(s, allowed));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> SpecChecker::get_duration(const OrderedJson& value,
                                                                   const std::string& path,
                                                                   bool allow_zero) {
  static constexpr std::string_view kForms =
      "a duration such as \"90s\", \"20m\", \"2h\", \"1h30m\" or \"500ms\"";
  if (!value.is_string()) {
    type_error(path, kForms, value);
    return std::nullopt;
  }
  auto d = parse_duration(value.get_ref<const std::string&>());
  if (!d) {
    type_error(path, kForms, value);
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    add(path, "must be longer than 0");
    return std::nullopt;
  }
  return d;
}

}  // namespace hpo
