#include "engine/report/trial_filter.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "engine/model/spec_checker.h"
#include "hpo/errors.h"

namespace hpo {
namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw InputError("--where", "'" + std::string(text) + "': " + why);
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

std::optional<double> parse_number(std::string_view word) {
  if (word.empty()) return std::nullopt;
  const std::string s(word);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  // strtod also reads "inf", "nan" and hex floats; a where-expression means decimal numbers.
  if (s.find_first_of("xXnN") != std::string::npos) return std::nullopt;
  return v;
}

// -1, 0, 1 as a <=> b; nullopt when the two cannot be ordered (different kinds).
std::optional<int> compare(const ParamValue& a, const ParamValue& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.as_double();
    const double y = b.as_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_bool() && b.is_bool()) return a.as_bool() == b.as_bool() ? 0 : 1;
  return std::nullopt;
}

bool holds(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kEq:
      return c == 0;
    case CompareOp::kNe:
      return c != 0;
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    case CompareOp::kGe:
      return c >= 0;
  }
  return false;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// = as WhereClause::matches reads it: by value when the kinds compare, else by text form (so
// 'optimizer = 1' and 'flag = "true"' mean what they say).
bool same_value(const ParamValue& actual, const ParamValue& literal) {
  if (auto c = compare(actual, literal)) return *c == 0;
  return actual.to_string() == literal.to_string();
}

// A parameter's literal that no stored or sampled value could satisfy is a mistake (a typo in
// a choice, a word against a number): say so rather than list no trials.
void check_against(const WhereClause& clause, const Parameter& p) {
  const Distribution& d = p.distribution;
  if (d.type != ParamType::kCategorical) {
    if (!clause.literal.is_number())
      bad(clause.text, "'" + p.name + "' is " + (d.type == ParamType::kInt ? "an int" : "a float") +
                           " parameter; compare it with a number");
    return;
  }
  std::vector<std::string> names;
  for (const ParamValue& c : d.choices) names.push_back(c.to_string());
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  const bool ordering = clause.op != CompareOp::kEq && clause.op != CompareOp::kNe;
  if (!ordering) {
    if (std::any_of(d.choices.begin(), d.choices.end(),
                    [&](const ParamValue& c) { return same_value(c, clause.literal); }))
      return;
    bad(clause.text, "'" + clause.literal.to_string() + "' is not a choice of '" + p.name + "'" +
                         did_you_mean(clause.literal.to_string(), names) + " (choices: " + list +
                         ")");
  }
  if (std::none_of(d.choices.begin(), d.choices.end(), [&](const ParamValue& c) {
        return compare(c, clause.literal).has_value();
      }))
    bad(clause.text, "'" + p.name + "' has no choice that orders with " +
                         (clause.literal.is_number() ? "a number" : "a string") +
                         " (choices: " + list + ")");
}

}  // namespace

