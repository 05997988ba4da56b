// Study: the C++ library API of hpo, for programs that embed it instead of running
// `hpo run study.json`. The two styles Optuna users know:
//
//   #include <hpo/study.h>
//
//   hpo::StoragePtr storage = hpo::open_storage("results.db");
//   hpo::StudyConfig config;
//   config.name = "mlp";
//   config.metric = "val_loss";
//   config.space.add({"lr", hpo::Distribution::float_range(1e-4, 1e-1, /*log=*/true), {}});
//   config.space.add({"layers", hpo::Distribution::int_range(1, 4), {}});
//   config.sampler.name = "tpe";
//   hpo::Study study = hpo::Study::create_or_load(*storage, config);
//
//   // Ask and tell: the program runs the trials itself (and may prune them: set
//   // config.pruner.name = "median", report each epoch, and stop when should_prune() says so).
//   hpo::AskedTrial trial = study.ask();
//   study.tell(trial, train(trial.params.at("lr").as_double(),
//   trial.params.at("layers").as_int()));
//
//   // Define by config: hpo runs `objective` on `parallelism` threads (a ThreadsExecutor),
//   // records every trial in storage, and returns when n_trials more have completed.
//   study.optimize([](const hpo::ParamSet& params, hpo::ObjectiveContext& trial) {
//     double loss = 0;
//     for (int epoch = 1; epoch <= 10 && !trial.should_stop(); ++epoch)
//       trial.report(epoch, {{"val_loss", loss = train_epoch(params)}});
//     return loss;
//   }, /*n_trials=*/100, /*parallelism=*/4);
//
//   std::optional<hpo::Trial> best = study.best_trial();
//
// Unlike Optuna's define-by-run trial.suggest_float(), the search space is fixed up front (in
// StudyConfig or a spec file), as for every hpo study; a study made here can be inspected with
// `hpo status`, `hpo trials` and `hpo best` like any other.
//
// Errors: InputError for a bad config or a misuse (telling a finished trial), StorageError
// when storage fails; a failing objective is a FAIL trial, not an exception.
//
// Thread-safety: a Study is used by one thread at a time (the storage may be shared with other
// Study objects and processes). optimize() blocks the calling thread; the objective runs on
// other threads and must be safe to call concurrently when parallelism > 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hpo/errors.h"
#include "hpo/objective.h"
#include "hpo/param_value.h"
#include "hpo/run_result.h"
#include "hpo/search_space.h"
#include "hpo/storage.h"
#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

// Which sampler a study defined in code uses (`hpo --help` lists them).
struct SamplerConfig {
  // Spec key "sampler.name": "auto" (default: picks grid, gp or tpe from the space and the
  // budget), "random", "tpe", "grid", "qmc", "cmaes", "gp".
  std::string name = "auto";
  // Spec key "sampler.seed"; nullopt: drawn once when the study is created, and stored.
  std::optional<std::uint64_t> seed;
  // The sampler's own options as a JSON object, e.g. R"({"n_startup_trials": 5})"; checked
  // like a spec file's, with JSON paths ("sampler.n_startup_trials").
  std::string options = "{}";
};

// Which pruner a study defined in code uses (`hpo --help` lists them): the spec's "pruner" block.
struct PrunerConfig {
  // Spec key "pruner.name": "none" (default), "median", "percentile", "asha", "hyperband",
  // "threshold".
  std::string name = "none";
  // The pruner's own options as a JSON object, e.g. R"({"n_startup_trials": 5})", "patience"
  // included; checked like a spec file's, with JSON paths ("pruner.n_startup_trials").
  std::string options = "{}";
};

// A study defined in code: the parts of a spec file that say what is optimised.
struct StudyConfig {
  // Unique in the storage: [A-Za-z0-9._-]+. Spec key "name".
  std::string name;
  // Spec key "direction".
  Direction direction = Direction::kMinimize;
  // The objective metric: what tell(trial, value) records and what an objective's returned
  // number is called. Spec key "objective.metric".
  std::string metric = "value";
  // The hyperparameters. Spec key "space".
  SearchSpace space;
  // The sampler. Spec key "sampler".
  SamplerConfig sampler;
  // The pruner that should_prune() and optimize()'s ObjectiveContext::should_prune() consult.
  // Spec key "pruner".
  PrunerConfig pruner;
};

// A trial handed out by Study::ask(): RUNNING in storage until it is told.
struct AskedTrial {
  std::int64_t id = 0;  // storage id
  int number = 0;       // 0, 1, 2, ... in the study
  ParamSet params;      // the sampler's suggestion; inactive conditional parameters absent
};

