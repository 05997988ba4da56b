// The Storage contract (storage/storage.h), run on every implementation. Where a case calls
// reopen(), what follows reads what SqliteStorage wrote to disk (memory: the same object).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <latch>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "hpo/errors.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

NewTrial running(ParamSet params = {{"x", 0.5}}) {
  NewTrial t;
  t.state = TrialState::kRunning;
  t.params = std::move(params);
  return t;
}

NewTrial waiting(ParamSet params = {{"x", 0.5}}) {
  NewTrial t = running(std::move(params));
  t.state = TrialState::kWaiting;
  return t;
}

TimePoint now() { return Clock::now(); }

// A run as the study manager describes itself; the times it passes are ignored by storage.
RunRecord run_record(const std::string& owner, const std::string& host = "host-a", int pid = 100) {
  RunRecord run;
  run.owner = owner;
  run.host = host;
  run.pid = pid;
  run.started = TimePoint{};  // deliberately wrong: the storage's clock must win
  run.heartbeat = TimePoint{};
  return run;
}

// The stored clock has double precision (~0.25 us today); allow that much around a window.
bool within(const std::optional<TimePoint>& t, TimePoint before, TimePoint after) {
  const auto slack = std::chrono::microseconds(1);
  return t && *t >= before - slack && *t <= after + slack;
}

}  // namespace

TEMPLATE_TEST_CASE("a created study can be found by name and is listed in id order", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto before = now();
  const StudyRecord a =
      make_study(s, "alpha", Direction::kMaximize, "accuracy", sample_spec("alpha"));
  const StudyRecord b = make_study(s, "beta", Direction::kMinimize, "loss", sample_spec("beta"));
  const auto after = now();

  CHECK(a.id != b.id);
  CHECK(a.name == "alpha");
  CHECK(a.direction == Direction::kMaximize);
  CHECK(a.metric == "accuracy");
  CHECK(a.spec == sample_spec("alpha"));
  CHECK(within(a.created, before, after));
  CHECK(a.user_attrs.empty());

  f.reopen();
  const auto found = f.storage().find_study("beta");
  REQUIRE(found);
  CHECK(describe(*found, Times::kExact) == describe(b, Times::kExact));
  CHECK_FALSE(f.storage().find_study("gamma"));
  CHECK_FALSE(f.storage().find_study("Alpha"));  // names are case-sensitive

  const auto all = f.storage().list_studies();
  REQUIRE(all.size() == 2);
  CHECK(describe(all[0], Times::kExact) == describe(a, Times::kExact));
  CHECK(describe(all[1], Times::kExact) == describe(b, Times::kExact));
}

TEMPLATE_TEST_CASE("creating a study whose name is taken throws and changes nothing", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const StudyRecord a = make_study(s, "same", Direction::kMinimize, "loss", sample_spec("a"));
  try {
    make_study(s, "same", Direction::kMaximize, "acc", sample_spec("b"));
    FAIL("a duplicate name was accepted");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kExists);
    CHECK_THAT(e.what(), Catch::Contains("same") && Catch::Contains("already exists"));
  }
  f.reopen();
  const auto all = f.storage().list_studies();
  REQUIRE(all.size() == 1);
  CHECK(describe(all[0], Times::kExact) == describe(a, Times::kExact));
  // The failed attempt did not use up an id.
  CHECK(make_study(f.storage(), "other", Direction::kMinimize, "loss", {}).id == a.id + 1);
}

TEMPLATE_TEST_CASE("a RUNNING trial is stored with the next number, its start and heartbeat",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", sample_spec("s"));
  const auto before = now();
  NewTrial owned = running({{"x", 1.5}, {"k", "rbf"}});
  owned.owner = "host-a:100:r1";
  const Trial t0 = add_trial(s, study.id, owned);
  const auto after = now();
  const Trial t1 = add_trial(s, study.id, running());

  CHECK(t0.id != 0);
  CHECK(t0.number == 0);
  CHECK(t1.number == 1);
  CHECK(t0.state == TrialState::kRunning);
  CHECK(within(t0.started, before, after));
  CHECK(t0.heartbeat == t0.started);
  CHECK_FALSE(t0.finished);
  CHECK_FALSE(t0.value);
  CHECK(t0.params == ParamSet{{"x", 1.5}, {"k", "rbf"}});
  CHECK(t0.intermediate.empty());
  CHECK(t0.metrics.empty());
  CHECK(t0.reason.empty());
  CHECK(t0.owner == "host-a:100:r1");
  CHECK(t1.owner.empty());

  f.reopen();
  const auto read = f.storage().get_trial(t0.id);
  REQUIRE(read);
  // What create_trial returned is exactly what is stored, times included.
  CHECK(describe(*read, Times::kExact) == describe(t0, Times::kExact));
  CHECK(describe(f.storage().get_trials(study.id), Times::kExact) ==
        describe(std::vector<Trial>{t0, t1}, Times::kExact));
}

TEMPLATE_TEST_CASE("trial numbers are dense per study and ids unique across studies", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto a = make_study(s, "a", Direction::kMinimize, "loss", {});
  const auto b = make_study(s, "b", Direction::kMinimize, "loss", {});
  std::vector<int> numbers_a, numbers_b;
  std::set<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    const Trial ta = add_trial(s, a.id, i % 2 == 0 ? running() : waiting());
    const Trial tb = add_trial(s, b.id, running());
    numbers_a.push_back(ta.number);
    numbers_b.push_back(tb.number);
    ids.insert(ta.id);
    ids.insert(tb.id);
  }
  CHECK(numbers_a == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(numbers_b == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(ids.size() == 10);
  f.reopen();
  CHECK(add_trial(f.storage(), a.id, running()).number == 5);
}

TEMPLATE_TEST_CASE("budget limits: a limited create_trial and claim stop at the budget",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "budget", Direction::kMinimize, "loss", {});
  // COMPLETE + PRUNED + RUNNING + WAITING count against a limited create_trial.
  const Trial done = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(done.id, TrialState::kComplete, 1.0, {}, ""));
  const Trial pruned = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(pruned.id, TrialState::kPruned, 2.0, {}, ""));
  const Trial failed = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(failed.id, TrialState::kFail, std::nullopt, {}, "boom"));
  add_trial(s, study.id, waiting());
  CHECK(s.create_trial(study.id, running(), 5));  // 2 done + 1 waiting + this one
  CHECK_FALSE(s.create_trial(study.id, running(), 4));
  CHECK_FALSE(f.another_connection().create_trial(study.id, running(), 4));
  CHECK(s.count_trials(study.id).total() == 5);  // the refusals added nothing

  // A claim counts COMPLETE + PRUNED + RUNNING (the WAITING trial it takes is already there).
  CHECK_FALSE(s.claim_waiting_trial(study.id, "run-a", 3));
  CHECK(s.count_trials(study.id).waiting == 1);
  const auto claimed = s.claim_waiting_trial(study.id, "run-a", 4);
  REQUIRE(claimed);
  CHECK(claimed->state == TrialState::kRunning);
  CHECK(s.count_trials(study.id).waiting == 0);
}

TEMPLATE_TEST_CASE("create_trial refuses an unknown study and a state that is not a start",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  try {
    add_trial(s, study.id + 100, running());
    FAIL("a trial of an unknown study was created");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kNotFound);
    CHECK_THAT(e.what(), Catch::Contains("no study with id " + std::to_string(study.id + 100)));
  }
  NewTrial finished = running();
  finished.state = TrialState::kComplete;
  CHECK_THROWS_AS(add_trial(s, study.id, finished), StorageError);
  CHECK(s.get_trials(study.id).empty());
  CHECK(add_trial(s, study.id, running()).number == 0);
}

