// How a trial's final metrics become what the study optimizes: its objective value(s) and,
// with constraints, its violation. The one rule for it: the study core judges outcomes with it,
// and the results commands read stored trials through it. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/model/study_spec.h"
#include "hpo/trial.h"

namespace hpo {

struct ObjectiveScore {
  std::optional<double> value;  // single-objective: the objective metric
  std::vector<double> values;   // multi-objective: one per objective, in spec order
  // With constraints: the sum over them of how far the metric lies outside [min, max] (0 when
  // feasible); nullopt without constraints.
  std::optional<double> violation;
  // Why the metrics cannot be scored (an objective or constraint metric missing, NaN or
  // infinite): then the trial FAILs with this reason. Empty when scored.
  std::string problem;
};

// Scores `metrics` by `spec`'s objectives and constraints. `best_step`: with the single
// objective's strategy "best", the best value of the trial's stored curve; it stands in for an
// objective metric that was not reported and wins over the final report when better.
// `missing_note` (what the executor saw of the output) is added to the problem of a metric that
// was not reported.
ObjectiveScore score_metrics(const StudySpec& spec, const Metrics& metrics,
                             std::optional<double> best_step = std::nullopt,
                             const std::string& missing_note = {});

// A stored COMPLETE trial's values and violation from its metrics, when storage did not keep
// them; other trials are left alone.
void apply_score(const StudySpec& spec, Trial& trial);

// "minimize loss", or "maximize accuracy, minimize latency_ms; memory_mb <= 512": what the
// study optimizes, for the first lines of `hpo run` and `hpo validate`.
std::string describe_objectives(const StudySpec& spec);

}  // namespace hpo
