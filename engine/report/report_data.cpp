#include "engine/report/report_data.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/model/json_codec.h"
#include "engine/model/objective_score.h"
#include "engine/report/study_space.h"
#include "engine/report/study_summary.h"
#include "engine/report/trial_json.h"
#include "engine/report/trial_table.h"
#include "engine/study_core.h"
#include "hpo/errors.h"
#include "samplers/pareto.h"

namespace hpo {
namespace {

nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json space_json(const SearchSpace& space) {
  nlohmann::json out = nlohmann::json::array();
  for (const Parameter& p : space.parameters()) {
    const Distribution& d = p.distribution;
    nlohmann::json j = {{"name", p.name},
                        {"type", to_string(d.type)},
                        {"log", d.log},
                        {"conditional", !p.when.empty()}};
    if (d.type == ParamType::kCategorical) {
      nlohmann::json choices = nlohmann::json::array();
      for (const auto& c : d.choices) choices.push_back(to_json(c));
      j["choices"] = choices;
      j["low"] = nullptr;
      j["high"] = nullptr;
    } else {
      j["choices"] = nullptr;
      j["low"] = d.low;
      j["high"] = d.high;
    }
    out.push_back(std::move(j));
  }
  return out;
}

bool has_value(const Trial& t) {
  return t.state == TrialState::kComplete && t.value && std::isfinite(*t.value);
}

}  // namespace

std::vector<std::size_t> downsample_min_max(const std::vector<double>& values,
                                            std::size_t max_points) {
  const std::size_t n = values.size();
  std::vector<std::size_t> keep;
  if (n <= std::max<std::size_t>(max_points, 4)) {
    keep.resize(n);
    for (std::size_t i = 0; i < n; ++i) keep[i] = i;
    return keep;
  }
  const std::size_t buckets = std::max<std::size_t>(max_points / 2, 1);
  keep.push_back(0);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = b * n / buckets;
    const std::size_t end = (b + 1) * n / buckets;
    if (begin >= end) continue;
    std::size_t lo = begin;
    std::size_t hi = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    keep.push_back(std::min(lo, hi));
    keep.push_back(std::max(lo, hi));
  }
  keep.push_back(n - 1);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  return keep;
}

std::vector<std::string> report_table_columns(const std::vector<Trial>& trials) {
  std::vector<std::string> cols = default_text_columns(trials);
  // number, state, value, [best_intermediate], duration, started, attempt, params, reason
  const auto params = std::find(cols.begin(), cols.end(), "params");
  cols.insert(params, {"started", "attempt"});
  return cols;
}

