// Fuzz target: the HPO_RESULT_FILE reader. Whatever a trial wrote, parse_result_file returns
// metrics or a reason; it never throws, and a reason is never empty on failure. Valid input
// may only hold metrics with numbers (NaN and infinities are kept, as documented).
#include "executors/metric_parser.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const hpo::ResultFileMetrics parsed = hpo::parse_result_file(hpo::fuzz::as_text(data, size));
  if (!parsed.ok()) {
    HPO_FUZZ_CHECK(parsed.metrics.empty());
    HPO_FUZZ_CHECK(!parsed.error.empty());
  }
  return 0;
}
