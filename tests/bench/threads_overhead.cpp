// hpo-bench threads-overhead: trivial trials per second through the threads executor, the
// study manager and durable SQLite storage, the figure to put beside
// ../shared/bench/optuna_overhead.py --storage sqlite --jobs 2 (issue 4).
//
//   hpo-bench threads-overhead [--trials N] [--parallelism 1,2] [--sampler random|tpe]
//                              [--storage sqlite|memory] [--sync normal|full]
//
// The objective has the space of optuna_overhead.py (x0..x4 floats in [-5, 5], n int in
// [0, 10], c categorical {a, b, c}) and costs nanoseconds, so the figure is hpo's own cost per
// trial: sampler, storage, run loop and the hop to a TBB thread and back. It runs through the
// C++ library API (Study::optimize), which is what an embedding program would call. Every
// trial is created RUNNING and finished in SQLite, each a committed transaction (WAL,
// synchronous=NORMAL unless --sync full), before the manager counts it; afterwards a second
// connection reopens the file and checks that all of them are there. Prints one JSON line per
// parallelism.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/study.h"
#include "storage/memory_storage.h"
#include "storage/sqlite_storage.h"

namespace hpo::bench {
namespace {

namespace fs = std::filesystem;

struct Options {
  int trials = 10000;
  std::vector<int> parallelism = {1, 2};
  std::string sampler = "random";
  std::string storage = "sqlite";
  SqliteSync sync = SqliteSync::kNormal;
};

int usage() {
  std::fprintf(stderr,
               "usage: hpo-bench threads-overhead [--trials N] [--parallelism 1,2] "
               "[--sampler random|tpe] [--storage sqlite|memory] [--sync normal|full]\n");
  return 2;
}

StudyConfig overhead_config(const std::string& name, const std::string& sampler) {
  StudyConfig config;
  config.name = name;
  config.metric = "value";
  for (int i = 0; i < 5; ++i)
    config.space.add({"x" + std::to_string(i), Distribution::float_range(-5, 5), {}});
  config.space.add({"n", Distribution::int_range(0, 10), {}});
  config.space.add({"c", Distribution::categorical({"a", "b", "c"}), {}});
  config.sampler.name = sampler;
  config.sampler.seed = 0;
  return config;
}

// The objective of optuna_overhead.py.
ObjectiveResult trivial(const ParamSet& p, ObjectiveContext&) {
  static const std::string kX[] = {"x0", "x1", "x2", "x3", "x4"};
  double s = 0.0;
  for (const auto& name : kX) {
    const double x = p.at(name).as_double();
    s += x * x;
  }
  s += static_cast<double>(p.at("n").as_int());
  const std::string& c = p.at("c").as_string();
  return s + (c == "a" ? 0.0 : c == "b" ? 1.0 : 2.0);
}

fs::path temp_dir() {
  std::random_device rd;
  const fs::path dir =
      fs::temp_directory_path() / ("hpo-bench-threads-" + std::to_string(rd() % 1000000000));
  fs::create_directories(dir);
  return dir;
}

nlohmann::json run_one(const Options& o, int parallelism, const fs::path& dir) {
  const std::string name = "threads-overhead-p" + std::to_string(parallelism);
  const fs::path db = dir / (name + ".db");
  std::unique_ptr<Storage> storage;
  if (o.storage == "sqlite") {
    SqliteOptions sqlite;
    sqlite.synchronous = o.sync;
    storage = std::make_unique<SqliteStorage>(db, sqlite);
  } else {
    storage = std::make_unique<MemoryStorage>();
  }
  Study study = Study::create(*storage, overhead_config(name, o.sampler));
  OptimizeOptions options;
  options.n_trials = o.trials;
  options.parallelism = parallelism;
  options.trials_dir = dir / "trials";

  const auto t0 = std::chrono::steady_clock::now();
  const RunResult result = study.optimize(&trivial, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Durability: what another connection sees once the run is over.
  std::size_t stored_complete = result.stats.complete;
  if (o.storage == "sqlite") {
    storage.reset();
    SqliteOptions reopen;
    reopen.create_if_missing = false;
    SqliteStorage check(db, reopen);
    stored_complete = check.get_trials(check.find_study(name)->id, TrialState::kComplete).size();
  }
  return {{"bench", "threads-overhead"},
          {"trials", o.trials},
          {"sampler", o.sampler},
          {"storage", o.storage},
          {"sync", o.sync == SqliteSync::kFull ? "full" : "normal"},
          {"parallelism", parallelism},
          {"seconds", std::round(seconds * 1000.0) / 1000.0},
          {"trials_per_s", std::round(o.trials / seconds * 10.0) / 10.0},
          {"us_per_trial", std::round(seconds / o.trials * 1e7) / 10.0},
          {"complete_in_storage", stored_complete},
          {"failed", result.stats.failed}};
}

}  // namespace

int threads_overhead_main(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string flag = args[i];
    if (i + 1 >= args.size()) return usage();
    const std::string value = args[++i];
    try {
      if (flag == "--trials") {
        o.trials = std::stoi(value);
      } else if (flag == "--parallelism") {
        o.parallelism.clear();
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');)
          o.parallelism.push_back(std::stoi(item));
      } else if (flag == "--sampler" && (value == "random" || value == "tpe")) {
        o.sampler = value;
      } else if (flag == "--storage" && (value == "sqlite" || value == "memory")) {
        o.storage = value;
      } else if (flag == "--sync" && (value == "normal" || value == "full")) {
        o.sync = value == "full" ? SqliteSync::kFull : SqliteSync::kNormal;
      } else {
        return usage();
      }
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (o.trials < 1 || o.parallelism.empty()) return usage();
  const fs::path dir = temp_dir();
  int status = 0;
  try {
    for (int p : o.parallelism) {
      const nlohmann::json line = run_one(o, p, dir);
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
      if (line["complete_in_storage"].get<int>() != o.trials) status = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpo-bench threads-overhead: %s\n", e.what());
    status = 1;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}

}  // namespace hpo::bench
