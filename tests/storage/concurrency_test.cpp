// Several connections, in threads and in separate processes, writing one SQLite file at the
// same time: trial numbers stay dense and unique, every WAITING trial is claimed once, no
// "database is locked" reaches the caller, and the file stays consistent.

#include <algorithm>
#include <latch>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine/model/errors.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;

// What one writer does: `count` trials, each created, reported on and finished in turn.
// Returns the numbers it was given, in order.
std::vector<int> write_trials(Storage& storage, std::int64_t study_id, int worker, int count) {
  std::vector<int> numbers;
  for (int i = 0; i < count; ++i) {
    NewTrial nt;
    nt.params = {{"worker", worker}, {"i", i}};
    nt.trial_dir = "runs/{number}";
    const Trial t = storage.create_trial(study_id, nt);
    numbers.push_back(t.number);
    storage.report_intermediate(t.id, 0, i);
    storage.finish_trial(t.id, TrialState::kComplete, static_cast<double>(i), {{"loss", 1.0}}, "");
  }
  return numbers;
}

// Numbers 0..n-1 each exactly once, every trial COMPLETE with its own number in its directory,
// and a file that passes SQLite's integrity check.
void require_dense_and_consistent(const fs::path& db, std::int64_t study_id, int n) {
  SqliteStorage storage(db);
  const auto trials = storage.get_trials(study_id);
  REQUIRE(trials.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Trial& t = trials[static_cast<std::size_t>(i)];
    REQUIRE(t.number == i);
    CHECK(t.state == TrialState::kComplete);
    CHECK(t.trial_dir == "runs/" + std::to_string(i));
    CHECK(t.intermediate.size() == 1);
  }
  RawSqlite raw(db);
  CHECK(raw.query("PRAGMA integrity_check") == "ok");
  CHECK(raw.query("PRAGMA foreign_key_check") == "");
}

}  // namespace

TEST_CASE("threads with their own connections get dense, unique trial numbers",
          "[storage][concurrency]") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  TempDir dir("hpo-storage");
  const fs::path db = dir / "shared.db";
  const auto study = SqliteStorage(db).create_study("s", Direction::kMinimize, "loss", {});

  std::vector<std::vector<int>> numbers(kThreads);
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      try {
        SqliteStorage storage(db);
        start.arrive_and_wait();
        numbers[w] = write_trials(storage, study.id, w, kPerThread);
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<int> all;
  for (int w = 0; w < kThreads; ++w) {
    INFO("worker " << w);
    CHECK(errors[w] == "");
    REQUIRE(numbers[w].size() == static_cast<std::size_t>(kPerThread));
    CHECK(std::is_sorted(numbers[w].begin(), numbers[w].end()));
    all.insert(numbers[w].begin(), numbers[w].end());
  }
  CHECK(all.size() == static_cast<std::size_t>(kThreads * kPerThread));
  require_dense_and_consistent(db, study.id, kThreads * kPerThread);
}

TEST_CASE("processes sharing one file get dense, unique trial numbers", "[storage][concurrency]") {
  constexpr int kProcesses = 3;
  constexpr int kPerProcess = 150;
  TempDir dir("hpo-storage");
  const fs::path db = dir / "shared.db";
  const auto study = SqliteStorage(db).create_study("s", Direction::kMinimize, "loss", {});

  // Children block on the pipe until the parent closes it, so that they all start together.
  int gate[2];
  REQUIRE(::pipe(gate) == 0);
  std::vector<pid_t> children;
  for (int w = 0; w < kProcesses; ++w) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: its own connection, opened after the fork; never returns into Catch.
      int status = 0;
      try {
        ::close(gate[1]);
        char byte;
        while (::read(gate[0], &byte, 1) > 0) {
        }
        SqliteStorage storage(db);
        write_trials(storage, study.id, w, kPerProcess);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "worker %d: %s\n", w, e.what());
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  require_dense_and_consistent(db, study.id, kProcesses * kPerProcess);
  // Each process's trials are in its own creation order.
  SqliteStorage storage(db);
  std::vector<std::int64_t> last(kProcesses, -1);
  for (const auto& t : storage.get_trials(study.id)) {
    const auto w = static_cast<std::size_t>(t.params.at("worker").as_int());
    CHECK(t.params.at("i").as_int() == last[w] + 1);
    last[w] = t.params.at("i").as_int();
  }
}

TEST_CASE("concurrent claims hand every WAITING trial to exactly one connection",
          "[storage][concurrency]") {
  constexpr int kThreads = 4;
  constexpr int kWaiting = 300;
  TempDir dir("hpo-storage");
  const fs::path db = dir / "queue.db";
  std::int64_t study_id = 0;
  {
    SqliteStorage storage(db);
    study_id = storage.create_study("s", Direction::kMinimize, "loss", {}).id;
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    for (int i = 0; i < kWaiting; ++i) storage.create_trial(study_id, nt);
  }

  std::vector<std::vector<int>> claimed(kThreads);
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      try {
        SqliteStorage storage(db);
        start.arrive_and_wait();
        while (auto t = storage.claim_waiting_trial(study_id, "worker-" + std::to_string(w))) {
          if (t->state != TrialState::kRunning) throw std::runtime_error("claimed not RUNNING");
          claimed[w].push_back(t->number);
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();

  std::multiset<int> all;
  for (int w = 0; w < kThreads; ++w) {
    CHECK(errors[w] == "");
    // Each connection takes the oldest waiting trial, so its own claims ascend.
    CHECK(std::is_sorted(claimed[w].begin(), claimed[w].end()));
    all.insert(claimed[w].begin(), claimed[w].end());
  }
  CHECK(all.size() == static_cast<std::size_t>(kWaiting));
  CHECK(std::set<int>(all.begin(), all.end()).size() == static_cast<std::size_t>(kWaiting));
  SqliteStorage storage(db);
  CHECK(storage.get_trials(study_id, TrialState::kWaiting).empty());
  CHECK(storage.get_trials(study_id, TrialState::kRunning).size() ==
        static_cast<std::size_t>(kWaiting));
}

TEST_CASE("connections opening a new file at once create its schema once",
          "[storage][concurrency]") {
  constexpr int kThreads = 4;
  TempDir dir("hpo-storage");
  const fs::path db = dir / "fresh.db";
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      try {
        start.arrive_and_wait();
        SqliteStorage storage(db);
        storage.create_study("study-" + std::to_string(w), Direction::kMinimize, "loss", {});
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e == "");
  CHECK(SqliteStorage(db).list_studies().size() == static_cast<std::size_t>(kThreads));
  RawSqlite raw(db);
  CHECK(raw.query("SELECT group_concat(version) FROM schema_version") == "2");
  CHECK(raw.query("PRAGMA journal_mode") == "wal");
}

}  // namespace hpo::testing
