// What makes two specs describe different studies: the search space, the direction, the
// objective metric, the metric stored per step (objective.intermediate_metric) and which report
// is a trial's value (objective.strategy). Budget, goal, parallelism, timeout, sampler settings
// and executor settings may
// change between runs of one study; these may not, unless the user says so
// (`hpo run --allow-spec-change`).
#pragma once

#include <string>
#include <vector>

#include "engine/model/study_spec.h"

namespace hpo {

// One line per difference, e.g. "space.lr.high: stored 1, now 0.5", "space.momentum: added",
// "direction: stored minimize, now maximize". Empty when the studies are the same.
std::vector<std::string> study_differences(const StudySpec& stored, const StudySpec& now);

// What the differences are about, for people: "metric", "search space and direction".
std::string difference_subjects(const std::vector<std::string>& differences);

}  // namespace hpo