TEMPLATE_TEST_CASE("a finished trial keeps its objective values and violation", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial multi = add_trial(s, study.id, running());
  const Trial single = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(multi.id, TrialState::kComplete, std::nullopt,
                         {{"loss", 0.5}, {"size", 12.0}, {"mem", 600.0}}, "",
                         TrialScores{{0.5, 12.0}, 88.0}));
  REQUIRE(s.finish_trial(single.id, TrialState::kComplete, 0.25, {{"loss", 0.25}}, ""));
  const auto trials = s.get_trials(study.id);
  REQUIRE(trials.size() == 2);
  CHECK(trials[0].values == std::vector<double>{0.5, 12.0});
  CHECK(trials[0].violation == 88.0);
  CHECK_FALSE(trials[0].feasible());
  CHECK_FALSE(trials[0].value);
  CHECK(trials[1].values.empty());
  CHECK_FALSE(trials[1].violation);
  CHECK(trials[1].feasible());
}

TEMPLATE_TEST_CASE("WAITING trials are claimed oldest first, each exactly once", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", {});
  const Trial w0 = add_trial(s, study.id, waiting({{"x", 0.0}}));
  const Trial r1 = add_trial(s, study.id, running({{"x", 1.0}}));
  const Trial w2 = add_trial(s, study.id, waiting({{"x", 2.0}}));
  add_trial(s, other.id, waiting());

  CHECK(w0.state == TrialState::kWaiting);
  CHECK_FALSE(w0.started);
  CHECK_FALSE(w0.heartbeat);
  CHECK(w0.owner.empty());
  CHECK_FALSE(s.set_trial_location(w0.id, "pgid:1@h"));  // only a RUNNING trial runs somewhere

  f.reopen();
  Storage& s2 = f.storage();
  const auto before = now();
  const auto c0 = s2.claim_waiting_trial(study.id, "run-a");
  const auto after = now();
  REQUIRE(c0);
  CHECK(c0->id == w0.id);
  CHECK(c0->number == 0);
  CHECK(c0->state == TrialState::kRunning);
  CHECK(within(c0->started, before, after));
  CHECK(c0->heartbeat == c0->started);
  CHECK(c0->params == ParamSet{{"x", 0.0}});
  CHECK(c0->location.empty());
  CHECK(c0->owner == "run-a");
  CHECK(describe(*s2.get_trial(w0.id), Times::kExact) == describe(*c0, Times::kExact));

  const auto c2 = s2.claim_waiting_trial(study.id, "run-b");
  REQUIRE(c2);
  CHECK(c2->id == w2.id);
  CHECK(c2->owner == "run-b");
  CHECK_FALSE(s2.claim_waiting_trial(study.id, "run-a"));  // none left: r1 was never WAITING
  CHECK(s2.get_trial(r1.id)->state == TrialState::kRunning);
  CHECK_FALSE(s2.claim_waiting_trial(other.id + 100, "run-a"));
  // The other study's waiting trial is still there for it.
  CHECK(s2.claim_waiting_trial(other.id, "run-a"));
  f.reopen();
  CHECK(f.storage().get_trial(w0.id)->owner == "run-a");
  CHECK(f.storage().get_trial(w2.id)->owner == "run-b");
}

TEMPLATE_TEST_CASE("intermediate values keep the last write per step, only while RUNNING",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial t = add_trial(s, study.id, running());
  const Trial w = add_trial(s, study.id, waiting());

  CHECK(s.report_intermediate(t.id, 0, 0.9));
  CHECK(s.report_intermediate(t.id, 1, 0.8));
  CHECK(s.report_intermediate(t.id, 0, 0.7));  // overwrites step 0
  CHECK(s.report_intermediate(t.id, -3, 1e-300));
  CHECK(s.report_intermediate(t.id, std::numeric_limits<std::int64_t>::max(), -2.5));
  CHECK(s.report_intermediate(t.id, 5, std::numeric_limits<double>::infinity()));
  CHECK_FALSE(s.report_intermediate(w.id, 0, 1.0));             // WAITING
  CHECK_FALSE(s.report_intermediate(t.id + w.id + 1, 0, 1.0));  // unknown
  f.reopen();
  Storage& s2 = f.storage();
  const std::map<std::int64_t, double> expected{{-3, 1e-300},
                                                {0, 0.7},
                                                {1, 0.8},
                                                {5, std::numeric_limits<double>::infinity()},
                                                {std::numeric_limits<std::int64_t>::max(), -2.5}};
  CHECK(s2.get_trial(t.id)->intermediate == expected);
  CHECK(s2.get_trials(study.id)[0].intermediate == expected);
  CHECK(s2.get_trial(w.id)->intermediate.empty());

  // A NaN is kept as NaN (SQLite stores it as NULL and hands NaN back).
  CHECK(s2.report_intermediate(t.id, 7, std::numeric_limits<double>::quiet_NaN()));
  CHECK(std::isnan(s2.get_trial(t.id)->intermediate.at(7)));

  REQUIRE(s2.finish_trial(t.id, TrialState::kPruned, 0.8, {}, "pruned at step 1"));
  CHECK_FALSE(s2.report_intermediate(t.id, 2, 0.1));
  CHECK_FALSE(s2.report_intermediate(t.id, 0, 0.1));
  const auto after = s2.get_trial(t.id)->intermediate;
  CHECK(after.size() == expected.size() + 1);
  CHECK(after.at(0) == 0.7);
  CHECK(after.count(2) == 0);
}

TEMPLATE_TEST_CASE("a finished trial is immutable and finishing it again returns false",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial t = add_trial(s, study.id, running());
  const std::map<std::string, double> metrics{{"loss", 0.25}, {"accuracy", 0.9}};
  const auto before = now();
  REQUIRE(s.finish_trial(t.id, TrialState::kComplete, 0.25, metrics, ""));
  const auto after = now();
  f.reopen();
  Storage& s2 = f.storage();
  const Trial done = *s2.get_trial(t.id);
  CHECK(done.state == TrialState::kComplete);
  CHECK(done.value == 0.25);
  CHECK(done.metrics == metrics);
  CHECK(within(done.finished, before, after));
  CHECK(done.started == t.started);
  CHECK(done.heartbeat == t.heartbeat);

  CHECK_FALSE(s2.finish_trial(t.id, TrialState::kFail, std::nullopt, {}, "late failure"));
  CHECK_FALSE(s2.finish_trial(t.id, TrialState::kComplete, 0.1, {{"loss", 0.1}}, ""));
  CHECK_FALSE(s2.finish_trial(t.id + 100, TrialState::kComplete, 0.1, {}, ""));
  s2.heartbeat(study.id, run_record("run-a"), {t.id});
  CHECK(describe(*s2.get_trial(t.id), Times::kExact) == describe(done, Times::kExact));

  // Only a final state finishes a trial.
  const Trial r = add_trial(s2, study.id, running());
  CHECK_THROWS_AS(s2.finish_trial(r.id, TrialState::kRunning, std::nullopt, {}, ""), StorageError);
  CHECK(s2.get_trial(r.id)->state == TrialState::kRunning);
}

