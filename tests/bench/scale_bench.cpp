// hpo-bench scale: a 100,000-trial TPE study through the real `hpo run` (issue 16): the threads
// executor running the builtin 10-d Styblinski-Tang (x1..x10 floats in [-5, 5]), SQLite
// storage, parallelism 2, TPE with its defaults (seed 1). Beside it,
// scale_optuna.py runs Optuna 3.1's TPE on the same objective.
//
//   hpo-bench scale [--trials 100000] [--dir DIR] [--asks 10] [--warmup 500] [--reuse DB]
//                   [--curves 100]
//
// --reuse DB: no run; a copy of DB (a database an earlier `hpo-bench scale` built, study
// "scale") is resumed, queried and sampled, so that those figures can be taken again without
// running the study again.
//
// Prints one JSON line:
//   run_seconds, run_cpu_seconds, peak_rss_mib  the `hpo run` process (wait4)
//   db_mib                                      the database with its WAL and shared memory
//   resume_seconds, resume_cpu_seconds          `hpo run` again with one more trial: open the
//                                               study, load it, suggest, run and record one
//   suggest_ms                                  median wall and CPU time of one TPE suggestion
//                                               of a warm sampler at 1k/10k/50k/100k history:
//                                               one sampler follows the study's trials as they
//                                               finish for `--warmup` suggestions, then the
//                                               last `--asks` are timed (see suggest_ms below)
//   query_seconds                               wall and CPU time of `hpo status`, `hpo best`,
//                                               `hpo trials --sort value --limit 10`, `hpo show`
//                                               of the last trial
//   curves                                      the pruners' reads on a copy of the database
//                                               whose every trial reported `--curves` steps
//                                               (0..N-1; added with one INSERT ... SELECT):
//                                               db_mib, and the wall time (ms) of the
//                                               first read of each on a newly opened storage,
//                                               as a resumed study makes it: step_exactly_8
//                                               (the median pruner), step_first_from_8 and
//                                               _64 (ASHA's and Hyperband's rungs), last_step
//                                               (their "auto" resources); best of 3 opens.
//                                               --curves 0 leaves it out.
// DIR (default: a new temporary directory) keeps the spec and the database.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "engine/model/study_view.h"
#include "hpo/search_space.h"
#include "samplers/tpe_sampler.h"
#include "storage/sqlite_storage.h"
#include "tests/bench/child_run.h"

namespace hpo::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kDims = 10;

Json scale_spec(int trials) {
  Json space = Json::object();
  for (int i = 1; i <= kDims; ++i)
    space["x" + std::to_string(i)] = {{"type", "float"}, {"low", -5}, {"high", 5}};
  return {{"name", "scale"},
          {"direction", "minimize"},
          {"objective", {{"metric", "value"}}},
          {"space", space},
          {"sampler", {{"name", "tpe"}, {"seed", 1}}},
          {"budget", {{"trials", trials}}},
          {"parallelism", 2},
          {"executor", {{"kind", "threads"}, {"builtin", "styblinski_tang"}}}};
}

double file_mib(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0.0 : static_cast<double>(size) / (1024.0 * 1024.0);
}

ChildRun must_run(const std::vector<std::string>& argv) {
  ChildRun run = run_child(argv);
  if (run.exit_code != 0) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    throw std::runtime_error(line + "failed with exit code " + std::to_string(run.exit_code));
  }
  return run;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One suggestion of a warm sampler at `history` trials, as a running study asks it: one
