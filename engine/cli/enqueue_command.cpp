// hpo enqueue STUDY: add WAITING trials with given parameters; they run before sampled ones.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/cli/options.h"
#include "engine/cli/study_access.h"
#include "engine/model/text.h"
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

constexpr const char* kEnqueueUsage =
    R"(usage: hpo enqueue [STUDY] (--params JSON | --file FILE) [--storage PATH | --spec FILE]

Adds trials with the given parameters to STUDY as WAITING: the next `hpo run`/`hpo resume`
runs them before it asks the sampler (warm start). --params takes one JSON object,
e.g. '{"lr": 0.01, "optimizer": "adam"}'. --file takes a JSON file (one object or an array
of objects) or a CSV file (.csv: a header of parameter names, one trial per row, an empty
cell for a parameter left to the sampler).

A set may name only some parameters (as Optuna's enqueue_trial): the sampler chooses the
others when the trial starts. A conditional parameter is given with its parents. Every set is
checked against the study's search space first: all are added, or none.

With --spec FILE the database is the spec's "storage" and STUDY its "name"; a study that does
not exist yet is created from the spec, as `hpo run` would create it, so trials can be queued
before the first run.)";

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

// How many parameters active under `params` it leaves to the sampler (at least; the sampler's
// choices may activate more).
std::size_t count_missing(const SearchSpace& space, const ParamSet& params) {
  std::size_t n = 0;
  for (const auto& p : space.parameters())
    if (!params.count(p.name) && SearchSpace::is_active(p, params)) ++n;
  return n;
}

}  // namespace

int enqueue_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("params", po::value<std::string>(), "one parameter set as a JSON object")
      ("file", po::value<std::string>(), "parameter sets: a JSON file (object or array) or a .csv file");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kEnqueueUsage, options, pos);
  if (!vm) return 0;
  if (vm->count("params") == vm->count("file"))
    throw InputError("give exactly one of --params JSON or --file FILE");

  // The study: the stored one (its space is the truth), else the --spec file's, created below.
  std::optional<StudySpec> file_spec;
  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  if (vm->count("spec")) file_spec = load_spec((*vm)["spec"].as<std::string>());
  const std::filesystem::path storage_path = std::filesystem::absolute(
      resolve_storage_path(cli_storage, file_spec ? &*file_spec : nullptr));
  const std::string name = study_arg(*vm).value_or(file_spec ? file_spec->name : "");
  if (name.empty()) throw InputError("STUDY", "name a study, or give --spec FILE");
  if (file_spec && name != file_spec->name)
    throw InputError("STUDY",
                     "'" + name + "' is not the study of --spec (\"" + file_spec->name + "\")");
  std::unique_ptr<Storage> storage;
  std::optional<StudyRecord> study;
  if (!file_spec || std::filesystem::exists(storage_path)) {
    storage = open_storage(storage_path, /*must_exist=*/true);
    study = storage->find_study(name);
    if (!study && !file_spec)
      study = require_study(*storage, name, storage_path);  // throws, listing the studies
  }
  const StudySpec spec = study ? StudyCore::stored_spec(*study) : *file_spec;

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
    for (auto issue : spec.space.check_partial(sets[i])) {
      if (sets.size() > 1) issue.path = "[" + std::to_string(i) + "]." + issue.path;
      issues.push_back(issue);
    }
  }
  if (sets.empty() && issues.empty()) issues.push_back({"", "no parameter sets given"});
  if (!issues.empty()) throw InputError(issues);

  if (!study) {
    // Nothing is written before every set passed. Created as `hpo run` creates it.
    storage.reset();
    OpenOptions open;
    open.mode = OpenMode::kCreate;
    SpecStudy created = open_spec_study(spec, storage_path, open);
    study = created.core->record();
    storage = std::move(created.storage);
    std::printf("created study '%s' in %s\n", clean_text(name).c_str(), storage_path.c_str());
  }
  for (const auto& params : sets) {
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    nt.params = params;
    const std::optional<Trial> t = storage->create_trial(study->id, nt);
    const std::size_t missing = count_missing(spec.space, params);
    const std::string more =
        missing == 0 ? ""
                     : " (the sampler chooses " + std::to_string(missing) + " more when it starts)";
    std::printf("enqueued trial #%d: %s%s\n", t->number, json_text(params_to_json(params)).c_str(),
                more.c_str());
  }
  return 0;
}

}  // namespace hpo::cli