// How optimize() runs. Defaults: one thread, no limits.
struct OptimizeOptions {
  // Trials that must complete (or be pruned) in this call; FAIL trials do not count, and
  // the call gives up after as many FAILs as n_trials (like `hpo run --trials`).
  int n_trials = 1;
  // Objective calls at once.
  int parallelism = 1;
  // Per-trial limit: a trial still running after it is a FAIL "timed out after ...", and its
  // objective's should_stop() turns true. nullopt: none.
  std::optional<std::chrono::milliseconds> trial_timeout;
  // Wall-clock limit of the call: no trial starts after it. nullopt: none (or the budget.timeout
  // of a study loaded from a spec file).
  std::optional<std::chrono::milliseconds> timeout;
  // Where ObjectiveContext::checkpoint_dir()/trial_dir() are created (<dir>/<number>/...):
  // default "<current directory>/<study>-trials". Nothing is created unless asked for.
  std::filesystem::path trials_dir;
  // Ctrl-C (SIGINT/SIGTERM/SIGHUP) stops the call as it stops `hpo run`. Off by default: a
  // library leaves signals to its program.
  bool handle_signals = false;
  // Hears about every finished trial and the progress of the call; nullptr for none.
  ProgressListener* progress = nullptr;
};

class Study {
 public:
  // Creates the study in `storage`. Throws InputError for an invalid config (every issue, with
  // spec-style paths) or when a study of that name exists.
  static Study create(Storage& storage, const StudyConfig& config);
  // Loads the study of that name, or creates it (Optuna's load_if_exists=True). Throws
  // InputError when the stored study has another space, direction or metric.
  static Study create_or_load(Storage& storage, const StudyConfig& config);
  // Loads an existing study with the spec it continues with (the one it was last run with, as
  // `hpo resume` does). Throws InputError when there is none.
  static Study load(Storage& storage, const std::string& name);
  // Creates or loads the study the spec file `spec_file` describes, checked as `hpo validate`
  // checks it (InputError with every issue). Its executor block is not used: optimize() runs the
  // objective it is given.
  static Study from_spec_file(Storage& storage, const std::filesystem::path& spec_file);

  Study(Study&&) noexcept;
  Study& operator=(Study&&) noexcept;
  ~Study();

  std::int64_t id() const;
  const std::string& name() const;
  Direction direction() const;
  const std::string& metric() const;
  const SearchSpace& space() const;

  // Asks the sampler for parameters and stores a new RUNNING trial with them.
  AskedTrial ask();
  // Records an intermediate value of the objective metric at `step` (an epoch). Returns false
  // when the trial is no longer running.
  bool report(const AskedTrial& trial, std::int64_t step, double value);
  // Whether the study's pruner stops `trial` after its latest report (Optuna's
  // trial.should_prune()), judged from the study's stored trials by the same code as `hpo run`
  // (other processes' trials included). On true, end the trial with tell(trial,
  // TrialState::kPruned): the pruner's reason ("pruned at step 4 by median: ...") is recorded
  // unless another is given. False when the study has no pruner, the trial has not reported
  // yet, or it is no longer running.
  bool should_prune(const AskedTrial& trial);
  // Finishes a trial COMPLETE with the objective metric's value, or FAIL when the value is NaN
  // or infinite. Returns the trial as stored. Throws InputError when it is already finished.
  Trial tell(const AskedTrial& trial, double value);
  // The same with several metrics; the objective metric must be among them (else FAIL).
  Trial tell(const AskedTrial& trial, const Metrics& metrics);
  // Finishes a trial FAIL (with `reason`) or PRUNED (its value is its last intermediate
  // value). Throws InputError for another state, or when the trial is already finished.
  Trial tell(const AskedTrial& trial, TrialState state, const std::string& reason = "");

  // Runs `objective` until n_trials more trials completed (see OptimizeOptions), recording each
  // in storage as it finishes. Returns why it stopped and the counts.
  RunResult optimize(Objective objective, int n_trials, int parallelism = 1);
  RunResult optimize(Objective objective, const OptimizeOptions& options);

  // The study's trials in number order (optionally only those in `state`), from storage.
  std::vector<Trial> trials(std::optional<TrialState> state = std::nullopt) const;
  // The COMPLETE trial with the best value; nullopt while there is none.
  std::optional<Trial> best_trial() const;

 private:
  class Impl;
  explicit Study(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpo
