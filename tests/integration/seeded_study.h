// A results database made directly through hpo_storage, for the tests of the read-only
// commands (trials, show, compare, export, report, dashboard): fast, deterministic, and with
// every case a real run may leave: COMPLETE trials with intermediate values, a conditional
// parameter, FAIL (with a reason that is not valid UTF-8 and holds control characters), PRUNED,
// a retried trial, RUNNING and WAITING ones.
#pragma once

#include <filesystem>
#include <string>

#include "hpo/trial.h"

namespace hpo::testing {

struct SeedOptions {
  int complete = 24;   // COMPLETE trials (numbered first)
  bool extras = true;  // then FAIL, PRUNED, a retry (FAIL + WAITING), RUNNING
  std::string sampler = "tpe";
  std::uint64_t seed = 1;  // the parameters' pseudo-random stream
  Direction direction = Direction::kMinimize;
};

// Creates study `name` in the SQLite file `db` (created when missing) with the space
//   x float [-5, 5]; lr float [1e-4, 1] log; layers int [1, 4]; batch categorical [16, 32, 64];
//   opt categorical ["sgd", "momentum"]; m float [0.5, 0.99] when opt = momentum,
// metric "loss" = (x - 1)^2 + layers / 10 (+ 1 when opt is sgd), reported at steps 1..5 as
// loss + 1/step. Trial directories (with stdout.log and stderr.log) go under `db`'s directory.
void seed_study(const std::filesystem::path& db, const std::string& name,
                const SeedOptions& options = {});

// Adds one COMPLETE trial with x = `x` (other parameters fixed) to `name` in `db`; returns its
// number.
int add_complete_trial(const std::filesystem::path& db, const std::string& name, double x);

}  // namespace hpo::testing
