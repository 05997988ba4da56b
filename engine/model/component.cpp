#include "engine/model/component.h"

namespace hpo {

const char* to_string(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kSampler: return "sampler";
    case ComponentKind::kPruner: return "pruner";
    case ComponentKind::kExecutor: return "executor";
  }
  return "sampler";
}

const char* name_key(ComponentKind kind) {
  return kind == ComponentKind::kExecutor ? "kind" : "name";
}

const std::vector<std::string>& generic_keys(ComponentKind kind) {
  static const std::vector<std::string> kSampler = {"name", "seed"};
  static const std::vector<std::string> kPruner = {"name", "patience", "direction"};
  static const std::vector<std::string> kExecutor = {
      "kind", "timeout", "kill_grace", "trials_dir", "retries", "retry_on_exit_codes"};
  switch (kind) {
    case ComponentKind::kSampler: return kSampler;
    case ComponentKind::kPruner: return kPruner;
    case ComponentKind::kExecutor: return kExecutor;
  }
  return kSampler;
}

const std::vector<ComponentInfo>& ComponentCatalog::of(ComponentKind kind) const {
  switch (kind) {
    case ComponentKind::kSampler: return samplers;
    case ComponentKind::kPruner: return pruners;
    case ComponentKind::kExecutor: return executors;
  }
  return samplers;
}

const ComponentInfo* ComponentCatalog::find(ComponentKind kind, const std::string& name) const {
  for (const auto& info : of(kind))
    if (info.name == name) return &info;
  return nullptr;
}

std::vector<std::string> ComponentCatalog::names(ComponentKind kind) const {
  std::vector<std::string> out;
  for (const auto& info : of(kind)) out.push_back(info.name);
  return out;
}

}  // namespace hpo
