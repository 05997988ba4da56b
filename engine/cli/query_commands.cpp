// hpo status | trials STUDY | best STUDY: read-only views of a results database. They never
// create a database: a missing file is an error.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "engine/cli/study_access.h"
#include "engine/report/study_space.h"
#include "engine/report/study_summary.h"
#include "engine/model/text.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_filter.h"
#include "engine/report/trial_json.h"
#include "engine/report/trial_table.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kStatusUsage =
    R"(usage: hpo status [--storage PATH | --spec FILE] [--watch [--interval S]]

Lists the studies in the results database: sampler, progress against budget.trials, trial
counts by state, and the best value with its trial. With --watch the table is redrawn every
--interval seconds (default 2) until Ctrl-C, while runs elsewhere write to the database.)";

constexpr const char* kTrialsUsage = R"(usage: hpo trials STUDY [options]

Lists the trials of STUDY (or of the --spec file's study).

  --where 'NAME OP VALUE'   keep trials where a parameter (or value, number, duration,
                            attempt, or a metric) compares so; OP is = != < <= > >=;
                            VALUE a number, true/false, 'quoted' or a bare word. Repeat
                            --where to require several. A trial without NAME never matches.
                            A VALUE the parameter cannot hold (a word for a float, a
                            categorical's non-choice) is an error that lists what it can.
  --columns a,b,c           columns: number state value best_intermediate duration started
                            finished attempt retry_of reason trial_dir location, params (all),
                            metrics (all), intermediate (one per step), or a parameter or
                            metric name. Defaults: the table shows number, state, value, best
                            intermediate, duration, parameters and reason; CSV and JSON carry
                            everything.

CSV has one column per parameter (params_NAME), metric (metrics_NAME) and intermediate step
(intermediate_STEP, by step). JSON objects carry number, state, value, best_intermediate,
params, metrics, intermediate ([{step, value}] by step), started, finished, duration_s,
reason, attempt, retry_of, trial_dir and location.)";

constexpr const char* kBestUsage =
    R"(usage: hpo best STUDY [--format table|json] [--storage PATH | --spec FILE]

Shows the best COMPLETE trial of STUDY (by the study's direction).)";

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

std::string progress_cell(const StudyRecord& study, const TrialCounts& c) {
  const int done = c.complete + c.pruned;
  const int budget = budget_trials(study);
  if (budget <= 0) return std::to_string(done);
  const int pct = std::min(100, done * 100 / budget);
  return std::to_string(done) + "/" + std::to_string(budget) + " (" + std::to_string(pct) + "%)";
}

std::string value_cell(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

// Two bounded queries per study (counts, and the one best trial), so that a 100,000-trial study
// answers as fast as a small one, --watch or not.
std::string status_table(Storage& storage) {
  std::vector<std::vector<std::string>> rows{{"STUDY", "OBJECTIVE", "SAMPLER", "PROGRESS", "TRIALS",
                                              "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING",
                                              "BEST", "BEST#"}};
  for (const auto& study : storage.list_studies()) {
    const std::vector<Trial> best =
        storage.get_best_trials(study.id, study.direction, TrialState::kComplete, 1);
    std::optional<double> best_value;
    std::optional<int> best_number;
    if (!best.empty()) {
      best_value = best[0].value;
      best_number = best[0].number;
    }
    const TrialCounts c = storage.count_trials(study.id);
    rows.push_back({clean_text(study.name),
                    std::string(to_string(study.direction)) + " " + clean_text(study.metric),
                    sampler_label(study), progress_cell(study, c), std::to_string(c.total()),
                    std::to_string(c.complete), std::to_string(c.pruned), std::to_string(c.fail),
                    std::to_string(c.running), std::to_string(c.waiting),
                    value_cell(best_value),
                    best_number ? "#" + std::to_string(*best_number) : "-"});
  }
  if (rows.size() == 1) return "no studies yet\n";
  return render_table(rows);
}

std::string clock_text() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

int status_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("watch,w", po::bool_switch(), "redraw the table every --interval seconds until Ctrl-C")
      ("interval", po::value<double>()->default_value(2.0), "seconds between redraws with --watch")
      ("count", po::value<int>(), "with --watch: stop after N redraws");
  // clang-format on
  add_storage_options(options);
  auto vm = parse_args(args, kStatusUsage, options, {});
  if (!vm) return 0;
  const double interval = (*vm)["interval"].as<double>();
  if (!(interval >= 0.05) || interval > 86400)
    throw InputError("--interval", "must be between 0.05 and 86400 seconds");
  const bool watch = (*vm)["watch"].as<bool>();
  std::optional<int> count;
  if (vm->count("count")) {
    count = (*vm)["count"].as<int>();
    if (*count < 1) throw InputError("--count", "must be >= 1");
  }
  const StudyLocation location = locate(*vm);
  auto storage = open_results(location.storage);
  if (!watch) {
    std::fputs(status_table(*storage).c_str(), stdout);
    return 0;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const bool tty = ::isatty(::fileno(stdout)) == 1;
  for (int n = 1; g_stop == 0; ++n) {
    const std::string table = status_table(*storage);
    char footer[160];
    std::snprintf(footer, sizeof footer, "%s · %s · every %gs, Ctrl-C stops\n",
                  location.storage.string().c_str(), clock_text().c_str(), interval);
    if (tty) {
      std::fputs("\x1b[H\x1b[2J", stdout);  // home, clear screen
      std::fputs(table.c_str(), stdout);
      std::fputs(footer, stdout);
    } else {
      std::printf("--- %s", footer);
      std::fputs(table.c_str(), stdout);
    }
    std::fflush(stdout);
    if (count && n >= *count) break;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(interval));
    while (g_stop == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

int trials_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("state", po::value<std::string>(),
       "only trials in this state: WAITING, RUNNING, COMPLETE, PRUNED or FAIL")
      ("where", po::value<std::vector<std::string>>()->composing(),
       "'NAME OP VALUE', e.g. 'lr < 0.01' or 'optimizer = adam' (repeatable)")
      ("sort", po::value<std::string>()->default_value("number"),
       "number | value (best first) | duration (longest first)")
      ("reverse", po::bool_switch(), "reverse the sort order")
      ("limit", po::value<int>(), "at most N trials (after sorting)")
      ("columns", po::value<std::string>(), "comma-separated columns (see above)")
      ("format", po::value<std::string>()->default_value("table"), "table | csv | json");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kTrialsUsage, options, pos);
  if (!vm) return 0;

  TrialFilter filter;
  if (vm->count("state")) {
    filter.state = parse_trial_state((*vm)["state"].as<std::string>());
    if (!filter.state)
      throw InputError("--state", "must be WAITING, RUNNING, COMPLETE, PRUNED or FAIL, got '" +
                                      (*vm)["state"].as<std::string>() + "'");
  }
  const std::string sort = (*vm)["sort"].as<std::string>();
  auto sort_key = parse_trial_sort(sort);
  if (!sort_key)
    throw InputError("--sort", "must be number, value or duration, got '" + sort + "'");
  filter.sort = *sort_key;
  filter.reverse = (*vm)["reverse"].as<bool>();
  const std::string format =
      check_format((*vm)["format"].as<std::string>(), {"table", "csv", "json"});
  if (vm->count("limit")) {
    const int limit = (*vm)["limit"].as<int>();
    if (limit < 0) throw InputError("--limit", "must be >= 0");
    filter.limit = static_cast<std::size_t>(limit);
  }
  std::vector<WhereClause> where;
  if (vm->count("where"))
    for (const auto& text : (*vm)["where"].as<std::vector<std::string>>())
      where.push_back(parse_where(text));  // syntax errors before the database is opened

  const OpenedStudy opened = open_study(*vm, study_arg(*vm));
  const StudyRecord& study = opened.study;
  Storage& storage = *opened.storage;
  // The best N by value need only N rows, from the value index (the trials without a value
  // come after them all, so they matter only when fewer than N trials have one).
  std::optional<std::vector<Trial>> selected;
  if (filter.sort == TrialSort::kValue && filter.limit && !filter.reverse && where.empty()) {
    const int n = static_cast<int>(std::min<std::size_t>(*filter.limit, 1 << 30));
    std::vector<Trial> best = storage.get_best_trials(study.id, study.direction, filter.state, n);
    if (best.size() == *filter.limit) selected = filter.apply(std::move(best), study.direction);
  }
  if (!selected) {
    std::vector<Trial> all = storage.get_trials(study.id);
    if (!where.empty()) {
      std::set<std::string> metrics;
      for (const Trial& t : all)
        for (const auto& [m, v] : t.metrics) metrics.insert(m);
      const std::vector<std::string> metric_names(metrics.begin(), metrics.end());
      const SearchSpace space = effective_space(study, all);
      for (WhereClause& w : where) resolve_where(w, space, metric_names);
      filter.where = std::move(where);
    }
    selected = filter.apply(std::move(all), study.direction);
  }
  const std::vector<Trial>& trials = *selected;

  std::optional<std::vector<std::string>> columns;
  if (vm->count("columns")) {
    columns = split_columns((*vm)["columns"].as<std::string>());
    if (columns->empty()) throw InputError("--columns", "names no column");
  }
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : trials) {
      nlohmann::json j = trial_to_json(t, study.direction);
      if (columns) {
        // --columns picks keys of the JSON objects (params and metrics stay objects).
        nlohmann::json picked = nlohmann::json::object();
        for (const auto& c : *columns) {
          const std::string key = c == "duration" ? "duration_s" : c;
          if (!j.contains(key)) {
            std::string keys;
            for (const auto& [k, v] : j.items()) keys += (keys.empty() ? "" : ", ") + k;
            throw InputError("--columns", "no key '" + c + "' in the JSON form; keys are " + keys);
          }
          picked[key] = j[key];
        }
        j = std::move(picked);
      }
      out.push_back(std::move(j));
    }
    std::cout << json_text(out, 2) << "\n";
    return 0;
  }
  if (format == "csv") {
    std::cout << to_csv(build_trial_table(trials, study.direction, study.metric,
                                          columns ? *columns : default_export_columns()));
    return 0;
  }
  const TrialTable table = build_trial_table(trials, study.direction, study.metric,
                                             columns ? *columns : default_text_columns(trials));
  std::fputs(to_text(table).c_str(), stdout);
  if (trials.empty()) std::puts("(no trials)");
  return 0;
}

int best_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("format", po::value<std::string>()->default_value("table"), "table | json");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kBestUsage, options, pos);
  if (!vm) return 0;
  const std::string format = check_format((*vm)["format"].as<std::string>(), {"table", "json"});

  const OpenedStudy opened = open_study(*vm, study_arg(*vm));
  const StudyRecord& study = opened.study;
  Storage& storage = *opened.storage;
  const std::vector<Trial> found =
      storage.get_best_trials(study.id, study.direction, TrialState::kComplete, 1);
  const Trial* best = found.empty() ? nullptr : &found[0];
  if (best == nullptr) {
    std::fprintf(stderr, "hpo best: study '%s' has no COMPLETE trial yet\n",
                 clean_text(study.name).c_str());
    return 1;
  }
  if (format == "json") {
    std::cout << json_text(trial_to_json(*best, study.direction), 2) << "\n";
    return 0;
  }
  std::printf("study:    %s (%s %s)\n", clean_text(study.name).c_str(), to_string(study.direction),
              clean_text(study.metric).c_str());
  std::printf("trial:    #%d\n", best->number);
  std::printf("value:    %s\n", format_double(*best->value).c_str());
  if (auto b = best_intermediate(*best, study.direction))
    std::printf("best intermediate: %s at step %lld\n", format_double(b->value).c_str(),
                static_cast<long long>(b->step));
  if (auto d = best->duration_s()) std::printf("duration: %.2fs\n", *d);
  std::printf("params:\n");
  for (const auto& [pname, value] : best->params)
    std::printf("  %s = %s\n", pname.c_str(), clean_text(value.to_string()).c_str());
  if (best->metrics.size() > 1) {
    std::printf("metrics:\n");
    for (const auto& [mname, value] : best->metrics)
      std::printf("  %s = %s\n", clean_text(mname).c_str(), format_double(value).c_str());
  }
  if (!best->trial_dir.empty()) std::printf("logs:     %s\n", clean_text(best->trial_dir).c_str());
  return 0;
}

}  // namespace hpo::cli
