// Several connections, in threads and in separate processes, writing one SQLite file at the
// same time: trial numbers stay dense and unique, every WAITING trial is claimed once, every
// interrupted trial is re-queued once, no "database is locked" reaches the caller, and the
// file stays consistent.

#include <algorithm>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "hpo/errors.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;

// Runs body(w, start) for w in 0..n-1 on n threads; each body calls start.arrive_and_wait()
// once it is ready to race the others. Returns each worker's exception message ("" if none).
std::vector<std::string> race(int n, const std::function<void(int, std::latch&)>& body) {
  std::vector<std::string> errors(n);
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int w = 0; w < n; ++w) {
    threads.emplace_back([&, w] {
      try {
        body(w, start);
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

// What one writer does: `count` trials, each created, reported on and finished in turn.
// Returns the numbers it was given, in order.
std::vector<int> write_trials(Storage& storage, std::int64_t study_id, int worker, int count) {
  std::vector<int> numbers;
  for (int i = 0; i < count; ++i) {
    NewTrial nt;
    nt.params = {{"worker", worker}, {"i", i}};
    nt.trial_dir = "runs/{number}";
    const Trial t = add_trial(storage, study_id, nt);
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

// Runs fn in `count` forked children that start together (they block on a pipe until the
// parent closes it); child w runs fn(w) on its own connections and exits 1 when it throws.
// Returns once all have exited, checking that each exited with 0.
template <typename Fn>
void run_processes(int count, Fn fn) {
  int gate[2];
  REQUIRE(::pipe(gate) == 0);
  std::vector<pid_t> children;
  for (int w = 0; w < count; ++w) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: never returns into Catch.
      int status = 0;
      try {
        ::close(gate[1]);
        char byte;
        while (::read(gate[0], &byte, 1) > 0) {
        }
        fn(w);
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
}

}  // namespace

TEST_CASE("threads with their own connections get dense, unique trial numbers",
          "[storage][concurrency]") {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  TempDir dir("hpo-storage");
  const fs::path db = dir / "shared.db";
  const auto study = [&] {
    SqliteStorage storage(db);
    return make_study(storage, "s");
  }();

  std::vector<std::vector<int>> numbers(kThreads);
  const auto errors = race(kThreads, [&](int w, std::latch& start) {
    SqliteStorage storage(db);
    start.arrive_and_wait();
    numbers[w] = write_trials(storage, study.id, w, kPerThread);
  });

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
  const auto study = [&] {
    SqliteStorage storage(db);
    return make_study(storage, "s");
  }();

  run_processes(kProcesses, [&](int w) {
    SqliteStorage storage(db);  // its own connection, opened after the fork
    write_trials(storage, study.id, w, kPerProcess);
  });

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
    study_id = make_study(storage, "s", Direction::kMinimize, "loss", {}).id;
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    for (int i = 0; i < kWaiting; ++i) add_trial(storage, study_id, nt);
  }

  std::vector<std::vector<int>> claimed(kThreads);
  const auto errors = race(kThreads, [&](int w, std::latch& start) {
    SqliteStorage storage(db);
    start.arrive_and_wait();
    while (auto t = storage.claim_waiting_trial(study_id, "worker-" + std::to_string(w))) {
      if (t->state != TrialState::kRunning) throw std::runtime_error("claimed not RUNNING");
      claimed[w].push_back(t->number);
    }
  });

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
  const auto errors = race(kThreads, [&](int w, std::latch& start) {
    start.arrive_and_wait();
    SqliteStorage storage(db);
    make_study(storage, "study-" + std::to_string(w), Direction::kMinimize, "loss", {});
  });
  for (const auto& e : errors) CHECK(e == "");
  CHECK(SqliteStorage(db).list_studies().size() == static_cast<std::size_t>(kThreads));
  RawSqlite raw(db);
  CHECK(raw.query("SELECT group_concat(version) FROM schema_version") ==
        std::to_string(SqliteStorage::kSchemaVersion));
  CHECK(raw.query("PRAGMA journal_mode") == "wal");
}

TEST_CASE("processes resuming one study together re-queue every interrupted trial once",
          "[storage][concurrency]") {
  constexpr int kProcesses = 3;
  constexpr int kSteps = 120;
  constexpr int kInterrupted = 40;  // RUNNING trials of a run that died
  TempDir dir("hpo-storage");
  const fs::path db = dir / "resume.db";
  std::int64_t study_id = 0;
  {
    SqliteStorage storage(db);
    study_id = make_study(storage, "s", Direction::kMinimize, "loss", {}).id;
    for (int i = 0; i < kInterrupted; ++i) {
      NewTrial nt;
      nt.params = {{"dead", i}};
      nt.owner = "dead";
      add_trial(storage, study_id, nt);
      if (i % 4 == 0) {
        nt.state = TrialState::kWaiting;  // and a few enqueued by hand
        nt.owner.clear();
        add_trial(storage, study_id, nt);
      }
    }
  }

  // Each worker is a run: it takes a WAITING trial if there is one, else starts a new one,
  // then completes it or fails and re-queues it; now and then it re-queues one of the dead
  // run's trials (the oldest, so the workers collide), and at the end it re-queues all that
  // are left. It writes the ids it re-queued (the fail_and_requeue calls it won) to a file.
  run_processes(kProcesses, [&](int w) {
    const std::string me = "worker-" + std::to_string(w);
    SqliteStorage storage(db);
    std::mt19937 rng(static_cast<std::uint32_t>(w) + 1);
    std::ofstream won(dir / (me + ".won"));
    auto steal_one = [&] {
      for (const Trial& t : storage.get_trials(study_id, TrialState::kRunning)) {
        if (t.owner != "dead") continue;
        if (storage.fail_and_requeue(t.id, "interrupted, found by " + me, "runs/{number}"))
          won << t.id << "\n";
        return true;
      }
      return false;
    };
    for (int step = 0; step < kSteps; ++step) {
      std::optional<Trial> t = storage.claim_waiting_trial(study_id, me);
      if (!t) {
        NewTrial nt;
        nt.params = {{"worker", w}, {"step", step}};
        nt.owner = me;
        nt.trial_dir = "runs/{number}";
        t = add_trial(storage, study_id, nt);
      }
      if (t->owner != me) throw std::runtime_error("trial " + std::to_string(t->id) + " not mine");
      storage.heartbeat(study_id, RunRecord{me, "localhost", w, {}, {}}, {t->id});
      if (rng() % 4 == 0) {
        if (!storage.fail_and_requeue(t->id, "retried by " + me, "runs/{number}"))
          throw std::runtime_error("could not re-queue my own trial " + std::to_string(t->id));
        won << t->id << "\n";
      } else if (!storage.finish_trial(t->id, TrialState::kComplete, step, {}, "")) {
        throw std::runtime_error("could not finish my own trial " + std::to_string(t->id));
      }
      if (rng() % 3 == 0) steal_one();
    }
    while (steal_one()) {
    }
    storage.end_run(study_id, me);
    won.close();
    if (!won) throw std::runtime_error("cannot write the list of won re-queues");
  });

  SqliteStorage storage(db);
  const auto trials = storage.get_trials(study_id);
  std::map<std::int64_t, const Trial*> by_id;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    REQUIRE(trials[i].number == static_cast<int>(i));  // dense and unique
    by_id[trials[i].id] = &trials[i];
  }

  // Every re-queue was won by exactly one worker, and the trial it failed names that worker.
  std::map<std::int64_t, int> winner;
  for (int w = 0; w < kProcesses; ++w) {
    std::istringstream lines(read_file(dir / ("worker-" + std::to_string(w) + ".won")));
    for (std::int64_t id; lines >> id;) {
      INFO("trial " << id << " re-queued by worker " << w);
      CHECK(winner.emplace(id, w).second);
      REQUIRE(by_id.count(id) == 1);
      CHECK(by_id[id]->state == TrialState::kFail);
      CHECK_THAT(by_id[id]->reason, Catch::EndsWith("by worker-" + std::to_string(w)));
    }
  }
  // The FAIL trials are exactly the won re-queues, and each produced exactly one retry: a
  // retry is (original number, attempt), and no pair occurs twice.
  std::set<std::pair<int, int>> retries;
  std::size_t failed = 0, dead_left = 0;
  for (const Trial& t : trials) {
    if (t.state == TrialState::kFail) {
      ++failed;
      CHECK(winner.count(t.id) == 1);
    }
    if (t.state == TrialState::kRunning && t.owner == "dead") ++dead_left;
    if (t.attempt > 0) {
      INFO("trial " << t.number);
      REQUIRE(t.retry_of);
      CHECK(retries.emplace(*t.retry_of, t.attempt).second);
      const Trial& original = trials[static_cast<std::size_t>(*t.retry_of)];
      CHECK(original.attempt == 0);
      CHECK(t.params == original.params);
      CHECK(t.trial_dir == "runs/" + std::to_string(t.number));
    }
  }
  CHECK(failed == winner.size());
  CHECK(retries.size() == failed);
  CHECK(dead_left == 0);
  // Chains have no gaps: attempt k of an original exists only after attempt k - 1.
  for (const auto& [original, attempt] : retries)
    if (attempt > 1) CHECK(retries.count({original, attempt - 1}) == 1);
  // Besides the dead run's trials the workers re-queued some of their own (the seeded choices
  // make that certain), and completed most.
  CHECK(winner.size() > static_cast<std::size_t>(kInterrupted));
  const TrialCounts counts = storage.count_trials(study_id);
  CHECK(counts.running == 0);
  CHECK(counts.complete > kProcesses * kSteps / 2);
  CHECK(counts.total() == static_cast<int>(trials.size()));
  CHECK(storage.list_runs(study_id).empty());  // every worker ended its run
  RawSqlite raw(db);
  CHECK(raw.query("PRAGMA integrity_check") == "ok");
  CHECK(raw.query("PRAGMA foreign_key_check") == "");
}

}  // namespace hpo::testing