TEMPLATE_TEST_CASE("finish_trial records FAIL and PRUNED with their reasons", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial failed = add_trial(s, study.id, running());
  const Trial pruned = add_trial(s, study.id, running());
  const Trial cancelled = add_trial(s, study.id, waiting());
  const Trial nan = add_trial(s, study.id, running());
  const double inf = std::numeric_limits<double>::infinity();
  const std::map<std::string, double> odd_metrics{{"nan", std::numeric_limits<double>::quiet_NaN()},
                                                  {"inf", inf},
                                                  {"-inf", -inf},
                                                  {"tiny", 5e-324},
                                                  {"big", 1.7976931348623157e308},
                                                  {"neg", -0.125}};

  REQUIRE(s.finish_trial(failed.id, TrialState::kFail, std::nullopt, {},
                         "exit code 3: \"boom\"\nsecond line"));
  REQUIRE(s.finish_trial(pruned.id, TrialState::kPruned, 0.5, {}, "pruned at step 4"));
  REQUIRE(s.finish_trial(cancelled.id, TrialState::kFail, std::nullopt, {}, "cancelled"));
  REQUIRE(s.finish_trial(nan.id, TrialState::kComplete, std::numeric_limits<double>::quiet_NaN(),
                         odd_metrics, ""));
  f.reopen();
  Storage& s2 = f.storage();
  const auto fail = *s2.get_trial(failed.id);
  CHECK(fail.state == TrialState::kFail);
  CHECK_FALSE(fail.value);
  CHECK(fail.reason == "exit code 3: \"boom\"\nsecond line");
  const auto prune = *s2.get_trial(pruned.id);
  CHECK(prune.state == TrialState::kPruned);
  CHECK(prune.value == 0.5);
  CHECK(prune.reason == "pruned at step 4");
  // A WAITING trial can be finished without ever having started.
  const auto cancel = *s2.get_trial(cancelled.id);
  CHECK(cancel.state == TrialState::kFail);
  CHECK_FALSE(cancel.started);
  CHECK(cancel.finished);
  // A NaN value is stored as no value; metrics keep every double, NaN and infinities too.
  const auto odd = *s2.get_trial(nan.id);
  CHECK_FALSE(odd.value);
  REQUIRE(odd.metrics.size() == odd_metrics.size());
  CHECK(std::isnan(odd.metrics.at("nan")));
  CHECK(odd.metrics.at("inf") == inf);
  CHECK(odd.metrics.at("-inf") == -inf);
  CHECK(odd.metrics.at("tiny") == 5e-324);
  CHECK(odd.metrics.at("big") == 1.7976931348623157e308);
  CHECK(odd.metrics.at("neg") == -0.125);
}

TEMPLATE_TEST_CASE("heartbeat marks RUNNING trials alive and leaves the others alone", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", {});
  const Trial a = add_trial(s, study.id, running());
  const Trial b = add_trial(s, study.id, running());
  const Trial w = add_trial(s, study.id, waiting());
  const Trial done = add_trial(s, study.id, running());
  const Trial foreign = add_trial(s, other.id, running());
  REQUIRE(s.finish_trial(done.id, TrialState::kComplete, 1.0, {}, ""));
  const Trial done_before = *s.get_trial(done.id);

  // Stored times have sub-microsecond resolution; a few milliseconds make "later" visible.
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto before = now();
  s.heartbeat(study.id, run_record("run-a"), {a.id, w.id, done.id, foreign.id, done.id + 1000});
  const auto after = now();
  f.reopen();
  Storage& s2 = f.storage();
  const Trial a2 = *s2.get_trial(a.id);
  CHECK(within(a2.heartbeat, before, after));
  CHECK(*a2.heartbeat > *a.heartbeat);
  CHECK(a2.started == a.started);
  CHECK(s2.get_trial(b.id)->heartbeat == b.heartbeat);  // not in the list
  CHECK_FALSE(s2.get_trial(w.id)->heartbeat);           // WAITING: not alive yet
  CHECK(describe(*s2.get_trial(done.id), Times::kExact) == describe(done_before, Times::kExact));
  // Another study's trial is not this run's to keep alive.
  CHECK(s2.get_trial(foreign.id)->heartbeat == foreign.heartbeat);
  // The run itself was recorded, with the storage's clock.
  const auto runs = s2.list_runs(study.id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].owner == "run-a");
  CHECK(runs[0].host == "host-a");
  CHECK(runs[0].pid == 100);
  CHECK(within(runs[0].started, before, after));
  CHECK(runs[0].heartbeat == runs[0].started);
  CHECK(runs[0].heartbeat == *a2.heartbeat);  // one transaction, one clock reading
  CHECK(s2.list_runs(other.id).empty());
}

TEMPLATE_TEST_CASE("a run's later heartbeats keep its start and advance its heartbeat", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  s.heartbeat(study.id, run_record("run-a", "host-a", 100), {});  // no trials yet: run only
  const RunRecord first = s.list_runs(study.id).at(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto before = now();
  s.heartbeat(study.id, run_record("run-a", "host-b", 200), {});
  const auto after = now();
  f.reopen();
  const auto runs = f.storage().list_runs(study.id);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].started == first.started);
  CHECK(within(runs[0].heartbeat, before, after));
  CHECK(runs[0].host == "host-b");
  CHECK(runs[0].pid == 200);
}

TEMPLATE_TEST_CASE("heartbeat of an unknown study throws and changes nothing", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial t = add_trial(s, study.id, running());
  const std::string before = describe_all(s, Times::kExact);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  try {
    s.heartbeat(study.id + 100, run_record("run-a"), {t.id});
    FAIL("a heartbeat for an unknown study was accepted");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kNotFound);
    CHECK_THAT(e.what(), Catch::Contains("no study with id " + std::to_string(study.id + 100)));
  }
  CHECK(describe_all(s, Times::kExact) == before);
  CHECK(s.list_runs(study.id + 100).empty());
}

