// TrialTable: trials as a flat table, one row per trial and one column per field, parameter,
// metric or intermediate step. `hpo trials` prints it as a text table or CSV, and `hpo export`
// writes it as CSV or JSON records, so that both load in pandas without work
// (pd.read_csv / pd.read_json give the same frame). Value type; thread-compatible.
//
// Column names, as --columns takes them (comma-separated, in the order wanted):
//   number state value duration started finished attempt retry_of reason trial_dir location
//   best_intermediate  the best intermediate value and its step (columns best_intermediate
//                      and best_step)
//   step               the last step a trial reported (a PRUNED trial's: where it was pruned)
//   params             every parameter (columns params_NAME, by name); or one parameter's NAME
//   metrics            every reported metric (metrics_NAME); or one metric's NAME
//   intermediate       every step any trial reported (intermediate_STEP, by step as a number)
// An absent value (an inactive conditional parameter, a step a trial did not reach) is an
// empty CSV cell, a JSON null and "-" in a text table.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

struct TableColumn {
  std::string key;    // CSV header and JSON key: "value", "params_lr", "intermediate_3"
  std::string label;  // header of a text table: "val_loss", "lr"
};

struct TrialTable {
  std::vector<TableColumn> columns;
  // One cell per column: a number, string, boolean or null.
  std::vector<std::vector<nlohmann::json>> rows;
};

// The columns of a text table by default: number, state, value, best_intermediate and step
// (when a trial has intermediate values), duration, params, reason.
std::vector<std::string> default_text_columns(const std::vector<Trial>& trials);
// The columns of CSV and JSON by default: every one, in the order number, state, value,
// duration, started, finished, attempt, retry_of, best_intermediate, params, metrics,
// intermediate, reason, trial_dir, location.
std::vector<std::string> default_export_columns();

// Builds the table of `trials` (in their order) with the named columns. `metric` labels the
// value column. Throws InputError ("--columns") for a name that is neither a column nor a
// parameter or metric of these trials, listing what is available.
TrialTable build_trial_table(const std::vector<Trial>& trials, Direction direction,
                             const std::string& metric, const std::vector<std::string>& names);

// Splits "a,b, c" into names; empty parts are dropped.
std::vector<std::string> split_columns(const std::string& text);

// CSV (RFC 4180 quoting, "\n" line ends) with a header line; numbers in their shortest
// round-trip form; text made valid UTF-8.
std::string to_csv(const TrialTable& table);
// [{key: cell, ...}, ...] with the keys in column order: the records pandas.read_json reads.
nlohmann::ordered_json to_json_records(const TrialTable& table);
// An aligned text table with a header line; numbers as %.6g; cells longer than `max_cell`
// characters are cut; control characters are escaped.
std::string to_text(const TrialTable& table, std::size_t max_cell = 70);

// One CSV line (quoted where needed), without the newline.
std::string csv_line(const std::vector<std::string>& cells);
// A table: the first row is the header; columns padded to their widest cell (in characters);
// control characters in cells are escaped (clean_text).
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace hpo
