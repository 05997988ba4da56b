// StudySummary: what `hpo compare`, `hpo status` and the report say about a study as a whole:
// trials by state, the best trial, the best value found within the first N trials (the
// budgets), wall time and time per trial. Value type; computed from a snapshot of the trials.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"
#include "storage/storage.h"

namespace hpo {

// The budgets `hpo compare` reports the best value at.
inline const std::vector<int> kCompareBudgets = {10, 25, 50, 100};

struct StudySummary {
  std::string name;
  std::string storage;  // the file it was read from, for messages and the compare header
  Direction direction = Direction::kMinimize;
  std::string metric;
  std::string sampler;  // sampler_label(): "tpe (seed 42)"
  int budget = 0;       // budget.trials of the stored spec; 0 when none
  TrialCounts counts;
  std::optional<int> best_number;
  std::optional<double> best_value;
  ParamSet best_params;
  // (N, best value among the trials numbered below N); nullopt when the study has fewer than N
  // trials (the budget was not reached) or none of them is COMPLETE. N = 0 stands for "all".
  std::vector<std::pair<int, std::optional<double>>> best_at;
  // First start to last finish of any trial (now, for a trial still running); nullopt before
  // any trial started.
  std::optional<double> wall_time_s;
  // Mean duration of the finished trials that have one.
  std::optional<double> mean_trial_s;
  // Wall time divided by the finished trials: what one trial cost with parallelism.
  std::optional<double> wall_per_trial_s;
};

// Summarizes `trials` (all trials of the study, any order).
StudySummary summarize(const StudyRecord& record, const std::vector<Trial>& trials,
                       const std::vector<int>& budgets = kCompareBudgets,
                       TimePoint now = Clock::now());

// {name, storage, direction, metric, sampler, budget, counts: {...}, best: {number, value,
//  params} | null, best_at: {"10": v, ..., "all": v}, wall_time_s, mean_trial_s,
//  wall_per_trial_s}.
nlohmann::json to_json(const StudySummary& summary);

// "12.3s", "4m05s", "1h02m".
std::string format_seconds(double seconds);

}  // namespace hpo
