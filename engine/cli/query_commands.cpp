// hpo status | trials STUDY | best STUDY: read-only views of a results database. They never
// create a database: a missing file is an error.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "engine/cli/options.h"
#include "engine/cli/trial_format.h"
#include "engine/factory.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kStatusUsage = R"(usage: hpo status [--storage PATH]

Lists the studies in the results database with their trial counts by state and best value.)";

constexpr const char* kTrialsUsage = R"(usage: hpo trials STUDY [options]

Lists the trials of STUDY. JSON objects carry number, state, value, params, intermediate
(step -> value), metrics, started, finished, duration_s, reason, attempt, retry_of and
trial_dir.)";

constexpr const char* kBestUsage = R"(usage: hpo best STUDY [--format table|json]

Shows the best COMPLETE trial of STUDY (by the study's direction).)";

void add_storage_option(po::options_description& options) {
  options.add_options()("storage", po::value<std::string>(),
                        "results database (SQLite file); default $HPO_STORAGE, else ./hpo.db");
}

std::unique_ptr<Storage> open_from(const po::variables_map& vm) {
  std::optional<std::filesystem::path> cli;
  if (vm.count("storage")) cli = vm["storage"].as<std::string>();
  return open_storage(resolve_storage_path(cli, nullptr), /*must_exist=*/true);
}

StudyRecord require_study(Storage& storage, const std::string& name) {
  auto study = storage.find_study(name);
  if (study) return *study;
  std::string known;
  for (const auto& s : storage.list_studies()) known += (known.empty() ? "" : ", ") + s.name;
  throw InputError("no study named '" + name + "' in this database (studies: " +
                   (known.empty() ? "none" : known) + ")");
}

std::optional<Trial> best_of(const std::vector<Trial>& trials, Direction direction) {
  const Trial* best = best_trial(trials, direction);
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::string check_format(const std::string& format, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (format == a) return format;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw InputError("--format", "must be one of " + list + ", got '" + format + "'");
}

std::string duration_cell(const Trial& t) {
  auto d = t.duration_s();
  if (!d) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", *d);
  return buf;
}

std::string truncate(const std::string& s, std::size_t n) {
  std::string one_line = s;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  return one_line.size() <= n ? one_line : one_line.substr(0, n - 3) + "...";
}

// The last step `t` reported (where a PRUNED trial was pruned); `none` when it reported none.
std::string last_step_cell(const Trial& t, const char* none) {
  return t.intermediate.empty() ? none : std::to_string(t.intermediate.rbegin()->first);
}

}  // namespace

int status_command(const Args& args) {
  po::options_description options("Options");
  add_storage_option(options);
  auto vm = parse_args(args, kStatusUsage, options, {});
  if (!vm) return 0;
  auto storage = open_from(*vm);
  std::vector<std::vector<std::string>> rows{{"STUDY", "DIRECTION", "METRIC", "TRIALS",
                                              "COMPLETE", "PRUNED", "FAIL", "RUNNING",
                                              "WAITING", "BEST", "BEST#"}};
  for (const auto& study : storage->list_studies()) {
    auto trials = storage->get_trials(study.id);
    std::map<TrialState, int> counts;
    for (const auto& t : trials) ++counts[t.state];
    auto best = best_of(trials, study.direction);
    rows.push_back({study.name, to_string(study.direction), study.metric,
                    std::to_string(trials.size()), std::to_string(counts[TrialState::kComplete]),
                    std::to_string(counts[TrialState::kPruned]),
                    std::to_string(counts[TrialState::kFail]),
                    std::to_string(counts[TrialState::kRunning]),
                    std::to_string(counts[TrialState::kWaiting]),
                    best ? cell_value(best->value) : "-",
                    best ? std::to_string(best->number) : "-"});
  }
  if (rows.size() == 1) {
    std::puts("no studies yet");
    return 0;
  }
  std::fputs(render_table(rows).c_str(), stdout);
  return 0;
}

int trials_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()
      ("study", po::value<std::string>()->required(), "study name")
      ("state", po::value<std::string>(), "only trials in this state: WAITING, RUNNING, COMPLETE, PRUNED or FAIL")
      ("sort", po::value<std::string>()->default_value("number"), "number | value (best first)")
      ("limit", po::value<int>(), "at most N trials")
      ("format", po::value<std::string>()->default_value("table"), "table | csv | json");
  add_storage_option(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kTrialsUsage, options, pos);
  if (!vm) return 0;

  std::optional<TrialState> state;
  if (vm->count("state")) {
    state = parse_trial_state((*vm)["state"].as<std::string>());
    if (!state)
      throw InputError("--state", "must be WAITING, RUNNING, COMPLETE, PRUNED or FAIL, got '" +
                                      (*vm)["state"].as<std::string>() + "'");
  }
  const std::string sort = (*vm)["sort"].as<std::string>();
  if (sort != "number" && sort != "value")
    throw InputError("--sort", "must be number or value, got '" + sort + "'");
  const std::string format = check_format((*vm)["format"].as<std::string>(), {"table", "csv", "json"});
  std::optional<int> limit;
  if (vm->count("limit")) {
    limit = (*vm)["limit"].as<int>();
    if (*limit < 0) throw InputError("--limit", "must be >= 0");
  }

  auto storage = open_from(*vm);
  const StudyRecord study = require_study(*storage, (*vm)["study"].as<std::string>());
  std::vector<Trial> trials = storage->get_trials(study.id, state);
  if (sort == "value") {
    std::stable_sort(trials.begin(), trials.end(), [&](const Trial& a, const Trial& b) {
      if (a.value && b.value) return is_better(study.direction, *a.value, *b.value);
      return a.value.has_value() && !b.value.has_value();
    });
  }
  if (limit && trials.size() > static_cast<std::size_t>(*limit)) trials.resize(*limit);

  std::vector<std::string> param_names;
  {
    std::set<std::string> seen;
    for (const auto& t : trials)
      for (const auto& [name, value] : t.params)
        if (seen.insert(name).second) param_names.push_back(name);
    std::sort(param_names.begin(), param_names.end());
  }

  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : trials) out.push_back(trial_to_json(t));
    std::cout << json_text(out, 2) << "\n";
    return 0;
  }
  if (format == "csv") {
    std::vector<std::string> header{"number", "state", "value", "duration_s", "started",
                                    "finished", "attempt", "step"};
    for (const auto& p : param_names) header.push_back("param_" + p);
    header.push_back("reason");
    std::cout << csv_line(header) << "\n";
    for (const auto& t : trials) {
      auto d = t.duration_s();
      std::vector<std::string> row{std::to_string(t.number), to_string(t.state),
                                   t.value ? format_double(*t.value) : "",
                                   d ? format_double(*d) : "",
                                   t.started ? format_time(*t.started) : "",
                                   t.finished ? format_time(*t.finished) : "",
                                   std::to_string(t.attempt), last_step_cell(t, "")};
      for (const auto& p : param_names) {
        auto it = t.params.find(p);
        row.push_back(it == t.params.end() ? "" : it->second.to_string());
      }
      row.push_back(t.reason);
      std::cout << csv_line(row) << "\n";
    }
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  // STEP: the last step a trial reported; for a PRUNED trial, the step it was pruned at.
  std::vector<std::string> header{"#", "STATE", study.metric, "STEP", "DURATION"};
  for (const auto& p : param_names) header.push_back(p);
  header.push_back("REASON");
  rows.push_back(header);
  for (const auto& t : trials) {
    std::vector<std::string> row{std::to_string(t.number), to_string(t.state),
                                 cell_value(t.value), last_step_cell(t, "-"), duration_cell(t)};
    for (const auto& p : param_names) {
      auto it = t.params.find(p);
      std::string cell = it == t.params.end() ? "-" : it->second.to_string();
      if (it != t.params.end() && it->second.is_double()) cell = cell_value(it->second.as_double());
      row.push_back(cell);
    }
    row.push_back(truncate(t.reason, 70));
    rows.push_back(row);
  }
  std::fputs(render_table(rows).c_str(), stdout);
  if (trials.empty()) std::puts("(no trials)");
  return 0;
}

