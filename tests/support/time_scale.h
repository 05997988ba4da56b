// How much longer a test waits in a sanitized build. Code there runs several times slower, and
// under ThreadSanitizer a TBB worker took 200-530 ms to take up a call enqueued into an idle
// arena (under 1 ms without it), with CI running two test binaries side by side on two cores.
// A test whose meaning rests on one duration outlasting another (a 400 ms call against a
// 150 ms timeout) scales both: the order they must happen in stays the same, the margin grows.
// tests/support/CMakeLists.txt sets HPO_TEST_TIME_SCALE for sanitizer builds; it is 1 otherwise.
#pragma once

#include <chrono>

#ifndef HPO_TEST_TIME_SCALE
#define HPO_TEST_TIME_SCALE 1
#endif

namespace hpo::testing {

inline constexpr int kTimeScale = HPO_TEST_TIME_SCALE;

template <typename Rep, typename Period>
constexpr std::chrono::duration<Rep, Period> scaled(std::chrono::duration<Rep, Period> d) {
  return d * kTimeScale;
}

constexpr int scaled_ms(int ms) { return ms * kTimeScale; }

}  // namespace hpo::testing
