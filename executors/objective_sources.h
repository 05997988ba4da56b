// Where a threads-executor objective comes from, besides C++ code: a builtin test function
// (`"builtin": "branin"`, executors/builtin_functions.h) or a plugin library written against
// the C ABI of hpo/plugin.h (`"library": "./libobj.so", "symbol": "objective"`).
//
// Plugin libraries are loaded with dlopen(RTLD_NOW | RTLD_LOCAL) and stay loaded while the
// returned Objective, a copy of it, or a call of it exists. Loading runs the library's static
// initialisers, so only load_plugin_objective() / load_objective() load; the spec check only
// looks at the file.
//
// Thread-safety: the functions are thread-safe; the Objectives they return may be called from
// several threads at once (a plugin must be reentrant, see hpo/plugin.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "hpo/errors.h"
#include "engine/model/spec_checker.h"
#include "engine/model/study_spec.h"
#include "hpo/objective.h"

namespace hpo {

// The default of the spec's "symbol".
inline constexpr const char* kDefaultPluginSymbol = "objective";

// The builtin function `name` as an Objective that returns {"value": f(params)}. Throws
// InputError for an unknown name. A parameter the function lacks fails the trial (it cannot
// happen for a spec that passed check_objective_source).
Objective builtin_objective(const std::string& name);

// Loads `library` and returns its function `symbol` as an Objective. Throws ExecutorError,
// before any trial runs, when the file does not exist or cannot be loaded (dlerror's text),
// when it does not export hpo_plugin_abi_version (not an hpo plugin), when its ABI version is
// not HPO_PLUGIN_ABI_VERSION, or when it does not export `symbol`.
Objective load_plugin_objective(const std::filesystem::path& library,
                                const std::string& symbol = kDefaultPluginSymbol);

// Where a threads executor's objective comes from: "builtin", or "library" + "symbol".
struct ObjectiveSource {
  std::string builtin;            // a builtin function's name; empty when a library is given
  std::filesystem::path library;  // resolved against the spec's directory; empty for a builtin
  std::string symbol = kDefaultPluginSymbol;
};

// Reads "builtin", "library" and "symbol" of the "executor" object `block` and reports their
// shape problems to `checker` with JSON paths (exactly one of builtin and library; symbol a C
// name, only with library).
ObjectiveSource read_objective_source(const OrderedJson& block,
                                      const std::filesystem::path& base_dir,
                                      SpecChecker& checker);

// Checks `source` against the study without running anything: a builtin exists, the space
// gives it exactly its inputs and the objective metric is "value"; a library is a readable
// regular file. Loading it (its static constructors run) waits for load_objective(), when the
// study runs; what only loading can tell (an ELF that is no hpo plugin, a missing symbol)
// fails there, before any trial. Paths: "executor.builtin", "space", "objective.metric",
// "executor.library".
void check_objective_source(const ObjectiveSource& source, const StudySpec& spec,
                            SpecChecker& checker);

// What check_objective_source() leaves to the run: loads a plugin library (its static
// constructors run; it stays loaded) and reports what is wrong with it ("executor.library: ...
// is not an hpo plugin", "executor.symbol: ... does not export ..."). Nothing for a builtin.
void preflight_objective(const ObjectiveSource& source, SpecChecker& checker);

// The objective `source` names: builtin_objective() or load_plugin_objective().
Objective load_objective(const ObjectiveSource& source);

}  // namespace hpo