TEMPLATE_TEST_CASE("runs are listed by start time and end_run removes only the one named",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", {});
  // "run-z" starts first although it sorts last by name.
  for (const char* owner : {"run-z", "run-m", "run-a"}) {
    s.heartbeat(study.id, run_record(owner, std::string("host-") + owner, 7), {});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  s.heartbeat(other.id, run_record("run-m", "elsewhere", 8), {});  // same owner, other study
  s.heartbeat(study.id, run_record("run-z"), {});  // a later heartbeat does not reorder

  auto owners = [&](std::int64_t study_id) {
    std::vector<std::string> out;
    for (const auto& run : f.storage().list_runs(study_id)) out.push_back(run.owner);
    return out;
  };
  f.reopen();
  CHECK(owners(study.id) == std::vector<std::string>{"run-z", "run-m", "run-a"});
  const auto runs = f.storage().list_runs(study.id);
  CHECK(runs[0].started < runs[1].started);
  CHECK(runs[1].started < runs[2].started);
  CHECK(runs[1].host == "host-run-m");

  f.storage().end_run(study.id, "run-m");
  f.storage().end_run(study.id, "no-such-run");  // no-op
  f.storage().end_run(other.id + 100, "run-a");  // no-op
  f.reopen();
  CHECK(owners(study.id) == std::vector<std::string>{"run-z", "run-a"});
  CHECK(owners(other.id) == std::vector<std::string>{"run-m"});
  CHECK(f.storage().list_runs(other.id)[0].host == "elsewhere");
  CHECK(f.storage().list_runs(other.id + 100).empty());
  // An ended run that heartbeats again comes back as a new run.
  f.storage().heartbeat(study.id, run_record("run-m"), {});
  CHECK(owners(study.id) == std::vector<std::string>{"run-z", "run-a", "run-m"});
}

TEMPLATE_TEST_CASE("fail_and_requeue fails a RUNNING trial and queues its parameters again",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  NewTrial first = running({{"lr", 0.01}, {"act", "relu"}, {"layers", 3}, {"bn", true}});
  first.owner = "run-a";
  first.trial_dir = "/runs/{number}";
  const Trial t0 = add_trial(s, study.id, first);
  REQUIRE(s.report_intermediate(t0.id, 0, 0.5));
  REQUIRE(s.set_trial_location(t0.id, "pgid:42@node-1"));
  const Trial t1 = add_trial(s, study.id, running());

  const auto before = now();
  const auto requeued = s.fail_and_requeue(t0.id, "interrupted", "/runs/{number}/retry-{number}");
  const auto after = now();
  REQUIRE(requeued);
  CHECK(requeued->id != t0.id);
  CHECK(requeued->id != t1.id);
  CHECK(requeued->number == 2);
  CHECK(requeued->state == TrialState::kWaiting);
  CHECK(requeued->params == first.params);
  CHECK(requeued->attempt == 1);
  CHECK(requeued->retry_of == 0);
  CHECK(requeued->trial_dir == "/runs/2/retry-2");
  CHECK(requeued->owner.empty());
  CHECK_FALSE(requeued->started);
  CHECK_FALSE(requeued->heartbeat);
  CHECK_FALSE(requeued->finished);
  CHECK_FALSE(requeued->value);
  CHECK(requeued->intermediate.empty());
  CHECK(requeued->location.empty());
  CHECK(requeued->reason.empty());

  f.reopen();
  Storage& s2 = f.storage();
  // What fail_and_requeue returned is exactly what is stored.
  CHECK(describe(*s2.get_trial(requeued->id), Times::kExact) == describe(*requeued, Times::kExact));
  // The old row keeps its history and is now FAIL with the reason.
  const Trial old = *s2.get_trial(t0.id);
  CHECK(old.state == TrialState::kFail);
  CHECK(old.reason == "interrupted");
  CHECK(within(old.finished, before, after));
  CHECK(old.started == t0.started);
  CHECK(old.owner == "run-a");
  CHECK(old.trial_dir == "/runs/0");
  CHECK_FALSE(old.value);
  CHECK(old.intermediate == std::map<std::int64_t, double>{{0, 0.5}});
  CHECK(old.location == "pgid:42@node-1");
  CHECK(s2.get_trial(t1.id)->state == TrialState::kRunning);  // untouched

  // The new trial is claimed like any WAITING one.
  const auto claimed = s2.claim_waiting_trial(study.id, "run-b");
  REQUIRE(claimed);
  CHECK(claimed->id == requeued->id);
  CHECK(claimed->owner == "run-b");
  CHECK(claimed->attempt == 1);
}

TEMPLATE_TEST_CASE("re-queueing a re-queued trial keeps the original number as retry_of",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  add_trial(s, study.id, running({{"x", 0.0}}));                         // number 0, unrelated
  const Trial original = add_trial(s, study.id, running({{"x", 1.0}}));  // number 1
  std::vector<Trial> chain{original};
  for (int i = 0; i < 3; ++i) {
    // Something else happens in between, so numbers are not consecutive.
    add_trial(s, study.id, running({{"x", 9.0}}));
    const auto claimed = s.claim_waiting_trial(study.id, "run-" + std::to_string(i));
    std::int64_t id = original.id;
    if (i == 0) {
      REQUIRE_FALSE(claimed);  // the original runs already
    } else {
      REQUIRE(claimed);
      REQUIRE(claimed->id == chain.back().id);
      id = claimed->id;
    }
    const auto next = s.fail_and_requeue(id, "interrupted " + std::to_string(i), "t{number}");
    REQUIRE(next);
    chain.push_back(*next);
  }
  f.reopen();
  for (std::size_t i = 1; i < chain.size(); ++i) {
    INFO("requeue " << i);
    const Trial t = *f.storage().get_trial(chain[i].id);
    CHECK(t.retry_of == 1);
    CHECK(t.attempt == static_cast<int>(i));
    CHECK(t.params == ParamSet{{"x", 1.0}});
    CHECK(t.trial_dir == "t" + std::to_string(t.number));
    CHECK(t.number > chain[i - 1].number);
  }
  // Every earlier link is FAIL with its own reason; the last one waits.
  CHECK(f.storage().get_trial(chain[0].id)->reason == "interrupted 0");
  CHECK(f.storage().get_trial(chain[2].id)->reason == "interrupted 2");
  CHECK(f.storage().get_trial(chain[2].id)->owner == "run-2");
  CHECK(f.storage().get_trial(chain.back().id)->state == TrialState::kWaiting);
}

TEMPLATE_TEST_CASE("fail_and_requeue of a trial that is not RUNNING changes nothing", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial complete = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(complete.id, TrialState::kComplete, 1.0, {}, ""));
  const Trial pruned = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(pruned.id, TrialState::kPruned, 2.0, {}, "pruned"));
  const Trial failed = add_trial(s, study.id, running());
  REQUIRE(s.finish_trial(failed.id, TrialState::kFail, std::nullopt, {}, "exit 1"));
  const Trial queued = add_trial(s, study.id, waiting());
  const std::string before = describe_all(s, Times::kExact);

  for (std::int64_t id : {complete.id, pruned.id, failed.id, queued.id, queued.id + 100}) {
    INFO("trial " << id);
    CHECK_FALSE(s.fail_and_requeue(id, "interrupted", "{number}"));
  }
  f.reopen();
  CHECK(describe_all(f.storage(), Times::kExact) == before);
  // Nothing used up a number.
  CHECK(add_trial(f.storage(), study.id, running()).number == 4);
}

TEMPLATE_TEST_CASE("two connections re-queueing the same trials: each is re-queued exactly once",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  constexpr int kTrials = 60;
  TestType f;
  Storage& a = f.storage();
  Storage& b = f.another_connection();  // opened here, before the threads start
  const auto study = make_study(a, "s", Direction::kMinimize, "loss", {});
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kTrials; ++i) ids.push_back(add_trial(a, study.id, running({{"i", i}})).id);

  // Both resumers walk the same list in the same order, so they collide on every trial.
  std::map<std::int64_t, Trial> won[2];
  std::string errors[2];
  std::latch start(2);
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      Storage& s = w == 0 ? a : b;
      try {
        start.arrive_and_wait();
        for (std::int64_t id : ids) {
          if (auto t = s.fail_and_requeue(id, "interrupted by " + std::to_string(w), "{number}"))
            won[w].emplace(id, *t);
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  CHECK(won[0].size() + won[1].size() == static_cast<std::size_t>(kTrials));

  f.reopen();
  Storage& s = f.storage();
  std::set<int> retry_of;
  for (std::int64_t id : ids) {
    INFO("trial " << id);
    const int winners = static_cast<int>(won[0].count(id) + won[1].count(id));
    REQUIRE(winners == 1);
    const int w = won[0].count(id) == 1 ? 0 : 1;
    const Trial old = *s.get_trial(id);
    CHECK(old.state == TrialState::kFail);
    CHECK(old.reason == "interrupted by " + std::to_string(w));
    const Trial& requeued = won[w].at(id);
    CHECK(requeued.retry_of == old.number);
    CHECK(describe(*s.get_trial(requeued.id)) == describe(requeued));
    retry_of.insert(*requeued.retry_of);
  }
  CHECK(retry_of.size() == static_cast<std::size_t>(kTrials));
  const auto all = s.get_trials(study.id);
  REQUIRE(all.size() == static_cast<std::size_t>(2 * kTrials));
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].number == static_cast<int>(i));
  CHECK(s.get_trials(study.id, TrialState::kWaiting).size() == static_cast<std::size_t>(kTrials));
}

