// Helpers for tests/report: trials and studies made by hand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"
#include "storage/storage.h"

namespace hpo::testing {

// A finished trial (COMPLETE unless `state` says otherwise) with times 1 s apart from `number`.
Trial make_trial(int number, std::optional<double> value, ParamSet params,
                 TrialState state = TrialState::kComplete);

// A StudyRecord whose stored spec has `space_json` as its "space" (and a subprocess executor),
// minimizing "loss" unless `direction` says otherwise.
StudyRecord make_record(const std::string& name, const nlohmann::json& space_json,
                        Direction direction = Direction::kMinimize);

// The spec of make_record() as NewStudy, for creating it in a storage.
NewStudy make_new_study(const std::string& name, const nlohmann::json& space_json,
                        Direction direction = Direction::kMinimize);

// Adds a COMPLETE trial with `params`, `value` and intermediate values to `study` in `storage`.
Trial add_complete(Storage& storage, std::int64_t study, const ParamSet& params, double value,
                   const std::vector<double>& intermediate = {});

}  // namespace hpo::testing
