#include "engine/model/param_set_input.h"

#include <cstdint>
#include <exception>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"
#include "engine/model/spec_checker.h"

namespace hpo {
namespace {

// Splits one CSV row (RFC 4180 quoting). nullopt when a quoted cell is not closed on the row.
std::optional<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  return cells;
}

// A CSV cell as the parameter's type: numbers for float/int, the matching choice for a
// categorical (compared by its text form).
std::optional<ParamValue> cell_value_for(const Parameter& p, const std::string& cell) {
  if (p.distribution.type == ParamType::kCategorical) {
    for (const auto& c : p.distribution.choices)
      if (c.to_string() == cell) return c;
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    if (p.distribution.type == ParamType::kInt) {
      const long long v = std::stoll(cell, &used);
      if (used == cell.size()) return ParamValue(static_cast<std::int64_t>(v));
    } else {
      const double v = std::stod(cell, &used);
      if (used == cell.size()) return ParamValue(v);
    }
  } catch (const std::exception&) {
    // Not a number, or out of range: not a valid value.
  }
  return std::nullopt;
}

// The next row of `text` from `pos` (without its '\n'); false at the end.
bool next_line(std::string_view text, std::size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  const std::size_t end = text.find('\n', pos);
  const std::size_t stop = end == std::string_view::npos ? text.size() : end;
  line = text.substr(pos, stop - pos);
  pos = stop == text.size() ? stop : stop + 1;
  return true;
}

}  // namespace

std::vector<ParamSet> read_param_sets_csv(std::string_view text, const std::string& origin,
                                          const SearchSpace& space,
                                          std::vector<SpecIssue>& issues) {
  std::vector<ParamSet> out;
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // a UTF-8 byte order mark
  std::size_t pos = 0;
  std::string_view line;
  if (!next_line(text, pos, line)) {
    issues.push_back({origin, "is empty (expected a header of parameter names)"});
    return out;
  }
  const auto header_cells = split_csv(line);
  if (!header_cells) {
    issues.push_back({origin + ":1", "has a quoted cell that is not closed"});
    return out;
  }
  const std::vector<std::string>& header = *header_cells;
  std::vector<std::string> names;
  for (const auto& p : space.parameters()) names.push_back(p.name);
  const std::size_t issues_before = issues.size();
  std::set<std::string> seen;
  for (const auto& name : header) {
    if (!space.find(name))
      issues.push_back(
          {origin + ":1", "unknown parameter \"" + name + "\"" + did_you_mean(name, names)});
    else if (!seen.insert(name).second)
      issues.push_back({origin + ":1", "names the parameter \"" + name + "\" twice"});
  }
  // Rows read against a wrong header would only repeat its problem.
  if (issues.size() != issues_before) return out;
  int line_no = 1;
  while (next_line(text, pos, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    const auto row = split_csv(line);
    const std::string where = origin + ":" + std::to_string(line_no);
    if (!row) {
      issues.push_back({where, "has a quoted cell that is not closed"});
      continue;
    }
    const std::vector<std::string>& cells = *row;
    if (cells.size() != header.size()) {
      issues.push_back({where, "has " + std::to_string(cells.size()) + " cells, the header " +
                                   std::to_string(header.size())});
      continue;
    }
    ParamSet params;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const Parameter* p = space.find(header[i]);
      if (!p || cells[i].empty()) continue;
      auto v = cell_value_for(*p, cells[i]);
      if (!v) {
        issues.push_back({where, header[i] + ": '" + cells[i] + "' is not a valid value"});
        continue;
      }
      params[header[i]] = *v;
    }
    out.push_back(std::move(params));
  }
  return out;
}

std::vector<ParamSet> read_param_sets_json(std::string_view text, const std::string& origin,
                                           std::vector<SpecIssue>& issues) {
  std::vector<ParamSet> out;
  nlohmann::json j;
  try {
    j = parse_json(text);
  } catch (const nlohmann::json::parse_error& e) {
    issues.push_back({origin, std::string("is not valid JSON: ") + e.what()});
    return out;
  } catch (const JsonRefused& e) {
    issues.push_back({origin, std::string("is refused: ") + e.what()});
    return out;
  }
  auto one = [&](const nlohmann::json& obj, const std::string& path) {
    try {
      out.push_back(params_from_json(obj));
    } catch (const std::exception& e) {
      issues.push_back({path, e.what()});
    }
  };
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) one(j[i], origin + "[" + std::to_string(i) + "]");
  } else {
    one(j, origin);
  }
  return out;
}

}  // namespace hpo
