// The metric-report protocol (DESIGN.md "How a trial reports back"): how a trial program
// tells hpo its metrics, and the pieces that read it.
//
//  * Stdout lines of the form `name=value` (Katib's StdOut collector format). One line may
//    carry several metrics, separated by whitespace and/or commas; blanks around `=` are
//    allowed ("loss = 0.3"). Names match [A-Za-z_][A-Za-z0-9_./-]*. Values are decimal or
//    scientific numbers with an optional sign, or nan / inf / infinity (any case); NaN and
//    infinities are kept (the study manager rejects a NaN objective). Every other token is
//    ignored, so ordinary log output passes through harmlessly.
//  * A line that also carries `step=N` or `epoch=N` (N an integer; `step` wins when both
//    appear, and `epoch` then stays an ordinary metric) is an intermediate report; the step
//    key is removed from its metrics. A line with no metric besides the step is ignored.
//  * HPO_RESULT_FILE: a JSON object of metric name -> number, the final metrics when the
//    program wrote it. Python's json.dump spellings NaN, Infinity and -Infinity are accepted.
//
// Everything here is a pure function or a value type: thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "hpo/trial.h"

namespace hpo {

// What one stdout line reported.
struct MetricReport {
  Metrics metrics;                   // never empty; without the step key
  std::optional<std::int64_t> step;  // set for an intermediate report (step=N or epoch=N)
};

// Parses one line (without its terminator). nullopt when the line carries no metric.
std::optional<MetricReport> parse_metric_line(std::string_view line);

// True when `name` is a valid metric name: [A-Za-z_][A-Za-z0-9_./-]*.
bool is_metric_name(std::string_view name);

// Parses a whole token as a metric value ("0.5", "-1e-3", "+2", "nan", "inf", "-Infinity").
// nullopt unless every character belongs to the number.
std::optional<double> parse_metric_value(std::string_view text);

// The metrics of an HPO_RESULT_FILE, or why it could not be read.
struct ResultFileMetrics {
  Metrics metrics;
  // Empty on success; otherwise what is wrong, phrased to follow the file's name: "is empty",
  // "is not valid JSON (...)", "has a string for metric \"note\", not a number".
  std::string error;
  bool ok() const { return error.empty(); }
};

// Parses the text of an HPO_RESULT_FILE: a JSON object whose values are all numbers. Not JSON,
// not an object, or a non-number value (string, bool, null, array, object) is an error.
ResultFileMetrics parse_result_file(std::string_view text);

// Splits a byte stream into lines, incrementally, with bounded memory: '\n', '\r' and "\r\n"
// end a line (so progress bars that redraw with '\r' count as lines), empty lines are
// skipped, and a line longer than max_line bytes is dropped whole: at most max_line bytes
// are ever buffered, however long the line. Not thread-safe; one instance per stream.
class LineSplitter {
 public:
  static constexpr std::size_t kDefaultMaxLine = 64 * 1024;

  explicit LineSplitter(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Consumes `data` and calls on_line(std::string_view) for every line it completes, in
  // order. The view is valid only during the call.
  template <typename OnLine>
  void feed(std::string_view data, OnLine&& on_line);

  // End of stream: delivers the last, unterminated line (unless it was too long) and resets.
  template <typename OnLine>
  void finish(OnLine&& on_line);

  // Lines dropped so far because they exceeded max_line.
  std::size_t dropped() const { return dropped_; }
  // Bytes of an unfinished line held right now; never more than max_line.
  std::size_t buffered() const { return partial_.size(); }

 private:
  std::size_t max_line_;
  std::string partial_;    // start of the current line, when it spans several feeds
  bool skipping_ = false;  // inside a line that is already too long
  std::size_t dropped_ = 0;
};

template <typename OnLine>
void LineSplitter::feed(std::string_view data, OnLine&& on_line) {
  while (!data.empty()) {
    std::size_t end = 0;
    while (end < data.size() && data[end] != '\n' && data[end] != '\r') ++end;
    const bool terminated = end < data.size();
    const std::string_view piece = data.substr(0, end);
    if (skipping_) {
      if (terminated) skipping_ = false;
    } else if (partial_.size() + piece.size() > max_line_) {
      partial_.clear();
      ++dropped_;
      skipping_ = !terminated;
    } else if (partial_.empty()) {
      if (terminated) {
        if (!piece.empty()) on_line(piece);
      } else {
        partial_.assign(piece);
      }
    } else {
      partial_.append(piece);
      if (terminated) {
        on_line(std::string_view(partial_));
        partial_.clear();
      }
    }
    if (!terminated) break;
    data.remove_prefix(end + 1);
  }
}

template <typename OnLine>
void LineSplitter::finish(OnLine&& on_line) {
  if (!skipping_ && !partial_.empty()) on_line(std::string_view(partial_));
  partial_.clear();
  skipping_ = false;
}

}  // namespace hpo
