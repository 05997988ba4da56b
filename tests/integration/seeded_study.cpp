#include "tests/integration/seeded_study.h"

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "storage/sqlite_storage.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

nlohmann::json spec_of(const std::string& name, const SeedOptions& o) {
  return {
      {"name", name},
      {"direction", to_string(o.direction)},
      {"objective", {{"metric", "loss"}}},
      {"space",
       {{"x", {{"type", "float"}, {"low", -5}, {"high", 5}}},
        {"lr", {{"type", "float"}, {"low", 1e-4}, {"high", 1}, {"log", true}}},
        {"layers", {{"type", "int"}, {"low", 1}, {"high", 4}}},
        {"batch", {{"type", "categorical"}, {"choices", {16, 32, 64}}}},
        {"opt", {{"type", "categorical"}, {"choices", {"sgd", "momentum"}}}},
        {"m", {{"type", "float"}, {"low", 0.5}, {"high", 0.99}, {"when", {{"opt", "momentum"}}}}}}},
      {"sampler", {{"name", o.sampler}, {"seed", 42}}},
      {"budget", {{"trials", 40}}},
      {"executor", {{"kind", "subprocess"}, {"command", {"/bin/true"}}}}};
}

double loss_of(const ParamSet& p) {
  const double x = p.at("x").as_double();
  return (x - 1) * (x - 1) + static_cast<double>(p.at("layers").as_int()) / 10 +
         (p.at("opt").as_string() == "sgd" ? 1.0 : 0.0);
}

StudyRecord open_or_create(SqliteStorage& storage, const std::string& name, const SeedOptions& o,
                           const std::filesystem::path& dir) {
  if (auto s = storage.find_study(name)) return *s;
  NewStudy n;
  n.name = name;
  n.direction = o.direction;
  n.metric = "loss";
  n.spec = spec_of(name, o);
  n.spec_dir = dir.string();
  n.sampler_seed = 42;
  return storage.create_study(n);
}

ParamSet params_for(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  ParamSet p{{"x", -5 + 10 * u(rng)},
             {"lr", std::exp(std::log(1e-4) + u(rng) * -std::log(1e-4))},
             {"layers", std::int64_t{1 + static_cast<int>(u(rng) * 4) % 4}},
             {"batch", std::int64_t{16 << (static_cast<int>(u(rng) * 3) % 3)}},
             {"opt", u(rng) < 0.5 ? "sgd" : "momentum"}};
  if (p["opt"].as_string() == "momentum") p["m"] = 0.5 + 0.49 * u(rng);
  return p;
}

}  // namespace

void seed_study(const std::filesystem::path& db, const std::string& name, const SeedOptions& o) {
  SqliteStorage storage(db);
  const std::filesystem::path dir = std::filesystem::absolute(db).parent_path();
  const StudyRecord study = open_or_create(storage, name, o, dir);
  std::mt19937_64 rng(o.seed);
  const std::string trial_dir = (dir / (name + "-trials") / "{number}").string();
  auto start = [&](const ParamSet& p) {
    NewTrial n;
    n.params = p;
    n.trial_dir = trial_dir;
    n.owner = "seed";
    Trial t = *storage.create_trial(study.id, n);
    write_file(std::filesystem::path(t.trial_dir) / "stdout.log", "loss=...\n");
    write_file(std::filesystem::path(t.trial_dir) / "stderr.log", "");
    return t;
  };
  for (int i = 0; i < o.complete; ++i) {
    const ParamSet p = params_for(rng);
    const Trial t = start(p);
    const double loss = loss_of(p);
    for (int step = 1; step <= 5; ++step)
      storage.report_intermediate(t.id, step, loss + 1.0 / step);
    storage.set_trial_location(t.id, "pgid:" + std::to_string(1000 + t.number) + "@test");
    storage.finish_trial(t.id, TrialState::kComplete, loss,
                         {{"loss", loss}, {"acc", 1 / (1 + loss)}}, "");
  }
  if (!o.extras) return;
  {
    const Trial t = start(params_for(rng));
    write_file(std::filesystem::path(t.trial_dir) / "stderr.log",
               "Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: "
               "exploded \xff\x1b[31mred\n");
    storage.finish_trial(t.id, TrialState::kFail, std::nullopt, {},
                         "exit status 3: ValueError: exploded \xff\x1b[31mred");
  }
  {
    const ParamSet p = params_for(rng);
    const Trial t = start(p);
    storage.report_intermediate(t.id, 1, 9.5);
    storage.report_intermediate(t.id, 2, 9.0);
    storage.finish_trial(t.id, TrialState::kPruned, 9.0, {}, "pruned at step 2");
  }
  {
    const Trial t = start(params_for(rng));
    storage.fail_and_requeue(t.id, "interrupted", trial_dir);
  }
  start(params_for(rng));  // RUNNING
}

int add_complete_trial(const std::filesystem::path& db, const std::string& name, double x) {
  SqliteOptions options;
  options.create_if_missing = false;
  SqliteStorage storage(db, options);
  const StudyRecord study = *storage.find_study(name);
  NewTrial n;
  n.params = {{"x", x},
              {"lr", 0.01},
              {"layers", std::int64_t{1}},
              {"batch", std::int64_t{32}},
              {"opt", "momentum"},
              {"m", 0.9}};
  const Trial t = *storage.create_trial(study.id, n);
  const double loss = loss_of(n.params);
  storage.report_intermediate(t.id, 1, loss + 1);
  storage.finish_trial(t.id, TrialState::kComplete, loss, {{"loss", loss}}, "");
  return t.number;
}

}  // namespace hpo::testing
