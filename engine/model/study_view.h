// StudyView: what a sampler or pruner may see of a study: its direction (one per objective in a
// multi-objective study) and a read-only view of its trials (finished and running; running ones
// matter for constant-liar TPE). It does not own the trials: the study manager keeps them and
// guarantees they do not change while a sampler call is in progress. Cheap to copy.
//
// The values the study's trials reported at one step can come from an index instead of the
// trials' curves (StepReader): a long study's finished trials need not hold their curves in
// memory for a pruner that only asks about one step at a time (see Pruner::reads_other_curves).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

// Answers values_at() for a StudyView from somewhere other than its trials' curves (the study
// core: a bounded storage query per step, kept up to date as trials finish). It must answer
// exactly what the scan over the view's trials answers (StudyView::values_at without a reader).
class StepReader {
 public:
  StepReader() = default;
  virtual ~StepReader() = default;
  StepReader(const StepReader&) = delete;
  StepReader& operator=(const StepReader&) = delete;

  // The values reported at exactly `step` by the trials in `state`, in number order (NaN kept).
  virtual std::vector<double> values_at(std::int64_t step, TrialState state) const = 0;
};

class StudyView {
 public:
  StudyView(Direction direction, const std::vector<Trial>& trials,
            const StepReader* steps = nullptr)
      : directions_{direction}, trials_(&trials), steps_(steps) {}
  // A multi-objective study: one direction per objective (Trial::values, same order).
  // REQUIRES: directions is not empty.
  StudyView(std::vector<Direction> directions, const std::vector<Trial>& trials,
            const StepReader* steps = nullptr)
      : directions_(std::move(directions)), trials_(&trials), steps_(steps) {}

  // The direction of the (first) objective.
  Direction direction() const { return directions_.front(); }
  // One per objective; a single-objective study has one.
  const std::vector<Direction>& directions() const { return directions_; }
  bool multi_objective() const { return directions_.size() > 1; }
  // All trials in number order (any state).
  const std::vector<Trial>& trials() const { return *trials_; }

  // The values reported at exactly `step` by the trials in `state`, in number order (NaN kept):
  // from the view's StepReader when it has one, else from the trials' curves.
  std::vector<double> values_at(std::int64_t step, TrialState state) const {
    if (steps_ != nullptr) return steps_->values_at(step, state);
    std::vector<double> out;
    for (const Trial& t : *trials_) {
      if (t.state != state) continue;
      if (const auto it = t.intermediate.find(step); it != t.intermediate.end())
        out.push_back(it->second);
    }
    return out;
  }

 private:
  std::vector<Direction> directions_;
  const std::vector<Trial>* trials_;
  const StepReader* steps_;
};

}  // namespace hpo
