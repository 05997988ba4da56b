#include "executors/objective_sources.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "executors/builtin_functions.h"
#include "hpo/plugin.h"
#include "engine/model/json_codec.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Plugin loading

// Which part of a plugin is wrong, so that the spec check can point at "library" or "symbol".
struct PluginProblem {
  std::string field;  // "library" | "symbol"
  std::string message;
};

struct LoadedPlugin {
  std::shared_ptr<void> handle;  // dlclose'd when the last user lets go
  hpo_objective_fn fn = nullptr;
};

// dlerror() is not thread-safe across threads that use dl*; loading is rare, so serialise it.
std::mutex& dl_mutex() {
  static std::mutex m;
  return m;
}

std::string dl_error_text() {
  const char* e = ::dlerror();
  return e != nullptr ? e : "unknown error";
}

// Loads and checks a plugin. Returns nothing and sets `problem` when it cannot be used.
std::optional<LoadedPlugin> load(const fs::path& library, const std::string& symbol,
                                 PluginProblem& problem) {
  std::error_code ec;
  if (!fs::exists(library, ec)) {
    problem = {"library", "no such file '" + library.string() + "'"};
    return std::nullopt;
  }
  std::lock_guard lock(dl_mutex());
  ::dlerror();
  // A path with a '/' is never searched for on LD_LIBRARY_PATH: the named file is loaded.
  std::string path = library.string();
  if (path.find('/') == std::string::npos) path = "./" + path;
  // A library stays loaded once loaded (the preflight of `hpo run` and the executor load the
  // same file): its static constructors run once per process.
  static std::map<std::string, std::shared_ptr<void>> loaded;  // GUARDED_BY(dl_mutex())
  LoadedPlugin plugin;
  if (const auto it = loaded.find(path); it != loaded.end()) {
    plugin.handle = it->second;
  } else {
    void* raw = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (raw == nullptr) {
      problem = {"library", "cannot load '" + library.string() + "': " + dl_error_text()};
      return std::nullopt;
    }
    plugin.handle = std::shared_ptr<void>(raw, [](void* h) { ::dlclose(h); });
    loaded.emplace(path, plugin.handle);
  }
  void* raw = plugin.handle.get();

  ::dlerror();
  auto version_fn =
      reinterpret_cast<hpo_plugin_abi_version_fn>(::dlsym(raw, "hpo_plugin_abi_version"));
  if (version_fn == nullptr) {
    problem = {"library", "'" + library.string() +
                              "' is not an hpo plugin: it does not export "
                              "hpo_plugin_abi_version (add HPO_PLUGIN_DECLARE() from "
                              "hpo/plugin.h)"};
    return std::nullopt;
  }
  const std::uint32_t version = version_fn();
  // Fields are only appended: a plugin of an earlier version reads a prefix of our hpo_trial.
  if (version < 1 || version > HPO_PLUGIN_ABI_VERSION) {
    problem = {"library", "'" + library.string() + "' was built for plugin ABI version " +
                              std::to_string(version) + ", this hpo speaks versions 1 to " +
                              std::to_string(HPO_PLUGIN_ABI_VERSION) +
                              " (rebuild it against this hpo's hpo/plugin.h)"};
    return std::nullopt;
  }
  ::dlerror();
  plugin.fn = reinterpret_cast<hpo_objective_fn>(::dlsym(raw, symbol.c_str()));
  if (plugin.fn == nullptr) {
    problem = {"symbol", "'" + library.string() + "' does not export a function '" + symbol + "'"};
    return std::nullopt;
  }
  return plugin;
}

// The host side of one plugin call: what hpo_trial::host points to.
class PluginCall {
 public:
  PluginCall(const ParamSet& params, ObjectiveContext& context)
      : params_(params), context_(context), params_json_(params_to_json(params).dump()) {
    for (const auto& [name, value] : params_) texts_[name] = value.to_string();
  }

  hpo_trial make_trial() {
    hpo_trial t{};
    t.abi_version = HPO_PLUGIN_ABI_VERSION;
    t.struct_size = sizeof(hpo_trial);
    t.params_json = params_json_.c_str();
    t.study = context_.study().c_str();
    t.number = context_.trial_number();
    t.attempt = context_.attempt();
    t.host = this;
    t.param_number = &PluginCall::param_number;
    t.param_text = &PluginCall::param_text;
    t.report = &PluginCall::report;
    t.should_stop = &PluginCall::should_stop;
    t.set_metric = &PluginCall::set_metric;
    t.set_reason = &PluginCall::set_reason;
    t.checkpoint_dir = &PluginCall::checkpoint_dir;
    t.trial_dir = &PluginCall::trial_dir;
    t.should_prune = &PluginCall::should_prune;
    return t;
  }

