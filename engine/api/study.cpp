#include "engine/api/study.h"

#include <cmath>
#include <random>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/factory.h"
#include "engine/model/errors.h"
#include "engine/model/study_view.h"
#include "executors/threads_executor.h"
#include "samplers/sampler.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;

// The spec document of a study made in code. It has no "executor": the objective is the
// program's own (so `hpo run` cannot continue it, and says so).
nlohmann::json config_document(const StudyConfig& config) {
  nlohmann::json sampler = config.sampler.block.is_object() ? nlohmann::json(config.sampler.block)
                                                            : nlohmann::json::object();
  sampler["name"] = config.sampler.name;
  if (config.sampler.seed) sampler["seed"] = *config.sampler.seed;
  return {{"name", config.name},
          {"direction", to_string(config.direction)},
          {"objective", {{"metric", config.metric}}},
          {"space", config.space.to_json()},
          {"sampler", sampler}};
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

std::uint64_t fresh_seed() {
  std::random_device rd;
  return rd() ^ (std::uint64_t{rd()} << 32);
}

// What differs between a stored study and the one asked for (the history would not mean the
// same thing under another space, direction or metric).
std::vector<SpecIssue> differences(const StudySpec& stored, const StudySpec& asked) {
  std::vector<SpecIssue> out;
  if (stored.direction != asked.direction)
    out.push_back({"direction", std::string("stored ") + to_string(stored.direction) + ", now " +
                                    to_string(asked.direction)});
  if (stored.metric != asked.metric)
    out.push_back(
        {"objective.metric", "stored \"" + stored.metric + "\", now \"" + asked.metric + "\""});
  if (stored.space != asked.space)
    out.push_back({"space", "stored " + stored.space.to_json().dump() + ", now " +
                                asked.space.to_json().dump()});
  return out;
}

}  // namespace

class Study::Impl {
 public:
  Impl(Storage& storage, StudySpec spec, StudyRecord record)
      : storage_(storage), spec_(std::move(spec)), record_(std::move(record)) {
    // As the study manager does: the spec's seed, else the one stored at creation.
    const auto attr = record_.user_attrs.find(kSamplerSeedAttr);
    const bool stored = attr != record_.user_attrs.end();
    seed_ = spec_.sampler.seed.value_or(stored ? std::stoull(attr->second) : fresh_seed());
    if (!stored) storage_.set_study_user_attr(record_.id, kSamplerSeedAttr, std::to_string(seed_));
    sampler_ = make_sampler(spec_, seed_, 1);
    reload();
  }

  static std::unique_ptr<Impl> open(Storage& storage, const StudySpec& spec, bool may_exist,
                                    bool may_create) {
    std::optional<StudyRecord> record = storage.find_study(spec.name);
    if (record) {
      if (!may_exist)
        throw InputError("name", "a study named \"" + spec.name +
                                     "\" exists already (use Study::create_or_load or "
                                     "Study::load to continue it)");
      std::vector<SpecIssue> issues =
          differences(parse_document(record->spec, "stored study '" + spec.name + "'"), spec);
      if (!issues.empty()) {
        issues.insert(issues.begin(),
                      {"", "study '" + spec.name +
                               "' exists with a different search space, direction or metric:"});
        throw InputError(issues);
      }
      return std::make_unique<Impl>(storage, spec, *record);
    }
    if (!may_create) throw InputError("no study named \"" + spec.name + "\" in this storage");
    StudyRecord created;
    try {
      created = storage.create_study(spec.name, spec.direction, spec.metric, spec.document);
    } catch (const StorageError&) {
      // Another process created it meanwhile: continue it, as if it had been there.
      if (!may_exist || !storage.find_study(spec.name)) throw;
      return open(storage, spec, may_exist, false);
    }
    return std::make_unique<Impl>(storage, spec, created);
  }

  AskedTrial ask() {
    const TrialCounts counts = sync();
    NewTrial nt;
    nt.state = TrialState::kRunning;
    nt.params = sampler_->suggest(StudyView(spec_.direction, trials_), spec_.space,
                                  static_cast<std::uint64_t>(counts.total()));
    const Trial t = storage_.create_trial(record_.id, nt);
    cache(t);
    ++counts_.running;
    return {t.id, t.number, t.params};
  }

  bool report(const AskedTrial& trial, std::int64_t step, double value) {
    if (!storage_.report_intermediate(trial.id, step, value)) return false;
    if (Trial* t = find(trial.id)) t->intermediate[step] = value;
    return true;
  }

  Trial tell_metrics(const AskedTrial& trial, const Metrics& metrics) {
    const auto it = metrics.find(spec_.metric);
    if (it == metrics.end()) {
      std::string reported;
      for (const auto& [name, value] : metrics) reported += (reported.empty() ? "" : ", ") + name;
      return finish(trial, TrialState::kFail, std::nullopt, metrics,
                    "objective metric '" + spec_.metric + "' was not reported (reported: " +
                        (reported.empty() ? "none" : reported) + ")");
    }
    if (!std::isfinite(it->second))
      return finish(trial, TrialState::kFail, std::nullopt, metrics,
                    "objective metric '" + spec_.metric + "' is " +
                        (std::isnan(it->second) ? "NaN" : "infinite"));
    return finish(trial, TrialState::kComplete, it->second, metrics, "");
  }

