// Components: the samplers, pruners and executors a study spec names ("sampler": {"name":
// "tpe"}, "executor": {"kind": "subprocess"}). The spec parser knows none of them by name. It
// parses the generic keys of each block (those every component of that kind shares, listed
// below) and hands the block to the component's own checker, found in a ComponentCatalog that
// the engine assembles from the registries of samplers/ and executors/. A new component is a
// new file pair plus one registration line; nothing here changes.
//
// Value types; a catalog is immutable once built and may be shared between threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"

namespace hpo {

struct StudySpec;

enum class ComponentKind { kSampler, kPruner, kExecutor };

// "sampler", "pruner", "executor": the spec key of the block, and the word used in messages.
const char* to_string(ComponentKind kind);

// The key that names the component inside its block: "name" ("sampler", "pruner") or "kind"
// ("executor").
const char* name_key(ComponentKind kind);

// Keys of a block that the spec parser reads itself, for every component of the kind:
//   sampler   name, seed
//   pruner    name, patience, direction (must be the study's when given)
//   executor  kind, timeout, kill_grace, trials_dir, retries, retry_on_exit_codes
const std::vector<std::string>& generic_keys(ComponentKind kind);

// What a component's checker is given: its block as written and the rest of the spec.
struct ComponentBlock {
  const OrderedJson& json;  // the block as written (generic keys included)
  const std::string& path;  // its JSON path: "sampler", "pruner" or "executor"
  // The spec with its generic parts parsed: name, direction, metric, space, budget,
  // parallelism, base_dir, the generic keys of every block. A part that had issues keeps its
  // default (an empty space, say), so check against what is there only.
  const StudySpec& spec;
  // The parameter names "space" declares, in spec order, also those whose definitions had
  // issues; nullptr when "space" is not an object (then names cannot be checked).
  const std::vector<std::string>* param_names = nullptr;
};

// One registered component, as the spec parser sees it.
struct ComponentInfo {
  std::string name;     // what the spec writes ("tpe", "subprocess")
  std::string summary;  // one line for `hpo --help` and messages
  // The component's own keys, besides generic_keys(kind); any other key is reported as
  // unknown (with a did-you-mean hint over both lists).
  std::vector<std::string> keys;
  // Reports every problem of its own keys with JSON paths ("sampler.gamma: must be in (0,
  // 1]"). Runs after the rest of the spec was parsed. It reads; it never loads a library,
  // starts a process or opens a connection. May be empty (nothing to check beyond the keys).
  std::function<void(const ComponentBlock& block, SpecChecker& checker)> check;
};

// The components a spec may name. Built by the engine (engine/components.h).
struct ComponentCatalog {
  std::vector<ComponentInfo> samplers;
  std::vector<ComponentInfo> pruners;
  std::vector<ComponentInfo> executors;

  const std::vector<ComponentInfo>& of(ComponentKind kind) const;
  // nullptr when no component of `kind` has that name.
  const ComponentInfo* find(ComponentKind kind, const std::string& name) const;
  // The names of `kind`, in registration order.
  std::vector<std::string> names(ComponentKind kind) const;
};

// The entry of `registry` (samplers', executors', ...: anything with an `info`) named `name`;
// nullptr when there is none.
template <typename Registration>
const Registration* find_registration(const std::vector<Registration>& registry,
                                      const std::string& name) {
  for (const auto& r : registry)
    if (r.info.name == name) return &r;
  return nullptr;
}

}  // namespace hpo
