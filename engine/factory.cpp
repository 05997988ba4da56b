#include "engine/factory.h"

#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <cstdlib>

#include "executors/objective_sources.h"
#include "executors/subprocess_executor.h"
#include "executors/threads_executor.h"
#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"
#include "storage/sqlite_storage.h"

namespace hpo {

std::vector<SpecIssue> validate_components(const StudySpec& spec) {
  std::vector<SpecIssue> issues;
  if (spec.sampler.name == "tpe") {
    parse_tpe_options(spec.sampler.options, issues);
  }
  if (spec.executor.kind == "threads") {
    for (auto& issue : check_threads_objective(spec)) issues.push_back(std::move(issue));
  } else if (spec.executor.kind == "kubernetes") {
    issues.push_back({"executor.kind", "the kubernetes executor is not available in this build "
                                       "yet; use \"subprocess\""});
  }
  return issues;
}

std::unique_ptr<Sampler> make_sampler(const StudySpec& spec, std::uint64_t seed,
                                      int parallelism) {
  if (spec.sampler.name == "tpe") {
    std::vector<SpecIssue> issues;
    TpeOptions options = parse_tpe_options(spec.sampler.options, issues);
    if (!issues.empty()) throw InputError(issues);
    if (!spec.sampler.options.contains("constant_liar")) options.constant_liar = parallelism > 1;
    return std::make_unique<TpeSampler>(seed, options);
  }
  return std::make_unique<RandomSampler>(seed);
}

std::unique_ptr<Executor> make_executor(boost::asio::io_context& io, const StudySpec& spec,
                                        std::size_t parallelism) {
  if (spec.executor.kind == "subprocess")
    return std::make_unique<SubprocessExecutor>(io, spec.executor, parallelism);
  if (spec.executor.kind == "threads") {
    ThreadsExecutorOptions options;
    options.metric = spec.metric;
    options.timeout = spec.executor.timeout;
    options.cancel_grace = spec.executor.kill_grace;
    return std::make_unique<ThreadsExecutor>(io, objective_from_spec(spec.executor, spec.base_dir),
                                             parallelism, options);
  }
  throw InputError("executor.kind", "'" + spec.executor.kind + "' is not available in this build");
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
