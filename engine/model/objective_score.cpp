#include "engine/model/objective_score.h"

#include <cmath>

#include "hpo/param_value.h"

namespace hpo {
namespace {

std::string reported_names(const Metrics& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// The finite value of `metric`, or the problem with it.
std::optional<double> finite_metric(const Metrics& metrics, const std::string& metric,
                                    const char* what, const std::string& missing_note,
                                    std::string& problem) {
  const auto it = metrics.find(metric);
  if (it == metrics.end()) {
    problem = std::string(what) + " metric '" + metric + "' was not reported (reported: " +
              reported_names(metrics) + ")";
    if (!missing_note.empty()) problem += "; " + missing_note;
    return std::nullopt;
  }
  if (!std::isfinite(it->second)) {
    problem = std::string(what) + " metric '" + metric + "' is " +
              (std::isnan(it->second) ? "NaN" : "infinite");
    return std::nullopt;
  }
  return it->second;
}

}  // namespace

ObjectiveScore score_metrics(const StudySpec& spec, const Metrics& metrics,
                             std::optional<double> best_step, const std::string& missing_note) {
  ObjectiveScore s;
  if (spec.multi_objective()) {
    for (const ObjectiveSpec& o : spec.objectives) {
      auto v = finite_metric(metrics, o.metric, "objective", missing_note, s.problem);
      if (!v) return s;
      s.values.push_back(*v);
    }
  } else if (best_step && metrics.find(spec.metric) == metrics.end()) {
    s.value = best_step;  // strategy "best": the curve stands in for the final report
  } else {
    s.value = finite_metric(metrics, spec.metric, "objective", missing_note, s.problem);
    if (!s.value) return s;
    if (best_step && is_better(spec.direction, *best_step, *s.value)) s.value = best_step;
  }
  if (spec.constraints.empty()) return s;
  double violation = 0.0;
  for (const ConstraintSpec& c : spec.constraints) {
    auto v = finite_metric(metrics, c.metric, "constraint", missing_note, s.problem);
    if (!v) return s;
    if (c.max && *v > *c.max) violation += *v - *c.max;
    if (c.min && *v < *c.min) violation += *c.min - *v;
  }
  s.violation = violation;
  return s;
}

void apply_score(const StudySpec& spec, Trial& trial) {
  if (trial.state != TrialState::kComplete) return;
  if (!spec.multi_objective() && spec.constraints.empty()) return;
  const ObjectiveScore s = score_metrics(spec, trial.metrics);
  if (!s.problem.empty()) return;
  if (trial.values.empty()) trial.values = s.values;
  if (!trial.violation) trial.violation = s.violation;
  if (spec.multi_objective()) trial.value.reset();
}

std::string describe_objectives(const StudySpec& spec) {
  std::string out;
  if (spec.objectives.size() > 1) {
    for (const ObjectiveSpec& o : spec.objectives)
      out += (out.empty() ? "" : ", ") + std::string(to_string(o.direction)) + " " + o.metric;
  } else {
    out = std::string(to_string(spec.direction)) + " " + spec.metric;
  }
  std::string limits;
  for (const ConstraintSpec& c : spec.constraints) {
    std::string one;
    if (c.min) one = format_double(*c.min) + " <= ";
    one += c.metric;
    if (c.max) one += " <= " + format_double(*c.max);
    limits += (limits.empty() ? "" : ", ") + one;
  }
  if (!limits.empty()) out += "; " + limits;
  return out;
}

}  // namespace hpo