TEMPLATE_TEST_CASE("count_trials counts each state as get_trials lists it", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", {});
  CHECK(describe(s.count_trials(study.id)) == describe(TrialCounts{}));
  std::vector<Trial> trials;
  for (int i = 0; i < 12; ++i)
    trials.push_back(add_trial(s, study.id, i % 4 == 3 ? waiting() : running()));
  add_trial(s, other.id, running());
  REQUIRE(s.finish_trial(trials[0].id, TrialState::kComplete, 1.0, {}, ""));
  REQUIRE(s.finish_trial(trials[1].id, TrialState::kComplete, 2.0, {}, ""));
  REQUIRE(s.finish_trial(trials[2].id, TrialState::kPruned, 2.0, {}, ""));
  REQUIRE(s.finish_trial(trials[3].id, TrialState::kFail, std::nullopt, {}, "cancelled"));
  REQUIRE(s.fail_and_requeue(trials[4].id, "interrupted", ""));
  REQUIRE(s.claim_waiting_trial(study.id, "run-a"));
  f.reopen();
  Storage& s2 = f.storage();

  auto listed = [&](std::int64_t study_id) {
    TrialCounts c;
    c.waiting = static_cast<int>(s2.get_trials(study_id, TrialState::kWaiting).size());
    c.running = static_cast<int>(s2.get_trials(study_id, TrialState::kRunning).size());
    c.complete = static_cast<int>(s2.get_trials(study_id, TrialState::kComplete).size());
    c.pruned = static_cast<int>(s2.get_trials(study_id, TrialState::kPruned).size());
    c.fail = static_cast<int>(s2.get_trials(study_id, TrialState::kFail).size());
    return c;
  };
  const TrialCounts counts = s2.count_trials(study.id);
  CHECK(describe(counts) == describe(listed(study.id)));
  // Worked out by hand, 13 trials: WAITING 3 created - 1 cancelled + 1 re-queued - 1 claimed;
  // RUNNING 9 created - 3 finished - 1 re-queued + 1 claimed.
  TrialCounts expected;
  expected.waiting = 2;
  expected.running = 6;
  expected.complete = 2;
  expected.pruned = 1;
  expected.fail = 2;
  CHECK(describe(counts) == describe(expected));
  CHECK(counts.total() == 13);
  CHECK(counts.total() == static_cast<int>(s2.get_trials(study.id).size()));
  CHECK(describe(s2.count_trials(other.id)) == describe(listed(other.id)));
  CHECK(s2.count_trials(other.id).running == 1);
  CHECK(describe(s2.count_trials(other.id + 100)) == describe(TrialCounts{}));
}

