// How trials and studies are printed by `hpo trials`, `hpo best` and `hpo status`:
// aligned tables, CSV (RFC 4180 quoting) and JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"

namespace hpo::cli {

// "2026-11-28T12:00:00.123Z" (UTC).
std::string format_time(TimePoint t);

// {number, state, value, params, intermediate, metrics, started, finished, duration_s,
//  reason, attempt, retry_of, trial_dir, user_attrs}; absent values are null.
nlohmann::json trial_to_json(const Trial& trial);

// Final metrics as JSON; a non-finite value as the string "Infinity", "-Infinity" or "NaN".
nlohmann::json metrics_to_json(const Metrics& metrics);

// `j` as text for output: bytes that are not UTF-8 (a path, an old reason) are replaced, so
// output never fails on them.
std::string json_text(const nlohmann::json& j, int indent = -1);

// A table: the first row is the header; columns padded to their widest cell.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

// One CSV line (with quoting where needed), without the newline.
std::string csv_line(const std::vector<std::string>& cells);

// A value for a table cell: "%.6g"; "-" when absent.
std::string cell_value(const std::optional<double>& v);

}  // namespace hpo::cli
