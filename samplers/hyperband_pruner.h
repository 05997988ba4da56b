// HyperbandPruner: Hyperband (Li et al. 2017) over ASHA, as Optuna's HyperbandPruner ("pruner":
// {"name": "hyperband", "min_resource": 1, "max_resource": 81, "reduction_factor": 3}).
//
// Brackets: n = floor(log_rf(max_resource / min_resource)) + 1 of them. Bracket b runs
// successive halving with min_early_stopping_rate b (its first rung at min_resource * rf^b), so
// bracket 0 prunes most aggressively and the last one hardly at all. Bracket b gets a share
// ceil(n * rf^s / (s + 1)) of the trials, s = n - 1 - b (the paper's n_i), and trial number t
// goes to the bracket where hash(t) mod (sum of shares) falls: a fixed function of the number,
// so every run sharing the study and every resume agrees (Optuna hashes the study name with the
// number; hpo mixes the number alone, splitmix64).
//
// A trial competes only with the trials of its own bracket, and bracket() tells the engine
// the bracket of each trial so that the sampler sees only that bracket's trials (Optuna's
// _BracketStudy): TPE's model is not mixed from trials stopped at different budgets.
//
// max_resource "auto" (the default): the largest last step of a COMPLETE trial, plus one, known
// once a trial completed; until then nothing is pruned and brackets() is empty (as in Optuna).
// Stateless; const.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "samplers/pruner.h"
#include "samplers/pruner_registry.h"

namespace hpo {

struct HyperbandOptions {
  // Steps before the first rung of bracket 0. "min_resource" (>= 1), default 1
  std::int64_t min_resource = 1;
  // The most steps a trial runs; nullopt is "auto". "max_resource" (>= min_resource)
  std::optional<std::int64_t> max_resource;
  // "reduction_factor" (>= 2), default 3
  int reduction_factor = 3;
  // As ASHA's; needs an explicit max_resource. "bootstrap_count" (>= 0)
  int bootstrap_count = 0;
};

HyperbandOptions read_hyperband_options(const OrderedJson& block, const std::string& path,
                                        SpecChecker& checker);

class HyperbandPruner final : public Pruner {
 public:
  explicit HyperbandPruner(HyperbandOptions options) : options_(options) {}

  PruneDecision should_prune(const StudyView& study, const Trial& trial,
                             std::int64_t step) const override;
  BracketRule brackets(const StudyView& study) const override;
  // Other trials are read through study.step_values() and last_step() only.
  bool reads_other_curves() const override { return false; }

  // The brackets' trial shares for a known max_resource (empty when max < min).
  std::vector<int> bracket_shares(std::int64_t max_resource) const;
  // The bracket of `trial_number` among `shares`.
  static int bracket_of(const std::vector<int>& shares, int trial_number);

 private:
  std::optional<std::int64_t> max_resource(const StudyView& study) const;

  HyperbandOptions options_;
};

PrunerRegistration hyperband_pruner_registration();

}  // namespace hpo
