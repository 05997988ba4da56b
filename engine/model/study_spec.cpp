#include "engine/model/study_spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <system_error>

#include "engine/model/file_io.h"
#include "engine/model/json_codec.h"
#include "engine/model/spec_checker.h"
#include "engine/model/json_codec.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;
using Json = OrderedJson;

const std::vector<std::string> kTopLevelKeys = {"name",    "direction",   "objective",
                                                "space",   "sampler",     "pruner",
                                                "budget",  "parallelism", "executor",
                                                "storage", "objectives", "constraints",
                                                "reference_point"};
// A pruner's patience counts reports; beyond this it could never act.
constexpr std::int64_t kMaxPatience = 1000000000;
const std::vector<std::string> kParamTypes = {"float", "int", "categorical"};
const std::vector<std::string> kNumericParamKeys = {"type", "low", "high", "log", "step", "when"};
const std::vector<std::string> kCategoricalParamKeys = {"type", "choices", "when"};
const std::vector<std::string> kAnyParamKeys = {"type", "low",     "high", "log",
                                                "step", "choices", "when"};
const std::vector<std::string> kBudgetKeys = {"trials", "timeout", "max_failed_trials",
                                              "fail_fast"};
const std::vector<std::string> kObjectiveKeys = {"metric", "intermediate_metric", "strategy",
                                                 "goal"};

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxParamNameLength = 128;
// A categorical choice is passed on a command line and in the environment of every trial.
constexpr std::size_t kMaxChoiceBytes = 4096;
// Grid indexes are integers held exactly by a double.
constexpr double kMaxGridPoints = 9007199254740992.0;  // 2^53
// A spec of a megabyte is already absurd; anything larger is not one.
constexpr std::size_t kMaxSpecBytes = 4 << 20;
constexpr std::int64_t kMaxRetries = INT_MAX;
// Int bounds must convert to double exactly: samplers work on doubles.
constexpr std::int64_t kMaxExactInt = std::int64_t{1} << 53;

std::string json_quote(std::string_view s) { return Json(std::string(s)).dump(); }

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// [A-Za-z0-9._-]+
bool is_study_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// [A-Za-z_][A-Za-z0-9_./-]*
bool is_metric_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
           c == '-';
  });
}

bool is_scalar(const Json& v) { return v.is_string() || v.is_number() || v.is_boolean(); }

// "one of \"rbf\", \"poly\"", "an integer in [2, 5]", "a number in [0.001, 1] (step 0.1)".
std::string domain_text(const Distribution& d) {
  if (d.type == ParamType::kCategorical) {
    std::string out = "one of ";
    for (std::size_t i = 0; i < d.choices.size(); ++i)
      out += (i > 0 ? ", " : "") + to_json(d.choices[i]).dump();
    return out;
  }
  std::string out;
  if (d.type == ParamType::kInt) {
    out = "an integer in [" + std::to_string(static_cast<std::int64_t>(d.low)) + ", " +
          std::to_string(static_cast<std::int64_t>(d.high)) + "]";
  } else {
    out = "a number in [" + format_double(d.low) + ", " + format_double(d.high) + "]";
  }
  if (d.step) out += " (step " + format_double(*d.step) + ")";
  return out;
}

fs::path absolute_dir(const fs::path& dir) {
  fs::path p = dir.empty() ? fs::current_path() : fs::absolute(dir);
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // drop a trailing '/'
  return p;
}

fs::path resolve(const fs::path& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal();
}

// ---------------------------------------------------------------------------------------------
// JSON text -> document, with syntax errors placed by line and column and duplicate keys found.

// Thrown by the parse callback when a document nests too deep.
struct TooDeep {
  std::string path;
};

// Where the parser is in the document, so a duplicate key can be named by its path.
struct ParseFrame {
  bool is_array = false;
  std::string path;
  std::string key;        // current member (objects)
  std::size_t index = 0;  // current element (arrays)
  std::set<std::string> keys;
};

