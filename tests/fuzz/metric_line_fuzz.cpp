// Fuzz target: what a trial prints, as the subprocess executor reads it: the byte stream cut
// into lines (LineSplitter, in two feeds), each line through parse_metric_line and through a
// MetricReader of every executor.metrics_format (a Katib-style regex with a step group for
// "regex"; a reader keeps state across lines, as Keras' "Epoch N/M" does), and the text
// cleaning (engine/model/text.h) every string from a trial goes through. Properties: a line is
// never longer than the limit nor holds a line break, a report always carries a metric with a
// valid name, and cleaned text is valid UTF-8 without control characters.
#include <string>
#include <vector>

#include "engine/model/text.h"
#include "executors/metric_format.h"
#include "executors/metric_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::vector<hpo::MetricReader> readers() {
  using K = hpo::MetricFormatKind;
  std::vector<hpo::MetricReader> out;
  for (const K kind : {K::kAuto, K::kKeyValue, K::kJson, K::kKeras, K::kXgboost})
    out.emplace_back(hpo::MetricFormat{kind, ""});
  out.emplace_back(hpo::MetricFormat{
      K::kRegex, R"((?<name>[A-Za-z_][\w.-]*)[=:] *(?<value>[-+\w.]+)(?: step=(?<step>\S+))?)"});
  return out;
}

void check_line(std::string_view line, std::size_t max_line,
                std::vector<hpo::MetricReader>& formats) {
  HPO_FUZZ_CHECK(!line.empty() && line.size() <= max_line);
  HPO_FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
  const auto report = hpo::parse_metric_line(line);
  if (!report) return;
  HPO_FUZZ_CHECK(!report->metrics.empty());
  for (const auto& [name, value] : report->metrics) {
    HPO_FUZZ_CHECK(hpo::is_metric_name(name));
    HPO_FUZZ_CHECK(name != "step" || !report->step);
  }
  for (auto& reader : formats) {
    const auto read = reader.read(line);
    HPO_FUZZ_CHECK(!read || !read->metrics.empty());
    HPO_FUZZ_CHECK(reader.recent().size() <= hpo::MetricReader::kRecentLines);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text = hpo::fuzz::as_text(data, size);
  constexpr std::size_t kMaxLine = 128;
  hpo::LineSplitter splitter(kMaxLine);
  const std::size_t cut = size / 3;
  auto formats = readers();
  auto on_line = [&](std::string_view line) { check_line(line, kMaxLine, formats); };
  splitter.feed(text.substr(0, cut), on_line);
  HPO_FUZZ_CHECK(splitter.buffered() <= kMaxLine);
  splitter.feed(text.substr(cut), on_line);
  HPO_FUZZ_CHECK(splitter.buffered() <= kMaxLine);
  splitter.finish(on_line);
  HPO_FUZZ_CHECK(splitter.buffered() == 0);

  (void)hpo::parse_metric_value(text);
  const std::string cleaned = hpo::clean_text(std::string(text));
  HPO_FUZZ_CHECK(hpo::is_valid_utf8(cleaned));
  for (const char c : cleaned)
    HPO_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  return 0;
}
