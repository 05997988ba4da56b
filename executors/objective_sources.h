// Where a threads-executor objective comes from, besides C++ code: a builtin test function
// (`"builtin": "branin"`, executors/builtin_functions.h) or a plugin library written against
// the C ABI of executors/hpo_plugin.h (`"library": "./libobj.so", "symbol": "objective"`).
//
// Plugin libraries are loaded with dlopen(RTLD_NOW | RTLD_LOCAL) and stay loaded while the
// returned Objective, a copy of it, or a call of it exists. Loading runs the library's static
// initialisers; nothing else here touches the filesystem.
//
// Thread-safety: the functions are thread-safe; the Objectives they return may be called from
// several threads at once (a plugin must be reentrant, see hpo_plugin.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/model/errors.h"
#include "engine/model/study_spec.h"
#include "executors/objective.h"

namespace hpo {

// The default of the spec's "symbol".
inline constexpr const char* kDefaultPluginSymbol = "objective";

// The builtin function `name` as an Objective that returns {"value": f(params)}. Throws
// InputError for an unknown name. A parameter the function lacks fails the trial (it cannot
// happen for a spec that passed check_threads_objective).
Objective builtin_objective(const std::string& name);

// Loads `library` and returns its function `symbol` as an Objective. Throws ExecutorError,
// before any trial runs, when the file does not exist or cannot be loaded (dlerror's text),
// when it does not export hpo_plugin_abi_version (not an hpo plugin), when its ABI version is
// not HPO_PLUGIN_ABI_VERSION, or when it does not export `symbol`.
Objective load_plugin_objective(const std::filesystem::path& library,
                                const std::string& symbol = kDefaultPluginSymbol);

// The objective a threads executor spec names (spec.raw "builtin", or "library" resolved
// against `base_dir` plus "symbol"). Throws InputError / ExecutorError as above.
Objective objective_from_spec(const ExecutorSpec& spec, const std::filesystem::path& base_dir);

// Checks a study whose executor kind is "threads": the builtin exists, the space gives it
// exactly its inputs, and the objective metric is "value"; or the plugin loads (the file, both
// symbols, the ABI version). Returns every issue with its JSON path ("executor.builtin",
// "space", "objective.metric", "executor.library", "executor.symbol"); empty when it can run.
std::vector<SpecIssue> check_threads_objective(const StudySpec& spec);

// The library path of a threads spec as the executor will load it: "library" resolved against
// the spec's directory. Empty when the spec has no "library".
std::filesystem::path plugin_library_path(const ExecutorSpec& spec,
                                          const std::filesystem::path& base_dir);

}  // namespace hpo
