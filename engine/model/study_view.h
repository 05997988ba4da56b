// StudyView: what a sampler or pruner may see of a study: its direction and a read-only view
// of its trials (finished and running; running ones matter for constant-liar TPE). It does
// not own the trials: the study manager keeps them and guarantees they do not change while a
// sampler call is in progress. Cheap to copy.
#pragma once

#include <vector>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

class StudyView {
 public:
  StudyView(Direction direction, const std::vector<Trial>& trials)
      : direction_(direction), trials_(&trials) {}

  Direction direction() const { return direction_; }
  // All trials in number order (any state).
  const std::vector<Trial>& trials() const { return *trials_; }

 private:
  Direction direction_;
  const std::vector<Trial>* trials_;
};

}  // namespace hpo
