// StudySpec: a parsed, validated study spec (the JSON a user writes; see DESIGN.md). Parsing
// collects every problem as a SpecIssue with its JSON path and throws one InputError holding
// all of them; it never touches the filesystem beyond reading the spec file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/component.h"
#include "engine/model/duration.h"
#include "engine/model/retry_policy.h"
#include "hpo/search_space.h"
#include "engine/model/spec_checker.h"
#include "hpo/trial_state.h"

namespace hpo {

// Which of a trial's reports of the objective metric is its value (Katib's metricStrategies).
enum class ValueStrategy {
  kLatest,  // the final report (the last value printed, or HPO_RESULT_FILE's)
  kBest,    // the best of its intermediate values and the final one, in the study's direction
};
const char* to_string(ValueStrategy strategy);  // "latest" / "best"

struct Budget {
  // Trials that must finish COMPLETE or PRUNED; nullopt means no limit (then timeout or
  // Ctrl-C ends the run). JSON key "trials".
  std::optional<int> trials;
  // Wall-clock limit of one `hpo run` ("90s", "20m", "2h", "1h30m"). JSON key "timeout".
  std::optional<std::chrono::milliseconds> timeout;
  // The run stops once this many trials FAILed. JSON key "max_failed_trials"; nullopt = no
  // limit.
  std::optional<int> max_failed_trials;
  // The run stops as soon as its first this-many finished trials all FAILed for the same
  // kind of reason (engine/fail_fast.h); 0 never stops early. JSON key "fail_fast".
  int fail_fast = 3;
};

struct SamplerSpec {
  // Which sampler (samplers/sampler_registry.h lists them). JSON key "name"; default "auto",
  // which picks one from the space and the budget.
  std::string name = "auto";
  // JSON key "seed"; nullopt: drawn once when the study is created and stored with it.
  std::optional<std::uint64_t> seed;
  // The "sampler" object as written ({} when the spec has none). The sampler reads its own
  // keys from it; its checker has validated them.
  OrderedJson block = OrderedJson::object();
};

// The generic half of the "pruner" block: which pruner, and the patience wrapper every pruner
// may have. The pruner reads its own keys ("n_startup_trials", "reduction_factor", ...) from
// `block`, which its checker has validated (samplers/pruner_registry.h).
struct PrunerSpec {
  // Which pruner (samplers/pruner_registry.h lists them). JSON key "name"; default "none".
  std::string name = "none";
  // Prune only after this many reports in a row without improvement on the trial's best
  // before them (Optuna's PatientPruner wrapping the named one; with "none", patience alone
  // decides). JSON key "patience"; nullopt: no patience wrapper.
  std::optional<int> patience;
  // The "pruner" object as written ({} when the spec has none).
  OrderedJson block = OrderedJson::object();
};

// The generic half of the "executor" block: what every executor kind shares. The executor
// reads its own keys ("command", "builtin", "template", ...) from `block`.
struct ExecutorSpec {
  // Which executor (executors/executor_registry.h lists them). JSON "kind", default
  // "subprocess".
  std::string kind = "subprocess";
  // Per-trial time limit ("20m"); nullopt = none. "timeout"
  std::optional<std::chrono::milliseconds> timeout;
  // How long a trial asked to stop may take before it is killed. "kill_grace", default "5s".
  std::chrono::milliseconds kill_grace{5000};
  // Where trial directories go; default "<storage dir>/<study>-trials". "trials_dir"
  std::optional<std::filesystem::path> trials_dir;
  // "retries" and "retry_on_exit_codes".
  RetryPolicy retry;
  // The "executor" object as written.
  OrderedJson block = OrderedJson::object();
};

// One objective of a multi-objective study: "objectives": [{"metric": ..., "direction": ...}].
struct ObjectiveSpec {
  std::string metric;
  Direction direction = Direction::kMinimize;
};

// A feasibility constraint: "constraints": [{"metric": "memory_mb", "max": 512}]. A trial whose
// metric lies outside [min, max] is infeasible by the distance; one that does not report the
// metric FAILs.
struct ConstraintSpec {
  std::string metric;         // "metric"
  std::optional<double> min;  // "min"
  std::optional<double> max;  // "max" (at least one of the two)
};

// The most trials a study may run at once ("parallelism", `hpo run --parallelism`): each holds
// processes and pipes (or a thread), and beyond this a machine runs out of them.
inline constexpr int kMaxParallelism = 1024;

struct StudySpec {
  std::string name;                       // "name": [A-Za-z0-9._-]+
  Direction direction = Direction::kMinimize;  // "direction"
  std::string metric;                     // "objective": {"metric": ...}
  // Every objective, in order: one for the single-objective form (direction + objective.metric),
  // or the "objectives" list. `direction` and `metric` are the first one's, except that the
  // direction of a multi-objective study with a pruner is its judged metric's.
  std::vector<ObjectiveSpec> objectives;
  std::vector<ConstraintSpec> constraints;  // "constraints"
  // "reference_point": one value per objective, for the hypervolume; empty: derived from the
  // trials (nadir_reference in samplers/pareto.h).
  std::vector<double> reference_point;
  // The metric whose step reports are stored as intermediate values and judged by the pruner:
  // "objective": {"intermediate_metric": ...}; empty means `metric`.
  std::string intermediate_metric;
  // Which report is a trial's value: "objective": {"strategy": "latest" | "best"}.
  ValueStrategy strategy = ValueStrategy::kLatest;
  // The study is done once a COMPLETE trial's value reaches this (<= when minimizing, >= when
  // maximizing): "objective": {"goal": number}; nullopt: no goal.
  std::optional<double> goal;
  SearchSpace space;                      // "space"
  SamplerSpec sampler;                    // "sampler" (default random)
  PrunerSpec pruner;                      // "pruner" (default none)
  Budget budget;                          // "budget"
  int parallelism = 1;                    // "parallelism" >= 1
  // "executor"; nullopt only for a study defined in code (the C++ API), whose trials run
  // the objective the program passes to optimize().
  std::optional<ExecutorSpec> executor;
  std::optional<std::filesystem::path> storage;  // "storage", resolved against base_dir
  // Directory of the spec file (relative paths in the spec resolve against it); the current
  // directory for a spec read from a string.
  std::filesystem::path base_dir;
  // The spec document as written (stored with the study).
  nlohmann::json document = nlohmann::json::object();
  // Problems that do not stop a run ("pruner: the threads executor's builtin functions never
  // report steps, so no trial will be pruned"), with JSON paths; `hpo validate` and `hpo run`
  // print them.
  std::vector<SpecIssue> warnings;

