#include "hpo/trial_state.h"

#include <algorithm>
#include <cctype>

namespace hpo {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

const char* to_string(TrialState state) {
  switch (state) {
    case TrialState::kWaiting: return "WAITING";
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
  }
  return "FAIL";
}

std::optional<TrialState> parse_trial_state(std::string_view text) {
  const std::string u = upper(text);
  if (u == "WAITING") return TrialState::kWaiting;
  if (u == "RUNNING") return TrialState::kRunning;
  if (u == "COMPLETE") return TrialState::kComplete;
  if (u == "PRUNED") return TrialState::kPruned;
  if (u == "FAIL") return TrialState::kFail;
  return std::nullopt;
}

const char* to_string(Direction direction) {
  return direction == Direction::kMinimize ? "minimize" : "maximize";
}

std::optional<Direction> parse_direction(std::string_view text) {
  if (text == "minimize") return Direction::kMinimize;
  if (text == "maximize") return Direction::kMaximize;
  return std::nullopt;
}

}  // namespace hpo
