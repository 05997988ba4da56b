// SpecChecker: how study-spec validation reports problems, shared by the spec parser and by
// every component's checker (engine/model/component.h). It walks an nlohmann::ordered_json document (ordered, so issues
// and parameters follow the user's order), records every problem as a SpecIssue with its JSON
// path instead of stopping at the first one, and builds the messages in one style:
//   "space.lr.low: must be a number, got string \"abc\""
//   "budget.trails: unknown key (did you mean \"trials\"?)"
// Not thread-safe; one checker per parse.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/errors.h"

namespace hpo {

using OrderedJson = nlohmann::ordered_json;

// Path of member `key` of the value at `parent`: "space.lr", or space["my-param"] when the key
// is not an identifier (so a path never reads ambiguously); just the key at the top level.
std::string member_path(const std::string& parent, std::string_view key);
// Path of element `index` of the array at `parent`: "executor.command[2]".
std::string element_path(const std::string& parent, std::size_t index);

// What a value is, for "got ..." in messages: `string "abc"`, `number 2.5`, `boolean true`,
// `null`, `array`, `object`. Long strings are shortened.
std::string describe(const OrderedJson& value);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), comparing
// ASCII letters case-insensitively.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` when it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);
// " (did you mean \"trials\"?)" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);
// "\"a\", \"b\" or \"c\"".
std::string quoted_list(const std::vector<std::string>& words, std::string_view last_sep = " or ");

// True for [A-Za-z_][A-Za-z0-9_]*.
bool is_identifier(std::string_view text);

// Line and column (both from 1) of byte offset `offset` (from 0) in `text`.
struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};
TextPosition position_of(std::string_view text, std::size_t offset);

class SpecChecker {
 public:
  void add(const std::string& path, std::string message);
  // A problem that does not make the spec invalid (`hpo validate` prints it as a warning).
  void warn(const std::string& path, std::string message) {
    warnings_.push_back({path, std::move(message)});
  }
  std::vector<SpecIssue> take_warnings() { return std::move(warnings_); }
  bool ok() const { return issues_.empty(); }
  std::size_t issue_count() const { return issues_.size(); }
  std::vector<SpecIssue> take() { return std::move(issues_); }
  // Throws InputError with every issue recorded so far; does nothing when there is none.
  void throw_if_any() {
    if (!issues_.empty()) throw InputError(take());
  }

  // The member `key` of object `obj`, or nullptr when absent.
  static const OrderedJson* member(const OrderedJson& obj, std::string_view key);
  // Like member(), but reports "<path>.<key>: is required" when absent.
  const OrderedJson* required(const OrderedJson& obj, const std::string& path,
                              std::string_view key);

  // Reports every key of `obj` that is not in `allowed`, with a did-you-mean hint.
  void reject_unknown_keys(const OrderedJson& obj, const std::string& path,
                           const std::vector<std::string>& allowed);

  // Type checks. Each returns the value, or nullopt/false after reporting
  // "<path>: must be <kind>, got <describe(value)>".
  bool expect_object(const OrderedJson& value, const std::string& path);
  bool expect_array(const OrderedJson& value, const std::string& path);
  std::optional<std::string> get_string(const OrderedJson& value, const std::string& path);
  std::optional<bool> get_bool(const OrderedJson& value, const std::string& path);
  // Any finite JSON number.
  std::optional<double> get_number(const OrderedJson& value, const std::string& path);
  // An integral JSON number (2 or 2.0) within [min, max]; out of range reports
  // "must be >= min, got N" (or "between min and max").
  std::optional<std::int64_t> get_int(const OrderedJson& value, const std::string& path,
                                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max());
  // A non-negative integer up to 2^64-1 (seeds).
  std::optional<std::uint64_t> get_uint64(const OrderedJson& value, const std::string& path);
  // One of `allowed` (a string); otherwise lists them, with a did-you-mean hint.
  std::optional<std::string> get_enum(const OrderedJson& value, const std::string& path,
                                      const std::vector<std::string>& allowed);
  // A duration string ("90s", "20m", "1h30m", "500ms"; see parse_duration); "0s" only when
  // `allow_zero`.
  std::optional<std::chrono::milliseconds> get_duration(const OrderedJson& value,
                                                        const std::string& path, bool allow_zero);

 private:
  void type_error(const std::string& path, std::string_view expected, const OrderedJson& got);

  std::vector<SpecIssue> issues_;
  std::vector<SpecIssue> warnings_;
};

}  // namespace hpo