  Metrics metrics() {
    std::lock_guard lock(mu_);
    return metrics_;
  }
  std::string reason() {
    std::lock_guard lock(mu_);
    return reason_;
  }

 private:
  // The callbacks: plain C entry points that never let an exception out.
  static PluginCall& self(void* host) { return *static_cast<PluginCall*>(host); }

  static int param_number(void* host, const char* name, double* out) {
    if (name == nullptr || out == nullptr) return 0;
    const auto& params = self(host).params_;
    const auto it = params.find(name);
    if (it == params.end()) return 0;
    const ParamValue& v = it->second;
    if (v.is_bool()) {
      *out = v.as_bool() ? 1.0 : 0.0;
      return 1;
    }
    if (!v.is_number()) return 0;
    *out = v.as_double();
    return 1;
  }

  static const char* param_text(void* host, const char* name) {
    if (name == nullptr) return nullptr;
    const auto& texts = self(host).texts_;
    const auto it = texts.find(name);
    return it == texts.end() ? nullptr : it->second.c_str();
  }

  static void report(void* host, std::int64_t step, const char* const* names, const double* values,
                     std::size_t count) {
    try {
      Metrics m;
      for (std::size_t i = 0; i < count; ++i) {
        if (names != nullptr && values != nullptr && names[i] != nullptr) m[names[i]] = values[i];
      }
      self(host).context_.report(step, m);
    } catch (...) {
      // Out of memory: the report is lost, the trial goes on.
    }
  }

  static int should_stop(void* host) { return self(host).context_.should_stop() ? 1 : 0; }
  static int should_prune(void* host) { return self(host).context_.should_prune() ? 1 : 0; }

  static void set_metric(void* host, const char* name, double value) {
    if (name == nullptr) return;
    try {
      std::lock_guard lock(self(host).mu_);
      self(host).metrics_[name] = value;
    } catch (...) {
    }
  }

  static void set_reason(void* host, const char* reason) {
    try {
      std::lock_guard lock(self(host).mu_);
      self(host).reason_ = reason != nullptr ? reason : "";
    } catch (...) {
    }
  }

  static const char* checkpoint_dir(void* host) {
    return self(host).directory(self(host).checkpoint_dir_, /*checkpoint=*/true);
  }
  static const char* trial_dir(void* host) {
    return self(host).directory(self(host).trial_dir_, /*checkpoint=*/false);
  }

  const char* directory(std::string& cache, bool checkpoint) {
    try {
      std::lock_guard lock(mu_);
      if (cache.empty())
        cache = (checkpoint ? context_.checkpoint_dir() : context_.trial_dir()).string();
      return cache.c_str();
    } catch (...) {
      return nullptr;
    }
  }

  const ParamSet& params_;
  ObjectiveContext& context_;
  const std::string params_json_;
  std::map<std::string, std::string> texts_;

  std::mutex mu_;
  Metrics metrics_;             // GUARDED_BY(mu_)
  std::string reason_;          // GUARDED_BY(mu_)
  std::string checkpoint_dir_;  // GUARDED_BY(mu_)
  std::string trial_dir_;       // GUARDED_BY(mu_)
};

Objective plugin_objective(LoadedPlugin plugin, std::string symbol) {
  return [plugin = std::move(plugin), symbol = std::move(symbol)](
             const ParamSet& params, ObjectiveContext& context) -> ObjectiveResult {
    PluginCall call(params, context);
    const hpo_trial trial = call.make_trial();
    const int status = plugin.fn(&trial);
    switch (status) {
      case HPO_COMPLETE:
        return call.metrics();
      case HPO_PRUNED: {
        const std::string reason = call.reason();
        throw TrialPruned(reason.empty() ? "pruned" : reason);
      }
      case HPO_FAIL: {
        const std::string reason = call.reason();
        throw std::runtime_error(reason.empty() ? symbol + " returned HPO_FAIL" : reason);
      }
      default:
        throw std::runtime_error(symbol + " returned " + std::to_string(status) +
                                 ", which is not HPO_COMPLETE, HPO_FAIL or HPO_PRUNED");
    }
  };
}

