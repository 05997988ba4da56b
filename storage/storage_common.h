// What every Storage implementation must do the same way, so that MemoryStorage behaves exactly
// like SqliteStorage (the model-based test in tests/storage holds them to it): the text form
// of stored JSON values, the clock, the "{number}" substitution and the argument checks.
// Internal to hpo_storage. Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hpo/param_value.h"
#include "hpo/trial.h"
#include "hpo/trial_state.h"
#include "storage/storage.h"

namespace hpo::storage_common {

// Now, in Unix seconds. Times are stored as REAL seconds, so implementations keep this double
// and hand out from_unix_seconds(it): what create_trial returns then equals what a later read
// returns, in every implementation.
double now_seconds();

// JSON text of a parameter set. Throws StorageError (kMismatch) for a non-finite double
// (JSON cannot hold it) or a string that is not valid UTF-8.
std::string encode_params(const ParamSet& params);
// Throws StorageError (kCorrupt) when `text` is not what encode_params writes.
ParamSet decode_params(std::string_view text);

// JSON text of final metrics; NaN and infinities are written as the strings "NaN",
// "Infinity" and "-Infinity" (JSON has no such numbers), so every double round-trips.
std::string encode_metrics(const std::map<std::string, double>& metrics);
std::map<std::string, double> decode_metrics(std::string_view text);
// A trial's objective values as a JSON array (finite numbers: the study core stores no others).
std::string encode_values(const std::vector<double>& values);
std::vector<double> decode_values(std::string_view text);

// JSON text of what ran for a trial (engine/model/trial_launch.h launch_to_json). Throws
// StorageError (kMismatch) for a string that is not valid UTF-8.
std::string encode_launch(const TrialLaunch& launch);
// nullopt for "" (nothing recorded); throws StorageError (kCorrupt) for text of another shape.
std::optional<TrialLaunch> decode_launch(std::string_view text);

// Compact JSON text of a study spec. Throws StorageError (kMismatch) for a string that
// is not valid UTF-8; NaN and infinities become null (as nlohmann::json writes them).
std::string encode_spec(const nlohmann::json& spec);
nlohmann::json decode_spec(std::string_view text);

// A sampler seed as stored (decimal text: SQLite's integers are signed) and back. decode_seed
// throws StorageError (kCorrupt) naming the study when `text` is not a number in [0, 2^64).
std::string encode_seed(std::uint64_t seed);
std::uint64_t decode_seed(std::string_view text, const std::string& study);

// The record of a new study as it will be stored (spec through its stored text form); id and
// created are the caller's to set.
StudyRecord record_of(const NewStudy& study);

// `dir` with every "{number}" replaced by `number`.
std::string substitute_number(std::string dir, int number);

// A finished trial's value as stored: NaN means "no value" (SQLite stores NaN as NULL), and
// -0.0 becomes 0.0 (SQLite keeps integral REALs as integers, which have no negative zero).
std::optional<double> stored_value(std::optional<double> value);
// An intermediate value as stored: -0.0 becomes 0.0, as above; NaN stays NaN.
double stored_intermediate(double value);

// Throws StorageError (kMisuse) unless a new trial's state is RUNNING or WAITING.
void check_new_trial_state(TrialState state);
// Throws StorageError (kMisuse) unless `state` is COMPLETE, PRUNED or FAIL.
void check_final_state(TrialState state);

// StorageError (kNotFound) "no study with id N" / "no trial with id N".
[[noreturn]] void throw_no_study(std::int64_t study_id);
[[noreturn]] void throw_no_trial(std::int64_t trial_id);
// StorageError (kExists) "a study named 'x' already exists".
[[noreturn]] void throw_duplicate_study(const std::string& name);

}  // namespace hpo::storage_common
