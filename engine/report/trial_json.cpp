#include "engine/report/trial_json.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/model/json_codec.h"
#include "engine/model/trial_launch.h"

namespace hpo {
namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string format_time(TimePoint t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

nlohmann::json trial_to_json(const Trial& t, Direction direction) {
  nlohmann::json j;
  j["number"] = t.number;
  j["state"] = to_string(t.state);
  j["value"] = t.value ? number_or_null(*t.value) : nlohmann::json(nullptr);
  if (!t.values.empty()) {
    j["values"] = nlohmann::json::array();
    for (double v : t.values) j["values"].push_back(number_or_null(v));
  }
  if (t.violation) {
    j["feasible"] = t.feasible();
    j["violation"] = *t.violation;
  }
  const auto best = best_intermediate(t, direction);
  j["best_intermediate"] =
      best ? nlohmann::json{{"step", best->step}, {"value", best->value}} : nlohmann::json(nullptr);
  j["params"] = params_to_json(t.params);
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : t.metrics) {
    // JSON has no infinities or NaN: say them as strings rather than as null.
    if (std::isfinite(value)) {
      metrics[name] = value;
    } else {
      metrics[name] = std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity");
    }
  }
  j["metrics"] = metrics;
  nlohmann::json inter = nlohmann::json::array();
  for (const auto& [step, value] : t.intermediate)
    inter.push_back({{"step", step}, {"value", number_or_null(value)}});
  j["intermediate"] = inter;
  j["started"] = t.started ? nlohmann::json(format_time(*t.started)) : nlohmann::json(nullptr);
  j["finished"] = t.finished ? nlohmann::json(format_time(*t.finished)) : nlohmann::json(nullptr);
  j["duration_s"] = optional_json(t.duration_s());
  j["reason"] = t.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.reason);
  j["attempt"] = t.attempt;
  j["retry_of"] = optional_json(t.retry_of);
  j["trial_dir"] = t.trial_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.trial_dir);
  j["location"] = t.location.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.location);
  j["launch"] = t.launch ? launch_to_json(*t.launch) : nlohmann::json(nullptr);
  j["user_attrs"] = t.user_attrs;
  return j;
}

}  // namespace hpo