// sampler follows the study's last `warmup + asks` trials as they finish (the history grows by
// one trial per suggestion, the sampler updates what it keeps), and the last `asks` suggestions,
// at histories history - asks + 1 .. history, are timed. Median wall and process CPU time (ms;
// the CPU time includes TBB's scoring threads).
struct SuggestTime {
  double wall_ms = 0;
  double cpu_ms = 0;
};
SuggestTime suggest_ms(const std::vector<Trial>& all, std::size_t history,
                       const SearchSpace& space, int warmup, int asks) {
  const std::size_t steps = static_cast<std::size_t>(warmup + asks);
  const std::size_t start = history > steps ? history - steps : 0;
  std::vector<Trial> trials;
  trials.reserve(history);  // the view's pointer stays valid while it grows
  trials.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(start));
  const StudyView view(Direction::kMinimize, trials);
  TpeOptions options;
  options.constant_liar = true;  // as `hpo run` at parallelism 2
  TpeSampler sampler(1, options);
  std::vector<double> wall;
  std::vector<double> cpu;
  for (std::size_t n = start; n < history; ++n) {
    trials.push_back(all[n]);
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    sampler.suggest(view, space, n + 1);
    const double c1 = cpu_seconds();
    if (history - n <= static_cast<std::size_t>(asks)) {
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      cpu.push_back((c1 - c0) * 1000.0);
    }
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// Replaces `to` (with its WAL and shared memory) by a copy of `from`.
void copy_database(const fs::path& from, const fs::path& to) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(to.string() + suffix);
    if (fs::exists(from.string() + suffix))
      fs::copy_file(from.string() + suffix, to.string() + suffix);
  }
}

// A copy of `db` in which each trial of the study reported steps 0..steps-1 (a learning curve
// that falls with the step, offset per trial), written in one statement by SQLite itself.
void add_curves(const fs::path& db, const fs::path& curves, int steps) {
  copy_database(db, curves);
  sqlite3* handle = nullptr;
  if (sqlite3_open(curves.c_str(), &handle) != SQLITE_OK) {
    sqlite3_close(handle);
    throw std::runtime_error("cannot open " + curves.string());
  }
  const std::string sql =
      "INSERT OR IGNORE INTO trial_intermediate_values (trial_id, step, value) "
      "WITH RECURSIVE s(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM s WHERE j < " +
      std::to_string(steps - 1) +
      ") SELECT t.id, s.j, 1.0 / (1 + s.j) + (t.id % 97) * 0.001 FROM trials t, s "
      "ORDER BY t.id, s.j; PRAGMA wal_checkpoint(TRUNCATE);";
  char* error = nullptr;
  const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(handle);
  if (rc != SQLITE_OK) throw std::runtime_error("adding curves failed: " + message);
}

// The first read of each of the pruners' questions on a newly opened storage, best of 3.
Json curve_reads(const fs::path& curves) {
  Json out = Json::object();
  auto time_first = [&](const char* label, auto&& read) {
    double best = 1e300;
    Json result;
    for (int rep = 0; rep < 3; ++rep) {
      SqliteOptions options;
      options.create_if_missing = false;
      SqliteStorage storage(curves, options);
      const auto study = storage.find_study("scale");
      if (!study) throw std::runtime_error(curves.string() + " holds no study 'scale'");
      const auto t0 = std::chrono::steady_clock::now();
      result = read(storage, study->id);
      best = std::min(best, std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - t0)
                                .count());
    }
    result["ms"] = best;
    out[label] = result;
  };
  auto step_values = [](std::int64_t step, StepMatch match) {
    return [=](SqliteStorage& storage, std::int64_t study) {
      return Json{{"trials", storage.get_step_values(study, step, TrialState::kComplete, match).size()}};
    };
  };
  time_first("step_exactly_8", step_values(8, StepMatch::kExactly));
  time_first("step_first_from_8", step_values(8, StepMatch::kFirstFrom));
  time_first("step_first_from_64", step_values(64, StepMatch::kFirstFrom));
  time_first("last_step", [](SqliteStorage& storage, std::int64_t study) {
    return Json{{"step", storage.get_last_step(study, TrialState::kComplete).value_or(-1)}};
  });
  return out;
}

}  // namespace

