#include "engine/report/trial_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "engine/model/json_codec.h"
#include "engine/model/spec_checker.h"
#include "engine/model/text.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_json.h"
#include "hpo/errors.h"

namespace hpo {
namespace {

using Cell = nlohmann::json;
using CellOf = std::function<Cell(const Trial&)>;

Cell number_or_null(double v) { return std::isfinite(v) ? Cell(v) : Cell(nullptr); }

template <typename T>
Cell optional_cell(const std::optional<T>& v) {
  return v ? Cell(*v) : Cell(nullptr);
}

Cell text_or_null(const std::string& s) { return s.empty() ? Cell(nullptr) : Cell(s); }

struct Column {
  TableColumn header;
  CellOf cell;
};

// Characters (UTF-8 code points) in `s`.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first `n` characters of `s` plus "...", at a character boundary.
std::string cut(const std::string& s, std::size_t n) {
  if (display_width(s) <= n) return s;
  std::size_t chars = 0;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == n - 3) break;
      ++chars;
    }
  }
  return s.substr(0, i) + "...";
}

}  // namespace

std::vector<std::string> default_text_columns(const std::vector<Trial>& trials) {
  std::vector<std::string> names{"number", "state", "value"};
  if (std::any_of(trials.begin(), trials.end(),
                  [](const Trial& t) { return !t.intermediate.empty(); }))
    names.insert(names.end(), {"best_intermediate", "step"});
  for (const char* n : {"duration", "params", "reason"}) names.emplace_back(n);
  return names;
}

std::vector<std::string> default_export_columns() {
  return {"number",   "state",        "value",    "duration",          "started",
          "finished", "attempt",      "retry_of", "best_intermediate", "params",
          "metrics",  "intermediate", "reason",   "trial_dir",         "location"};
}

std::vector<std::string> split_columns(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    while (!current.empty() && current.back() == ' ') current.pop_back();
    if (!current.empty()) out.push_back(current);
    current.clear();
  };
  for (char c : text) {
    if (c == ',') {
      flush();
    } else if (c != ' ' || !current.empty()) {
      current += c;
    }
  }
  flush();
  return out;
}

