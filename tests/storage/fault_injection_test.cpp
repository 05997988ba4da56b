// Injected disk failures (FaultyVfs makes chosen WAL writes fail, as a full or failing disk
// would): a mutation whose commit fails must throw StorageError and leave the database exactly
// as it was, and the connection must keep working once the disk recovers.

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "hpo/errors.h"
#include "tests/storage/faulty_vfs.h"
#include "tests/storage/random_operations.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

SqliteOptions faulty_options() {
  SqliteOptions options;
  options.vfs = FaultyVfs::name();
  return options;
}

// Disarms the VFS even when a REQUIRE fails, so that no other test inherits a failing disk.
struct DisarmOnExit {
  ~DisarmOnExit() { FaultyVfs::disarm(); }
};

}  // namespace

TEST_CASE("a commit that fails on disk throws, names the file and changes nothing",
          "[storage][faults]") {
  DisarmOnExit disarm;
  SqliteStorageFixture f(faulty_options());
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial t = add_trial(s, study.id, NewTrial{});
  const std::string before = describe_all(s, Times::kExact);
  const int writes = FaultyVfs::wal_writes();

  FaultyVfs::fail_nth_wal_write(1);
  try {
    add_trial(s, study.id, NewTrial{});
    FAIL("the injected failure did not surface");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kIo);
    CHECK(e.native_code() == SQLITE_IOERR_WRITE);
    CHECK_THAT(e.what(), Catch::StartsWith(f.path().string() + ": cannot create a trial: "));
    CHECK_THAT(e.what(), Catch::Contains("disk I/O error"));
  }
  CHECK(FaultyVfs::wal_writes() > writes);  // the failure came from a real write attempt
  CHECK(describe_all(s, Times::kExact) == before);

  // The disk stays broken for a while: every mutation fails, reads keep working.
  FaultyVfs::fail_nth_wal_write(1, /*sticky=*/true);
  CHECK_THROWS_AS(s.finish_trial(t.id, TrialState::kComplete, 1.0, {}, ""), StorageError);
  CHECK_THROWS_AS(s.report_intermediate(t.id, 0, 1.0), StorageError);
  CHECK_THROWS_AS(make_study(s, "t", Direction::kMinimize, "loss", {}), StorageError);
  CHECK(describe_all(s, Times::kExact) == before);

  // Once it recovers, the same connection carries on, and numbers stay dense.
  FaultyVfs::disarm();
  CHECK(add_trial(s, study.id, NewTrial{}).number == 1);
  CHECK(s.finish_trial(t.id, TrialState::kComplete, 1.0, {}, ""));
  f.reopen();
  CHECK(f.storage().get_trials(study.id).size() == 2);
  CHECK(f.storage().get_trial(t.id)->state == TrialState::kComplete);
}

TEST_CASE("random operations on a failing disk keep SqliteStorage equal to the model",
          "[storage][faults]") {
  DisarmOnExit disarm;
  const auto seed = GENERATE(21, 22);
  constexpr int kSteps = 300;
  SqliteStorageFixture real(faulty_options());
  MemoryStorage model;
  OperationGenerator generator(static_cast<std::uint64_t>(seed));
  std::mt19937 faults(static_cast<std::uint32_t>(seed));
  const int failures_at_start = FaultyVfs::failures();
  int sticky_steps_left = 0;

  for (int step = 0; step < kSteps; ++step) {
    if (sticky_steps_left > 0 && --sticky_steps_left == 0) FaultyVfs::disarm();
    if (step % 6 == 0 && sticky_steps_left == 0) {
      const bool sticky = faults() % 4 == 0;
      FaultyVfs::fail_nth_wal_write(1 + static_cast<int>(faults() % 3), sticky);
      if (sticky) sticky_steps_left = 4;
    }
    const Operation op = generator.next(model);
    INFO("seed " << seed << ", step " << step << ": " << op.to_string());
    if (op.kind == Operation::Kind::kReopen) {
      real.reopen();
    } else {
      const int failures_before = FaultyVfs::failures();
      const std::string actual = apply(real.storage(), op);
      if (FaultyVfs::failures() > failures_before) {
        // The write failed: the operation must say so and must not have happened.
        INFO("outcome: " << actual);
        REQUIRE(actual.rfind("StorageError ", 0) == 0);
        REQUIRE(actual == std::string("StorageError ") + to_string(StorageErrc::kIo));
      } else {
        REQUIRE(actual == apply(model, op));
      }
    }
    REQUIRE(first_difference(describe_all(real.storage()), describe_all(model)) == "");
  }
  FaultyVfs::disarm();
  CHECK(FaultyVfs::failures() - failures_at_start >= 20);

  // What is on disk, read through SQLite's own VFS, is the model's state and is consistent.
  real.close();
  SqliteStorage plain(real.path());
  CHECK(first_difference(describe_all(plain), describe_all(model)) == "");
  RawSqlite raw(real.path());
  CHECK(raw.query("PRAGMA integrity_check") == "ok");
}

}  // namespace hpo::testing
