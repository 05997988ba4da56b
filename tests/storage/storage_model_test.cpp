// Model-based test (leveldb's ModelDB): one seeded stream of random operations runs on
// SqliteStorage and on MemoryStorage; every outcome and the whole state after every step must
// match, and again after the SQLite file is closed and reopened.

#include <catch2/catch.hpp>

#include "tests/storage/random_operations.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {

TEST_CASE("SqliteStorage behaves like the in-memory model on a random operation stream",
          "[storage][model]") {
  const auto seed = GENERATE(1, 2, 3);
  constexpr int kSteps = 400;
  SqliteStorageFixture real;
  MemoryStorage model;
  OperationGenerator generator(static_cast<std::uint64_t>(seed));
  std::mt19937_64 probe(static_cast<std::uint64_t>(seed) * 7919);
  int errors = 0, reopens = 0, requeues = 0, claims = 0, heartbeats = 0, deletes = 0;

  for (int step = 0; step < kSteps; ++step) {
    const Operation op = generator.next(model);
    INFO("seed " << seed << ", step " << step << ": " << op.to_string());
    if (op.kind == Operation::Kind::kReopen) {
      real.reopen();
      ++reopens;
    } else {
      const std::string expected = apply(model, op);
      const std::string actual = apply(real.storage(), op);
      REQUIRE(actual == expected);
      if (expected.rfind("StorageError", 0) == 0) ++errors;
      const bool got_trial = expected != "none";
      if (op.kind == Operation::Kind::kFailAndRequeue && got_trial) ++requeues;
      if (op.kind == Operation::Kind::kClaim && got_trial) ++claims;
      if (op.kind == Operation::Kind::kHeartbeat && expected == "done") ++heartbeats;
      if (op.kind == Operation::Kind::kDeleteStudy && expected == "true") ++deletes;
    }
    REQUIRE(first_difference(describe_all(real.storage()), describe_all(model)) == "");
    // The filtered and single reads agree as well.
    const auto studies = model.list_studies();
    if (!studies.empty()) {
      const std::int64_t study_id = studies[probe() % studies.size()].id;
      const auto state = static_cast<TrialState>(probe() % 5);
      REQUIRE(describe(real.storage().get_trials(study_id, state)) ==
              describe(model.get_trials(study_id, state)));
      const auto trials = model.get_trials(study_id);
      if (!trials.empty()) {
        const std::int64_t trial_id = trials[probe() % trials.size()].id;
        REQUIRE(describe(*real.storage().get_trial(trial_id)) ==
                describe(*model.get_trial(trial_id)));
      }
    }
  }
  real.reopen();
  CHECK(first_difference(describe_all(real.storage()), describe_all(model)) == "");
  // The stream did exercise the interesting paths.
  CHECK(errors > 5);
  CHECK(reopens > 5);
  CHECK(model.list_studies().size() >= 3);
  CHECK(requeues >= 3);
  CHECK(claims >= 3);
  CHECK(heartbeats >= 5);
  CHECK(deletes >= 1);
  std::size_t runs = 0;
  for (const auto& study : model.list_studies()) runs += model.list_runs(study.id).size();
  CHECK(runs >= 2);
}

}  // namespace hpo::testing
