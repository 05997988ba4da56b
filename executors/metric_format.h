// MetricReader: how the lines a trial prints become metric reports, in the formats trainers
// already print (Katib's collector formats, Keras, PyTorch Lightning, XGBoost), so that a
// trainer ports without being rewritten. The one place that knows these formats; the
// subprocess and Kubernetes executors both read their output through it, and read their
// "metrics_format" (and the subprocess executor its "metrics_from") with the one option reader
// below.
//
// Formats ("executor.metrics_format"):
//   "auto"       (default) each line is tried as JSON, XGBoost, Keras, then key=value
//   "key=value"  the protocol of executors/metric_parser.h ("accuracy=0.9 step=3"), plus a
//                leading "Epoch N", "Step N" or "Epoch N/M" (any case, optionally followed by
//                ':') as the step: Katib's "Epoch 3: Validation-accuracy=0.96". A Python
//                logging prefix ("INFO:root:accuracy=0.9") is skipped, and brackets around the
//                pairs (Lightning's "[..., val_loss=0.2]") are ignored.
//   "json"       a line holding one JSON object: numbers are metrics, an integer "step" or
//                "epoch" key is the step ({"epoch": 3, "accuracy": 0.96})
//   "keras"      "Epoch 3/10" sets the step of the lines that follow; a line with
//                " - name: value" pairs ("50/50 ━━━━ 1s 3ms/step - loss: 0.3 - val_accuracy:
//                0.96", Keras 2 and 3, progress-bar redraws included) reports them
//   "xgboost"    "[3]\tvalidation-logloss:0.21\ttrain-rmse:0.3": step 3, name:value pairs
//   {"regex": P} Katib's custom format: every match of P in a line is one metric. Named groups
//                (?<name>...) and (?<value>...) (Python's (?P<name>...) spelling works too),
//                and optionally (?<step>...); without named groups, group 1 is the name and
//                group 2 the value, as in Katib. ECMAScript syntax otherwise.
//
// Streams ("executor.metrics_from", subprocess only): "stdout", "stderr" or "both" (default;
// Python's logging writes to stderr, and Katib's collector reads the whole container log).
//
// Thread-compatible: one MetricReader per stream of a trial.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/spec_checker.h"
#include "executors/metric_parser.h"

namespace hpo {

enum class MetricFormatKind { kAuto, kKeyValue, kJson, kKeras, kXgboost, kRegex };

struct MetricFormat {
  MetricFormatKind kind = MetricFormatKind::kAuto;
  std::string regex;  // kRegex: the pattern as the user wrote it
  // "auto", "key=value", ..., or "regex" for messages.
  std::string name() const;
};

// Which of a child's streams carry metrics.
enum class MetricStreams { kStdout, kStderr, kBoth };
const char* to_string(MetricStreams streams);  // "stdout", "stderr", "both"

// An executor's metric settings, JSON keys "metrics_format" and "metrics_from".
struct MetricOptions {
  MetricFormat format;                         // "metrics_format"; default auto
  MetricStreams from = MetricStreams::kBoth;   // "metrics_from"; default both
};

// Reads "metrics_format" (and, when `with_streams`, "metrics_from") of the executor object
// `block` at JSON path `path`, reporting every problem to `checker`: an unknown format (with a
// did-you-mean), a regex that does not compile, lacks a name or value group, or names another
// group. The one reader for every executor.
MetricOptions read_metric_options(const OrderedJson& block, const std::string& path,
                                  bool with_streams, SpecChecker& checker);

// The keys read_metric_options reads, for an executor's list of spec keys.
std::vector<std::string> metric_option_keys(bool with_streams);

// A pattern with (?<x>...) / (?P<x>...) groups rewritten into numbered groups, which
// std::regex understands, and where each named group went.
struct TranslatedRegex {
  std::string pattern;                                   // for std::regex (ECMAScript)
  std::vector<std::pair<std::string, std::size_t>> groups;  // name -> group number
  std::string error;  // empty on success: "unterminated group name at offset 4"
};
TranslatedRegex translate_named_groups(std::string_view pattern);

// `lines` quoted and joined for a reason: "\"acc=0.9\", \"acc=0.91\"".
std::string quote_lines(const std::deque<std::string>& lines);
// The part of a missing-metric reason that shows what was seen: "; last metric lines: <quoted>"
// or "; no line looked like a metric" when `quoted` (from quote_lines) is empty.
std::string seen_lines_note(const std::string& quoted);

class MetricReader {
 public:
  // REQUIRES: `format` passed read_metric_options (a regex compiles); throws InputError if not.
  explicit MetricReader(const MetricFormat& format);
  ~MetricReader();
  MetricReader(MetricReader&&) noexcept;
  MetricReader& operator=(MetricReader&&) noexcept;

  // Reads one line (without its terminator); nullopt when it reports no metric. A Keras
  // "Epoch N/M" line reports nothing but sets the step of the lines after it.
  std::optional<MetricReport> read(std::string_view line);

  // The last few lines (at most kRecentLines, each cut to kRecentChars) that reported
  // metrics, oldest first: what a FAIL reason shows when the objective metric is missing.
  const std::deque<std::string>& recent() const { return recent_; }
  static constexpr std::size_t kRecentLines = 3;
  static constexpr std::size_t kRecentChars = 120;

  struct Compiled;  // a compiled regex format (metric_format.cpp)

 private:
  std::optional<MetricReport> read_line(std::string_view line);
  std::optional<MetricReport> read_keras(std::string_view line);
  std::optional<MetricReport> read_regex(std::string_view line);

  MetricFormat format_;
  std::unique_ptr<Compiled> compiled_;       // kRegex only
  std::optional<std::int64_t> keras_epoch_;  // the last "Epoch N/M" line's N
  std::deque<std::string> recent_;
};

// Reads the metrics of one or two streams of a trial: a reader per stream, the last value of
// each metric across both, and the note a FAIL reason carries when the objective metric is
// missing. Thread-compatible.
class TrialMetrics {
 public:
  explicit TrialMetrics(const MetricOptions& options);

  // One line of stdout or stderr. Returns the report when the stream is read for metrics
  // (metrics_from) and the line carries one; lines of an unread stream are only looked at, so
  // the note can point at them.
  std::optional<MetricReport> line(bool is_stderr, std::string_view text);

  // The last value of every metric read so far.
  const Metrics& last() const { return last_; }

  // Why a metric may be missing: which streams were read, in which format, and the last lines
  // that looked like metrics (and those of an unread stream): "read stdout and stderr as
  // auto; last metric lines: \"acc=0.91\"". Never empty.
  std::string note() const;

 private:
  MetricOptions options_;
  MetricReader out_;
  MetricReader err_;
  Metrics last_;
};

}  // namespace hpo