const char* to_string(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

WhereClause parse_where(std::string_view text) {
  WhereClause clause;
  clause.text = std::string(text);
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  const std::size_t name_begin = i;
  while (i < text.size() && is_name_char(text[i])) ++i;
  std::string name(text.substr(name_begin, i - name_begin));
  if (name.empty()) {
    bad(text, "expected NAME OP VALUE, such as 'lr < 0.01' or 'optimizer = adam' (" +
                  std::string(i < text.size()
                                  ? "a name cannot start with '" + std::string(1, text[i]) + "'"
                                  : "the expression is empty") +
                  ")");
  }
  if (name.rfind("params.", 0) == 0) {
    clause.prefix = WhereClause::Field::kParam;
    name = name.substr(7);
  } else if (name.rfind("metrics.", 0) == 0) {
    clause.prefix = WhereClause::Field::kMetric;
    name = name.substr(8);
  }
  if (name.empty()) bad(text, "a name must follow 'params.' or 'metrics.'");
  clause.name = name;

  skip_space();
  const std::size_t op_begin = i;
  while (i < text.size() && std::string_view("=!<>").find(text[i]) != std::string_view::npos) ++i;
  const std::string_view op = text.substr(op_begin, i - op_begin);
  if (op == "=" || op == "==") {
    clause.op = CompareOp::kEq;
  } else if (op == "!=" || op == "<>") {
    clause.op = CompareOp::kNe;
  } else if (op == "<") {
    clause.op = CompareOp::kLt;
  } else if (op == "<=") {
    clause.op = CompareOp::kLe;
  } else if (op == ">") {
    clause.op = CompareOp::kGt;
  } else if (op == ">=") {
    clause.op = CompareOp::kGe;
  } else {
    bad(text, "expected one of =, !=, <, <=, >, >= after '" + std::string(clause.name) + "'" +
                  (op.empty() ? "" : ", got '" + std::string(op) + "'"));
  }

  skip_space();
  std::string_view rest = text.substr(i);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
    rest.remove_suffix(1);
  if (rest.empty()) bad(text, "expected a value after '" + std::string(op) + "'");
  if (rest.front() == '\'' || rest.front() == '"') {
    const char quote = rest.front();
    if (rest.size() < 2 || rest.back() != quote)
      bad(text, std::string("unterminated string: a value that starts with ") + quote +
                    " must end with it");
    const std::string_view inner = rest.substr(1, rest.size() - 2);
    if (inner.find(quote) != std::string_view::npos)
      bad(text, "a quoted value cannot contain its own quote character");
    clause.literal = std::string(inner);
  } else if (rest == "true" || rest == "false") {
    clause.literal = rest == "true";
  } else if (auto number = parse_number(rest)) {
    clause.literal = *number;
  } else {
    if (std::any_of(rest.begin(), rest.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
      bad(text, "a value with spaces must be quoted ('...'); one expression per --where");
    if (std::string_view("=!<>").find(rest.front()) != std::string_view::npos)
      bad(text, "unknown operator '" + std::string(op) + std::string(1, rest.front()) + "'");
    clause.literal = std::string(rest);
  }
  return clause;
}

void resolve_where(WhereClause& clause, const SearchSpace& space,
                   const std::vector<std::string>& metric_names) {
  std::vector<std::string> param_names;
  for (const Parameter& p : space.parameters()) param_names.push_back(p.name);
  using Field = WhereClause::Field;
  const std::string& name = clause.name;
  bool found = true;
  if (clause.prefix == Field::kParam) {
    clause.field = Field::kParam;
    found = contains(param_names, name);
  } else if (clause.prefix == Field::kMetric) {
    clause.field = Field::kMetric;
    found = contains(metric_names, name);
  } else if (contains(param_names, name)) {
    clause.field = Field::kParam;
  } else if (name == "value") {
    clause.field = Field::kValue;
  } else if (name == "number") {
    clause.field = Field::kNumber;
  } else if (name == "duration") {
    clause.field = Field::kDuration;
  } else if (name == "attempt") {
    clause.field = Field::kAttempt;
  } else if (contains(metric_names, name)) {
    clause.field = Field::kMetric;
  } else {
    found = false;
  }
  if (!found) {
    std::vector<std::string> candidates = param_names;
    for (const char* b : {"value", "number", "duration", "attempt"}) candidates.emplace_back(b);
    candidates.insert(candidates.end(), metric_names.begin(), metric_names.end());
    std::string known;
    for (const auto& p : param_names) known += (known.empty() ? "" : ", ") + p;
    bad(clause.text, "no parameter or field '" + name + "'" + did_you_mean(name, candidates) +
                         " (parameters: " + (known.empty() ? "none" : known) +
                         "; fields: value, number, duration, attempt, or a metric name)");
  }
  const bool ordering = clause.op != CompareOp::kEq && clause.op != CompareOp::kNe;
  if (ordering && clause.literal.is_bool())
    bad(clause.text,
        std::string("'") + to_string(clause.op) + "' compares numbers or strings, not true/false");
  if (clause.field == Field::kParam) {
    check_against(clause, *space.find(name));
  } else if (!clause.literal.is_number()) {
    bad(clause.text, "'" + name + "' is a number; compare it with a number");
  }
}

bool WhereClause::matches(const Trial& trial) const {
  std::optional<ParamValue> actual;
  switch (field) {
    case Field::kParam: {
      auto it = trial.params.find(name);
      if (it != trial.params.end()) actual = it->second;
      break;
    }
    case Field::kValue:
      if (trial.value) actual = *trial.value;
      break;
    case Field::kNumber:
      actual = trial.number;
      break;
    case Field::kDuration:
      if (auto d = trial.duration_s()) actual = *d;
      break;
    case Field::kAttempt:
      actual = trial.attempt;
      break;
    case Field::kMetric: {
      auto it = trial.metrics.find(name);
      if (it != trial.metrics.end() && !std::isnan(it->second)) actual = it->second;
      break;
    }
  }
  if (!actual) return false;
  if (auto c = compare(*actual, literal)) return holds(op, *c);
  // Different kinds: = and != compare the text forms (same_value); ordering does not apply.
  if (op != CompareOp::kEq && op != CompareOp::kNe) return false;
  const bool equal = same_value(*actual, literal);
  return op == CompareOp::kEq ? equal : !equal;
}

std::optional<TrialSort> parse_trial_sort(std::string_view text) {
  if (text == "number") return TrialSort::kNumber;
  if (text == "value") return TrialSort::kValue;
  if (text == "duration") return TrialSort::kDuration;
  return std::nullopt;
}

std::vector<Trial> TrialFilter::apply(std::vector<Trial> trials, Direction direction) const {
  std::erase_if(trials, [&](const Trial& t) {
    if (state && t.state != *state) return true;
    return !std::all_of(where.begin(), where.end(),
                        [&](const WhereClause& w) { return w.matches(t); });
  });
  auto before = [&](const Trial& a, const Trial& b) {
    switch (sort) {
      case TrialSort::kNumber:
        return a.number < b.number;
      case TrialSort::kValue:
        if (a.value && b.value) return is_better(direction, *a.value, *b.value);
        return a.value.has_value() && !b.value.has_value();
      case TrialSort::kDuration: {
        const auto da = a.duration_s();
        const auto db = b.duration_s();
        if (da && db) return *da > *db;
        return da.has_value() && !db.has_value();
      }
    }
    return false;
  };
  std::sort(trials.begin(), trials.end(),
            [](const Trial& a, const Trial& b) { return a.number < b.number; });
  std::stable_sort(trials.begin(), trials.end(), before);
  if (reverse) std::reverse(trials.begin(), trials.end());
  if (limit && trials.size() > *limit) trials.resize(*limit);
  return trials;
}

}  // namespace hpo
