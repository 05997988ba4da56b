// PatientPruner: the "patience" wrapper any pruner block may carry ("pruner": {"name":
// "median", "patience": 3}), as Optuna's PatientPruner: a trial may be pruned only when its
// last patience + 1 reports did not improve on its best before them (with more reports than
// that); then the wrapped pruner decides, or, with none ("name": "none"), patience alone
// prunes. Not registered by name: the registry wraps whichever pruner the spec names
// (make_spec_pruner). Brackets are the wrapped pruner's. Stateless; const.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "samplers/pruner.h"

namespace hpo {

class PatientPruner final : public Pruner {
 public:
  // `wrapped` may be null (patience alone). REQUIRES: patience >= 0.
  PatientPruner(int patience, std::unique_ptr<Pruner> wrapped);

  PruneDecision should_prune(const StudyView& study, const Trial& trial,
                             std::int64_t step) const override;
  BracketRule brackets(const StudyView& study) const override;
  // Patience reads the judged trial only; the wrapped pruner says for itself.
  bool reads_other_curves() const override {
    return wrapped_ != nullptr && wrapped_->reads_other_curves();
  }

 private:
  int patience_;
  std::unique_ptr<Pruner> wrapped_;
};

}  // namespace hpo
