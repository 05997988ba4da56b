#include "engine/report/param_importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/report/fanova.h"

namespace hpo {

std::optional<double> encode_feature(const Distribution& d, const ParamValue& value) {
  if (d.type == ParamType::kCategorical) {
    auto index = d.choice_index(value);
    if (!index || d.choices.empty()) return std::nullopt;
    return (static_cast<double>(*index) + 0.5) / static_cast<double>(d.choices.size());
  }
  if (!value.is_number()) return std::nullopt;
  double v = value.as_double();
  double low = d.low;
  double high = d.high;
  if (d.log) {
    if (v <= 0 || low <= 0) return std::nullopt;
    v = std::log(v);
    low = std::log(low);
    high = std::log(high);
  }
  if (!(high > low)) return std::nullopt;
  return std::clamp((v - low) / (high - low), 0.0, 1.0);
}

ImportanceResult parameter_importance(const SearchSpace& space, const std::vector<Trial>& trials,
                                      const ImportanceOptions& options) {
  ImportanceResult result;
  std::vector<const Trial*> complete;
  for (const Trial& t : trials)
    if (t.state == TrialState::kComplete && t.value && std::isfinite(*t.value))
      complete.push_back(&t);
  std::sort(complete.begin(), complete.end(),
            [](const Trial* a, const Trial* b) { return a->number < b->number; });

  std::vector<const Parameter*> used;
  for (const Parameter& p : space.parameters()) {
    const bool everywhere = std::all_of(complete.begin(), complete.end(), [&](const Trial* t) {
      auto it = t->params.find(p.name);
      return it != t->params.end() && encode_feature(p.distribution, it->second).has_value();
    });
    const bool varies = p.distribution.type == ParamType::kCategorical
                            ? p.distribution.choices.size() > 1
                            : p.distribution.high > p.distribution.low;
    // With no COMPLETE trial nothing is skipped: the note says why there is no importance.
    if (complete.empty()) continue;
    if (everywhere && varies) {
      used.push_back(&p);
    } else {
      result.skipped.push_back(p.name);
    }
  }
  if (complete.size() > options.max_trials && options.max_trials > 0) {
    std::vector<const Trial*> thinned;
    const double stride = static_cast<double>(complete.size()) / options.max_trials;
    for (std::size_t i = 0; i < options.max_trials; ++i)
      thinned.push_back(complete[static_cast<std::size_t>(i * stride)]);
    complete = std::move(thinned);
  }
  result.trials_used = static_cast<int>(complete.size());
  if (complete.size() < 2) {
    result.note = "needs at least 2 COMPLETE trials";
    return result;
  }
  if (used.empty()) {
    result.note = "no parameter is set in every COMPLETE trial";
    return result;
  }

  const int d = static_cast<int>(used.size());
  std::vector<double> x;
  std::vector<double> y;
  x.reserve(complete.size() * used.size());
  for (const Trial* t : complete) {
    for (const Parameter* p : used)
      x.push_back(*encode_feature(p->distribution, t->params.at(p->name)));
    y.push_back(*t->value);
  }
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  if (*lo == *hi) {
    result.note = "the objective has the same value in every COMPLETE trial";
    return result;
  }
  RandomForest forest;
  forest.fit(x, y, d, options.forest);
  const std::vector<double> raw = fanova_importance(forest);
  const double total = std::accumulate(raw.begin(), raw.end(), 0.0);
  for (int i = 0; i < d; ++i)
    result.params.push_back({used[static_cast<std::size_t>(i)]->name,
                             total > 0 ? raw[static_cast<std::size_t>(i)] / total : 0.0});
  std::stable_sort(result.params.begin(), result.params.end(),
                   [](const ParamImportance& a, const ParamImportance& b) {
                     return a.importance > b.importance;
                   });
  return result;
}

nlohmann::json to_json(const ImportanceResult& r) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : r.params) params.push_back({{"name", p.name}, {"importance", p.importance}});
  return {{"method", r.method},
          {"trials_used", r.trials_used},
          {"params", params},
          {"skipped", r.skipped},
          {"note", r.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.note)}};
}

}  // namespace hpo
