// Factory: the one place that names concrete samplers, storages and executors. Everything
// else in the engine talks to their interfaces.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "engine/model/errors.h"
#include "engine/model/study_spec.h"
#include "executors/executor.h"
#include "samplers/sampler.h"
#include "storage/storage.h"

namespace boost::asio {
class io_context;
}

namespace hpo {

// Checks the parts of a spec that belong to a component rather than to the spec format:
// sampler options (e.g. TPE's), whether an executor kind is available in this build.
// Returns every issue found, with JSON paths; empty when the spec can run.
std::vector<SpecIssue> validate_components(const StudySpec& spec);

// The sampler named in spec.sampler, seeded with `seed`. `parallelism` > 1 turns on TPE's
// constant liar unless the spec says otherwise. REQUIRES: validate_components(spec) is empty.
std::unique_ptr<Sampler> make_sampler(const StudySpec& spec, std::uint64_t seed,
                                      int parallelism);

// The executor named in spec.executor, driven by `io`. REQUIRES: as make_sampler.
std::unique_ptr<Executor> make_executor(boost::asio::io_context& io, const StudySpec& spec,
                                        std::size_t parallelism);

// Where results go: `cli_path` (--storage) > spec.storage (already resolved against the spec's
// directory) > $HPO_STORAGE > ./hpo.db.
std::filesystem::path resolve_storage_path(const std::optional<std::filesystem::path>& cli_path,
                                           const StudySpec* spec);

// Opens the SQLite results database at `path`. With `must_exist`, a missing file is an
// InputError (so that read-only commands never create an empty database).
std::unique_ptr<Storage> open_storage(const std::filesystem::path& path, bool must_exist);

}  // namespace hpo
