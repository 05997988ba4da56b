// StudyView: what a sampler or pruner may see of a study: its direction (one per objective in a
// multi-objective study) and a read-only view of its trials (finished and running; running ones
// matter for constant-liar TPE). It does not own the trials: the study manager keeps them and
// guarantees they do not change while a sampler call is in progress. Cheap to copy.
//
// The values the study's trials reported at one step can come from an index instead of the
// trials' curves (StepReader): a long study's finished trials need not hold their curves in
// memory for a pruner that only asks about one step at a time (see Pruner::reads_other_curves).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

// Answers a StudyView's questions about steps from somewhere other than its trials' curves (the
// study core: a bounded storage query per step, kept up to date as trials finish). It must
// answer exactly what the scan over the view's trials answers (StudyView without a reader).
class StepReader {
 public:
  StepReader() = default;
  virtual ~StepReader() = default;
  StepReader(const StepReader&) = delete;
  StepReader& operator=(const StepReader&) = delete;

  // (number, value) of the report report_for_step() picks for `step` of each trial in `state`
  // that has one, in number order (NaN kept).
  virtual std::vector<std::pair<int, double>> step_values(std::int64_t step, TrialState state,
                                                          StepMatch match) const = 0;
  // The latest step any trial in `state` reported; nullopt when none reported.
  virtual std::optional<std::int64_t> last_step(TrialState state) const = 0;
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
    std::vector<double> out;
    for (const auto& [number, value] : step_values(step, state, StepMatch::kExactly))
      out.push_back(value);
    return out;
  }
  // (number, value) of the report `match` picks for `step` (report_for_step) of each trial in
  // `state` that has one, in number order (NaN kept); from the StepReader when there is one.
  std::vector<std::pair<int, double>> step_values(std::int64_t step, TrialState state,
                                                  StepMatch match) const {
    if (steps_ != nullptr) return steps_->step_values(step, state, match);
    std::vector<std::pair<int, double>> out;
    for (const Trial& t : *trials_)
      if (t.state == state)
        if (const auto v = report_for_step(t, step, match)) out.emplace_back(t.number, v->value);
    return out;
  }
  // The latest step any trial in `state` reported; nullopt when none reported.
  std::optional<std::int64_t> last_step(TrialState state) const {
    if (steps_ != nullptr) return steps_->last_step(state);
    std::optional<std::int64_t> last;
    for (const Trial& t : *trials_)
      if (t.state == state && !t.intermediate.empty())
        last = std::max(last.value_or(t.intermediate.rbegin()->first),
                        t.intermediate.rbegin()->first);
    return last;
  }
  // The StepReader this view answers from, if any (a view made from this one shares it).
  const StepReader* step_reader() const { return steps_; }

 private:
  std::vector<Direction> directions_;
  const std::vector<Trial>* trials_;
  const StepReader* steps_;
};

}  // namespace hpo
