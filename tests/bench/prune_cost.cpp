// hpo-bench prune-cost [--trials 1000] [--steps 100] [--repeat 2000]
//   The cost of one pruning decision, as the study core makes it after each report: every
//   pruner (made from a spec through the registry, as `hpo run` makes it) judges a RUNNING
//   trial against a study of --trials trials (90% COMPLETE, 10% PRUNED early) of --steps
//   reports each. Prints one JSON line per pruner: the mean, median, 99th percentile and
//   slowest decision in microseconds over --repeat decisions at steps spread over the run
//   (ASHA and Hyperband judge only at rung steps, so their median is the cost of "not a rung"
//   and their 99th percentile the cost of a rung decision).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/factory.h"
#include "hpo/trial.h"

namespace hpo::bench {
namespace {

int flag(const std::vector<std::string>& args, const std::string& name, int fallback) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == name) return std::stoi(args[i + 1]);
  return fallback;
}

}  // namespace

int prune_cost_main(const std::vector<std::string>& args) {
  const int n_trials = flag(args, "--trials", 1000);
  const int n_steps = flag(args, "--steps", 100);
  const int repeat = flag(args, "--repeat", 2000);

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Trial> trials;
  for (int i = 0; i < n_trials; ++i) {
    Trial t;
    t.id = i + 1;
    t.number = i;
    const bool pruned = i % 10 == 9;
    t.state = pruned ? TrialState::kPruned : TrialState::kComplete;
    const double x = unit(rng);
    const int steps = pruned ? 1 + static_cast<int>(unit(rng) * 10) : n_steps;
    for (int s = 0; s < steps; ++s) t.intermediate[s] = x + 1.0 / (s + 1) + 0.01 * unit(rng);
    trials.push_back(t);
  }
  Trial running;
  running.id = n_trials + 1;
  running.number = n_trials;
  running.state = TrialState::kRunning;
  for (int s = 0; s < n_steps; ++s) running.intermediate[s] = 0.5 + 1.0 / (s + 1);
  trials.push_back(running);
  const StudyView view(Direction::kMinimize, trials);

  const std::vector<std::pair<std::string, std::string>> pruners = {
      {"median", R"({"name": "median"})"},
      {"percentile", R"({"name": "percentile", "percentile": 25})"},
      {"asha", R"({"name": "asha", "min_resource": 1, "reduction_factor": 3})"},
      {"hyperband", R"({"name": "hyperband", "min_resource": 1, "max_resource": )" +
                        std::to_string(n_steps) + "}"},
      {"threshold", R"({"name": "threshold", "upper": 10})"},
      {"median+patience", R"({"name": "median", "patience": 5})"},
  };
  for (const auto& [label, block] : pruners) {
    const StudySpec spec = parse_spec(
        R"({"name": "cost", "direction": "minimize", "objective": {"metric": "loss"},
            "space": {"x": {"type": "float", "low": 0, "high": 1}}, "pruner": )" +
            block + R"(, "executor": {"command": ["x"]}})",
        ".");
    const auto pruner = make_pruner(spec);
    std::vector<double> us;
    int pruned = 0;
    for (int r = 0; r < repeat; ++r) {
      const auto step = static_cast<std::int64_t>(r % n_steps);
      const auto start = std::chrono::steady_clock::now();
      const PruneDecision d = pruner->should_prune(view, trials.back(), step);
      const auto end = std::chrono::steady_clock::now();
      pruned += d.prune ? 1 : 0;
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    std::sort(us.begin(), us.end());
    double total = 0;
    for (double u : us) total += u;
    const auto pct = [&](double q) {
      return us[std::min(us.size() - 1,
                         static_cast<std::size_t>(q * static_cast<double>(us.size())))];
    };
    nlohmann::ordered_json j = {
        {"pruner", label},       {"trials", n_trials},
        {"steps", n_steps},      {"decisions", repeat},
        {"pruned", pruned},      {"mean_us", total / static_cast<double>(us.size())},
        {"median_us", pct(0.5)}, {"p99_us", pct(0.99)},
        {"max_us", us.back()}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace hpo::bench