// "syntax error while parsing object separator - unexpected number literal; expected ':'"
// -> "syntax error: unexpected number literal; expected ':'".
std::string syntax_message(const std::string& what) {
  static constexpr std::string_view kSyntax = "syntax error while parsing ";
  const auto at = what.find(kSyntax);
  if (at != std::string::npos) {
    const auto dash = what.find(" - ", at);
    if (dash != std::string::npos) return "syntax error: " + what.substr(dash + 3);
    return what.substr(at);
  }
  // "[json.exception.parse_error.N] parse error at line L, column C: message"
  const auto colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

std::string located(const std::string& origin, std::string_view text, std::size_t offset,
                    const std::string& message) {
  const TextPosition pos = position_of(text, offset);
  return origin + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " +
         message;
}

std::optional<Json> parse_document(std::string_view text, const std::string& origin,
                                   SpecChecker& checker) {
  std::vector<ParseFrame> stack;
  auto next_path = [&]() -> std::string {
    if (stack.empty()) return "";
    const ParseFrame& top = stack.back();
    return top.is_array ? element_path(top.path, top.index) : member_path(top.path, top.key);
  };
  auto finish_value = [&] {
    if (!stack.empty() && stack.back().is_array) ++stack.back().index;
  };
  Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: {
        // Deeper documents are no spec (and paths would cost quadratic memory): stop here.
        if (stack.size() >= static_cast<std::size_t>(kMaxJsonDepth))
          throw TooDeep{next_path().empty() ? std::string("the document") : next_path()};
        ParseFrame frame;
        frame.is_array = event == Json::parse_event_t::array_start;
        frame.path = next_path();
        stack.push_back(std::move(frame));
        break;
      }
      case Json::parse_event_t::key: {
        ParseFrame& top = stack.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          checker.add(top.path, "duplicate key " + json_quote(top.key));
        break;
      }
      case Json::parse_event_t::value:
        finish_value();
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        stack.pop_back();
        finish_value();
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.data(), text.data() + text.size(), callback);
  } catch (const TooDeep& e) {
    checker.add(e.path, "is nested deeper than " + std::to_string(kMaxJsonDepth) +
                            " levels (the limit for a spec)");
  } catch (const Json::parse_error& e) {
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    checker.add("", located(origin, text, offset, syntax_message(e.what())));
  } catch (const Json::exception& e) {
    // Number overflow (1e400) carries no position; find the literal it names.
    std::string what = e.what();
    const auto open = what.find('\'');
    const auto close = what.rfind('\'');
    if (open != std::string::npos && close > open) {
      const std::string literal = what.substr(open + 1, close - open - 1);
      const auto at = text.find(literal);
      if (at != std::string_view::npos) {
        checker.add("", located(origin, text, at, "number out of range: " + literal));
        return std::nullopt;
      }
    }
    checker.add("", origin + ": " + syntax_message(what));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Document -> StudySpec.

// One entry of "space" while it is being checked, before the parameters are ordered.
struct ParamDraft {
  std::string name;
  std::string path;
  const Json* definition = nullptr;
  std::optional<Distribution> distribution;  // nullopt when invalid
  Condition when;
  std::vector<std::size_t> parents;  // indexes into the drafts
};

class SpecParser {
 public:
  SpecParser(SpecChecker& checker, fs::path base_dir, const ComponentCatalog& catalog,
             const SpecParseOptions& options)
      : c_(checker), base_dir_(std::move(base_dir)), catalog_(catalog), options_(options) {}

  void parse(const Json& doc, StudySpec& spec) {
    if (!doc.is_object()) {
      c_.add("", "a study spec must be a JSON object, got " + describe(doc));
      return;
    }
    c_.reject_unknown_keys(doc, "", kTopLevelKeys);
    parse_name(c_.required(doc, "", "name"), spec);
    if (const Json* list = SpecChecker::member(doc, "objectives")) {
      parse_objectives(*list, SpecChecker::member(doc, "objective"), spec);
      if (SpecChecker::member(doc, "direction") != nullptr)
        c_.add("direction", "give either \"objectives\" or \"direction\" with \"objective\", not "
                            "both (each objective has its own direction)");
    } else {
      if (const Json* d = c_.required(doc, "", "direction")) {
        if (auto v = c_.get_enum(*d, "direction", {"minimize", "maximize"}))
          spec.direction = *parse_direction(*v);
      }
      parse_objective(c_.required(doc, "", "objective"), spec);
      spec.objectives = {ObjectiveSpec{spec.metric, spec.direction}};
    }
    parse_constraints(SpecChecker::member(doc, "constraints"), spec);
    parse_reference_point(SpecChecker::member(doc, "reference_point"), spec);
    parse_space(c_.required(doc, "", "space"), spec);
    parse_sampler(SpecChecker::member(doc, "sampler"), spec);
    parse_pruner(SpecChecker::member(doc, "pruner"), spec);
    parse_budget(SpecChecker::member(doc, "budget"), spec);
    if (const Json* p = SpecChecker::member(doc, "parallelism")) {
      if (auto v = c_.get_int(*p, "parallelism", 1, kMaxParallelism))
        spec.parallelism = static_cast<int>(*v);
    }
    parse_executor(SpecChecker::member(doc, "executor"), spec);
    if (const Json* s = SpecChecker::member(doc, "storage")) {
      if (auto v = non_empty_string(*s, "storage")) spec.storage = resolve(base_dir_, *v);
    }
    check_components(spec);
  }

 private:
  std::optional<std::string> non_empty_string(const Json& v, const std::string& path) {
    auto s = c_.get_string(v, path);
    if (s && s->empty()) {
      c_.add(path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  void parse_name(const Json* v, StudySpec& spec) {
    if (v == nullptr) return;
    auto name = c_.get_string(*v, "name");
    if (!name) return;
    if (name->empty()) {
      c_.add("name", "must not be empty");
    } else if (name->size() > kMaxNameLength) {
      c_.add("name", "must be at most " + std::to_string(kMaxNameLength) + " characters long (" +
                         std::to_string(name->size()) + " given)");
    } else if (!is_study_name(*name)) {
      c_.add("name", "may contain only letters, digits, '.', '_' and '-', got " + describe(*v));
    } else {
      spec.name = *name;
    }
  }

  void parse_objective(const Json* v, StudySpec& spec) {
    if (v == nullptr || !c_.expect_object(*v, "objective")) return;
    c_.reject_unknown_keys(*v, "objective", kObjectiveKeys);
    if (const Json* m = c_.required(*v, "objective", "metric")) {
      if (auto metric = metric_name(*m, "objective.metric")) spec.metric = *metric;
    }
    if (const Json* m = SpecChecker::member(*v, "intermediate_metric")) {
      if (auto metric = metric_name(*m, "objective.intermediate_metric"))
        spec.intermediate_metric = *metric;
    }
    if (const Json* s = SpecChecker::member(*v, "strategy")) {
      if (auto name = c_.get_enum(*s, "objective.strategy", {"latest", "best"}))
        spec.strategy = *name == "best" ? ValueStrategy::kBest : ValueStrategy::kLatest;
    }
    // The stored curve is of the judged metric: "best" picks from it only when it is the
    // objective metric's.
    if (spec.strategy == ValueStrategy::kBest && !spec.intermediate_metric.empty() &&
        spec.intermediate_metric != spec.metric)
      c_.add("objective.strategy",
             "\"best\" picks the best intermediate value of objective.metric, but the stored "
             "curve is of objective.intermediate_metric \"" +
                 spec.intermediate_metric + "\": drop one of the two");
    if (const Json* g = SpecChecker::member(*v, "goal"))
      spec.goal = c_.get_number(*g, "objective.goal");
  }

  // The multi-objective form: "objectives" (and "objective" holding only intermediate_metric).
  void parse_objectives(const Json& list, const Json* objective, StudySpec& spec) {
    const std::string path = "objectives";
    if (!c_.expect_array(list, path)) return;
    if (list.empty()) c_.add(path, "must list at least one objective");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = element_path(path, i);
      if (!c_.expect_object(list[i], at)) continue;
      c_.reject_unknown_keys(list[i], at, {"metric", "direction"});
      ObjectiveSpec o;
      bool ok = true;
      if (const Json* m = c_.required(list[i], at, "metric")) {
        if (auto metric = metric_name(*m, at + ".metric")) o.metric = *metric;
        else ok = false;
      } else {
        ok = false;
      }
      if (const Json* d = c_.required(list[i], at, "direction")) {
        if (auto v = c_.get_enum(*d, at + ".direction", {"minimize", "maximize"}))
          o.direction = *parse_direction(*v);
        else ok = false;
      } else {
        ok = false;
      }
      if (!ok) continue;
      for (const ObjectiveSpec& before : spec.objectives)
        if (before.metric == o.metric)
          c_.add(at + ".metric", "\"" + o.metric + "\" is already an objective");
      spec.objectives.push_back(o);
    }
    if (!spec.objectives.empty()) {
      spec.metric = spec.objectives.front().metric;
      spec.direction = spec.objectives.front().direction;
    }
    if (objective == nullptr || !c_.expect_object(*objective, "objective")) return;
    c_.reject_unknown_keys(*objective, "objective", {"metric", "intermediate_metric"});
    if (SpecChecker::member(*objective, "metric") != nullptr)
      c_.add("objective.metric", "give either \"objectives\" or \"objective.metric\", not both");
    if (const Json* m = SpecChecker::member(*objective, "intermediate_metric")) {
      if (auto metric = metric_name(*m, "objective.intermediate_metric")) {
        bool found = false;
        for (const ObjectiveSpec& o : spec.objectives) {
          if (o.metric != *metric) continue;
          found = true;
          spec.direction = o.direction;  // the pruners judge it in its own direction
        }
        if (found) {
          spec.intermediate_metric = *metric;
        } else {
          c_.add("objective.intermediate_metric",
                 "in a study with \"objectives\" must name one of them (the pruner judges it in "
                 "that objective's direction), got \"" + *metric + "\"");
        }
      }
    }
  }

  void parse_constraints(const Json* list, StudySpec& spec) {
    const std::string path = "constraints";
    if (list == nullptr || !c_.expect_array(*list, path)) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string at = element_path(path, i);
      const Json& item = (*list)[i];
      if (!c_.expect_object(item, at)) continue;
      c_.reject_unknown_keys(item, at, {"metric", "min", "max"});
      ConstraintSpec cs;
      if (const Json* m = c_.required(item, at, "metric")) {
        if (auto metric = metric_name(*m, at + ".metric")) cs.metric = *metric;
      }
      if (const Json* m = SpecChecker::member(item, "min")) cs.min = c_.get_number(*m, at + ".min");
      if (const Json* m = SpecChecker::member(item, "max")) cs.max = c_.get_number(*m, at + ".max");
      if (SpecChecker::member(item, "min") == nullptr && SpecChecker::member(item, "max") == nullptr)
        c_.add(at, "needs \"max\", \"min\" or both (the bounds the metric must stay within)");
      if (cs.min && cs.max && *cs.min > *cs.max)
        c_.add(at + ".min", "is above max (" + format_double(*cs.min) + " > " +
                                format_double(*cs.max) + "): no trial could be feasible");
      spec.constraints.push_back(cs);
    }
  }

  void parse_reference_point(const Json* v, StudySpec& spec) {
    const std::string path = "reference_point";
    if (v == nullptr || !c_.expect_array(*v, path)) return;
    if (!spec.multi_objective()) {
      c_.add(path, "applies to a study with several \"objectives\" (the hypervolume's corner)");
      return;
    }
    if (v->size() != spec.objectives.size()) {
      c_.add(path, "must hold one number per objective (" +
                       std::to_string(spec.objectives.size()) + "), got " +
                       std::to_string(v->size()));
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i)
      if (auto x = c_.get_number((*v)[i], element_path(path, i))) spec.reference_point.push_back(*x);
  }

  std::optional<std::string> metric_name(const Json& m, const std::string& path) {
    auto metric = c_.get_string(m, path);
    if (!metric) return std::nullopt;
    if (!is_metric_name(*metric)) {
      c_.add(path,
             "must be a metric name (a letter or '_', then letters, digits, '_', '.', '/' or "
             "'-'), got " +
                 describe(m));
      return std::nullopt;
    }
    return metric;
  }

  // --- space ---------------------------------------------------------------------------------

  void parse_space(const Json* v, StudySpec& spec) {
    const std::string path = "space";
    if (v == nullptr || !c_.expect_object(*v, path)) return;
    if (v->empty()) {
      c_.add(path, "must define at least one parameter");
      return;
    }
    const std::size_t issues_before = c_.issue_count();
    std::vector<ParamDraft> drafts;
    std::map<std::string, std::string> by_env_name;  // HPO_PARAM_<NAME> must be unique
    for (const auto& [name, definition] : v->items()) {
      ParamDraft d;
      d.name = name;
      d.path = member_path(path, name);
      d.definition = &definition;
      if (!is_identifier(name)) {
        c_.add(d.path,
               "invalid parameter name: use letters, digits and '_', not starting with a digit "
               "(it becomes the environment variable HPO_PARAM_<NAME>)");
      } else if (name.size() > kMaxParamNameLength) {
        c_.add(d.path, "parameter name is " + std::to_string(name.size()) +
                           " characters long; at most " + std::to_string(kMaxParamNameLength) +
                           " (it becomes an environment variable and a command-line argument)");
      } else if (auto [it, inserted] = by_env_name.emplace(upper(name), name); !inserted) {
        c_.add(d.path, "clashes with parameter " + json_quote(it->second) +
                           ": both become the environment variable HPO_PARAM_" + it->first);
      }
      d.distribution = parse_distribution(definition, d.path);
      param_names_.push_back(name);
      drafts.push_back(std::move(d));
    }
    space_known_ = true;

    for (std::size_t i = 0; i < drafts.size(); ++i) {
      if (const Json* w = SpecChecker::member(*drafts[i].definition, "when"))
        parse_condition(drafts, i, *w);
    }
    report_cycles(drafts);
    if (c_.issue_count() != issues_before) return;
    for (std::size_t i : parents_first_order(drafts)) {
      spec.space.add(Parameter{drafts[i].name, *drafts[i].distribution, drafts[i].when});
    }
  }

  std::optional<Distribution> parse_distribution(const Json& def, const std::string& path) {
    if (!c_.expect_object(def, path)) return std::nullopt;
    const std::size_t issues_before = c_.issue_count();
    std::optional<std::string> type;
    if (const Json* t = c_.required(def, path, "type"))
      type = c_.get_enum(*t, member_path(path, "type"), kParamTypes);
    std::optional<Distribution> d;
    if (!type) {
      c_.reject_unknown_keys(def, path, kAnyParamKeys);
    } else if (*type == "float") {
      c_.reject_unknown_keys(def, path, kNumericParamKeys);
      d = parse_float(def, path);
    } else if (*type == "int") {
      c_.reject_unknown_keys(def, path, kNumericParamKeys);
      d = parse_int(def, path);
    } else {
      c_.reject_unknown_keys(def, path, kCategoricalParamKeys);
      d = parse_categorical(def, path);
    }
    if (c_.issue_count() != issues_before) return std::nullopt;
    return d;
  }

  std::optional<bool> optional_bool(const Json& obj, const std::string& path,
                                    std::string_view key) {
    const Json* m = SpecChecker::member(obj, key);
    if (m == nullptr) return false;
    return c_.get_bool(*m, member_path(path, key));
  }

  std::optional<Distribution> parse_float(const Json& def, const std::string& path) {
    std::optional<double> low, high, step;
    if (const Json* m = c_.required(def, path, "low")) low = c_.get_number(*m, path + ".low");
    if (const Json* m = c_.required(def, path, "high")) high = c_.get_number(*m, path + ".high");
    const std::optional<bool> log = optional_bool(def, path, "log");
    const Json* step_json = SpecChecker::member(def, "step");
    if (step_json != nullptr) step = c_.get_number(*step_json, path + ".step");
    if (!low || !high || !log || (step_json != nullptr && !step)) return std::nullopt;

    bool ok = true;
    if (!(*low < *high)) {
      c_.add(path + ".high", "must be greater than low (" + format_double(*low) + ")");
      ok = false;
    } else if (!std::isfinite(*high - *low)) {
      // Samplers work on the width: it must be a double too.
      c_.add(path, "the range [" + format_double(*low) + ", " + format_double(*high) +
                       "] is too wide: high - low must be a finite double");
      ok = false;
    } else if (!*log && !std::isnormal(*high - *low)) {
      c_.add(path, "the range [" + format_double(*low) + ", " + format_double(*high) +
                       "] is too narrow to sample (its width is below the smallest normal "
                       "double)");
      ok = false;
    }
    if (*log && *low <= 0) {
      c_.add(path + ".low", "must be > 0 when log is true");
      ok = false;
    }
    if (step) {
      if (*step <= 0) {
        c_.add(path + ".step", "must be > 0, got " + format_double(*step));
        ok = false;
      } else if (*log) {
        c_.add(path + ".step",
               "cannot be combined with log (a stepped range is searched "
               "linearly)");
        ok = false;
      } else if (*low<*high&& * step> * high - *low) {
        c_.add(path + ".step", "must be <= high - low (" + format_double(*high - *low) + ")");
        ok = false;
      } else if (ok && (*high - *low) / *step > kMaxGridPoints) {
        // Grid points are counted and indexed as integers.
        c_.add(path + ".step", "gives " + format_double(std::floor((*high - *low) / *step) + 1) +
                                   " grid points over [" + format_double(*low) + ", " +
                                   format_double(*high) + "]; at most 2^53 fit");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return Distribution::float_range(*low, *high, *log, step);
  }

  std::optional<Distribution> parse_int(const Json& def, const std::string& path) {
    std::optional<std::int64_t> low, high, step;
    if (const Json* m = c_.required(def, path, "low"))
      low = c_.get_int(*m, path + ".low", -kMaxExactInt, kMaxExactInt);
    if (const Json* m = c_.required(def, path, "high"))
      high = c_.get_int(*m, path + ".high", -kMaxExactInt, kMaxExactInt);
    const std::optional<bool> log = optional_bool(def, path, "log");
    const Json* step_json = SpecChecker::member(def, "step");
    if (step_json != nullptr) step = c_.get_int(*step_json, path + ".step", 1);
    if (!low || !high || !log || (step_json != nullptr && !step)) return std::nullopt;

    bool ok = true;
    if (*low > *high) {
      c_.add(path + ".high", "must be >= low (" + std::to_string(*low) + ")");
      ok = false;
    }
    if (*log && *low < 1) {
      c_.add(path + ".low", "must be >= 1 when log is true");
      ok = false;
    }
    // step 1 is the default, so writing it next to log changes nothing (Optuna allows it too).
    if (*log && step && *step != 1) {
      c_.add(path + ".step",
             "cannot be combined with log (a stepped range is searched "
             "linearly)");
      ok = false;
    }
    if (!ok) return std::nullopt;
    return Distribution::int_range(*low, *high, *log, step.value_or(1));
  }

  std::optional<Distribution> parse_categorical(const Json& def, const std::string& path) {
    const Json* choices = c_.required(def, path, "choices");
    const std::string cpath = path + ".choices";
    if (choices == nullptr || !c_.expect_array(*choices, cpath)) return std::nullopt;
    if (choices->empty()) {
      c_.add(cpath, "must list at least one choice");
      return std::nullopt;
    }
    std::vector<ParamValue> values;
    bool ok = true;
    for (std::size_t i = 0; i < choices->size(); ++i) {
      const Json& choice = (*choices)[i];
      const std::string epath = element_path(cpath, i);
      if (!is_scalar(choice)) {
        c_.add(epath, "must be a string, number or boolean, got " + describe(choice));
        ok = false;
        continue;
      }
      if (choice.is_string() && choice.get_ref<const std::string&>().size() > kMaxChoiceBytes) {
        c_.add(epath, "is " + std::to_string(choice.get_ref<const std::string&>().size()) +
                          " bytes long; a choice may have at most " +
                          std::to_string(kMaxChoiceBytes) +
                          " (it is passed on every trial's command line)");
        ok = false;
        continue;
      }
      ParamValue value = param_from_json(choice);
      auto dup = std::find(values.begin(), values.end(), value);
      if (dup != values.end()) {
        c_.add(epath, "duplicate choice " + choice.dump() + " (same as " +
                          element_path("choices", static_cast<std::size_t>(dup - values.begin())) +
                          ")");
        ok = false;
      }
      values.push_back(std::move(value));
    }
    if (!ok) return std::nullopt;
    return Distribution::categorical(std::move(values));
  }

  void parse_condition(std::vector<ParamDraft>& drafts, std::size_t i, const Json& when) {
    ParamDraft& d = drafts[i];
    const std::string path = d.path + ".when";
    if (!c_.expect_object(when, path)) return;
    if (when.empty()) {
      c_.add(path, "must name at least one parent parameter");
      return;
    }
    for (const auto& item : when.items()) {
      // Named, not structured bindings: lambdas below capture them.
      const std::string& parent = item.key();
      const Json& values = item.value();
      const std::string ppath = member_path(path, parent);
      if (parent == d.name) {
        c_.add(ppath, "a parameter cannot be conditional on itself");
        continue;
      }
      auto it = std::find_if(drafts.begin(), drafts.end(),
                             [&](const ParamDraft& p) { return p.name == parent; });
      if (it == drafts.end()) {
        c_.add(ppath,
               "unknown parameter " + json_quote(parent) + did_you_mean(parent, param_names_));
        continue;
      }
      const std::optional<Distribution>& parent_dist = it->distribution;
      std::vector<ParamValue> accepted;
      auto check_value = [&](const Json& value, const std::string& vpath) {
        if (!is_scalar(value)) {
          c_.add(vpath, "must be a value of " + json_quote(parent) +
                            " (a string, number or boolean, or an array of them), got " +
                            describe(value));
          return;
        }
        ParamValue pv = param_from_json(value);
        if (parent_dist && !parent_dist->contains(pv)) {
          c_.add(vpath, value.dump() + " is not a possible value of " + json_quote(parent) + " (" +
                            domain_text(*parent_dist) + ")");
          return;
        }
        accepted.push_back(std::move(pv));
      };
      if (values.is_array()) {
        if (values.empty()) c_.add(ppath, "must list at least one value of " + json_quote(parent));
        for (std::size_t k = 0; k < values.size(); ++k)
          check_value(values[k], element_path(ppath, k));
      } else {
        check_value(values, ppath);
      }
      d.when.parents[parent] = std::move(accepted);
      d.parents.push_back(static_cast<std::size_t>(it - drafts.begin()));
    }
  }

  // Reports each loop of conditions once ("a -> b -> a": a is conditional on b, b on a).
  void report_cycles(const std::vector<ParamDraft>& drafts) {
    enum class Mark { kNew, kOnStack, kDone };
    std::vector<Mark> mark(drafts.size(), Mark::kNew);
    std::vector<std::size_t> stack;
    std::function<void(std::size_t)> visit = [&](std::size_t u) {
      mark[u] = Mark::kOnStack;
      stack.push_back(u);
      for (std::size_t p : drafts[u].parents) {
        if (mark[p] == Mark::kOnStack) {
          auto from = std::find(stack.begin(), stack.end(), p);
          std::string loop;
          for (auto k = from; k != stack.end(); ++k) loop += drafts[*k].name + " -> ";
          loop += drafts[p].name;
          c_.add(drafts[p].path + ".when", "circular condition: " + loop);
        } else if (mark[p] == Mark::kNew) {
          visit(p);
        }
      }
      stack.pop_back();
      mark[u] = Mark::kDone;
    };
    for (std::size_t i = 0; i < drafts.size(); ++i)
      if (mark[i] == Mark::kNew) visit(i);
  }

  // Parents before children; otherwise by name. The order does not depend on how the JSON
  // document orders its keys, so a spec read back from storage (where keys come back sorted)
  // gives samplers exactly the same space as the file did. REQUIRES: no cycles.
  static std::vector<std::size_t> parents_first_order(const std::vector<ParamDraft>& drafts) {
    std::vector<std::size_t> order;
    std::vector<bool> placed(drafts.size(), false);
    while (order.size() < drafts.size()) {
      std::optional<std::size_t> next;
      for (std::size_t i = 0; i < drafts.size(); ++i) {
        if (placed[i]) continue;
        const auto& parents = drafts[i].parents;
        if (!std::all_of(parents.begin(), parents.end(), [&](std::size_t p) { return placed[p]; }))
          continue;
        if (!next || drafts[i].name < drafts[*next].name) next = i;
      }
      placed[*next] = true;
      order.push_back(*next);
    }
    return order;
  }

  // --- components --------------------------------------------------------------------------

  // The generic keys of a component block; its own keys wait for check_components(), when
  // the rest of the spec is known.
  const ComponentInfo* parse_component_name(const Json& block, ComponentKind kind,
                                            const std::string& default_name, std::string& name) {
    const std::string path = to_string(kind);
    name = default_name;
    if (const Json* n = SpecChecker::member(block, name_key(kind))) {
      auto given = c_.get_enum(*n, member_path(path, name_key(kind)), catalog_.names(kind));
      if (!given) return nullptr;  // the options of an unknown component cannot be checked
      name = *given;
    }
    const ComponentInfo* info = catalog_.find(kind, name);
    if (info == nullptr) c_.add(path, "no " + path + " named " + json_quote(name) + " in this build");
    return info;
  }

  // The block of an optional component ("sampler", "pruner"): when absent, the default that
  // `component.name` holds; else the block is kept, its name read, and it is returned for the
  // generic keys the caller reads. nullptr when absent or not an object.
  template <typename ComponentSpec>
  const Json* parse_optional_component(const Json* v, ComponentKind kind,
                                       ComponentSpec& component, const ComponentInfo*& info,
                                       const Json*& json) {
    if (v == nullptr) {
      info = catalog_.find(kind, component.name);
      return nullptr;
    }
    if (!c_.expect_object(*v, to_string(kind))) return nullptr;
    component.block = *v;
    info = parse_component_name(*v, kind, component.name, component.name);
    json = v;
    return v;
  }

  void parse_sampler(const Json* block, StudySpec& spec) {
    const Json* v = parse_optional_component(block, ComponentKind::kSampler, spec.sampler,
                                             sampler_, sampler_json_);
    if (v == nullptr) return;
    if (const Json* s = SpecChecker::member(*v, "seed")) {
      if (auto seed = c_.get_uint64(*s, "sampler.seed")) spec.sampler.seed = *seed;
    }
  }

  void parse_pruner(const Json* block, StudySpec& spec) {
    const Json* v = parse_optional_component(block, ComponentKind::kPruner, spec.pruner, pruner_,
                                             pruner_json_);
    if (v == nullptr) return;
    if (const Json* p = SpecChecker::member(*v, "patience")) {
      if (auto n = c_.get_int(*p, "pruner.patience", 0, kMaxPatience))
        spec.pruner.patience = static_cast<int>(*n);
    }
    if (spec.multi_objective() && spec.intermediate_metric.empty() &&
        (spec.pruner.name != "none" || spec.pruner.patience))
      c_.add("pruner", "a study with several objectives cannot be pruned on all of them: name the "
                       "objective its step reports judge in \"objective\": "
                       "{\"intermediate_metric\": ...}, or remove \"pruner\"");
    // A pruner copied from another study may say which way it judges: it must be this one's.
    if (const Json* d = SpecChecker::member(*v, "direction")) {
      if (auto given = c_.get_enum(*d, "pruner.direction", {"minimize", "maximize"});
          given && *parse_direction(*given) != spec.direction)
        c_.add("pruner.direction", "is " + json_quote(*given) + " but the study's direction is " +
                                       json_quote(to_string(spec.direction)) +
                                       " (leave it out: a pruner judges in the study's direction)");
    }
  }

  void parse_budget(const Json* v, StudySpec& spec) {
    const std::string path = "budget";
    if (v == nullptr || !c_.expect_object(*v, path)) return;
    c_.reject_unknown_keys(*v, path, kBudgetKeys);
    if (const Json* m = SpecChecker::member(*v, "trials")) {
      if (auto n = c_.get_int(*m, "budget.trials", 1, INT_MAX))
        spec.budget.trials = static_cast<int>(*n);
    }
    if (const Json* m = SpecChecker::member(*v, "timeout"))
      spec.budget.timeout = c_.get_duration(*m, "budget.timeout", /*allow_zero=*/false);
    if (const Json* m = SpecChecker::member(*v, "max_failed_trials")) {
      if (auto n = c_.get_int(*m, "budget.max_failed_trials", 0, INT_MAX))
        spec.budget.max_failed_trials = static_cast<int>(*n);
    }
    if (const Json* m = SpecChecker::member(*v, "fail_fast")) {
      if (auto n = c_.get_int(*m, "budget.fail_fast", 0, INT_MAX))
        spec.budget.fail_fast = static_cast<int>(*n);
    }
  }

  void parse_executor(const Json* v, StudySpec& spec) {
    const std::string path = "executor";
    if (v == nullptr) {
      if (options_.require_executor) c_.add("executor", "is required");
      return;
    }
    if (!c_.expect_object(*v, path)) return;
    ExecutorSpec ex;
    ex.block = *v;
    executor_ = parse_component_name(*v, ComponentKind::kExecutor, ex.kind, ex.kind);
    executor_json_ = v;
    if (const Json* m = SpecChecker::member(*v, "timeout"))
      ex.timeout = c_.get_duration(*m, "executor.timeout", /*allow_zero=*/false);
    if (const Json* m = SpecChecker::member(*v, "kill_grace")) {
      if (auto d = c_.get_duration(*m, path + ".kill_grace", /*allow_zero=*/true))
        ex.kill_grace = *d;
    }
    if (const Json* m = SpecChecker::member(*v, "trials_dir")) {
      if (auto s = non_empty_string(*m, path + ".trials_dir"))
        ex.trials_dir = resolve(base_dir_, *s);
    }
    if (const Json* m = SpecChecker::member(*v, "retries")) {
      if (auto n = c_.get_int(*m, path + ".retries", 0, kMaxRetries))
        ex.retry.retries = static_cast<int>(*n);
    }
    if (const Json* m = SpecChecker::member(*v, "retry_on_exit_codes")) {
      const std::string rpath = path + ".retry_on_exit_codes";
      if (c_.expect_array(*m, rpath)) {
        for (std::size_t i = 0; i < m->size(); ++i)
          if (auto code = c_.get_int((*m)[i], element_path(rpath, i), 1, 255))
            ex.retry.retry_on_exit_codes.push_back(static_cast<int>(*code));
      }
    }
    spec.executor = std::move(ex);
  }

  // Each component checks its own keys, now that the space, the objective and the other
  // generic parts are known.
  void check_components(const StudySpec& spec) {
    check_component(ComponentKind::kSampler, sampler_, sampler_json_, spec);
    check_component(ComponentKind::kPruner, pruner_, pruner_json_, spec);
    check_component(ComponentKind::kExecutor, executor_, executor_json_, spec);
  }

  void check_component(ComponentKind kind, const ComponentInfo* info, const Json* block,
                       const StudySpec& spec) {
    if (info == nullptr || block == nullptr) return;
    const std::string path = to_string(kind);
    std::vector<std::string> allowed = generic_keys(kind);
    allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
    c_.reject_unknown_keys(*block, path, allowed);
    if (!info->check) return;
    ComponentBlock component{*block, path, spec, space_known_ ? &param_names_ : nullptr};
    info->check(component, c_);
  }

  SpecChecker& c_;
  const fs::path base_dir_;
  const ComponentCatalog& catalog_;
  const SpecParseOptions& options_;
  std::vector<std::string> param_names_;  // in spec order
  bool space_known_ = false;              // "space" was an object: names can be checked
  const ComponentInfo* sampler_ = nullptr;
  const Json* sampler_json_ = nullptr;
  const ComponentInfo* executor_ = nullptr;
  const Json* executor_json_ = nullptr;
  const ComponentInfo* pruner_ = nullptr;
  const Json* pruner_json_ = nullptr;
};

}  // namespace

StudySpec parse_study_spec(std::string_view text, const std::filesystem::path& base_dir,
                           const ComponentCatalog& catalog, const SpecParseOptions& options) {
  SpecChecker checker;
  std::optional<Json> doc = parse_document(text, options.origin, checker);
  if (!doc) throw InputError(checker.take());
  StudySpec spec;
  spec.base_dir = absolute_dir(base_dir);
  SpecParser(checker, spec.base_dir, catalog, options).parse(*doc, spec);
  checker.throw_if_any();
  spec.document = nlohmann::json(*doc);
  spec.warnings = checker.take_warnings();
  return spec;
}

const char* to_string(ValueStrategy strategy) {
  return strategy == ValueStrategy::kBest ? "best" : "latest";
}

StudySpec load_study_spec(const std::filesystem::path& path, const ComponentCatalog& catalog) {
  // A spec is a small regular file: a FIFO would hang the read, /dev/zero never end it.
  const FileText file = read_regular_file(path, kMaxSpecBytes, /*follow_symlinks=*/true);
  if (!file.ok()) throw InputError("cannot read spec file '" + path.string() + "': it " + file.error);
  SpecParseOptions options;
  options.origin = path.string();
  return parse_study_spec(file.text, path.parent_path(), catalog, options);
}

}  // namespace hpo
