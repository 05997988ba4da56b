// Factory: where the engine turns names into parts. Samplers and executors come from their
// registries (samplers/sampler_registry.h, executors/executor_registry.h), which are the only
// places that list them; storage is SQLite. Everything else in the engine talks to interfaces.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/component.h"
#include "hpo/errors.h"
#include "engine/model/study_spec.h"
#include "executors/executor.h"
#include "samplers/pruner.h"
#include "samplers/sampler.h"
#include "storage/storage.h"

namespace boost::asio {
class io_context;
}

namespace hpo {

// Every sampler, pruner and executor this build has, as the spec parser sees them.
const ComponentCatalog& component_catalog();

// Reads and checks a spec file against component_catalog() (load_study_spec).
StudySpec load_spec(const std::filesystem::path& path);
// Parses and checks spec text against component_catalog() (parse_study_spec).
StudySpec parse_spec(std::string_view text, const std::filesystem::path& base_dir,
                     const SpecParseOptions& options = {});

// Runs the preflight of the spec's executor (executors/executor_registry.h): what only a run
// may check, such as loading a plugin. Throws InputError with every issue. `hpo run` calls it
// before it opens the results database, so that a study that cannot run writes nothing.
void preflight(const StudySpec& spec);

// The sampler named in spec.sampler, seeded with `seed`, for `parallelism` trials at once.
// REQUIRES: the spec passed its checks.
// `source_trials`: the trials of the study the sampler block's "source_study" names (a warm
// start), nullptr when none.
std::unique_ptr<Sampler> make_sampler(const StudySpec& spec, std::uint64_t seed, int parallelism,
                                      const std::vector<Trial>* source_trials = nullptr);

// The pruner spec.pruner asks for (samplers/pruner_registry.h make_spec_pruner): nullptr when
// nothing can be pruned ("none" without patience). REQUIRES: the spec passed its checks.
std::unique_ptr<Pruner> make_pruner(const StudySpec& spec);

// What `hpo validate` and `hpo run` warn about: the spec's own warnings, and a pruner whose
// executor can never report a step (a threads builtin), which would never prune anything.
std::vector<SpecIssue> spec_warnings(const StudySpec& spec);

// What `hpo run` warns about after a run, when the spec could not tell (a subprocess program
// or a Kubernetes container reports steps only if it prints `step=N metric=value` lines): the
// study has a pruner, trials finished, and not one ever reported a step of the judged metric,
// so the pruner never judged anything. nullopt otherwise.
std::optional<SpecIssue> unused_pruner_warning(const StudySpec& spec,
                                               const std::vector<Trial>& trials);

// The executor named in spec.executor, driven by `io`. Throws ExecutorError (or InputError)
// when it cannot be set up. REQUIRES: the spec passed its checks and has an executor.
std::unique_ptr<Executor> make_executor(boost::asio::io_context& io, const StudySpec& spec,
                                        std::size_t parallelism);

// What a trial of `spec` with `params` would run (argv, working directory, added environment),
// as its executor would start it, trial number `number`; nullopt when the executor has no
// command line (threads) or the command cannot be built. Runs nothing, writes nothing.
std::optional<TrialLaunch> describe_launch(const StudySpec& spec, const ParamSet& params,
                                           int number);

// Where results go: `cli_path` (--storage) > spec.storage (already resolved against the spec's
// directory) > $HPO_STORAGE > ./hpo.db.
std::filesystem::path resolve_storage_path(const std::optional<std::filesystem::path>& cli_path,
                                           const StudySpec* spec);

// Opens the SQLite results database at `path`. With `must_exist`, a missing file is an
// InputError (so that read-only commands never create an empty database).
std::unique_ptr<Storage> open_storage(const std::filesystem::path& path, bool must_exist);

}  // namespace hpo
