// Fuzz target: what a trial prints, as the subprocess executor reads it: the byte stream cut
// into lines (LineSplitter, in two feeds), each line through parse_metric_line, and the text
// cleaning (engine/model/text.h) every string from a trial goes through. Properties: a line is
// never longer than the limit nor holds a line break, a report always carries a metric with a
// valid name, and cleaned text is valid UTF-8 without control characters.
#include <string>

#include "engine/model/text.h"
#include "executors/metric_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void check_line(std::string_view line, std::size_t max_line) {
  HPO_FUZZ_CHECK(!line.empty() && line.size() <= max_line);
  HPO_FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
  const auto report = hpo::parse_metric_line(line);
  if (!report) return;
  HPO_FUZZ_CHECK(!report->metrics.empty());
  for (const auto& [name, value] : report->metrics) {
    HPO_FUZZ_CHECK(hpo::is_metric_name(name));
    HPO_FUZZ_CHECK(name != "step" || !report->step);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text = hpo::fuzz::as_text(data, size);
  constexpr std::size_t kMaxLine = 128;
  hpo::LineSplitter splitter(kMaxLine);
  const std::size_t cut = size / 3;
  auto on_line = [&](std::string_view line) { check_line(line, kMaxLine); };
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