TEMPLATE_TEST_CASE("get_trials lists a study's trials in number order, filtered by state",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", {});
  std::vector<Trial> trials;
  for (int i = 0; i < 8; ++i) trials.push_back(add_trial(s, study.id, running({{"i", i}})));
  add_trial(s, other.id, running());
  REQUIRE(s.finish_trial(trials[1].id, TrialState::kComplete, 1.0, {}, ""));
  REQUIRE(s.finish_trial(trials[4].id, TrialState::kComplete, 4.0, {}, ""));
  REQUIRE(s.finish_trial(trials[5].id, TrialState::kFail, std::nullopt, {}, "x"));
  REQUIRE(s.finish_trial(trials[6].id, TrialState::kPruned, 6.0, {}, "p"));
  REQUIRE(s.set_trial_location(trials[7].id, "job:ns/t7"));
  const Trial queued = add_trial(s, study.id, waiting());
  CHECK_FALSE(s.report_intermediate(trials[4].id, 0, 3.0));  // finished
  CHECK_FALSE(s.set_trial_location(trials[4].id, "x"));      // finished
  f.reopen();
  Storage& s2 = f.storage();

  auto numbers = [&](std::optional<TrialState> state) {
    std::vector<int> out;
    for (const auto& t : s2.get_trials(study.id, state)) out.push_back(t.number);
    return out;
  };
  CHECK(numbers(std::nullopt) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(numbers(TrialState::kRunning) == std::vector<int>{0, 2, 3, 7});
  CHECK(numbers(TrialState::kComplete) == std::vector<int>{1, 4});
  CHECK(numbers(TrialState::kFail) == std::vector<int>{5});
  CHECK(numbers(TrialState::kPruned) == std::vector<int>{6});
  CHECK(numbers(TrialState::kWaiting) == std::vector<int>{queued.number});
  // Filtered lists carry the same complete records as single reads.
  for (const auto& t : s2.get_trials(study.id, TrialState::kComplete))
    CHECK(describe(t, Times::kExact) == describe(*s2.get_trial(t.id), Times::kExact));
  CHECK(s2.get_trials(study.id, TrialState::kRunning)[3].location == "job:ns/t7");
  // from_number skips the trials the caller already has.
  auto from = [&](int n, std::optional<TrialState> state = std::nullopt) {
    std::vector<int> out;
    for (const auto& t : s2.get_trials(study.id, state, n)) out.push_back(t.number);
    return out;
  };
  CHECK(from(6) == std::vector<int>{6, 7, 8});
  CHECK(from(3, TrialState::kRunning) == std::vector<int>{3, 7});
  CHECK(from(9).empty());
  CHECK(s2.get_trials(study.id, std::nullopt, 4)[0].intermediate ==
        s2.get_trial(trials[4].id)->intermediate);
  CHECK(s2.get_trials(other.id).size() == 1);
  CHECK(s2.get_trials(other.id + 100).empty());
  CHECK_FALSE(s2.get_trial(queued.id + 100));
}

TEMPLATE_TEST_CASE("get_best_trials lists the valued trials best first, at most limit of them",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto up = make_study(s, "up", Direction::kMaximize, "acc", {});
  // Values by number: 0:3.0 1:1.0 2:FAIL 3:1.0 4:PRUNED 0.5 5:RUNNING 6:-2.0 7:WAITING.
  const std::vector<std::optional<double>> values = {3.0, 1.0, std::nullopt, 1.0,
                                                     0.5, std::nullopt, -2.0};
  std::vector<Trial> trials;
  for (std::size_t i = 0; i < values.size(); ++i) {
    trials.push_back(add_trial(s, study.id, running()));
    trials.push_back(add_trial(s, up.id, running()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (int k = 0; k < 2; ++k) {
      const Trial& t = trials[2 * i + static_cast<std::size_t>(k)];
      if (i == 2) REQUIRE(s.finish_trial(t.id, TrialState::kFail, std::nullopt, {}, "x"));
      else if (i == 4) REQUIRE(s.finish_trial(t.id, TrialState::kPruned, 0.5, {}, "p"));
      else if (values[i]) REQUIRE(s.finish_trial(t.id, TrialState::kComplete, values[i], {}, ""));
    }
  }
  add_trial(s, study.id, waiting());
  f.reopen();
  Storage& s2 = f.storage();
  auto numbers = [&](std::int64_t id, Direction d, std::optional<TrialState> state, int limit) {
    std::vector<int> out;
    for (const auto& t : s2.get_best_trials(id, d, state, limit)) out.push_back(t.number);
    return out;
  };
  // Equal values (1.0 at #1 and #3) keep number order in both directions.
  CHECK(numbers(study.id, Direction::kMinimize, TrialState::kComplete, 10) ==
        std::vector<int>{6, 1, 3, 0});
  CHECK(numbers(study.id, Direction::kMinimize, std::nullopt, 10) ==
        std::vector<int>{6, 4, 1, 3, 0});
  CHECK(numbers(study.id, Direction::kMinimize, TrialState::kComplete, 2) ==
        std::vector<int>{6, 1});
  CHECK(numbers(up.id, Direction::kMaximize, TrialState::kComplete, 3) ==
        std::vector<int>{0, 1, 3});
  CHECK(numbers(up.id, Direction::kMaximize, TrialState::kPruned, 3) == std::vector<int>{4});
  CHECK(numbers(study.id, Direction::kMinimize, TrialState::kComplete, 0).empty());
  CHECK(numbers(study.id + up.id + 100, Direction::kMinimize, std::nullopt, 5).empty());
  // The one best trial is best_trial()'s, with the full record of a single read.
  const auto complete = s2.get_trials(up.id, TrialState::kComplete);
  const auto best = s2.get_best_trials(up.id, Direction::kMaximize, TrialState::kComplete, 1);
  REQUIRE(best.size() == 1);
  CHECK(best[0].number == best_trial(complete, Direction::kMaximize)->number);
  CHECK(describe(best[0], Times::kExact) == describe(*s2.get_trial(best[0].id), Times::kExact));
}

TEMPLATE_TEST_CASE("get_step_values and get_last_step answer as a scan of every trial's curve",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "o", Direction::kMinimize, "loss", {});
  // Trials in every state with curves that skip steps, a NaN, and a trial of another study at
  // the same steps.
  for (int i = 0; i < 9; ++i) {
    const Trial t = add_trial(s, study.id, running());
    const Trial o = add_trial(s, other.id, running());
    for (std::int64_t step = 0; step < 5; ++step) {
      if ((step + i) % 3 == 0) continue;
      const double v = i == 4 && step == 3 ? std::numeric_limits<double>::quiet_NaN() : i + 0.1 * step;
      REQUIRE(s.report_intermediate(t.id, step, v));
      REQUIRE(s.report_intermediate(o.id, step, -v));
    }
    if (i % 3 == 0) REQUIRE(s.finish_trial(t.id, TrialState::kComplete, 1.0 * i, {}, ""));
    if (i % 3 == 1) REQUIRE(s.finish_trial(t.id, TrialState::kPruned, 1.0 * i, {}, "p"));
  }
  f.reopen();
  Storage& s2 = f.storage();
  const std::vector<Trial> all = s2.get_trials(study.id);
  std::map<StepMatch, std::size_t> seen;
  std::map<StepMatch, std::size_t> nans;
  for (TrialState state : {TrialState::kComplete, TrialState::kPruned, TrialState::kRunning,
                           TrialState::kFail}) {
    for (StepMatch match : {StepMatch::kExactly, StepMatch::kFirstFrom}) {
      for (std::int64_t step = -1; step < 6; ++step) {
        INFO("state " << to_string(state) << ", step " << step << ", first from "
                      << (match == StepMatch::kFirstFrom));
        std::vector<std::pair<int, double>> expected;
        for (const Trial& t : all)
          if (t.state == state)
            if (const auto v = report_for_step(t, step, match))
              expected.emplace_back(t.number, v->value);
        const auto got = s2.get_step_values(study.id, step, state, match);
        REQUIRE(got.size() == expected.size());
        for (std::size_t k = 0; k < got.size(); ++k) {
          CHECK(got[k].first == expected[k].first);
          CHECK((got[k].second == expected[k].second ||
                 (std::isnan(got[k].second) && std::isnan(expected[k].second))));
        }
        seen[match] += got.size();
        for (const auto& [number, value] : got) nans[match] += std::isnan(value) ? 1 : 0;
      }
    }
    // The latest step of the state's trials, as a scan of their curves finds it.
    std::optional<std::int64_t> last;
    for (const Trial& t : all)
      if (t.state == state && !t.intermediate.empty())
        last = std::max(last.value_or(-1), t.intermediate.rbegin()->first);
    CHECK(s2.get_last_step(study.id, state) == last);
  }
  CHECK(seen[StepMatch::kExactly] > 20);
  CHECK(seen[StepMatch::kFirstFrom] > seen[StepMatch::kExactly]);  // skipped steps were matched
  CHECK(nans[StepMatch::kExactly] > 0);  // trial 4's NaN at step 3 was read as NaN
  CHECK(nans[StepMatch::kFirstFrom] > nans[StepMatch::kExactly]);  // and from step 2
  CHECK(s2.get_step_values(study.id + other.id + 100, 1, TrialState::kComplete,
                           StepMatch::kFirstFrom)
            .empty());
  CHECK_FALSE(s2.get_last_step(study.id + other.id + 100, TrialState::kComplete).has_value());
  CHECK_FALSE(s2.get_last_step(study.id, TrialState::kWaiting).has_value());
}

TEMPLATE_TEST_CASE("get_trials with kHistory is the full read as keep_history_detail leaves it",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "o", Direction::kMinimize, "loss", {});
  // One trial per state, each with a curve (but WAITING), metrics and a launch where it can.
  std::vector<Trial> trials;
  for (int i = 0; i < 5; ++i) {
    trials.push_back(add_trial(s, study.id, running({{"x", 0.1 * i}, {"k", "a"}})));
    add_trial(s, other.id, running());
    TrialLaunch launch;
    launch.argv = {"train", std::to_string(i)};
    REQUIRE(s.set_trial_launch(trials.back().id, launch));
    for (std::int64_t step : {0, 2, 5}) {
      const double v = step == 2 && i == 1 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / (1 + step + i);
      REQUIRE(s.report_intermediate(trials.back().id, step, v));
    }
  }
  REQUIRE(s.finish_trial(trials[0].id, TrialState::kComplete, 0.5, {{"loss", 0.5}, {"acc", 0.9}}, ""));
  REQUIRE(s.finish_trial(trials[1].id, TrialState::kPruned, 0.25, {}, "pruned at step 5"));
  REQUIRE(s.finish_trial(trials[2].id, TrialState::kFail, std::nullopt, {{"acc", 0.1}}, "boom"));
  // trials[3] stays RUNNING; a WAITING one joins.
  add_trial(s, study.id, waiting());
  f.reopen();
  Storage& s2 = f.storage();
  for (int from : {0, 2, 6}) {
    for (std::optional<TrialState> state :
         {std::optional<TrialState>(), std::optional<TrialState>(TrialState::kPruned),
          std::optional<TrialState>(TrialState::kRunning)}) {
      std::vector<Trial> expected = s2.get_trials(study.id, state, from);
      for (Trial& t : expected) keep_history_detail(t);
      CHECK(describe(s2.get_trials(study.id, state, from, TrialDetail::kHistory), Times::kExact) ==
            describe(expected, Times::kExact));
    }
  }
  // What the rule keeps and drops, once spelled out.
  const auto history = s2.get_trials(study.id, std::nullopt, 0, TrialDetail::kHistory);
  REQUIRE(history.size() == 6);
  CHECK(history[0].intermediate.empty());
  CHECK(history[0].metrics.empty());
  CHECK_FALSE(history[0].launch);
  CHECK(history[0].value == 0.5);
  CHECK(history[0].params.at("k") == ParamValue("a"));
  CHECK(history[1].intermediate == std::map<std::int64_t, double>{{5, 1.0 / 7}});
  CHECK(history[2].reason == "boom");
  CHECK(history[3].intermediate.size() == 3);
  CHECK(history[3].launch);
  CHECK(history[5].state == TrialState::kWaiting);
}

TEMPLATE_TEST_CASE("find_trial and get_retries answer as a read of the whole study does",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const auto other = make_study(s, "o", Direction::kMinimize, "loss", {});
  // #0 fails twice and is re-queued each time (#2, then #4 re-runs #2's parameters with
  // retry_of 0); #1 completes; other's #0 is a re-run-free trial of the same number.
  const Trial t0 = add_trial(s, study.id, running());
  add_trial(s, other.id, running());
  const Trial t1 = add_trial(s, study.id, running());
  REQUIRE(s.report_intermediate(t1.id, 3, 0.25));
  REQUIRE(s.finish_trial(t1.id, TrialState::kComplete, 0.5, {{"loss", 0.5}}, ""));
  const auto r1 = s.fail_and_requeue(t0.id, "lost", "");
  REQUIRE(r1);
  add_trial(s, study.id, running());  // #3
  const auto claimed = s.claim_waiting_trial(study.id, "o");
  REQUIRE(claimed);
  REQUIRE(claimed->number == r1->number);
  const auto r2 = s.fail_and_requeue(claimed->id, "lost again", "");
  REQUIRE(r2);
  f.reopen();
  Storage& s2 = f.storage();
  const std::vector<Trial> all = s2.get_trials(study.id);
  REQUIRE(all.size() == 5);
  for (const Trial& t : all) {
    const auto found = s2.find_trial(study.id, t.number);
    REQUIRE(found);
    CHECK(describe(*found, Times::kExact) == describe(t, Times::kExact));
    std::vector<std::string> expected;
    for (const Trial& u : all)
      if (u.retry_of == t.number) expected.push_back(describe(u, Times::kExact));
    std::vector<std::string> got;
    for (const Trial& u : s2.get_retries(study.id, t.number))
      got.push_back(describe(u, Times::kExact));
    CHECK(got == expected);
  }
  CHECK(s2.get_retries(study.id, 0).size() == 2);
  CHECK_FALSE(s2.find_trial(study.id, 5));
  CHECK_FALSE(s2.find_trial(study.id, -1));
  CHECK(s2.find_trial(other.id, 0)->id != t0.id);
  CHECK_FALSE(s2.find_trial(other.id + study.id + 100, 0));
  CHECK(s2.get_retries(other.id, 0).empty());
}

TEMPLATE_TEST_CASE("a study keeps one spec, its directory and its seed, the spec can be replaced",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const std::uint64_t seed = 18446744073709551615ULL;  // the largest: SQLite's ints are signed
  const auto study = make_study(s, "s", Direction::kMaximize, "acc", sample_spec("s"), seed);
  const auto other = make_study(s, "other", Direction::kMinimize, "loss", sample_spec("o"), 7);
  CHECK(study.sampler_seed == seed);
  CHECK(study.spec_dir == "/specs/s");
  s.update_study_spec(study.id, sample_spec("s2"), "/elsewhere/ünïcödé");
  CHECK_THROWS_AS(s.update_study_spec(other.id + 100, sample_spec("x"), "/x"), StorageError);
  f.reopen();
  Storage& s2 = f.storage();
  const StudyRecord read = *s2.find_study("s");
  CHECK(read.spec == sample_spec("s2"));
  CHECK(read.spec_dir == "/elsewhere/ünïcödé");
  CHECK(read.sampler_seed == seed);
  CHECK(read.direction == Direction::kMaximize);  // the rest stays
  CHECK(read.metric == "acc");
  CHECK(read.created == study.created);
  CHECK(s2.list_studies()[1].sampler_seed == 7);
  CHECK(s2.list_studies()[1].spec == sample_spec("o"));
}

TEMPLATE_TEST_CASE("a RUNNING trial records what ran, finished and waiting ones refuse it",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s");
  const Trial t = add_trial(s, study.id, running());
  const Trial w = add_trial(s, study.id, waiting());
  CHECK_FALSE(s.get_trial(t.id)->launch);
  TrialLaunch launch;
  launch.argv = {"python3", "train.py", "--lr", "0.01", "caf\xc3\xa9"};
  launch.cwd = "/work/spec dir";
  launch.env = {{"API_TOKEN", "<redacted>"}, {"HPO_TRIAL_NUMBER", "0"}};
  REQUIRE(s.set_trial_launch(t.id, launch));
  CHECK(s.get_trial(t.id)->launch == launch);
  CHECK_FALSE(s.set_trial_launch(w.id, launch));  // only a RUNNING trial was started
  CHECK_FALSE(s.get_trial(w.id)->launch);
  TrialLaunch invalid = launch;
  invalid.argv.push_back("\xff");
  CHECK_THROWS_AS(s.set_trial_launch(t.id, invalid), StorageError);
  REQUIRE(s.finish_trial(t.id, TrialState::kComplete, 1.0, {{"loss", 1.0}}, ""));
  CHECK_FALSE(s.set_trial_launch(t.id, TrialLaunch{}));  // finished trials are immutable
  CHECK_FALSE(s.set_trial_launch(t.id + 100, launch));
  f.reopen();
  CHECK(f.storage().get_trials(study.id)[0].launch == launch);
  CHECK_FALSE(f.storage().get_trials(study.id)[1].launch);
}

TEMPLATE_TEST_CASE("a dead run's RUNNING trial is adopted by exactly one run", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s");
  NewTrial owned = running();
  owned.owner = "dead-run";
  const Trial t = add_trial(s, study.id, owned);
  REQUIRE(s.set_trial_location(t.id, "pgid:9@h"));
  const Trial w = add_trial(s, study.id, waiting());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));

  const auto before = now();
  const auto adopted = s.adopt_trial(t.id, "dead-run", "run-a");
  const auto after = now();
  REQUIRE(adopted);
  CHECK(adopted->owner == "run-a");
  CHECK(adopted->state == TrialState::kRunning);
  CHECK(adopted->location == "pgid:9@h");  // where it ran stays, for the executor to look
  CHECK(within(adopted->heartbeat, before, after));
  CHECK(adopted->started == t.started);
  // The loser of a race, a wrong previous owner, a WAITING or unknown trial: nothing changes.
  CHECK_FALSE(f.another_connection().adopt_trial(t.id, "dead-run", "run-b"));
  CHECK_FALSE(s.adopt_trial(w.id, "", "run-b"));
  CHECK_FALSE(s.adopt_trial(t.id + 100, "dead-run", "run-b"));
  f.reopen();
  CHECK(describe(*f.storage().get_trial(t.id), Times::kExact) ==
        describe(*adopted, Times::kExact));
  REQUIRE(f.storage().finish_trial(t.id, TrialState::kComplete, 1.0, {}, ""));
  CHECK_FALSE(f.storage().adopt_trial(t.id, "run-a", "run-b"));  // finished
}

