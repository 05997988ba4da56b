// hpo-bench overhead: trivial trials per second through the real study manager and storage,
// the figure to put beside ../shared/bench/optuna_overhead.py.
//
//   hpo-bench overhead --trials N [--sampler random|tpe] [--storage sqlite|memory]
//                      [--parallelism P]
//
// The objective has the same space as optuna_overhead.py (x0..x4 floats in [-5,5], n int in
// [0,10], c categorical {a,b,c}) and costs nanoseconds, so the figure is hpo's own overhead:
// sampler + storage + run loop. Each trial is created RUNNING in storage, run, and finished in
// storage (two committed transactions) before it counts. Prints one JSON line.
#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "engine/factory.h"
#include "engine/study_manager.h"
#include "storage/memory_storage.h"
#include "storage/sqlite_storage.h"
#include "tests/support/temp_dir.h"

namespace hpo::bench {
namespace {

// Runs the objective inline on the io_context: the cheapest possible executor, so that what
// is measured is everything around it.
class InlineExecutor final : public Executor {
 public:
  InlineExecutor(boost::asio::io_context& io, std::size_t capacity)
      : io_(io), capacity_(capacity) {}

  void start(TrialTask task, EventSink& sink) override {
    ++running_;
    boost::asio::post(io_, [this, task = std::move(task), &sink] {
      const auto& p = task.params;
      double s = 0;
      for (int i = 0; i < 5; ++i) {
        const double x = p.at("x" + std::to_string(i)).as_double();
        s += x * x;
      }
      s += static_cast<double>(p.at("n").as_int());
      const std::string& c = p.at("c").as_string();
      s += c == "a" ? 0.0 : c == "b" ? 1.0 : 2.0;
      --running_;
      sink.on_finished(task.trial_id, TrialOutcome::complete({{"value", s}}));
    });
  }
  void cancel(std::int64_t, StopCause, bool) override {}
  Recovery recover(const TrialTask&, const std::string&, EventSink&) override {
    return Recovery::kGone;
  }
  std::size_t capacity() const override { return capacity_; }
  std::size_t running() const override { return running_; }

 private:
  boost::asio::io_context& io_;
  std::size_t capacity_;
  std::size_t running_ = 0;
};

std::string spec_json(const std::string& sampler, int trials, int parallelism) {
  nlohmann::json space = nlohmann::json::object();
  for (int i = 0; i < 5; ++i)
    space["x" + std::to_string(i)] = {{"type", "float"}, {"low", -5.0}, {"high", 5.0}};
  space["n"] = {{"type", "int"}, {"low", 0}, {"high", 10}};
  space["c"] = {{"type", "categorical"}, {"choices", {"a", "b", "c"}}};
  nlohmann::json spec = {{"name", "overhead"},
                         {"direction", "minimize"},
                         {"objective", {{"metric", "value"}}},
                         {"space", space},
                         {"sampler", {{"name", sampler}, {"seed", 0}}},
                         {"budget", {{"trials", trials}}},
                         {"parallelism", parallelism},
                         {"executor", {{"kind", "subprocess"}, {"command", {"unused"}}}}};
  return spec.dump();
}

}  // namespace

int overhead_main(const std::vector<std::string>& args) {
  int trials = 1000, parallelism = 1;
  std::string sampler = "random", storage_kind = "sqlite";
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto next = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "hpo-bench overhead: %s needs a value\n", flag);
        std::exit(2);
      }
      return args[++i];
    };
    if (args[i] == "--trials") trials = std::stoi(next("--trials"));
    else if (args[i] == "--sampler") sampler = next("--sampler");
    else if (args[i] == "--storage") storage_kind = next("--storage");
    else if (args[i] == "--parallelism") parallelism = std::stoi(next("--parallelism"));
    else {
      std::fprintf(stderr,
                   "usage: hpo-bench overhead --trials N [--sampler random|tpe] "
                   "[--storage sqlite|memory] [--parallelism P]\n");
      return 2;
    }
  }
  testing::TempDir dir("hpo-bench");
  StudySpec spec = parse_spec(spec_json(sampler, trials, parallelism), dir.path());
  std::unique_ptr<Storage> storage;
  if (storage_kind == "sqlite")
    storage = std::make_unique<SqliteStorage>(dir / "bench.db");
  else
    storage = std::make_unique<MemoryStorage>();

  RunOptions options;
  options.trials_root = dir / "trials";
  options.handle_signals = false;
  options.make_executor = [](boost::asio::io_context& io, const StudySpec&, std::size_t p) {
    return std::make_unique<InlineExecutor>(io, p);
  };
  const auto t0 = std::chrono::steady_clock::now();
  OpenOptions open;
  open.parallelism = spec.parallelism;
  StudyCore core(*storage, spec, open);
  StudyManager manager(core, options);
  RunResult result = manager.run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json out = {{"trials", result.stats.complete},
                        {"sampler", sampler},
                        {"storage", storage_kind},
                        {"parallelism", parallelism},
                        {"seconds", seconds},
                        {"trials_per_s", result.stats.complete / seconds},
                        {"engine", "hpo"}};
  std::printf("%s\n", out.dump().c_str());
  return result.stats.complete == trials ? 0 : 1;
}

}  // namespace hpo::bench
