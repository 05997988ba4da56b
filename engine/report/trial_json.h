// The JSON and text forms of one trial, shared by `hpo trials --format json`, `hpo best`,
// `hpo show`, the report and the dashboard. Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

// "2026-11-28T12:00:00.123Z" (UTC).
std::string format_time(TimePoint t);

// best_intermediate() and StepValue: hpo/trial.h (the one rule, shared with the pruners).

// {number, state, value, best_intermediate: {step, value} | null, params, metrics,
//  intermediate: [{step, value}, ...] (by step, as numbers), started, finished, duration_s,
//  reason, attempt, retry_of, trial_dir, location, user_attrs}. Absent values are null; a NaN
// is null. Strings are as stored: serialize with json_text() (text_safety.h), which replaces
// invalid UTF-8.
nlohmann::json trial_to_json(const Trial& trial, Direction direction);

}  // namespace hpo
