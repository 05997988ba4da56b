// Writes a study as a SQLite database in Optuna 3.1's RDB schema (schema version 12, alembic
// revision v3.0.0.d), so that `optuna.load_study(study_name=..., storage="sqlite:///FILE")` and
// optuna-dashboard read it. The encoding follows what Optuna itself writes:
//   - one study with one direction (MINIMIZE | MAXIMIZE, objective 0);
//   - trials keep their numbers (trial_id = number + 1) and states; datetimes are local time
//     'YYYY-MM-DD HH:MM:SS.ffffff' (Optuna stores naive datetime.now());
//   - each parameter a row with its internal value (a float; a categorical the index of its
//     choice) and its distribution as Optuna's JSON (FloatDistribution, IntDistribution,
//     CategoricalDistribution). One distribution per parameter name for the whole study (the
//     effective space, study_space.h), as Optuna requires of a study's trials;
//   - values of COMPLETE and PRUNED trials, and intermediate values, with their value type
//     (FINITE, INF_POS, INF_NEG; NAN for intermediate values);
//   - what Optuna has no column for goes into user attributes: a trial's "metrics" (every
//     reported metric), "reason", "attempt", "retry_of", "trial_dir", "location"; the study's
//     "objective_metric", "sampler" and "hpo_spec"; FAIL reasons also as the system attribute
//     "fail_reason", where Optuna keeps its own.
// Stateless functions; thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/distribution.h"
#include "hpo/search_space.h"
#include "hpo/trial.h"
#include "storage/storage.h"

namespace hpo {

// {"name": "FloatDistribution", "attributes": {"step": null, "low": .., "high": .., "log": ..}}
// and the Int and Categorical forms, as optuna.distributions.distribution_to_json writes them.
nlohmann::json optuna_distribution_json(const Distribution& distribution);

// The internal value Optuna stores: the number itself, or the index of a categorical choice;
// nullopt when `value` is not one of the choices (or not a number for a range).
std::optional<double> optuna_param_value(const Distribution& distribution, const ParamValue& value);

// 'YYYY-MM-DD HH:MM:SS.ffffff' in local time.
std::string optuna_datetime(TimePoint t);

// "FINITE", "INF_POS", "INF_NEG" or "NAN".
const char* optuna_value_type(double value);

struct OptunaExportStats {
  int trials = 0;
  int params = 0;
  int intermediate_values = 0;
};

// Writes `record` with `trials` into a new SQLite file at `file`, encoding parameters with
// `space` (which must contain every stored value: use effective_space()). REQUIRES: `file`
// does not exist (OutputFile::temp_path()). Throws StorageError when SQLite fails.
OptunaExportStats write_optuna_database(const StudyRecord& record, const std::vector<Trial>& trials,
                                        const SearchSpace& space,
                                        const std::filesystem::path& file);

}  // namespace hpo