int scale_main(const std::vector<std::string>& args) {
  int trials = 100000;
  int asks = 10;
  int warmup = 500;
  int curve_steps = 100;
  fs::path dir;
  fs::path reuse;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--trials") trials = std::stoi(args[i + 1]);
    else if (args[i] == "--asks") asks = std::max(1, std::stoi(args[i + 1]));
    else if (args[i] == "--warmup") warmup = std::max(0, std::stoi(args[i + 1]));
    else if (args[i] == "--dir") dir = args[i + 1];
    else if (args[i] == "--reuse") reuse = args[i + 1];
    else if (args[i] == "--curves") curve_steps = std::max(0, std::stoi(args[i + 1]));
    else throw std::runtime_error("unknown option " + args[i]);
  }
  if (args.size() % 2 != 0)
    throw std::runtime_error(
        "usage: hpo-bench scale [--trials 100000] [--dir DIR] [--asks 10] [--warmup 500] "
        "[--reuse DB] [--curves 100]");
  if (dir.empty()) {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("hpo-bench-scale-" + std::to_string(rd() % 1000000000));
  }
  fs::create_directories(dir);
  const fs::path spec = dir / "scale.json";
  const fs::path db = dir / "scale.db";
  const std::string hpo = HPO_BIN;

  Json run_figures = Json::object();
  if (reuse.empty()) {
    std::ofstream(spec) << scale_spec(trials).dump(2);
    const ChildRun run =
        must_run({hpo, "run", spec.string(), "--storage", db.string(), "--progress", "none"});
    run_figures = {{"run_seconds", run.seconds},
                   {"run_cpu_seconds", run.cpu_seconds},
                   {"peak_rss_mib", run.peak_rss_mib}};
  } else {
    // A database an earlier run built: a copy (the resume below adds a trial), and no run.
    copy_database(reuse, db);
    SqliteOptions options;
    options.create_if_missing = false;
    SqliteStorage storage(db, options);
    const auto study = storage.find_study("scale");
    if (!study) throw std::runtime_error(reuse.string() + " holds no study 'scale'");
    trials = storage.count_trials(study->id).total();
    std::ofstream(spec) << scale_spec(trials).dump(2);
    run_figures["reused"] = reuse.string();
  }
  const double db_mib = file_mib(db) + file_mib(db.string() + "-wal") +
                        file_mib(db.string() + "-shm");
  const ChildRun resume = must_run({hpo, "run", spec.string(), "--storage", db.string(),
                                    "--progress", "none", "--trials",
                                    std::to_string(trials + 1)});

  Json queries = Json::object();
  auto query = [&](const char* label, std::vector<std::string> argv) {
    argv.insert(argv.begin(), hpo);
    argv.insert(argv.end(), {"--storage", db.string()});
    const ChildRun q = must_run(argv);
    queries[label] = {{"seconds", q.seconds}, {"cpu_seconds", q.cpu_seconds}};
  };
  query("status", {"status"});
  query("best", {"best", "scale"});
  query("trials_sort_value_limit_10", {"trials", "scale", "--sort", "value", "--limit", "10"});
  query("show_last", {"show", "scale", std::to_string(trials)});

  Json suggest = Json::object();
  {
    SqliteOptions options;
    options.create_if_missing = false;
    SqliteStorage storage(db, options);
    const auto study = storage.find_study("scale");
    const std::vector<Trial> all = storage.get_trials(study->id);
    SearchSpace space;
    for (int i = 1; i <= kDims; ++i)
      space.add({"x" + std::to_string(i), Distribution::float_range(-5, 5), {}});
    for (std::size_t h : {1000, 10000, 50000, 100000}) {
      if (h > all.size()) break;
      const SuggestTime t = suggest_ms(all, h, space, warmup, asks);
      suggest[std::to_string(h)] = {{"wall_ms", t.wall_ms}, {"cpu_ms", t.cpu_ms}};
    }
  }

  Json curves = Json::object();
  if (curve_steps > 0) {
    const fs::path curves_db = dir / "curves.db";
    add_curves(db, curves_db, curve_steps);
    curves = curve_reads(curves_db);
    curves["steps_per_trial"] = curve_steps;
    curves["db_mib"] = file_mib(curves_db) + file_mib(curves_db.string() + "-wal");
  }

  Json out = {{"bench", "scale"}, {"trials", trials}, {"dir", dir.string()}};
  out.update(run_figures);
  out.update(Json{{"db_mib", db_mib},
                  {"resume_seconds", resume.seconds},
                  {"resume_cpu_seconds", resume.cpu_seconds},
                  {"resume_peak_rss_mib", resume.peak_rss_mib},
                  {"suggest_ms", suggest},
                  {"query_seconds", queries}});
  if (curve_steps > 0) out["curves"] = curves;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace hpo::bench
