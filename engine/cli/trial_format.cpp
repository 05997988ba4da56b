#include "engine/cli/trial_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/model/json_codec.h"
#include "engine/model/text.h"

namespace hpo::cli {

std::string format_time(TimePoint t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

nlohmann::json metrics_to_json(const Metrics& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : metrics) {
    // JSON has no infinities or NaN: say them as strings rather than as null.
    if (std::isfinite(value)) j[name] = value;
    else j[name] = std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return j;
}

std::string json_text(const nlohmann::json& j, int indent) {
  // Paths and old reasons may hold bytes that are not UTF-8: replace them, never fail.
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json trial_to_json(const Trial& t) {
  nlohmann::json j;
  j["number"] = t.number;
  j["state"] = to_string(t.state);
  j["value"] = t.value ? nlohmann::json(*t.value) : nlohmann::json(nullptr);
  j["params"] = params_to_json(t.params);
  nlohmann::json inter = nlohmann::json::object();
  for (const auto& [step, value] : t.intermediate) inter[std::to_string(step)] = value;
  j["intermediate"] = inter;
  j["metrics"] = metrics_to_json(t.metrics);
  j["started"] = t.started ? nlohmann::json(format_time(*t.started)) : nlohmann::json(nullptr);
  j["finished"] = t.finished ? nlohmann::json(format_time(*t.finished)) : nlohmann::json(nullptr);
  auto d = t.duration_s();
  j["duration_s"] = d ? nlohmann::json(*d) : nlohmann::json(nullptr);
  j["reason"] = t.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.reason);
  j["attempt"] = t.attempt;
  j["retry_of"] = t.retry_of ? nlohmann::json(*t.retry_of) : nlohmann::json(nullptr);
  j["trial_dir"] = t.trial_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.trial_dir);
  j["user_attrs"] = t.user_attrs;
  return j;
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  // Cells come from trials: no terminal escape sequence reaches the terminal raw.
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += clean_text(row[i]);
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    const std::string& c = cells[i];
    if (c.find_first_of(",\"\n\r") == std::string::npos) {
      out += c;
      continue;
    }
    out += '"';
    for (char ch : c) {
      if (ch == '"') out += '"';
      out += ch;
    }
    out += '"';
  }
  return out;
}

std::string cell_value(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

}  // namespace hpo::cli
