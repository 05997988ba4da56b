#include "hpo/search_space.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>

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

namespace {

// The middle of a distribution: its centre (in log space when log), the first choice.
ParamValue middle_value(const Distribution& d) {
  if (d.type == ParamType::kCategorical) return d.from_internal(0);
  const double mid = d.log ? std::sqrt(d.low * d.high) : (d.low + d.high) / 2;
  return d.from_internal(mid);
}

}  // namespace

std::vector<ParamSet> SearchSpace::branch_examples(std::size_t limit) const {
  // The values a condition names, per parent.
  std::map<std::string, std::vector<ParamValue>> named;
  for (const auto& p : params_)
    for (const auto& [parent, accepted] : p.when.parents)
      for (const auto& v : accepted) named[parent].push_back(v);
  std::vector<ParamSet> out;
  std::vector<std::vector<std::string>> seen;  // the active names of each example
  // Depth-first over the parameters in order; `budget` bounds the walk of a wide space.
  std::size_t budget = 4096;
  std::function<void(std::size_t, ParamSet&)> walk = [&](std::size_t i, ParamSet& chosen) {
    if (out.size() >= limit || budget == 0) return;
    if (i == params_.size()) {
      --budget;
      std::vector<std::string> names;
      for (const auto& [name, value] : chosen) names.push_back(name);
      if (std::find(seen.begin(), seen.end(), names) != seen.end()) return;
      seen.push_back(std::move(names));
      out.push_back(chosen);
      return;
    }
    const Parameter& p = params_[i];
    if (!is_active(p, chosen)) {
      walk(i + 1, chosen);
      return;
    }
    std::vector<ParamValue> values;
    const auto it = named.find(p.name);
    if (it == named.end()) {
      values.push_back(middle_value(p.distribution));
    } else if (p.distribution.type == ParamType::kCategorical) {
      values = p.distribution.choices;
    } else {
      for (const auto& v : it->second)
        if (p.distribution.contains(v) && std::find(values.begin(), values.end(), v) == values.end())
          values.push_back(v);
      const ParamValue mid = middle_value(p.distribution);
      if (std::find(values.begin(), values.end(), mid) == values.end()) values.push_back(mid);
    }
    for (const auto& v : values) {
      chosen[p.name] = v;
      walk(i + 1, chosen);
      chosen.erase(p.name);
    }
  };
  ParamSet chosen;
  walk(0, chosen);
  return out;
}

}  // namespace hpo
