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
#include "engine/model/objective_score.h"
#include "engine/study_core.h"
#include "samplers/pareto.h"
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
    R"(usage: hpo best STUDY [--format table|json|csv] [--storage PATH | --spec FILE]

Shows the best COMPLETE trial of STUDY (by the study's direction). For a study with several
objectives: its Pareto front (every feasible COMPLETE trial that no other one dominates), one
row per trial with each objective, and the hypervolume it covers up to the reference point.)";

// The spec `study` was stored with; nullopt when it cannot be read (a study from an old file).
std::optional<StudySpec> read_stored_spec(const StudyRecord& study) {
  try {
    return StudyCore::stored_spec(study);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

// Trials as the study judges them: the objective values and feasibility of each COMPLETE one.
void score_trials(const std::optional<StudySpec>& spec, std::vector<Trial>& trials) {
  if (!spec) return;
  for (Trial& t : trials) apply_score(*spec, t);
}

// Whether "best" among a study's trials is plain value order: one objective, no constraints.
// Then storage's value index answers it in a bounded read; otherwise every COMPLETE trial is
// read and judged (feasibility, domination).
bool ranked_by_value(const std::optional<StudySpec>& spec) {
  return !spec || (!spec->multi_objective() && spec->constraints.empty());
}

// The best trial of a single-objective study by best_trial()'s rule (feasible COMPLETE trials
// only); nullopt when there is none.
std::optional<Trial> best_stored_trial(Storage& storage, const StudyRecord& study,
                                       const std::optional<StudySpec>& spec) {
  if (ranked_by_value(spec)) {
    std::vector<Trial> found =
        storage.get_best_trials(study.id, study.direction, TrialState::kComplete, 1);
    if (found.empty()) return std::nullopt;
    return std::move(found[0]);
  }
  std::vector<Trial> complete = storage.get_trials(study.id, TrialState::kComplete);
  score_trials(spec, complete);
  const Trial* best = best_trial(complete, study.direction);
  if (best == nullptr) return std::nullopt;
  return *best;
}

// The table columns of a study with several objectives or constraints: each objective metric in
// place of "value", then feasibility.
std::vector<std::string> objective_columns(const std::optional<StudySpec>& spec,
                                           std::vector<std::string> names) {
  if (!spec || (!spec->multi_objective() && spec->constraints.empty())) return names;
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n == "value" && spec->multi_objective()) {
      for (const ObjectiveSpec& o : spec->objectives) out.push_back(o.metric);
    } else {
      out.push_back(n);
    }
    if (n == "value" && !spec->constraints.empty()) {
      out.emplace_back("feasible");
      out.emplace_back("violation");
    }
  }
  return out;
}

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
    const std::optional<StudySpec> spec = read_stored_spec(study);
    std::string objective = std::string(to_string(study.direction)) + " " + study.metric;
    std::string best_cell = "-";
    std::string number_cell = "-";
    if (spec && spec->multi_objective()) {
      // Several objectives: the size of the Pareto front stands for "best".
      objective = describe_objectives(*spec);
      std::vector<Trial> complete = storage.get_trials(study.id, TrialState::kComplete);
      score_trials(spec, complete);
      best_cell = "front of " + std::to_string(pareto_front(complete, spec->directions()).size());
    } else if (const std::optional<Trial> best = best_stored_trial(storage, study, spec)) {
      best_cell = value_cell(best->value);
      number_cell = "#" + std::to_string(best->number);
    }
    const TrialCounts c = storage.count_trials(study.id);
    rows.push_back({clean_text(study.name), clean_text(objective), sampler_label(study),
                    progress_cell(study, c), std::to_string(c.total()),
                    std::to_string(c.complete), std::to_string(c.pruned), std::to_string(c.fail),
                    std::to_string(c.running), std::to_string(c.waiting), best_cell,
                    number_cell});
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
  const std::optional<StudySpec> spec = read_stored_spec(study);
  // The best N by value need only N rows, from the value index (the trials without a value
  // come after them all, so they matter only when fewer than N trials have one).
  std::optional<std::vector<Trial>> selected;
  if (filter.sort == TrialSort::kValue && filter.limit && !filter.reverse && where.empty() &&
      ranked_by_value(spec)) {
    const int n = static_cast<int>(std::min<std::size_t>(*filter.limit, 1 << 30));
    std::vector<Trial> best = storage.get_best_trials(study.id, study.direction, filter.state, n);
    if (best.size() == *filter.limit) selected = filter.apply(std::move(best), study.direction);
  }
  if (!selected) {
    std::vector<Trial> all = storage.get_trials(study.id);
    score_trials(spec, all);
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
    std::cout << to_csv(build_trial_table(
        trials, study.direction, study.metric,
        columns ? *columns : objective_columns(spec, default_export_columns())));
    return 0;
  }
  const TrialTable table =
      build_trial_table(trials, study.direction, study.metric,
                        columns ? *columns : objective_columns(spec, default_text_columns(trials)));
  std::fputs(to_text(table).c_str(), stdout);
  if (trials.empty()) std::puts("(no trials)");
  return 0;
}

