// hpo-bench results-db: a large results database to time the read-only commands on (trials,
// show, compare, export, report, dashboard; tests/bench/results_bench.sh does the timing).
//
//   hpo-bench results-db --out FILE [--study NAME] [--trials 100000] [--steps 10] [--seed 1]
//
// Made through the C++ API (ask, report every step, tell), as an embedding program would, with
// the quickstart's space (log floats, a log int, categoricals, a conditional float) and a
// random sampler, so it costs no training: a learning curve per trial (`--steps` intermediate
// values of val_loss) and three final metrics. One in fifty trials fails and one in fifty is
// pruned halfway, so every state the commands show is there. Prints one JSON line: trials,
// intermediate values and seconds.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "hpo/storage.h"
#include "hpo/study.h"

namespace hpo::bench {
namespace {

std::string value_of(const std::vector<std::string>& args, const std::string& flag,
                     const std::string& fallback) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) return args[i + 1];
  return fallback;
}

StudyConfig quickstart_config(const std::string& name, std::uint64_t seed) {
  StudyConfig config;
  config.name = name;
  config.metric = "val_loss";
  config.space.add({"lr", Distribution::float_range(1e-4, 1.0, true), {}});
  config.space.add({"hidden", Distribution::int_range(4, 128, true), {}});
  config.space.add({"l2", Distribution::float_range(1e-6, 1e-1, true), {}});
  config.space.add({"batch",
                    Distribution::categorical({std::int64_t{16}, std::int64_t{32},
                                               std::int64_t{64}, std::int64_t{128}}),
                    {}});
  config.space.add({"optimizer", Distribution::categorical({"sgd", "momentum", "adam"}), {}});
  Condition when;
  when.parents["optimizer"] = {ParamValue("momentum")};
  config.space.add({"momentum", Distribution::float_range(0.5, 0.99), when});
  config.sampler.name = "random";
  config.sampler.seed = seed;
  return config;
}

// A loss surface with a minimum near lr = 0.03, hidden = 64, small l2; adam a little better.
double final_loss(const ParamSet& p) {
  const double lr = std::log10(p.at("lr").as_double()) + 1.5;
  const double hidden = std::log2(static_cast<double>(p.at("hidden").as_int())) - 6;
  const double l2 = std::log10(p.at("l2").as_double()) + 6;
  const std::string& opt = p.at("optimizer").as_string();
  return 0.02 + 0.05 * lr * lr + 0.01 * hidden * hidden + 0.004 * l2 +
         (opt == "adam" ? 0.0 : opt == "momentum" ? 0.02 : 0.05);
}

}  // namespace

int results_db_main(const std::vector<std::string>& args) {
  const std::string out = value_of(args, "--out", "");
  if (out.empty()) {
    std::fprintf(stderr,
                 "usage: hpo-bench results-db --out FILE [--study NAME] [--trials N] "
                 "[--steps S] [--seed K]\n");
    return 2;
  }
  const std::string name = value_of(args, "--study", "big");
  const int n_trials = std::stoi(value_of(args, "--trials", "100000"));
  const int steps = std::stoi(value_of(args, "--steps", "10"));
  const auto seed = static_cast<std::uint64_t>(std::stoull(value_of(args, "--seed", "1")));

  const auto start = std::chrono::steady_clock::now();
  StoragePtr storage = open_storage(out);
  Study study = Study::create_or_load(*storage, quickstart_config(name, seed));
  long reported = 0;
  for (int i = 0; i < n_trials; ++i) {
    const AskedTrial trial = study.ask();
    if (trial.number % 50 == 7) {
      study.tell(trial, TrialState::kFail, "exit status 1: diverged");
      continue;
    }
    const double loss = final_loss(trial.params);
    const bool pruned = trial.number % 50 == 23;
    const int last = pruned ? steps / 2 : steps;
    double curve = loss;
    for (int step = 1; step <= last; ++step) {
      curve = loss + 1.0 / step;
      study.report(trial, step, curve);
      ++reported;
    }
    if (pruned) {
      study.tell(trial, TrialState::kPruned, "pruned at step " + std::to_string(last));
    } else {
      study.tell(trial, Metrics{{"val_loss", loss},
                                {"val_accuracy", 1.0 / (1.0 + loss)},
                                {"train_loss", loss * 0.9}});
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"bench\": \"results-db\", \"file\": \"%s\", \"study\": \"%s\", \"trials\": %d, "
              "\"intermediate_values\": %ld, \"seconds\": %.1f}\n",
              out.c_str(), name.c_str(), n_trials, reported, seconds);
  return 0;
}

}  // namespace hpo::bench
