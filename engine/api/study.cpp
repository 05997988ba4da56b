#include "hpo/study.h"

#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/factory.h"
#include "hpo/errors.h"
#include "engine/study_core.h"
#include "engine/study_manager.h"
#include "storage/storage.h"
#include "executors/threads_executor.h"
#include "engine/model/json_codec.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;

// The options of a sampler or pruner given as JSON text: an object, or an error naming `what`.
nlohmann::json component_options(const char* what, const std::string& text) {
  nlohmann::json options;
  try {
    options = nlohmann::json::parse(text.empty() ? "{}" : text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(what, std::string("the options are not valid JSON: ") + e.what());
  }
  if (!options.is_object()) throw InputError(what, "the options must be a JSON object");
  return options;
}

// The spec document of a study made in code. It has no "executor": the objective is the
// program's own (so `hpo run` cannot continue it, and says so).
nlohmann::json config_document(const StudyConfig& config) {
  nlohmann::json sampler = component_options("sampler", config.sampler.options);
  sampler["name"] = config.sampler.name;
  if (config.sampler.seed) sampler["seed"] = *config.sampler.seed;
  nlohmann::json pruner = component_options("pruner", config.pruner.options);
  pruner["name"] = config.pruner.name;
  return {{"name", config.name},
          {"direction", to_string(config.direction)},
          {"objective", {{"metric", config.metric}}},
          {"space", to_json(config.space)},
          {"sampler", sampler},
          {"pruner", pruner}};
}

// Parses a study document that may lack an executor block (a study made in code runs the
// objective its program passes to optimize()).
StudySpec parse_document(const nlohmann::json& document, const std::string& origin) {
  if (!document.is_object()) throw InputError(origin + ": the stored spec is not a JSON object");
  SpecParseOptions options;
  options.origin = origin;
  options.require_executor = false;
  return parse_spec(document.dump(), fs::current_path(), options);
}

}  // namespace

class Study::Impl {
 public:
  Impl(Storage& storage, StudySpec spec, const OpenOptions& options)
      : storage_(storage), core_(storage, std::move(spec), options) {}

  AskedTrial ask() {
    core_.refresh();
    const std::optional<Trial> t = core_.ask("", std::nullopt, "");
    if (!t)
      throw InputError("ask: the sampler of study '" + spec().name +
                       "' has nothing more to propose");
    return {t->id, t->number, t->params};
  }

  bool report(const AskedTrial& trial, std::int64_t step, double value) {
    return core_.report(trial.id, step, value);
  }

  bool should_prune(const AskedTrial& trial) {
    if (!core_.prunes()) return false;
    // Other Study objects and processes report into storage: judge against what it holds now.
    core_.refresh_running();
    const Trial* t = core_.find(trial.id);
    if (t == nullptr || t->state != TrialState::kRunning || t->intermediate.empty()) return false;
    PruneDecision d = core_.should_prune(trial.id, t->intermediate.rbegin()->first);
    if (!d.prune) return false;
    prune_reasons_[trial.id] = std::move(d.reason);
    return true;
  }

  Trial tell(const AskedTrial& trial, TrialOutcome outcome) {
    const auto recorded = core_.tell(trial.id, std::move(outcome), RetryPolicy{}, "");
    if (!recorded) {
      if (core_.find(trial.id) == nullptr)
        throw InputError("tell: trial " + std::to_string(trial.number) +
                         " is not a trial of study '" + spec().name + "'");
      throw InputError("tell: trial " + std::to_string(trial.number) + " of study '" +
                       spec().name + "' is already finished");
    }
    const std::optional<Trial> stored = storage_.get_trial(trial.id);
    if (!stored) throw InputError("tell: trial " + std::to_string(trial.number) + " vanished");
    core_.put(*stored);
    prune_reasons_.erase(trial.id);
    return *stored;
  }

  Trial tell_state(const AskedTrial& trial, TrialState state, const std::string& reason) {
    if (state == TrialState::kFail)
      return tell(trial, TrialOutcome::failed(FailureKind::kObjective, reason));
    if (state == TrialState::kPruned) {
      // The pruner's reason, when should_prune() said yes and the caller gives none.
      const auto it = prune_reasons_.find(trial.id);
      const std::string why = !reason.empty() || it == prune_reasons_.end() ? reason : it->second;
      return tell(trial, TrialOutcome::pruned(why));
    }
    throw InputError(std::string("tell: a trial can be told ") +
                     (state == TrialState::kComplete
                          ? "COMPLETE only with its value: use tell(trial, value)"
                          : "FAIL or PRUNED, not " + std::string(to_string(state))));
  }