TrialTable build_trial_table(const std::vector<Trial>& trials, Direction direction,
                             const std::string& metric, const std::vector<std::string>& names) {
  std::set<std::string> param_set;
  std::set<std::string> metric_set;
  std::set<std::int64_t> steps;
  for (const Trial& t : trials) {
    for (const auto& [name, value] : t.params) param_set.insert(name);
    for (const auto& [name, value] : t.metrics) metric_set.insert(name);
    for (const auto& [step, value] : t.intermediate) steps.insert(step);
  }
  auto param_column = [](const std::string& name) {
    return Column{{"params_" + name, name}, [name](const Trial& t) {
                    auto it = t.params.find(name);
                    if (it == t.params.end()) return Cell(nullptr);
                    if (it->second.is_double()) return number_or_null(it->second.as_double());
                    return to_json(it->second);
                  }};
  };
  auto metric_column = [](const std::string& name) {
    return Column{{"metrics_" + name, name}, [name](const Trial& t) {
                    auto it = t.metrics.find(name);
                    return it == t.metrics.end() ? Cell(nullptr) : number_or_null(it->second);
                  }};
  };

  std::vector<Column> columns;
  for (const std::string& name : names) {
    if (name == "number") {
      columns.push_back({{"number", "#"}, [](const Trial& t) { return Cell(t.number); }});
    } else if (name == "state") {
      columns.push_back(
          {{"state", "STATE"}, [](const Trial& t) { return Cell(to_string(t.state)); }});
    } else if (name == "value") {
      columns.push_back({{"value", metric.empty() ? "VALUE" : metric}, [](const Trial& t) {
                           return t.value ? number_or_null(*t.value) : Cell(nullptr);
                         }});
    } else if (name == "feasible") {
      columns.push_back({{"feasible", "FEASIBLE"}, [](const Trial& t) {
                           return t.violation ? Cell(t.feasible() ? "yes" : "no") : Cell(nullptr);
                         }});
    } else if (name == "violation") {
      columns.push_back({{"violation", "VIOLATION"},
                         [](const Trial& t) { return optional_cell(t.violation); }});
    } else if (name == "duration") {
      columns.push_back({{"duration_s", "DURATION"},
                         [](const Trial& t) { return optional_cell(t.duration_s()); }});
    } else if (name == "started") {
      columns.push_back({{"started", "STARTED"}, [](const Trial& t) {
                           return t.started ? Cell(format_time(*t.started)) : Cell(nullptr);
                         }});
    } else if (name == "finished") {
      columns.push_back({{"finished", "FINISHED"}, [](const Trial& t) {
                           return t.finished ? Cell(format_time(*t.finished)) : Cell(nullptr);
                         }});
    } else if (name == "step") {
      // The last step a trial reported: for a PRUNED trial, the step it was pruned at.
      columns.push_back({{"step", "STEP"}, [](const Trial& t) {
                           return t.intermediate.empty() ? Cell(nullptr)
                                                         : Cell(t.intermediate.rbegin()->first);
                         }});
    } else if (name == "attempt") {
      columns.push_back({{"attempt", "ATTEMPT"}, [](const Trial& t) { return Cell(t.attempt); }});
    } else if (name == "retry_of") {
      columns.push_back(
          {{"retry_of", "RETRY_OF"}, [](const Trial& t) { return optional_cell(t.retry_of); }});
    } else if (name == "reason") {
      columns.push_back(
          {{"reason", "REASON"}, [](const Trial& t) { return text_or_null(t.reason); }});
    } else if (name == "trial_dir") {
      columns.push_back(
          {{"trial_dir", "TRIAL_DIR"}, [](const Trial& t) { return text_or_null(t.trial_dir); }});
    } else if (name == "location") {
      columns.push_back(
          {{"location", "LOCATION"}, [](const Trial& t) { return text_or_null(t.location); }});
    } else if (name == "best_intermediate") {
      columns.push_back({{"best_intermediate", "BEST_INTERM"}, [direction](const Trial& t) {
                           auto b = best_intermediate(t, direction);
                           return b ? Cell(b->value) : Cell(nullptr);
                         }});
      columns.push_back({{"best_step", "@STEP"}, [direction](const Trial& t) {
                           auto b = best_intermediate(t, direction);
                           return b ? Cell(b->step) : Cell(nullptr);
                         }});
    } else if (name == "params") {
      for (const auto& p : param_set) columns.push_back(param_column(p));
    } else if (name == "metrics") {
      for (const auto& m : metric_set) columns.push_back(metric_column(m));
    } else if (name == "intermediate") {
      for (std::int64_t step : steps) {
        columns.push_back({{"intermediate_" + std::to_string(step), "@" + std::to_string(step)},
                           [step](const Trial& t) {
                             auto it = t.intermediate.find(step);
                             return it == t.intermediate.end() ? Cell(nullptr)
                                                               : number_or_null(it->second);
                           }});
      }
    } else if (param_set.count(name)) {
      columns.push_back(param_column(name));
    } else if (metric_set.count(name)) {
      columns.push_back(metric_column(name));
    } else {
      std::vector<std::string> known{"number",  "state",     "value",       "feasible",
                                     "violation", "duration",
                                     "started", "finished",  "attempt",     "retry_of",
                                     "reason",  "trial_dir", "location",    "best_intermediate",
                                     "params",  "metrics",   "intermediate"};
      known.insert(known.end(), param_set.begin(), param_set.end());
      known.insert(known.end(), metric_set.begin(), metric_set.end());
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InputError("--columns", "unknown column '" + name + "'" + did_you_mean(name, known) +
                                        "; columns are " + list);
    }
  }

  TrialTable table;
  for (const Column& c : columns) table.columns.push_back(c.header);
  table.rows.reserve(trials.size());
  for (const Trial& t : trials) {
    std::vector<Cell> row;
    row.reserve(columns.size());
    for (const Column& c : columns) row.push_back(c.cell(t));
    table.rows.push_back(std::move(row));
  }
  return table;
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

std::string render_table(const std::vector<std::vector<std::string>>& raw) {
  // Cells come from trials: no terminal escape sequence reaches the terminal raw.
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw.size());
  for (const auto& r : raw) {
    std::vector<std::string> cells;
    cells.reserve(r.size());
    for (const auto& c : r) cells.push_back(clean_text(c));
    rows.push_back(std::move(cells));
  }
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - display_width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string to_csv(const TrialTable& table) {
  std::vector<std::string> header;
  for (const auto& c : table.columns) header.push_back(valid_utf8(c.key));
  std::string out = csv_line(header) + "\n";
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const Cell& cell : row) {
      if (cell.is_null()) {
        cells.emplace_back();
      } else if (cell.is_string()) {
        cells.push_back(valid_utf8(cell.get<std::string>()));
      } else if (cell.is_number_float()) {
        cells.push_back(format_double(cell.get<double>()));
      } else {
        cells.push_back(cell.dump());
      }
    }
    out += csv_line(cells) + "\n";
  }
  return out;
}

nlohmann::ordered_json to_json_records(const TrialTable& table) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& row : table.rows) {
    nlohmann::ordered_json record = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < row.size(); ++i) record[table.columns[i].key] = row[i];
    out.push_back(std::move(record));
  }
  return out;
}

std::string to_text(const TrialTable& table, std::size_t max_cell) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (const auto& c : table.columns) header.push_back(clean_text(c.label));
  rows.push_back(std::move(header));
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const Cell& cell = row[i];
      std::string text;
      if (cell.is_null()) {
        text = "-";
      } else if (cell.is_string()) {
        text = clean_text(cell.get<std::string>());
      } else if (cell.is_number_float()) {
        char buf[32];
        if (table.columns[i].key == "duration_s") {
          std::snprintf(buf, sizeof buf, "%.2fs", cell.get<double>());
        } else {
          std::snprintf(buf, sizeof buf, "%.6g", cell.get<double>());
        }
        text = buf;
      } else {
        text = cell.dump();
      }
      cells.push_back(cut(text, max_cell));
    }
    rows.push_back(std::move(cells));
  }
  return render_table(rows);
}

}  // namespace hpo
