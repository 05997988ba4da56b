#include "engine/report/study_space.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/study_core.h"
#include "hpo/errors.h"

namespace hpo {
namespace {

// `d` widened so that it contains `v`.
void widen(Distribution& d, const ParamValue& v) {
  if (d.contains(v)) return;
  if (d.type == ParamType::kCategorical || !v.is_number()) {
    if (d.type != ParamType::kCategorical) {
      // A number range meeting a string: the parameter becomes categorical over what was seen.
      d = Distribution::categorical({});
    }
    d.choices.push_back(v);
    d.high = static_cast<double>(d.choices.size() - 1);
    return;
  }
  const double x = v.as_double();
  if (d.type == ParamType::kInt && v.is_double() && x != std::round(x)) {
    d.type = ParamType::kFloat;
    d.step.reset();
  }
  d.low = std::min(d.low, x);
  d.high = std::max(d.high, x);
  if (d.log && d.low <= 0) d.log = false;
  if (d.type == ParamType::kInt && d.log && d.low < 1) d.log = false;
  if (!d.contains(v)) d.step.reset();  // off the step grid
  if (d.type == ParamType::kInt && d.log && d.step) d.log = false;
}

Distribution inferred(const std::vector<ParamValue>& values) {
  const bool numbers =
      std::all_of(values.begin(), values.end(), [](const ParamValue& v) { return v.is_number(); });
  if (!numbers || values.empty()) {
    std::vector<ParamValue> choices;
    for (const auto& v : values)
      if (std::find(choices.begin(), choices.end(), v) == choices.end()) choices.push_back(v);
    return Distribution::categorical(choices);
  }
  const bool ints =
      std::all_of(values.begin(), values.end(), [](const ParamValue& v) { return v.is_int(); });
  Distribution d =
      ints ? Distribution::int_range(values.front().as_int(), values.front().as_int())
           : Distribution::float_range(values.front().as_double(), values.front().as_double());
  for (const auto& v : values) widen(d, v);
  return d;
}

}  // namespace

SearchSpace effective_space(const StudyRecord& record, const std::vector<Trial>& trials) {
  std::vector<Parameter> params;
  try {
    const StudySpec spec = StudyCore::stored_spec(record);
    params = spec.space.parameters();
  } catch (const InputError&) {
    params.clear();  // a spec this hpo cannot read: infer everything from the trials
  }
  std::map<std::string, std::vector<ParamValue>> seen;
  for (const Trial& t : trials)
    for (const auto& [name, value] : t.params) seen[name].push_back(value);
  std::set<std::string> named;
  for (Parameter& p : params) {
    named.insert(p.name);
    auto it = seen.find(p.name);
    if (it == seen.end()) continue;
    for (const ParamValue& v : it->second) widen(p.distribution, v);
  }
  SearchSpace space;
  for (Parameter& p : params) space.add(std::move(p));
  for (const auto& [name, values] : seen)
    if (!named.count(name)) space.add(Parameter{name, inferred(values), {}});
  return space;
}

std::string sampler_label(const StudyRecord& record) {
  std::string name = "random";
  std::string seed = std::to_string(record.sampler_seed);
  if (record.spec.is_object() && record.spec.contains("sampler") &&
      record.spec["sampler"].is_object()) {
    const auto& s = record.spec["sampler"];
    if (s.contains("name") && s["name"].is_string()) name = s["name"].get<std::string>();
    if (s.contains("seed") && s["seed"].is_number_integer()) seed = s["seed"].dump();
  }
  return name + " (seed " + seed + ")";
}

int budget_trials(const StudyRecord& record) {
  if (!record.spec.is_object() || !record.spec.contains("budget")) return 0;
  const auto& b = record.spec["budget"];
  if (!b.is_object() || !b.contains("trials") || !b["trials"].is_number_integer()) return 0;
  return b["trials"].get<int>();
}

}  // namespace hpo