namespace {

// `hpo best` of a study with several objectives: its Pareto front.
int print_front(const StudySpec& spec, const StudyRecord& study, const std::vector<Trial>& trials,
                const std::string& format) {
  const ParetoSummary pareto = pareto_summary(trials, spec.directions(), spec.reference_point);
  const std::vector<const Trial*>& front = pareto.front;
  const Point& reference = pareto.reference;
  const double hv = pareto.hypervolume;
  if (front.empty()) {
    std::fprintf(stderr, "hpo best: study '%s' has no feasible COMPLETE trial yet\n",
                 clean_text(study.name).c_str());
    return 1;
  }
  std::vector<Trial> rows;
  for (const Trial* t : front) rows.push_back(*t);
  if (format == "json") {
    nlohmann::json out;
    out["study"] = study.name;
    out["objectives"] = nlohmann::json::array();
    for (const ObjectiveSpec& o : spec.objectives)
      out["objectives"].push_back({{"metric", o.metric}, {"direction", to_string(o.direction)}});
    out["reference_point"] = reference;
    out["reference_point_derived"] = spec.reference_point.empty();
    out["hypervolume"] = hv;
    out["front"] = nlohmann::json::array();
    for (const Trial& t : rows) out["front"].push_back(trial_to_json(t, study.direction));
    std::cout << json_text(out, 2) << "\n";
    return 0;
  }
  const std::vector<std::string> columns =
      objective_columns(spec, {"number", "value", "duration", "params"});
  if (format == "csv") {
    std::cout << to_csv(build_trial_table(rows, study.direction, study.metric, columns));
    return 0;
  }
  std::string ref;
  for (double r : reference) ref += (ref.empty() ? "" : ", ") + format_double(r);
  std::printf("study:    %s (%s)\n", clean_text(study.name).c_str(),
              clean_text(describe_objectives(spec)).c_str());
  std::printf("Pareto front: %zu trial(s) of %zu COMPLETE, hypervolume %s (reference point [%s]%s)\n",
              rows.size(), trials.size(), format_double(hv).c_str(), ref.c_str(),
              spec.reference_point.empty() ? ", derived from the trials" : "");
  std::fputs(to_text(build_trial_table(rows, study.direction, study.metric, columns)).c_str(),
             stdout);
  return 0;
}

}  // namespace

int best_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("format", po::value<std::string>()->default_value("table"), "table | json | csv");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kBestUsage, options, pos);
  if (!vm) return 0;
  const std::string format =
      check_format((*vm)["format"].as<std::string>(), {"table", "json", "csv"});

  const OpenedStudy opened = open_study(*vm, study_arg(*vm));
  const StudyRecord& study = opened.study;
  Storage& storage = *opened.storage;
  const std::optional<StudySpec> spec = read_stored_spec(study);
  if (spec && spec->multi_objective()) {
    std::vector<Trial> complete = storage.get_trials(study.id, TrialState::kComplete);
    score_trials(spec, complete);
    return print_front(*spec, study, complete, format);
  }
  if (format == "csv")
    throw InputError("--format", "csv lists a Pareto front; this study has one objective (use "
                                 "table or json, or hpo trials --format csv)");
  const std::optional<Trial> found = best_stored_trial(storage, study, spec);
  const Trial* best = found ? &*found : nullptr;
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