  Trial tell_state(const AskedTrial& trial, TrialState state, const std::string& reason) {
    if (state == TrialState::kFail) return finish(trial, state, std::nullopt, {}, reason);
    if (state == TrialState::kPruned) {
      const std::optional<Trial> stored = storage_.get_trial(trial.id);
      std::optional<double> value;
      if (stored && !stored->intermediate.empty()) value = stored->intermediate.rbegin()->second;
      return finish(trial, state, value, {}, reason);
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
    const TrialCounts counts = storage_.count_trials(record_.id);

    StudySpec spec = spec_;
    spec.parallelism = options.parallelism;
    spec.budget.timeout = options.timeout;
    if (!spec.budget.max_failed_trials) spec.budget.max_failed_trials = options.n_trials;

    RunOptions run;
    run.trials = counts.complete + counts.pruned + options.n_trials;
    run.parallelism = options.parallelism;
    run.handle_signals = options.handle_signals;
    run.progress = options.progress;
    run.trials_root = options.trials_dir.empty() ? fs::current_path() / (spec_.name + "-trials")
                                                 : options.trials_dir;
    ThreadsExecutorOptions executor_options;
    executor_options.metric = spec_.metric;
    executor_options.timeout = options.trial_timeout;
    run.make_executor = [objective = std::move(objective), executor_options](
                            boost::asio::io_context& io, const StudySpec&,
                            std::size_t parallelism) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadsExecutor>(io, objective, parallelism, executor_options);
    };
    StudyManager manager(std::move(spec), storage_, std::move(run));
    RunResult result = manager.run();
    reload();
    return result;
  }

  std::vector<Trial> trials(std::optional<TrialState> state) const {
    return storage_.get_trials(record_.id, state);
  }

  std::optional<Trial> best_trial() const {
    std::optional<Trial> best;
    for (Trial& t : storage_.get_trials(record_.id, TrialState::kComplete)) {
      if (t.value && (!best || is_better(spec_.direction, *t.value, *best->value)))
        best = std::move(t);
    }
    return best;
  }

  const StudySpec& spec() const { return spec_; }
  std::int64_t id() const { return record_.id; }

 private:
  // Reloads the trial cache the sampler sees when storage holds other counts than it (another
  // Study object or process added or finished trials), and returns the counts.
  TrialCounts sync() {
    const TrialCounts now = storage_.count_trials(record_.id);
    if (now.waiting != counts_.waiting || now.running != counts_.running ||
        now.complete != counts_.complete || now.pruned != counts_.pruned ||
        now.fail != counts_.fail)
      reload();
    return now;
  }

  void reload() {
    trials_ = storage_.get_trials(record_.id);
    index_.clear();
    for (std::size_t i = 0; i < trials_.size(); ++i) index_[trials_[i].id] = i;
    counts_ = storage_.count_trials(record_.id);
  }

  void cache(const Trial& t) {
    if (Trial* cached = find(t.id)) {
      *cached = t;
      return;
    }
    index_[t.id] = trials_.size();
    trials_.push_back(t);
  }

  Trial* find(std::int64_t id) {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : &trials_[it->second];
  }

  Trial finish(const AskedTrial& trial, TrialState state, std::optional<double> value,
               const Metrics& metrics, const std::string& reason) {
    if (!find(trial.id)) reload();
    if (!find(trial.id))
      throw InputError("tell: trial " + std::to_string(trial.number) +
                       " is not a trial of study '" + spec_.name + "'");
    if (!storage_.finish_trial(trial.id, state, value, metrics,
                               state == TrialState::kFail && reason.empty() ? "failed" : reason))
      throw InputError("tell: trial " + std::to_string(trial.number) + " of study '" + spec_.name +
                       "' is already finished");
    std::optional<Trial> stored = storage_.get_trial(trial.id);
    if (!stored) throw InputError("tell: trial " + std::to_string(trial.number) + " vanished");
    cache(*stored);
    --counts_.running;
    switch (state) {
      case TrialState::kComplete:
        ++counts_.complete;
        break;
      case TrialState::kPruned:
        ++counts_.pruned;
        break;
      default:
        ++counts_.fail;
        break;
    }
    return *stored;
  }

  Storage& storage_;
  const StudySpec spec_;
  const StudyRecord record_;
  std::uint64_t seed_ = 0;
  std::unique_ptr<Sampler> sampler_;

  std::vector<Trial> trials_;  // what the sampler sees: the study's trials
  std::unordered_map<std::int64_t, std::size_t> index_;
  TrialCounts counts_;  // the counts trials_ reflects
};

// ---------------------------------------------------------------------------------------------

Study::Study(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Study::Study(Study&&) noexcept = default;
Study& Study::operator=(Study&&) noexcept = default;
Study::~Study() = default;

Study Study::create(Storage& storage, const StudyConfig& config) {
  return Study(Impl::open(storage, parse_document(config_document(config), "study config"),
                          /*may_exist=*/false, /*may_create=*/true));
}

Study Study::create_or_load(Storage& storage, const StudyConfig& config) {
  return Study(Impl::open(storage, parse_document(config_document(config), "study config"),
                          /*may_exist=*/true, /*may_create=*/true));
}

Study Study::load(Storage& storage, const std::string& name) {
  const std::optional<StudyRecord> record = storage.find_study(name);
  if (!record) throw InputError("no study named \"" + name + "\" in this storage");
  return Study(Impl::open(storage, parse_document(record->spec, "stored study '" + name + "'"),
                          /*may_exist=*/true, /*may_create=*/false));
}

Study Study::from_spec(Storage& storage, const StudySpec& spec) {
  return Study(Impl::open(storage, spec, /*may_exist=*/true, /*may_create=*/true));
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

Trial Study::tell(const AskedTrial& trial, double value) {
  return impl_->tell_metrics(trial, {{impl_->spec().metric, value}});
}

Trial Study::tell(const AskedTrial& trial, const Metrics& metrics) {
  return impl_->tell_metrics(trial, metrics);
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
