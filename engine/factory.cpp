#include "engine/factory.h"

#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <cstdlib>

#include "executors/executor_registry.h"
#include "samplers/pruner_registry.h"
#include "samplers/sampler_registry.h"
#include "storage/sqlite_storage.h"

namespace hpo {

const ComponentCatalog& component_catalog() {
  static const ComponentCatalog catalog = [] {
    ComponentCatalog c;
    for (const auto& r : sampler_registry()) c.samplers.push_back(r.info);
    for (const auto& r : pruner_registry()) c.pruners.push_back(r.info);
    for (const auto& r : executor_registry()) c.executors.push_back(r.info);
    return c;
  }();
  return catalog;
}

StudySpec load_spec(const std::filesystem::path& path) {
  return load_study_spec(path, component_catalog());
}

StudySpec parse_spec(std::string_view text, const std::filesystem::path& base_dir,
                     const SpecParseOptions& options) {
  return parse_study_spec(text, base_dir, component_catalog(), options);
}

void preflight(const StudySpec& spec) {
  if (!spec.executor) return;
  const ExecutorRegistration* r = find_executor(spec.executor->kind);
  if (r == nullptr || !r->preflight) return;
  SpecChecker checker;
  r->preflight(spec, checker);
  checker.throw_if_any();
}

std::unique_ptr<Sampler> make_sampler(const StudySpec& spec, std::uint64_t seed, int parallelism,
                                      const std::vector<Trial>* source_trials) {
  const SamplerRegistration* r = find_sampler(spec.sampler.name);
  if (r == nullptr)
    throw InputError("sampler.name", "no sampler named \"" + spec.sampler.name + "\" in this build");
  return r->make(SamplerArgs{spec, seed, parallelism, source_trials});
}

std::unique_ptr<Pruner> make_pruner(const StudySpec& spec) { return make_spec_pruner(spec); }

std::vector<SpecIssue> spec_warnings(const StudySpec& spec) {
  std::vector<SpecIssue> out = spec.warnings;
  const bool prunes = spec.pruner.name != "none" || spec.pruner.patience;
  if (prunes && spec.executor) {
    const ExecutorRegistration* r = find_executor(spec.executor->kind);
    if (r != nullptr && r->reports_steps && !r->reports_steps(spec))
      out.push_back({"pruner", "this executor's trials never report steps (" +
                                   spec.executor->kind +
                                   " executor as configured), so no trial will be pruned"});
  }
  return out;
}

std::optional<SpecIssue> unused_pruner_warning(const StudySpec& spec,
                                               const std::vector<Trial>& trials) {
  if (spec.pruner.name == "none" && !spec.pruner.patience) return std::nullopt;
  bool finished = false;
  for (const Trial& t : trials) {
    if (!t.intermediate.empty()) return std::nullopt;
    finished = finished || t.state == TrialState::kComplete || t.state == TrialState::kFail;
  }
  if (!finished) return std::nullopt;
  const std::string& m = spec.judged_metric();
  return SpecIssue{spec.intermediate_metric.empty() ? "pruner" : "objective.intermediate_metric",
                   "no trial reported a step of '" + m +
                       "', so the pruner never judged one (a trial reports one by printing a "
                       "line such as `step=3 " +
                       m +
                       "=0.25`, or `epoch=3 ...`; see "
                       "executors/metric_parser.h)"};
}

std::unique_ptr<Executor> make_executor(boost::asio::io_context& io, const StudySpec& spec,
                                        std::size_t parallelism) {
  if (!spec.executor)
    throw InputError("executor", "is required to run a study (this one was defined in code)");
  const ExecutorRegistration* r = find_executor(spec.executor->kind);
  if (r == nullptr)
    throw InputError("executor.kind",
                     "no executor \"" + spec.executor->kind + "\" in this build");
  return r->make(ExecutorArgs{io, spec, parallelism});
}

std::optional<TrialLaunch> describe_launch(const StudySpec& spec, const ParamSet& params,
                                           int number) {
  if (!spec.executor) return std::nullopt;
  const ExecutorRegistration* r = find_executor(spec.executor->kind);
  if (r == nullptr || !r->describe_launch) return std::nullopt;
  // The directories `hpo run` would give the trial (run_command.cpp).
  const std::filesystem::path root =
      spec.executor->trials_dir
          ? *spec.executor->trials_dir
          : resolve_storage_path(std::nullopt, &spec).parent_path() / (spec.name + "-trials");
  TrialTask task;
  task.number = number;
  task.study = spec.name;
  task.params = params;
  task.trial_dir = root / std::to_string(number);
  task.checkpoint_dir = task.trial_dir / "checkpoint";
  return r->describe_launch(spec, task);
}

std::filesystem::path resolve_storage_path(const std::optional<std::filesystem::path>& cli_path,
                                           const StudySpec* spec) {
  if (cli_path) return *cli_path;
  if (spec && spec->storage) return *spec->storage;
  if (const char* env = std::getenv("HPO_STORAGE"); env && *env) return env;
  return "hpo.db";
}

std::unique_ptr<Storage> open_storage(const std::filesystem::path& path, bool must_exist) {
  if (must_exist && !std::filesystem::exists(path))
    throw InputError("no results database at '" + path.string() +
                     "' (give --storage PATH or set HPO_STORAGE)");
  if (!must_exist && path.has_parent_path() && !std::filesystem::exists(path.parent_path()))
    throw InputError("storage", "directory '" + path.parent_path().string() +
                                    "' of the results database does not exist");
  SqliteOptions options;
  options.create_if_missing = !must_exist;
  return std::make_unique<SqliteStorage>(path, options);
}

}  // namespace hpo