TEMPLATE_TEST_CASE("a trial's parameters can be drawn inside the transaction that numbers it",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s");
  for (int i = 0; i < 3; ++i) add_trial(s, study.id, running({{"i", i}}));
  NewTrial nt = running();
  nt.known_trials = 1;  // the caller has seen trial 0 only
  std::vector<int> seen;
  nt.sample = [&](int number, const std::vector<Trial>& newer) -> std::optional<ParamSet> {
    for (const Trial& t : newer) seen.push_back(t.number);
    return ParamSet{{"drawn_for", number}};
  };
  const auto t = s.create_trial(study.id, nt);
  REQUIRE(t);
  CHECK(t->number == 3);
  CHECK(t->params == ParamSet{{"drawn_for", 3}});
  CHECK(seen == std::vector<int>{1, 2});
  // Choosing nothing creates nothing, and uses up no number.
  nt.sample = [](int, const std::vector<Trial>&) -> std::optional<ParamSet> {
    return std::nullopt;
  };
  CHECK_FALSE(s.create_trial(study.id, nt));
  // The limit is checked before anything is drawn.
  int calls = 0;
  nt.sample = [&](int, const std::vector<Trial>&) -> std::optional<ParamSet> {
    ++calls;
    return ParamSet{};
  };
  CHECK_FALSE(s.create_trial(study.id, nt, 4));
  CHECK(calls == 0);
  // Parameters that cannot be stored are refused as given ones are.
  nt.sample = [](int, const std::vector<Trial>&) -> std::optional<ParamSet> {
    return ParamSet{{"x", std::nan("")}};
  };
  CHECK_THROWS_AS(s.create_trial(study.id, nt), StorageError);
  f.reopen();
  CHECK(f.storage().count_trials(study.id).total() == 4);
  CHECK(add_trial(f.storage(), study.id, running()).number == 4);
}

TEMPLATE_TEST_CASE("parameters of every kind round-trip exactly", "[storage]", MemoryStorageFixture,
                   SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const ParamSet params{
      {"tiny", 1e-300},
      {"negative", -2.5},
      {"tenth", 0.1},
      {"huge", 1.7976931348623157e308},
      {"denormal", 5e-324},
      {"integral_double", 3.0},
      {"int_max", std::numeric_limits<std::int64_t>::max()},
      {"int_min", std::numeric_limits<std::int64_t>::min()},
      {"int_2p53_plus_1", std::int64_t{9007199254740993}},
      {"int_negative", -7},
      {"quotes", "it's a \"test\" \\ with\nnewline\tand tab"},
      {"unicode", "λ → ✓ 日本語 🎉"},
      {"empty", ""},
      {"numeric_string", "42"},
      {"yes", true},
      {"no", false},
      {"name with spaces and \"quotes\"", 1},
  };
  const Trial created = add_trial(s, study.id, running(params));
  f.reopen();
  for (const Trial& t : {*f.storage().get_trial(created.id), f.storage().get_trials(study.id)[0]}) {
    REQUIRE(t.params.size() == params.size());
    for (const auto& [name, value] : params) {
      INFO(name);
      REQUIRE(t.params.count(name) == 1);
      const ParamValue& got = t.params.at(name);
      // Same kind and same value, not merely equal as numbers.
      CHECK(got.variant().index() == value.variant().index());
      CHECK(got.variant() == value.variant());
    }
  }
  CHECK(describe(*f.storage().get_trial(created.id)) == describe(created));
}

