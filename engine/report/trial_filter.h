// TrialFilter: which trials `hpo trials` lists and in what order: a state, where-expressions on
// parameters (and on value, number, duration, attempt or a metric), a sort key and a limit.
// Value types; thread-compatible.
//
// A where-expression is `NAME OP VALUE`:
//   NAME   a parameter; else `value`, `number`, `duration` (seconds), `attempt`; else a metric
//          the trials reported. `params.NAME` and `metrics.NAME` name a parameter or metric
//          explicitly (when a parameter is called "value", say).
//   OP     =  ==  !=  <  <=  >  >=
//   VALUE  a number (1e-3), true/false, a quoted string ('adam' or "adam"), or a bare word.
// Numbers compare as numbers (an int parameter equals 32 and 32.0), strings as text (< is
// byte order), booleans with = and != only; a quoted literal against a number or boolean
// compares the text forms with = and != ('batch = "32"'). A trial that lacks NAME (an inactive
// conditional parameter, a trial without value) matches no expression, not even !=, as NULL in
// SQL. An expression that could match no trial whatever the values is refused when resolved
// against the study's space: a float or int parameter against a non-number, a categorical one
// against a value that is none of its choices (= and !=) or that orders with none of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpo/param_value.h"
#include "hpo/search_space.h"
#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

const char* to_string(CompareOp op);  // "=", "!=", "<", "<=", ">", ">="

struct WhereClause {
  // What the comparison reads, once resolved against a study (resolve_where).
  enum class Field { kParam, kValue, kNumber, kDuration, kAttempt, kMetric };

  std::string text;             // the expression as written, for messages
  std::string name;             // NAME as written (without a params./metrics. prefix)
  std::optional<Field> prefix;  // kParam or kMetric when written with a prefix
  CompareOp op = CompareOp::kEq;
  ParamValue literal;           // a double, a bool or a string
  Field field = Field::kParam;  // set by resolve_where

  // True when `trial` has the field and the comparison holds. REQUIRES: resolved.
  bool matches(const Trial& trial) const;
};

// Parses one expression. Throws InputError on the path "--where" with a message that quotes
// the expression and says what was expected where.
WhereClause parse_where(std::string_view text);

// Decides what `clause.name` refers to, given the study's space (effective_space(): it holds
// every stored value) and the metric names its trials reported. Throws InputError ("--where")
// naming the expression and the names it could have meant when it matches none; when an
// ordering operator meets a boolean; when a field or float/int parameter meets a non-number;
// when a categorical parameter meets a value that is not one of its choices (listed).
void resolve_where(WhereClause& clause, const SearchSpace& space,
                   const std::vector<std::string>& metric_names);

enum class TrialSort {
  kNumber,    // ascending
  kValue,     // best first in the study's direction; trials without a value last
  kDuration,  // longest first; trials without a duration last
};

// "number" | "value" | "duration"; nullopt otherwise.
std::optional<TrialSort> parse_trial_sort(std::string_view text);

struct TrialFilter {
  std::optional<TrialState> state;
  std::vector<WhereClause> where;  // all must hold; resolved
  TrialSort sort = TrialSort::kNumber;
  bool reverse = false;  // reverses the order of `sort`
  std::optional<std::size_t> limit;

  // The trials that pass, sorted (stable: ties keep number order), at most `limit`.
  std::vector<Trial> apply(std::vector<Trial> trials, Direction direction) const;
};

}  // namespace hpo
