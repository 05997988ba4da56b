// Trial: one evaluation of the objective at one parameter set, as stored. Value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpo/param_value.h"
#include "hpo/trial_state.h"

namespace hpo {

// Metric name -> value: what a trial reports ("loss", "accuracy", ...).
using Metrics = std::map<std::string, double>;

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// What an executor ran for a trial, so that it can be rerun by hand (`hpo show`).
struct TrialLaunch {
  std::vector<std::string> argv;  // the program and its arguments, as passed (no shell)
  std::string cwd;                // the working directory; empty when the executor has none
  // The environment variables hpo added to its own (the spec's "env", the HPO_* protocol
  // variables), in name order. The value of a name that looks secret (TOKEN, PASSWORD, SECRET,
  // KEY, CREDENTIAL) is "<redacted>".
  std::vector<std::pair<std::string, std::string>> env;

  friend bool operator==(const TrialLaunch&, const TrialLaunch&) = default;
};

struct Trial {
  std::int64_t id = 0;  // storage row id, unique across studies; 0 before it is stored
  int number = 0;       // dense per study, from 0, in creation order
  TrialState state = TrialState::kWaiting;
  ParamSet params;
  // Objective value: set for COMPLETE, and for PRUNED (its last intermediate value). A
  // multi-objective study leaves it empty and fills `values`.
  std::optional<double> value;
  // A multi-objective study's COMPLETE trial: one value per objective, in the spec's order
  // ("objectives"); empty otherwise.
  std::vector<double> values;
  // A study with constraints: how far the trial's constraint metrics lie outside their bounds,
  // summed (0 when every constraint holds: the trial is feasible). nullopt when the study has no
  // constraints or the trial did not complete.
  std::optional<double> violation;
  // Every final metric the trial reported (the objective metric among them).
  Metrics metrics;
  // Intermediate values of the objective metric by step (epoch).
  std::map<std::int64_t, double> intermediate;
  std::optional<TimePoint> started;   // RUNNING since
  std::optional<TimePoint> finished;  // COMPLETE/PRUNED/FAIL at
  std::optional<TimePoint> heartbeat;  // last sign of life of a RUNNING trial
  std::string reason;     // why it FAILed (or was PRUNED); empty otherwise
  int attempt = 0;        // 0 for the first run of these parameters; +1 per retry
  std::optional<int> retry_of;  // number of the trial this one re-runs
  std::string trial_dir;  // directory with stdout.log / stderr.log; empty when none
  std::string owner;      // the run (RunRecord::owner) that ran or runs it; empty if WAITING
  // Where it runs or ran, as its executor said (a process group, a Job); empty when unknown.
  std::string location;
  // What ran (argv, working directory, added environment), as the executor reported it;
  // nullopt when it did not (in-process objectives, trials stored before schema version 4).
  std::optional<TrialLaunch> launch;
  // Annotations of files written before version 3 of the schema; nothing writes them now.
  std::map<std::string, std::string> user_attrs;

  // False only for a trial whose constraints do not all hold.
  bool feasible() const { return !violation || *violation <= 0.0; }

  // finished - started in seconds; nullopt until both are known.
  std::optional<double> duration_s() const {
    if (!started || !finished) return std::nullopt;
    return std::chrono::duration<double>(*finished - *started).count();
  }
};

// One intermediate report: the step and the objective metric's value there.
struct StepValue {
  std::int64_t step = 0;
  double value = 0.0;
};

// Which report of a curve stands for a step: the one at exactly that step (the median and
// percentile pruners compare trials there), or the first at or after it (a successive-halving
// rung: a trial that reported at steps 3 and 7 reached the rung at step 5 with its value of 7).
enum class StepMatch { kExactly, kFirstFrom };

// The report of `trial` that `match` picks for `step`; nullopt when there is none. The one rule
// for it (the pruners' scans, the storages' step queries, the study core's cache of them).
inline std::optional<StepValue> report_for_step(const Trial& trial, std::int64_t step,
                                                StepMatch match) {
  const auto it = match == StepMatch::kExactly ? trial.intermediate.find(step)
                                               : trial.intermediate.lower_bound(step);
  if (it == trial.intermediate.end()) return std::nullopt;
  return StepValue{it->first, it->second};
}

// The best intermediate value of `trial` in `direction` (the earliest step among equals); NaN
// values are ignored; nullopt when there is none. The one rule for it (the pruners, `hpo
// trials`, `hpo show`, the report).
inline std::optional<StepValue> best_intermediate(const Trial& trial, Direction direction) {
  std::optional<StepValue> best;
  for (const auto& [step, value] : trial.intermediate) {
    if (value != value) continue;  // NaN
    if (!best || is_better(direction, value, best->value)) best = StepValue{step, value};
  }
  return best;
}

// The best trial of `trials`: the feasible COMPLETE one with the best value in `direction`, the
// lowest number among equals; nullptr when there is none. The one rule for "best" of a
// single-objective study (the run's progress, `hpo best`, the C++ API); samplers/pareto.h has
// the front of a multi-objective one.
inline const Trial* best_trial(const std::vector<Trial>& trials, Direction direction) {
  const Trial* best = nullptr;
  for (const Trial& t : trials) {
    if (t.state != TrialState::kComplete || !t.value || !t.feasible()) continue;
    if (best == nullptr || is_better(direction, *t.value, *best->value) ||
        (*t.value == *best->value && t.number < best->number))
      best = &t;
  }
  return best;
}

// Optional conversions used by storage and the CLI: seconds since the Unix epoch.
inline double to_unix_seconds(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_seconds(double s) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}

}  // namespace hpo
