// Trial states and the study's optimisation direction. The strings are persisted in storage
// and never change; convert only through to_string / parse_*.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hpo {

// WAITING (enqueued) -> RUNNING -> COMPLETE | PRUNED | FAIL.
enum class TrialState { kWaiting, kRunning, kComplete, kPruned, kFail };

const char* to_string(TrialState state);
// "WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL" (case-insensitive); nullopt otherwise.
std::optional<TrialState> parse_trial_state(std::string_view text);
inline bool is_finished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

enum class Direction { kMinimize, kMaximize };

const char* to_string(Direction direction);  // "minimize" / "maximize"
std::optional<Direction> parse_direction(std::string_view text);

// True when `a` is strictly better than `b` in `direction`.
inline bool is_better(Direction direction, double a, double b) {
  return direction == Direction::kMinimize ? a < b : a > b;
}

}  // namespace hpo
