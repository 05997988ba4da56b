// Pruner: decides whether a running trial is hopeless and should stop early ("pruner": {"name":
// "median"}), from the intermediate values the study has stored, as Optuna's pruners do.
//
// When it is called: by the study core (engine/study_core.h), on the run loop's thread, each
// time a RUNNING trial reports a new intermediate value of the judged metric, after that value
// is in the trial and stored. A yes makes the engine stop the trial (a process gets SIGTERM; a
// threads objective sees should_prune()) and record it PRUNED with `reason`, prefixed by the
// engine with "pruned at step N by <name>: ".
//
// Contract for every pruner (tests/samplers/pruner_test.cpp works each through tables):
//   - stateless: the decision is a function of the view (the study's trials with their stored
//     intermediate values, any state), the trial and the step, so that it is the same after a
//     resume and for several runs sharing one study. Trials are in number order; a trial that
//     was pruned stores nothing after the step it was pruned at;
//   - cheap: it is called once per report; well under a millisecond at 1,000 trials of 100
//     steps (tests/bench/prune_bench.cpp measures it);
//   - it never sees storage, and never changes anything.
// Not thread-safe beyond const: the engine calls one pruner from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/model/study_view.h"
#include "hpo/trial.h"

namespace hpo {

// Trial number -> bracket.
using BracketRule = std::function<int(int trial_number)>;

struct PruneDecision {
  bool prune = false;
  // Why, for a yes: "0.412 > median 0.331 of 12 trials". Empty for a no.
  std::string reason;

  static PruneDecision keep() { return {}; }
  static PruneDecision prune_because(std::string why) { return {true, std::move(why)}; }
};

class Pruner {
 public:
  Pruner() = default;
  virtual ~Pruner() = default;
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  // Judges `trial` (RUNNING, one of study.trials()) after it reported `step`.
  // REQUIRES: trial.intermediate holds `step`.
  virtual PruneDecision should_prune(const StudyView& study, const Trial& trial,
                                     std::int64_t step) const = 0;

  // For a pruner that runs trials in brackets (Hyperband): the bracket of each trial number,
  // so that the sampler sees only the trials of a new trial's bracket and its model is not
  // mixed from different budgets. Empty (the default) for the others, and while the brackets
  // are not known yet (Hyperband with max_resource "auto" before a trial completed).
  virtual BracketRule brackets(const StudyView& study) const { return {}; }

  // Whether should_prune reads the curves (intermediate values) of trials other than the judged
  // one from study.trials(). False for a pruner that reads others only through
  // study.values_at(): then the engine may give it a view whose finished trials carry no
  // curves (keep_history_detail), with a StepReader that answers from storage. True (the safe
  // default) keeps every curve in the view.
  virtual bool reads_other_curves() const { return true; }
};

// Helpers shared by the pruners (pruner.cpp).

// best_intermediate() (hpo/trial.h) as a number: NaN when there is none.
double best_intermediate_value(const Trial& trial, Direction direction);

// Optuna's interval rule: true when `step` is the first report at or after a check point
// (n_warmup_steps, n_warmup_steps + interval_steps, ...), i.e. no earlier report of the trial
// reached the latest check point at or before `step`. REQUIRES: step >= n_warmup_steps.
bool is_first_in_interval(const Trial& trial, std::int64_t step, std::int64_t n_warmup_steps,
                          std::int64_t interval_steps);

// A number for a reason: shortest of %g with 4 significant digits.
std::string format_judged(double value);

}  // namespace hpo