int best_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()
      ("study", po::value<std::string>()->required(), "study name")
      ("format", po::value<std::string>()->default_value("table"), "table | json");
  add_storage_option(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kBestUsage, options, pos);
  if (!vm) return 0;
  const std::string format = check_format((*vm)["format"].as<std::string>(), {"table", "json"});

  auto storage = open_from(*vm);
  const StudyRecord study = require_study(*storage, (*vm)["study"].as<std::string>());
  auto best = best_of(storage->get_trials(study.id, TrialState::kComplete), study.direction);
  if (!best) {
    std::fprintf(stderr, "hpo best: study '%s' has no COMPLETE trial yet\n", study.name.c_str());
    return 1;
  }
  if (format == "json") {
    std::cout << json_text(trial_to_json(*best), 2) << "\n";
    return 0;
  }
  std::printf("study:    %s (%s %s)\n", study.name.c_str(), to_string(study.direction),
              study.metric.c_str());
  std::printf("trial:    #%d\n", best->number);
  std::printf("value:    %s\n", format_double(*best->value).c_str());
  std::printf("duration: %s\n", duration_cell(*best).c_str());
  std::printf("params:\n");
  for (const auto& [name, value] : best->params)
    std::printf("  %s = %s\n", name.c_str(), value.to_string().c_str());
  if (best->metrics.size() > 1) {
    std::printf("metrics:\n");
    for (const auto& [name, value] : best->metrics)
      std::printf("  %s = %s\n", name.c_str(), format_double(value).c_str());
  }
  if (!best->trial_dir.empty()) std::printf("logs:     %s\n", best->trial_dir.c_str());
  return 0;
}

}  // namespace hpo::cli
