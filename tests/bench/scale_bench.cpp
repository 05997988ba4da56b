// hpo-bench scale: a 100,000-trial TPE study through the real `hpo run` (issue 16): the threads
// executor running the builtin 10-d Styblinski-Tang (x1..x10 floats in [-5, 5]), SQLite
// storage, parallelism 2, TPE with its defaults (seed 1). Beside it,
// scale_optuna.py runs Optuna 3.1's TPE on the same objective.
//
//   hpo-bench scale [--trials 100000] [--dir DIR] [--asks 10]
//
// Prints one JSON line:
//   run_seconds, run_cpu_seconds, peak_rss_mib  the `hpo run` process (wait4)
//   db_mib                                      the database with its WAL and shared memory
//   resume_seconds                              `hpo run` again with one more trial: open the
//                                               study, load it, suggest, run and record one
//   suggest_ms                                  median wall time of one TPE suggestion
//                                               (`--asks` of them, after a warm-up one) given
//                                               the study's first 1k/10k/50k/100k trials, as
//                                               the sampler inside `hpo run` sees them
//   query_seconds                               `hpo status`, `hpo best`, `hpo trials --sort
//                                               value --limit 10`, `hpo show` of the last trial
// DIR (default: a new temporary directory) keeps the spec and the database.
#include <algorithm>
#include <chrono>
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

// Median wall time (ms) of one suggestion given the first `history` trials.
double suggest_ms(const std::vector<Trial>& all, std::size_t history, const SearchSpace& space,
                  int asks) {
  const std::vector<Trial> trials(all.begin(),
                                  all.begin() + static_cast<std::ptrdiff_t>(history));
  const StudyView view(Direction::kMinimize, trials);
  TpeOptions options;
  options.constant_liar = true;  // as `hpo run` at parallelism 2
  TpeSampler sampler(1, options);
  sampler.suggest(view, space, history);  // warm: a live sampler has encoded the history
  std::vector<double> ms;
  for (int i = 0; i < asks; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    sampler.suggest(view, space, history + 1 + static_cast<std::uint64_t>(i));
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int scale_main(const std::vector<std::string>& args) {
  int trials = 100000;
  int asks = 10;
  fs::path dir;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--trials") trials = std::stoi(args[i + 1]);
    else if (args[i] == "--asks") asks = std::max(1, std::stoi(args[i + 1]));
    else if (args[i] == "--dir") dir = args[i + 1];
    else throw std::runtime_error("unknown option " + args[i]);
  }
  if (args.size() % 2 != 0)
    throw std::runtime_error("usage: hpo-bench scale [--trials 100000] [--dir DIR] [--asks 10]");
  if (dir.empty()) {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("hpo-bench-scale-" + std::to_string(rd() % 1000000000));
  }
  fs::create_directories(dir);
  const fs::path spec = dir / "scale.json";
  const fs::path db = dir / "scale.db";
  std::ofstream(spec) << scale_spec(trials).dump(2);
  const std::string hpo = HPO_BIN;

  const ChildRun run =
      must_run({hpo, "run", spec.string(), "--storage", db.string(), "--progress", "none"});
  const double db_mib = file_mib(db) + file_mib(db.string() + "-wal") +
                        file_mib(db.string() + "-shm");
  const ChildRun resume = must_run({hpo, "run", spec.string(), "--storage", db.string(),
                                    "--progress", "none", "--trials",
                                    std::to_string(trials + 1)});

  Json queries = Json::object();
  auto query = [&](const char* label, std::vector<std::string> argv) {
    argv.insert(argv.begin(), hpo);
    argv.insert(argv.end(), {"--storage", db.string()});
    queries[label] = must_run(argv).seconds;
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
      suggest[std::to_string(h)] = suggest_ms(all, h, space, asks);
    }
  }

  const Json out = {{"bench", "scale"},
                    {"trials", trials},
                    {"dir", dir.string()},
                    {"run_seconds", run.seconds},
                    {"run_cpu_seconds", run.cpu_seconds},
                    {"peak_rss_mib", run.peak_rss_mib},
                    {"db_mib", db_mib},
                    {"resume_seconds", resume.seconds},
                    {"suggest_ms", suggest},
                    {"query_seconds", queries}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace hpo::bench
