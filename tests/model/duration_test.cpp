#include <chrono>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "engine/model/study_spec.h"

namespace hpo {
namespace {

using std::chrono::milliseconds;

TEST_CASE("durations parse from unit-suffixed strings", "[model][duration]") {
  struct Case {
    const char* text;
    long long ms;
  };
  const Case cases[] = {
      {"90s", 90'000},
      {"20m", 1'200'000},
      {"2h", 7'200'000},
      {"1h30m", 5'400'000},
      {"500ms", 500},
      {"1.5h", 5'400'000},
      {"0s", 0},
      {"1d", 86'400'000},
      {"1m30s", 90'000},
      {"0.5s", 500},
      {"1h1m1s1ms", 3'661'001},
      {"007s", 7'000},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(parse_duration(c.text) == std::optional<milliseconds>(milliseconds(c.ms)));
  }
}

TEST_CASE("malformed durations are rejected", "[model][duration]") {
  for (const char* text : {"", "90", "s", "1.s", ".5s", "-1s", "1 s", "1x", "1H", "1hm", "1h30",
                           "ms", "1e3s", " 1s", "1s ", "+1s", "100000000000h"}) {
    INFO('"' << text << '"');
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

}  // namespace
}  // namespace hpo