TEMPLATE_TEST_CASE("parameters that cannot be stored are refused and nothing is created",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    try {
      add_trial(s, study.id, running({{"x", bad}}));
      FAIL("a non-finite parameter was stored");
    } catch (const StorageError& e) {
      CHECK(e.code() == StorageErrc::kMismatch);
      CHECK_THAT(e.what(), Catch::Contains("'x'"));
    }
  }
  CHECK_THROWS_AS(add_trial(s, study.id, running({{"s", std::string("bad \xff utf-8")}})),
                  StorageError);
  CHECK(s.get_trials(study.id).empty());
}

TEMPLATE_TEST_CASE("trial_dir gets the assigned number and retries keep their lineage", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  NewTrial first = running();
  first.trial_dir = "/runs/s-trials/{number}/out-{number}";
  const Trial t0 = add_trial(s, study.id, first);
  NewTrial plain = running();
  plain.trial_dir = "/runs/fixed";
  const Trial t1 = add_trial(s, study.id, plain);
  NewTrial retry = waiting();
  retry.attempt = 2;
  retry.retry_of = t0.number;
  retry.trial_dir = "{number}";
  const Trial t2 = add_trial(s, study.id, retry);

  CHECK(t0.trial_dir == "/runs/s-trials/0/out-0");
  CHECK(t1.trial_dir == "/runs/fixed");
  CHECK(t2.trial_dir == "2");
  CHECK(t0.attempt == 0);
  CHECK_FALSE(t0.retry_of);
  CHECK(t2.attempt == 2);
  CHECK(t2.retry_of == 0);
  f.reopen();
  CHECK(describe(f.storage().get_trials(study.id), Times::kExact) ==
        describe(std::vector<Trial>{t0, t1, t2}, Times::kExact));
  const auto claimed = f.storage().claim_waiting_trial(study.id, "run-a");
  REQUIRE(claimed);
  CHECK(claimed->retry_of == 0);
  CHECK(claimed->attempt == 2);
  CHECK(claimed->trial_dir == "2");
}

}  // namespace hpo::testing

namespace hpo::testing {

TEMPLATE_TEST_CASE("one storage object serves several threads at once", "[storage]",
                   MemoryStorageFixture, SqliteStorageFixture) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  std::vector<std::vector<int>> numbers(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int i = 0; i < kPerThread; ++i) {
          const Trial t = add_trial(s, study.id, NewTrial{});
          numbers[w].push_back(t.number);
          if (!s.report_intermediate(t.id, 0, i)) throw std::runtime_error("report refused");
          if (!s.finish_trial(t.id, TrialState::kComplete, i, {}, ""))
            throw std::runtime_error("finish refused");
          s.get_trials(study.id, TrialState::kRunning);
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int> all;
  for (int w = 0; w < kThreads; ++w) {
    CHECK(errors[w] == "");
    CHECK(std::is_sorted(numbers[w].begin(), numbers[w].end()));
    all.insert(numbers[w].begin(), numbers[w].end());
  }
  CHECK(all.size() == static_cast<std::size_t>(kThreads * kPerThread));
  CHECK(*all.rbegin() == kThreads * kPerThread - 1);
  CHECK(s.get_trials(study.id, TrialState::kComplete).size() == all.size());
}

}  // namespace hpo::testing

namespace hpo::testing {

TEMPLATE_TEST_CASE("delete_study removes a study and everything of it, and nothing of another",
                   "[storage][delete]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto gone = make_study(s, "gone", Direction::kMinimize, "loss", {});
  const auto kept = make_study(s, "kept", Direction::kMaximize, "acc", {});
  const Trial g0 = add_trial(s, gone.id, running({{"x", 0.1}}));
  REQUIRE(s.report_intermediate(g0.id, 1, 0.5));
  REQUIRE(s.finish_trial(g0.id, TrialState::kComplete, 0.5, {{"loss", 0.5}}, ""));
  const Trial g1 = add_trial(s, gone.id, running({{"x", 0.2}}));
  REQUIRE(s.report_intermediate(g1.id, 1, 0.7));
  add_trial(s, gone.id, waiting());
  s.heartbeat(gone.id, run_record("run-a"), {g1.id});
  const Trial k0 = add_trial(s, kept.id, running({{"x", 0.3}}));
  REQUIRE(s.report_intermediate(k0.id, 2, 0.9));
  s.heartbeat(kept.id, run_record("run-b"), {k0.id});

  CHECK(s.delete_study(gone.id));
  f.reopen();
  Storage& s2 = f.storage();
  CHECK_FALSE(s2.find_study("gone"));
  CHECK(s2.list_studies().size() == 1);
  CHECK(s2.count_trials(gone.id).total() == 0);
  CHECK(s2.get_trials(gone.id).empty());
  CHECK_FALSE(s2.get_trial(g0.id));
  CHECK_FALSE(s2.get_trial(g1.id));
  CHECK(s2.list_runs(gone.id).empty());
  // Mutations of what was deleted change nothing.
  CHECK_FALSE(s2.report_intermediate(g1.id, 2, 0.1));
  CHECK_FALSE(s2.claim_waiting_trial(gone.id, "run-c"));
  CHECK_FALSE(s2.delete_study(gone.id));  // once
  CHECK_FALSE(s2.delete_study(12345));
  // The other study is untouched.
  const auto k = s2.get_trials(kept.id);
  REQUIRE(k.size() == 1);
  CHECK(k[0].intermediate == std::map<std::int64_t, double>{{2, 0.9}});
  CHECK(s2.list_runs(kept.id).size() == 1);
  // The name is free again: a new study of that name starts from trial 0.
  const auto again = make_study(s2, "gone", Direction::kMinimize, "loss", {});
  CHECK(again.id != kept.id);
  CHECK(add_trial(s2, again.id, running()).number == 0);
  CHECK(s2.get_trials(again.id).size() == 1);
}

TEMPLATE_TEST_CASE("set_trial_params replaces the parameters of a RUNNING trial only",
                   "[storage]", MemoryStorageFixture, SqliteStorageFixture) {
  TestType f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  const Trial w = add_trial(s, study.id, waiting({{"x", 0.5}}));
  CHECK_FALSE(s.set_trial_params(w.id, {{"x", 0.5}, {"k", ParamValue(std::string("a"))}}));
  const auto claimed = s.claim_waiting_trial(study.id, "run-a");
  REQUIRE(claimed);
  const ParamSet full{{"x", 0.5}, {"k", ParamValue(std::string("a"))}, {"n", std::int64_t{3}}};
  CHECK(s.set_trial_params(claimed->id, full));
  f.reopen();
  Storage& s2 = f.storage();
  CHECK(s2.get_trial(claimed->id)->params == full);
  CHECK_THROWS_AS(s2.set_trial_params(claimed->id, {{"x", std::nan("")}}), StorageError);
  REQUIRE(s2.finish_trial(claimed->id, TrialState::kComplete, 1.0, {{"loss", 1.0}}, ""));
  CHECK_FALSE(s2.set_trial_params(claimed->id, {{"x", 0.1}}));
  CHECK(s2.get_trial(claimed->id)->params == full);
}

}  // namespace hpo::testing