  bool multi_objective() const { return objectives.size() > 1; }
  // One per objective (a single-objective study has one).
  std::vector<Direction> directions() const {
    std::vector<Direction> out;
    for (const ObjectiveSpec& o : objectives) out.push_back(o.direction);
    if (out.empty()) out.push_back(direction);
    return out;
  }

  // The metric stored per step and judged by pruners: intermediate_metric, else metric.
  const std::string& judged_metric() const {
    return intermediate_metric.empty() ? metric : intermediate_metric;
  }
};

// How a spec is read.
struct SpecParseOptions {
  // Names the source in messages (a file name).
  std::string origin = "spec";
  // False for a study defined in code: then "executor" may be absent.
  bool require_executor = true;
};

// Parses and validates `text`: the generic keys here, each component block by the checker
// `catalog` has for it. Throws InputError with every issue found: JSON syntax errors carry line
// and column; unknown keys and names get a did-you-mean hint.
StudySpec parse_study_spec(std::string_view text, const std::filesystem::path& base_dir,
                           const ComponentCatalog& catalog, const SpecParseOptions& options = {});
// Reads and parses a spec file; a missing or unreadable file is an InputError.
StudySpec load_study_spec(const std::filesystem::path& path, const ComponentCatalog& catalog);

}  // namespace hpo
