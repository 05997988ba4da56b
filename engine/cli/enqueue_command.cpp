// hpo enqueue STUDY: add WAITING trials with given parameters; they run before sampled ones.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/cli/options.h"
#include "engine/report/text_safety.h"
#include "engine/factory.h"
#include "engine/study_core.h"
#include "hpo/errors.h"
#include "engine/study_manager.h"
#include "engine/model/file_io.h"
#include "engine/model/json_codec.h"
#include "engine/model/spec_checker.h"

namespace hpo::cli {
namespace {

constexpr std::size_t kMaxEnqueueFileBytes = 64 << 20;

constexpr const char* kEnqueueUsage = R"(usage: hpo enqueue STUDY (--params JSON | --file FILE) [--storage PATH]

Adds trials with the given parameters to STUDY as WAITING: the next `hpo run`/`hpo resume`
runs them before it asks the sampler (warm start). --params takes one JSON object,
e.g. '{"lr": 0.01, "optimizer": "adam"}'. --file takes a JSON file (one object or an array
of objects) or a CSV file (.csv: a header of parameter names, one trial per row, an empty
cell for a parameter that is inactive). Every set is checked against the study's search
space first: all are added, or none.)";

// Splits one CSV line (RFC 4180 quoting). nullopt when a quoted cell is not closed on the line.
std::optional<std::vector<std::string>> split_csv(const std::string& line) {
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
  }
  return std::nullopt;
}

std::vector<ParamSet> read_csv(const std::string& path, const std::string& text,
                               const SearchSpace& space, std::vector<SpecIssue>& issues) {
  std::istringstream in(text);
  std::string line;
  std::vector<ParamSet> out;
  if (!std::getline(in, line)) {
    issues.push_back({path, "is empty (expected a header of parameter names)"});
    return out;
  }
  if (line.rfind("\xef\xbb\xbf", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
  const auto header_cells = split_csv(line);
  if (!header_cells) {
    issues.push_back({path + ":1", "has a quoted cell that is not closed"});
    return out;
  }
  const std::vector<std::string>& header = *header_cells;
  std::vector<std::string> names;
  for (const auto& p : space.parameters()) names.push_back(p.name);
  for (const auto& name : header)
    if (!space.find(name))
      issues.push_back({path + ":1", "unknown parameter \"" + name + "\"" +
                                         did_you_mean(name, names)});
  // Rows read against a wrong header would only repeat its problem.
  if (!issues.empty()) return out;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    const auto row = split_csv(line);
    const std::string where = path + ":" + std::to_string(line_no);
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

std::vector<ParamSet> read_json_sets(const nlohmann::json& j, const std::string& where,
                                     std::vector<SpecIssue>& issues) {
  std::vector<ParamSet> out;
  auto one = [&](const nlohmann::json& obj, const std::string& path) {
    try {
      out.push_back(params_from_json(obj));
    } catch (const std::exception& e) {
      issues.push_back({path, e.what()});
    }
  };
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) one(j[i], where + "[" + std::to_string(i) + "]");
  } else {
    one(j, where);
  }
  return out;
}

}  // namespace

int enqueue_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()
      ("study", po::value<std::string>()->required(), "study name")
      ("params", po::value<std::string>(), "one parameter set as a JSON object")
      ("file", po::value<std::string>(), "parameter sets: a JSON file (object or array) or a .csv file")
      ("storage", po::value<std::string>(), "results database; default $HPO_STORAGE, else ./hpo.db");
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kEnqueueUsage, options, pos);
  if (!vm) return 0;
  if (vm->count("params") == vm->count("file"))
    throw InputError("give exactly one of --params JSON or --file FILE");

  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  auto storage = open_storage(resolve_storage_path(cli_storage, nullptr), /*must_exist=*/true);
  const std::string name = (*vm)["study"].as<std::string>();
  auto study = storage->find_study(name);
  if (!study) throw InputError("no study named '" + name + "' in this database");
  const StudySpec spec = StudyCore::stored_spec(*study);

  std::vector<SpecIssue> issues;
  std::vector<ParamSet> sets;
  auto json_sets = [&](const std::string& text, const std::string& where) {
    try {
      return read_json_sets(parse_json(text), where, issues);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(where, std::string("is not valid JSON: ") + e.what());
    } catch (const JsonRefused& e) {
      throw InputError(where, std::string("is refused: ") + e.what());
    }
  };
  if (vm->count("params")) {
    sets = json_sets((*vm)["params"].as<std::string>(), "--params");
  } else {
    const std::string path = (*vm)["file"].as<std::string>();
    const FileText file = read_regular_file(path, kMaxEnqueueFileBytes, /*follow_symlinks=*/true);
    if (!file.ok()) throw InputError("--file", "'" + path + "' " + file.error);
    if (path.size() > 4 && path.substr(path.size() - 4) == ".csv") {
      sets = read_csv(path, file.text, spec.space, issues);
    } else {
      sets = json_sets(file.text, path);
    }
  }
  for (std::size_t i = 0; i < sets.size(); ++i) {
    for (auto issue : spec.space.check(sets[i])) {
      if (sets.size() > 1) issue.path = "[" + std::to_string(i) + "]." + issue.path;
      issues.push_back(issue);
    }
  }
  if (sets.empty() && issues.empty()) issues.push_back({"", "no parameter sets given"});
  if (!issues.empty()) throw InputError(issues);

  for (const auto& params : sets) {
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    nt.params = params;
    const std::optional<Trial> t = storage->create_trial(study->id, nt);
    std::printf("enqueued trial #%d: %s\n", t->number, json_text(params_to_json(params)).c_str());
  }
  return 0;
}

}  // namespace hpo::cli
