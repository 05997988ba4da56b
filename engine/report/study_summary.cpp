#include "engine/report/study_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/model/json_codec.h"
#include "engine/report/study_space.h"

namespace hpo {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

StudySummary summarize(const StudyRecord& record, const std::vector<Trial>& trials,
                       const std::vector<int>& budgets, TimePoint now) {
  StudySummary s;
  s.name = record.name;
  s.direction = record.direction;
  s.metric = record.metric;
  s.sampler = sampler_label(record);
  s.budget = budget_trials(record);

  std::vector<const Trial*> by_number;
  by_number.reserve(trials.size());
  std::optional<TimePoint> first_start;
  std::optional<TimePoint> last_end;
  double duration_sum = 0;
  int durations = 0;
  int finished = 0;
  for (const Trial& t : trials) {
    by_number.push_back(&t);
    switch (t.state) {
      case TrialState::kWaiting:
        ++s.counts.waiting;
        break;
      case TrialState::kRunning:
        ++s.counts.running;
        break;
      case TrialState::kComplete:
        ++s.counts.complete;
        break;
      case TrialState::kPruned:
        ++s.counts.pruned;
        break;
      case TrialState::kFail:
        ++s.counts.fail;
        break;
    }
    if (t.started && (!first_start || *t.started < *first_start)) first_start = t.started;
    std::optional<TimePoint> end = t.finished;
    if (t.state == TrialState::kRunning) end = now;
    if (end && (!last_end || *end > *last_end)) last_end = end;
    if (is_finished(t.state)) {
      ++finished;
      if (auto d = t.duration_s()) {
        duration_sum += *d;
        ++durations;
      }
    }
  }
  if (const Trial* best = best_trial(trials, record.direction)) {
    s.best_number = best->number;
    s.best_value = best->value;
    s.best_params = best->params;
  }

  std::sort(by_number.begin(), by_number.end(),
            [](const Trial* a, const Trial* b) { return a->number < b->number; });
  // best_so_far[i]: best COMPLETE value among the first i + 1 trials.
  std::vector<std::optional<double>> best_so_far(by_number.size());
  std::optional<double> running;
  for (std::size_t i = 0; i < by_number.size(); ++i) {
    const Trial& t = *by_number[i];
    if (t.state == TrialState::kComplete && t.value &&
        (!running || is_better(record.direction, *t.value, *running)))
      running = t.value;
    best_so_far[i] = running;
  }
  for (int n : budgets) {
    std::optional<double> v;
    if (n > 0 && static_cast<std::size_t>(n) <= by_number.size()) v = best_so_far[n - 1];
    s.best_at.emplace_back(n, v);
  }
  s.best_at.emplace_back(0, s.best_value);

  if (first_start && last_end)
    s.wall_time_s = std::chrono::duration<double>(*last_end - *first_start).count();
  if (durations > 0) s.mean_trial_s = duration_sum / durations;
  if (s.wall_time_s && finished > 0) s.wall_per_trial_s = *s.wall_time_s / finished;
  return s;
}

nlohmann::json to_json(const StudySummary& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["storage"] = s.storage.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.storage);
  j["direction"] = to_string(s.direction);
  j["metric"] = s.metric;
  j["sampler"] = s.sampler;
  j["budget"] = s.budget > 0 ? nlohmann::json(s.budget) : nlohmann::json(nullptr);
  j["counts"] = {{"total", s.counts.total()},   {"COMPLETE", s.counts.complete},
                 {"PRUNED", s.counts.pruned},   {"FAIL", s.counts.fail},
                 {"RUNNING", s.counts.running}, {"WAITING", s.counts.waiting}};
  if (s.best_number) {
    j["best"] = {{"number", *s.best_number},
                 {"value", optional_json(s.best_value)},
                 {"params", params_to_json(s.best_params)}};
  } else {
    j["best"] = nullptr;
  }
  nlohmann::json at = nlohmann::json::object();
  for (const auto& [n, v] : s.best_at) at[n == 0 ? "all" : std::to_string(n)] = optional_json(v);
  j["best_at"] = at;
  j["wall_time_s"] = optional_json(s.wall_time_s);
  j["mean_trial_s"] = optional_json(s.mean_trial_s);
  j["wall_per_trial_s"] = optional_json(s.wall_per_trial_s);
  return j;
}

std::string format_seconds(double seconds) {
  char buf[48];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.*fs", seconds < 10 ? 2 : 1, seconds);
  } else if (seconds < 3600) {
    const auto s = static_cast<long>(std::lround(seconds));
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    const auto m = static_cast<long>(std::lround(seconds / 60));
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

}  // namespace hpo