std::string builtin_names() {
  std::string out;
  for (const auto& f : builtin_functions()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

}  // namespace

Objective builtin_objective(const std::string& name) {
  const BuiltinFunction* f = find_builtin(name);
  if (f == nullptr)
    throw InputError("executor.builtin",
                     "unknown builtin \"" + name + "\"; available: " + builtin_names());
  // The registry is immutable static data: the pointer stays valid.
  return [f](const ParamSet& params, ObjectiveContext&) -> ObjectiveResult {
    return Metrics{{"value", f->evaluate(params)}};
  };
}

Objective load_plugin_objective(const fs::path& library, const std::string& symbol) {
  PluginProblem problem;
  auto plugin = load(library, symbol, problem);
  if (!plugin) throw ExecutorError("executor." + problem.field + ": " + problem.message);
  return plugin_objective(std::move(*plugin), symbol);
}

ObjectiveSource read_objective_source(const OrderedJson& block, const fs::path& base_dir,
                                      SpecChecker& c) {
  ObjectiveSource source;
  const std::string path = "executor";
  const OrderedJson* builtin = SpecChecker::member(block, "builtin");
  const OrderedJson* library = SpecChecker::member(block, "library");
  auto non_empty = [&](const OrderedJson& v, const std::string& p) -> std::optional<std::string> {
    auto s = c.get_string(v, p);
    if (s && s->empty()) {
      c.add(p, "must not be empty");
      return std::nullopt;
    }
    return s;
  };
  if (builtin != nullptr) {
    if (auto b = non_empty(*builtin, path + ".builtin")) source.builtin = *b;
  }
  if (library != nullptr) {
    if (auto l = non_empty(*library, path + ".library")) {
      const fs::path p(*l);
      source.library = (p.is_absolute() ? p : base_dir / p).lexically_normal();
    }
  }
  if (builtin != nullptr && library != nullptr) {
    c.add(path + ".library", "cannot be combined with builtin (give exactly one of them)");
  } else if (builtin == nullptr && library == nullptr) {
    c.add(path,
          "needs \"builtin\" (an objective compiled into hpo) or \"library\" (a shared library "
          "that exports it)");
  }
  if (const OrderedJson* m = SpecChecker::member(block, "symbol")) {
    const std::string spath = path + ".symbol";
    if (auto s = c.get_string(*m, spath)) {
      if (!is_identifier(*s))
        c.add(spath, "must be a C function name, got " + describe(*m));
      else if (library == nullptr)
        c.add(spath, "only applies together with \"library\"");
      else
        source.symbol = *s;
    }
  }
  return source;
}

void check_objective_source(const ObjectiveSource& source, const StudySpec& spec,
                            SpecChecker& c) {
  if (!source.builtin.empty()) {
    const BuiltinFunction* f = find_builtin(source.builtin);
    if (f == nullptr) {
      c.add("executor.builtin",
            "unknown builtin \"" + source.builtin + "\"; available: " + builtin_names());
      return;
    }
    std::string why;
    if (!spec.space.empty() && !f->accepts(spec.space, why))
      c.add("space", why + " (the builtin \"" + source.builtin + "\": " + f->summary + ")");
    if (!spec.metric.empty() && spec.metric != "value")
      c.add("objective.metric",
            "the builtin objectives report the metric \"value\"; got \"" + spec.metric + "\"");
    return;
  }
  if (source.library.empty()) return;
  // Loading runs the library's code: that waits for `hpo run`. Here only the file.
  std::error_code ec;
  const fs::file_status st = fs::status(source.library, ec);
  if (!fs::exists(st)) {
    c.add("executor.library", "no such file '" + source.library.string() + "'");
  } else if (!fs::is_regular_file(st)) {
    c.add("executor.library", "'" + source.library.string() + "' is not a regular file");
  } else if (::access(source.library.c_str(), R_OK) != 0) {
    c.add("executor.library",
          "cannot read '" + source.library.string() + "': " + std::strerror(errno));
  }
}

void preflight_objective(const ObjectiveSource& source, SpecChecker& c) {
  if (source.library.empty()) return;
  PluginProblem problem;
  if (!load(source.library, source.symbol, problem))
    c.add("executor." + problem.field, problem.message);
}

Objective load_objective(const ObjectiveSource& source) {
  if (!source.builtin.empty()) return builtin_objective(source.builtin);
  if (source.library.empty())
    throw InputError("executor", "needs \"builtin\" or \"library\" for the threads executor");
  return load_plugin_objective(source.library, source.symbol);
}

}  // namespace hpo
