#include "hpo/search_space.h"

#include <algorithm>
#include <cassert>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"

namespace hpo {

void SearchSpace::add(Parameter p) {
  assert(find(p.name) == nullptr);
  params_.push_back(std::move(p));
}

const Parameter* SearchSpace::find(const std::string& name) const {
  for (const auto& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

bool SearchSpace::is_active(const Parameter& p, const ParamSet& chosen) {
  for (const auto& [parent, accepted] : p.when.parents) {
    auto it = chosen.find(parent);
    if (it == chosen.end()) return false;
    if (std::find(accepted.begin(), accepted.end(), it->second) == accepted.end()) return false;
  }
  return true;
}

bool SearchSpace::has_conditions() const {
  return std::any_of(params_.begin(), params_.end(),
                     [](const Parameter& p) { return !p.when.empty(); });
}

std::vector<SpecIssue> SearchSpace::check(const ParamSet& params) const {
  std::vector<SpecIssue> issues;
  ParamSet chosen;
  for (const auto& p : params_) {
    const std::string path = "params." + p.name;
    const bool active = is_active(p, chosen);
    auto it = params.find(p.name);
    if (!active) {
      if (it != params.end())
        issues.push_back({path, "is inactive here (its condition does not hold) and must be absent"});
      continue;
    }
    if (it == params.end()) {
      issues.push_back({path, "is missing"});
      continue;
    }
    if (!p.distribution.contains(it->second)) {
      issues.push_back({path, "value " + to_json(it->second).dump() + " is outside " +
                                  to_json(p.distribution).dump()});
      continue;
    }
    chosen.emplace(p.name, it->second);
  }
  for (const auto& [name, value] : params)
    if (find(name) == nullptr) issues.push_back({"params." + name, "is not in the search space"});
  return issues;
}

std::vector<SpecIssue> SearchSpace::check_partial(const ParamSet& params) const {
  std::vector<SpecIssue> issues;
  for (const auto& p : params_) {
    const auto it = params.find(p.name);
    if (it == params.end()) continue;
    const std::string path = "params." + p.name;
    std::string missing_parents;
    for (const auto& [parent, accepted] : p.when.parents)
      if (!params.count(parent)) missing_parents += (missing_parents.empty() ? "" : ", ") + parent;
    if (!missing_parents.empty()) {
      // Which branch the sampler would pick is unknown: it could make this value inactive.
      issues.push_back({path, "is conditional on " + missing_parents +
                                  ": give its parents too, or leave it out"});
      continue;
    }
    if (!is_active(p, params)) {
      issues.push_back({path, "is inactive here (its condition does not hold) and must be absent"});
      continue;
    }
    if (!p.distribution.contains(it->second))
      issues.push_back({path, "value " + to_json(it->second).dump() + " is outside " +
                                  to_json(p.distribution).dump()});
  }
  for (const auto& [name, value] : params)
    if (find(name) == nullptr) issues.push_back({"params." + name, "is not in the search space"});
  return issues;
}

nlohmann::json to_json(const SearchSpace& space) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& p : space.parameters()) {
    nlohmann::json d = to_json(p.distribution);
    if (!p.when.empty()) {
      nlohmann::json w = nlohmann::json::object();
      for (const auto& [parent, values] : p.when.parents) {
        if (values.size() == 1) {
          w[parent] = to_json(values[0]);
        } else {
          w[parent] = nlohmann::json::array();
          for (const auto& v : values) w[parent].push_back(to_json(v));
        }
      }
      d["when"] = w;
    }
    j[p.name] = d;
  }
  return j;
}

}  // namespace hpo