nlohmann::json build_report_data(const StudyRecord& record, const std::vector<Trial>& trials,
                                 const SearchSpace& space, const ImportanceResult& importance,
                                 const ReportLimits& limits) {
  nlohmann::json doc;
  doc["generated"] = format_time(Clock::now());
  const StudySummary summary = summarize(record, trials);
  doc["study"] = {
      {"name", record.name},
      {"direction", to_string(record.direction)},
      {"metric", record.metric},
      {"sampler", summary.sampler},
      {"budget", summary.budget > 0 ? nlohmann::json(summary.budget) : nlohmann::json(nullptr)}};
  doc["summary"] = to_json(summary);
  doc["space"] = space_json(space);

  // History.
  std::vector<const Trial*> complete;
  for (const Trial& t : trials)
    if (has_value(t)) complete.push_back(&t);
  {
    std::vector<double> values;
    values.reserve(complete.size());
    for (const Trial* t : complete) values.push_back(*t->value);
    nlohmann::json numbers = nlohmann::json::array();
    nlohmann::json vals = nlohmann::json::array();
    for (std::size_t i : downsample_min_max(values, limits.history_points)) {
      numbers.push_back(complete[i]->number);
      vals.push_back(values[i]);
    }
    nlohmann::json best_numbers = nlohmann::json::array();
    nlohmann::json best_values = nlohmann::json::array();
    std::optional<double> best;
    for (const Trial* t : complete) {
      if (!best || is_better(record.direction, *t->value, *best)) {
        best = t->value;
        best_numbers.push_back(t->number);
        best_values.push_back(*best);
      }
    }
    if (best && !trials.empty() && best_numbers.back() != trials.back().number) {
      best_numbers.push_back(trials.back().number);  // the line runs to the last trial
      best_values.push_back(*best);
    }
    doc["history"] = {{"total", complete.size()},
                      {"number", numbers},
                      {"value", vals},
                      {"best", {{"number", best_numbers}, {"value", best_values}}}};
  }

  // Sample for the parallel-coordinates and slice plots.
  {
    std::vector<const Trial*> chosen;
    if (complete.size() <= limits.sample_trials) {
      chosen = complete;
    } else {
      std::vector<const Trial*> by_value = complete;
      std::stable_sort(by_value.begin(), by_value.end(), [&](const Trial* a, const Trial* b) {
        return is_better(record.direction, *a->value, *b->value);
      });
      const std::size_t top = limits.sample_trials / 10;
      std::set<const Trial*> taken(by_value.begin(),
                                   by_value.begin() + static_cast<std::ptrdiff_t>(top));
      std::vector<const Trial*> rest;
      for (const Trial* t : complete)
        if (!taken.count(t)) rest.push_back(t);
      const std::size_t want = limits.sample_trials - top;
      for (std::size_t i = 0; i < want && !rest.empty(); ++i)
        taken.insert(rest[i * rest.size() / want]);
      chosen.assign(taken.begin(), taken.end());
      std::sort(chosen.begin(), chosen.end(),
                [](const Trial* a, const Trial* b) { return a->number < b->number; });
    }
    nlohmann::json numbers = nlohmann::json::array();
    nlohmann::json values = nlohmann::json::array();
    nlohmann::json params = nlohmann::json::object();
    for (const Parameter& p : space.parameters()) params[p.name] = nlohmann::json::array();
    for (const Trial* t : chosen) {
      numbers.push_back(t->number);
      values.push_back(*t->value);
      for (const Parameter& p : space.parameters()) {
        auto it = t->params.find(p.name);
        params[p.name].push_back(it == t->params.end() ? nlohmann::json(nullptr)
                                                       : to_json(it->second));
      }
    }
    doc["sample"] = {
        {"total", complete.size()}, {"number", numbers}, {"value", values}, {"params", params}};
  }

  doc["importance"] = to_json(importance);

  // Intermediate curves.
  {
    std::vector<const Trial*> with_curves;
    for (const Trial& t : trials)
      if (!t.intermediate.empty()) with_curves.push_back(&t);
    std::vector<const Trial*> chosen;
    if (with_curves.size() <= limits.curves) {
      chosen = with_curves;
    } else {
      std::vector<const Trial*> ranked;
      for (const Trial* t : with_curves)
        if (has_value(*t)) ranked.push_back(t);
      std::stable_sort(ranked.begin(), ranked.end(), [&](const Trial* a, const Trial* b) {
        return is_better(record.direction, *a->value, *b->value);
      });
      std::set<const Trial*> taken;
      for (std::size_t i = 0; i < ranked.size() && taken.size() < limits.curves / 5; ++i)
        taken.insert(ranked[i]);
      for (const Trial* t : with_curves)
        if (t->state == TrialState::kRunning && taken.size() < limits.curves) taken.insert(t);
      for (auto it = with_curves.rbegin(); it != with_curves.rend() && taken.size() < limits.curves;
           ++it)
        taken.insert(*it);
      chosen.assign(taken.begin(), taken.end());
      std::sort(chosen.begin(), chosen.end(),
                [](const Trial* a, const Trial* b) { return a->number < b->number; });
    }
    nlohmann::json curves = nlohmann::json::array();
    for (const Trial* t : chosen) {
      std::vector<std::int64_t> steps;
      std::vector<double> values;
      for (const auto& [step, value] : t->intermediate) {
        steps.push_back(step);
        values.push_back(value);
      }
      nlohmann::json s = nlohmann::json::array();
      nlohmann::json v = nlohmann::json::array();
      const std::size_t n = steps.size();
      const std::size_t stride =
          n > limits.curve_points ? (n + limits.curve_points - 1) / limits.curve_points : 1;
      for (std::size_t i = 0; i < n; i += stride) {
        s.push_back(steps[i]);
        v.push_back(finite_or_null(values[i]));
      }
      if ((n - 1) % stride != 0) {
        s.push_back(steps[n - 1]);
        v.push_back(finite_or_null(values[n - 1]));
      }
      curves.push_back(
          {{"number", t->number}, {"state", to_string(t->state)}, {"steps", s}, {"values", v}});
    }
    doc["curves"] = {{"total", with_curves.size()}, {"trials", curves}};
  }

  // Pareto front of a study with several objectives: its first two objectives for every
  // COMPLETE trial that has them, which are feasible and which are on the front.
  std::optional<StudySpec> spec;
  try {
    spec = StudyCore::stored_spec(record);
  } catch (const InputError&) {
    // A study from an old file without a readable spec: single-objective plots only.
  }
  if (spec && spec->multi_objective()) {
    std::vector<Trial> scored;
    for (const Trial& t : trials) {
      if (t.state != TrialState::kComplete) continue;
      scored.push_back(t);
      apply_score(*spec, scored.back());
    }
    const ParetoSummary pareto = pareto_summary(scored, spec->directions(), spec->reference_point);
    const std::vector<const Trial*>& front = pareto.front;
    std::set<int> on_front;
    for (const Trial* t : front) on_front.insert(t->number);
    nlohmann::json numbers = nlohmann::json::array(), xs = nlohmann::json::array(),
                   ys = nlohmann::json::array(), feasible = nlohmann::json::array(),
                   is_front = nlohmann::json::array();
    // Bounded: every trial of the front, and of the others at most sample_trials, evenly
    // spread over the history.
    const std::size_t others = scored.size() - front.size();
    const std::size_t stride =
        others <= limits.sample_trials ? 1 : (others + limits.sample_trials - 1) / limits.sample_trials;
    std::size_t other_index = 0;
    for (const Trial& t : scored) {
      if (t.values.size() < 2) continue;
      if (on_front.count(t.number) == 0 && other_index++ % stride != 0) continue;
      numbers.push_back(t.number);
      xs.push_back(t.values[0]);
      ys.push_back(t.values[1]);
      feasible.push_back(t.feasible());
      is_front.push_back(on_front.count(t.number) > 0);
    }
    nlohmann::json objectives = nlohmann::json::array();
    for (const ObjectiveSpec& o : spec->objectives)
      objectives.push_back({{"metric", o.metric}, {"direction", to_string(o.direction)}});
    doc["pareto"] = {{"objectives", objectives},
                     {"total", scored.size()},
                     {"front_size", front.size()},
                     {"hypervolume", pareto.hypervolume},
                     {"reference_point", pareto.reference},
                     {"number", numbers},
                     {"x", xs},
                     {"y", ys},
                     {"feasible", feasible},
                     {"front", is_front}};
  }

  // Trial table: the most recent rows.
  {
    std::vector<Trial> recent;
    const std::size_t n = std::min(trials.size(), limits.table_rows);
    recent.assign(trials.end() - static_cast<std::ptrdiff_t>(n), trials.end());
    const TrialTable table =
        build_trial_table(recent, record.direction, record.metric, report_table_columns(trials));
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : table.columns) columns.push_back({{"key", c.key}, {"label", c.label}});
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : table.rows) rows.push_back(row);
    doc["trials"] = {{"total", trials.size()}, {"columns", columns}, {"rows", rows}};
  }
  return doc;
}

}  // namespace hpo