  RunResult optimize(Objective objective, const OptimizeOptions& options) {
    if (!objective) throw InputError("optimize: no objective");
    if (options.n_trials < 1) throw InputError("optimize: n_trials must be >= 1");
    if (options.parallelism < 1) throw InputError("optimize: parallelism must be >= 1");
    const TrialCounts counts = core_.refresh();

    RunOptions run;
    run.trials = counts.complete + counts.pruned + options.n_trials;
    run.parallelism = options.parallelism;
    run.max_failed_trials = spec().budget.max_failed_trials.value_or(options.n_trials);
    run.timeout = options.timeout;
    run.handle_signals = options.handle_signals;
    run.progress = options.progress;
    run.trials_root = options.trials_dir.empty()
                          ? fs::current_path() / (spec().name + "-trials")
                          : options.trials_dir;
    ThreadsExecutorOptions executor_options;
    executor_options.metric = spec().metric;
    executor_options.timeout = options.trial_timeout;
    run.make_executor = [objective = std::move(objective), executor_options](
                            boost::asio::io_context& io, const StudySpec&,
                            std::size_t parallelism) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadsExecutor>(io, objective, parallelism, executor_options);
    };
    StudyManager manager(core_, std::move(run));
    return manager.run();
  }

  std::vector<Trial> trials(std::optional<TrialState> state) const {
    return storage_.get_trials(core_.id(), state);
  }

  std::optional<Trial> best_trial() {
    core_.refresh();
    const Trial* best = core_.best();
    if (best == nullptr) return std::nullopt;
    // The cache may keep only what the sampler reads of it: the full record is storage's.
    if (std::optional<Trial> stored = storage_.get_trial(best->id)) return stored;
    return *best;
  }

  const StudySpec& spec() const { return core_.spec(); }
  std::int64_t id() const { return core_.id(); }

 private:
  Storage& storage_;
  StudyCore core_;
  // Trials should_prune() said yes to, with the pruner's reason, until they are told.
  std::unordered_map<std::int64_t, std::string> prune_reasons_;
};

// ---------------------------------------------------------------------------------------------

Study::Study(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Study::Study(Study&&) noexcept = default;
Study& Study::operator=(Study&&) noexcept = default;
Study::~Study() = default;

namespace {

OpenOptions open_options(OpenMode mode, bool record_spec) {
  OpenOptions options;
  options.mode = mode;
  options.record_spec = record_spec;
  return options;
}

}  // namespace

Study Study::create(Storage& storage, const StudyConfig& config) {
  return Study(std::make_unique<Impl>(storage,
                                      parse_document(config_document(config), "study config"),
                                      open_options(OpenMode::kCreate, true)));
}

Study Study::create_or_load(Storage& storage, const StudyConfig& config) {
  // A study made by a spec file keeps the spec it was run with (and its executor).
  return Study(std::make_unique<Impl>(storage,
                                      parse_document(config_document(config), "study config"),
                                      open_options(OpenMode::kCreateOrLoad, false)));
}

Study Study::load(Storage& storage, const std::string& name) {
  const std::optional<StudyRecord> record = storage.find_study(name);
  if (!record) throw InputError("no study named \"" + name + "\" in this storage");
  return Study(std::make_unique<Impl>(storage, StudyCore::stored_spec(*record),
                                      open_options(OpenMode::kLoad, false)));
}

Study Study::from_spec_file(Storage& storage, const std::filesystem::path& spec_file) {
  return Study(std::make_unique<Impl>(storage, load_spec(spec_file),
                                      open_options(OpenMode::kCreateOrLoad, false)));
}

std::int64_t Study::id() const { return impl_->id(); }
const std::string& Study::name() const { return impl_->spec().name; }
Direction Study::direction() const { return impl_->spec().direction; }
const std::string& Study::metric() const { return impl_->spec().metric; }
const SearchSpace& Study::space() const { return impl_->spec().space; }

AskedTrial Study::ask() { return impl_->ask(); }

bool Study::report(const AskedTrial& trial, std::int64_t step, double value) {
  return impl_->report(trial, step, value);
}

bool Study::should_prune(const AskedTrial& trial) { return impl_->should_prune(trial); }

Trial Study::tell(const AskedTrial& trial, double value) {
  return impl_->tell(trial, TrialOutcome::complete({{impl_->spec().metric, value}}));
}

Trial Study::tell(const AskedTrial& trial, const Metrics& metrics) {
  return impl_->tell(trial, TrialOutcome::complete(metrics));
}

Trial Study::tell(const AskedTrial& trial, TrialState state, const std::string& reason) {
  return impl_->tell_state(trial, state, reason);
}

RunResult Study::optimize(Objective objective, int n_trials, int parallelism) {
  OptimizeOptions options;
  options.n_trials = n_trials;
  options.parallelism = parallelism;
  return impl_->optimize(std::move(objective), options);
}

RunResult Study::optimize(Objective objective, const OptimizeOptions& options) {
  return impl_->optimize(std::move(objective), options);
}

std::vector<Trial> Study::trials(std::optional<TrialState> state) const {
  return impl_->trials(state);
}

std::optional<Trial> Study::best_trial() const { return impl_->best_trial(); }

}  // namespace hpo
