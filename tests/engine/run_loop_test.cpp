// The run loop (engine/study_manager.h) on the in-memory storage with a scripted executor:
// budget exactness, failures and max_failed_trials, retries, interrupts and stop requests,
// recovery of a dead run's trials (re-queued or re-attached), the budget timeout, PRUNED
// outcomes, and runs sharing a study. Real sampler, real study core; only the trials are
// scripted (tests/support/scripted_executor.h), so each case runs in milliseconds.
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/factory.h"
#include "engine/run_lease.h"
#include "engine/study_core.h"
#include "engine/study_manager.h"
#include "storage/memory_storage.h"
#include "tests/support/scripted_executor.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;

std::string spec_text(const std::string& budget, const std::string& executor_extra = "",
                      int parallelism = 1) {
  return R"({"name": "loop", "direction": "minimize", "objective": {"metric": "loss"},
    "space": {"x": {"type": "float", "low": 0, "high": 1},
              "k": {"type": "categorical", "choices": ["a", "b", "c"]}},
    "sampler": {"name": "random", "seed": 7},
    "budget": )" + budget + R"(, "parallelism": )" + std::to_string(parallelism) + R"(,
    "executor": {"kind": "subprocess", "command": ["train"])" + executor_extra + "}}";
}

// A study on in-memory storage, run with a scripted executor.
struct Loop {
  explicit Loop(const std::string& spec_json) : spec(parse_spec(spec_json, dir.path())) {}

  TempDir dir{"hpo-loop"};
  MemoryStorage storage;
  StudySpec spec;
  ScriptLog log;
  std::function<Script(const TrialTask&)> script = [](const TrialTask& t) {
    Script s;
    s.outcome = TrialOutcome::complete({{"loss", t.params.at("x").as_double()}});
    return s;
  };
  std::function<Recovery(const TrialTask&, const std::string&)> on_recover;
  std::function<Script(const TrialTask&)> reattached;

  RunOptions options() {
    RunOptions o;
    o.handle_signals = false;
    o.heartbeat_interval = 20ms;
    o.stale_after = 200ms;
    o.trials_root = dir / "trials";
    o.make_executor = [this](boost::asio::io_context& io, const StudySpec&, std::size_t p) {
      auto e = std::make_unique<ScriptedExecutor>(io, p, script, log);
      e->on_recover = on_recover;
      e->reattached = reattached;
      return e;
    };
    return o;
  }

  RunResult run(RunOptions o) {
    StudyCore core(storage, spec, OpenOptions{});
    StudyManager manager(core, std::move(o));
    return manager.run();
  }
  RunResult run() { return run(options()); }

  std::int64_t study_id() { return storage.find_study(spec.name)->id; }
  std::vector<Trial> trials(std::optional<TrialState> state = std::nullopt) {
    return storage.get_trials(study_id(), state);
  }
  TrialCounts counts() { return storage.count_trials(study_id()); }
};

// A RUNNING trial of another run, with where it ran.
std::int64_t add(Loop& loop, std::int64_t study_id, const NewTrial& trial,
                 const std::string& where) {
  const std::optional<Trial> t = loop.storage.create_trial(study_id, trial);
  loop.storage.set_trial_location(t->id, where);
  return t->id;
}

std::string params_text(const ParamSet& params) {
  std::string out;
  for (const auto& [name, value] : params) out += name + "=" + value.to_string() + ";";
  return out;
}

// A process id that belonged to a process that is gone (a child that exited and was reaped).
int dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return static_cast<int>(pid);
}

std::string this_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

TEST_CASE("the budget is met exactly with parallel trials, and failures do not count",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 12, "max_failed_trials": 100})", "", 3));
  loop.script = [](const TrialTask& t) {
    Script s;
    s.duration = std::chrono::milliseconds(1 + t.number % 3);
    if (t.number % 4 == 3) {
      s.outcome = TrialOutcome::failed(FailureKind::kExitCode, "exited with status 1");
      s.outcome.exit_code = 1;
    } else {
      s.outcome = TrialOutcome::complete({{"loss", t.params.at("x").as_double()}});
    }
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kBudgetMet);
  const TrialCounts c = loop.counts();
  CHECK(c.complete == 12);
  CHECK(c.fail == c.total() - 12);
  CHECK(c.fail >= 3);
  CHECK(c.running == 0);
  CHECK(c.waiting == 0);
  CHECK(result.stats.complete == 12);
  CHECK(result.stats.failed_this_run == c.fail);
  CHECK(loop.log.most_running == 3);
  for (const Trial& t : loop.trials()) {
    CHECK(is_finished(t.state));
    CHECK_FALSE(t.owner.empty());
    if (t.state == TrialState::kComplete) CHECK(*t.value == t.params.at("x").as_double());
  }
  // The best trial is the one with the smallest x among the COMPLETE ones.
  const auto complete = loop.trials(TrialState::kComplete);
  const auto best = std::min_element(complete.begin(), complete.end(), [](auto& a, auto& b) {
    return *a.value < *b.value;
  });
  CHECK(result.stats.best_number == best->number);
}

TEST_CASE("a run whose trials all fail stops at max_failed_trials", "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 10, "max_failed_trials": 4, "fail_fast": 0})"));
  loop.script = [](const TrialTask&) {
    Script s;
    s.outcome = TrialOutcome::complete({{"accuracy", 1.0}});  // not the objective: FAIL
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kMaxFailed);
  CHECK(loop.counts().fail == 4);
  CHECK(loop.counts().total() == 4);
  for (const Trial& t : loop.trials())
    CHECK(t.reason == "objective metric 'loss' was not reported (reported: accuracy)");
}

TEST_CASE("a run whose first trials all fail the same way stops after budget.fail_fast, "
          "saying why",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 10, "max_failed_trials": 10})"));
  REQUIRE(loop.spec.budget.fail_fast == 3);  // the default
  loop.script = [](const TrialTask&) {
    Script s;
    s.outcome = TrialOutcome::complete({{"accuracy", 1.0}});  // not the objective: FAIL
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kFailFast);
  CHECK(loop.counts().fail == 3);
  CHECK(loop.counts().total() == 3);
  CHECK_THAT(result.detail, Catch::StartsWith("the first 3 trials all failed the same way") &&
                                Catch::Contains("objective.metric 'loss'"));

  // Once a trial of the run succeeds, later failures go on until max_failed_trials.
  Loop mixed(spec_text(R"({"trials": 10, "max_failed_trials": 5})"));
  mixed.script = [](const TrialTask& t) {
    Script s;
    if (t.number > 0) s.outcome = TrialOutcome::complete({{"accuracy", 1.0}});
    return s;
  };
  CHECK(mixed.run().reason == StopReason::kMaxFailed);
  CHECK(mixed.counts().fail == 5);
}

TEST_CASE("a run stops once a COMPLETE trial reaches objective.goal, and a later run starts "
          "none",
          "[engine][run]") {
  std::string text = spec_text(R"({"trials": 200})", "", 2);
  text.replace(text.find(R"("metric": "loss"})"), 17, R"("metric": "loss", "goal": 0.05})");
  Loop loop(text);
  REQUIRE(loop.spec.goal == 0.05);
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kGoalReached);
  const auto complete = loop.trials(TrialState::kComplete);
  REQUIRE_FALSE(complete.empty());
  CHECK(static_cast<int>(complete.size()) < 200);
  const auto best = std::min_element(complete.begin(), complete.end(), [](auto& a, auto& b) {
    return *a.value < *b.value;
  });
  CHECK(*best->value <= 0.05);
  CHECK(result.detail == "goal reached (value " + format_double(*best->value) + " of trial " +
                             std::to_string(best->number) + ")");
  // Only the trial that reached it and those already running when it did ran past it.
  int reached_after = 0;
  for (const Trial& t : complete)
    if (t.number > best->number) ++reached_after;
  CHECK(reached_after <= 1);

  const int before = loop.counts().total();
  const RunResult again = loop.run();
  CHECK(again.reason == StopReason::kGoalReached);
  CHECK(loop.counts().total() == before);
}

TEST_CASE("infrastructure failures are retried with the same parameters, clean exits only when "
          "listed",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 3})", R"(, "retries": 2, "retry_on_exit_codes": [75])"));
  // The first sampled trial dies by a signal twice, the second exits 3 (not listed), the third
  // exits 75 (listed) once; the rest complete. Retries share the checkpoint directory of the
  // trial they re-run (<root>/<number>/checkpoint), which is how the script knows them.
  auto roles = std::make_shared<std::map<int, int>>();
  loop.script = [roles](const TrialTask& t) {
    const int origin = std::stoi(t.checkpoint_dir.parent_path().filename().string());
    const int role = roles->emplace(origin, static_cast<int>(roles->size())).first->second;
    Script s;
    if (role == 0 && t.attempt < 2) {
      s.outcome = TrialOutcome::failed(FailureKind::kSignal, "killed by signal 9 (SIGKILL)");
    } else if (role == 1) {
      s.outcome = TrialOutcome::failed(FailureKind::kExitCode, "exited with status 3");
      s.outcome.exit_code = 3;  // not listed: the program's own verdict
    } else if (role == 2 && t.attempt == 0) {
      s.outcome = TrialOutcome::failed(FailureKind::kExitCode, "exited with status 75");
      s.outcome.exit_code = 75;  // listed: worth another attempt
    } else {
      s.outcome = TrialOutcome::complete({{"loss", 0.5}});
    }
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kBudgetMet);
  const auto trials = loop.trials();
  auto chain = [&](int origin) {
    std::vector<Trial> out;
    for (const Trial& t : trials)
      if (t.number == origin || t.retry_of == origin) out.push_back(t);
    return out;
  };
  // Trial 0 ran three times (attempts 0, 1, 2) with the same parameters and checkpoint.
  const auto chain0 = chain(0);
  REQUIRE(chain0.size() == 3);
  CHECK(chain0[0].reason == "killed by signal 9 (SIGKILL) (retrying: attempt 2 of 3)");
  CHECK(chain0[1].reason == "killed by signal 9 (SIGKILL) (retrying: attempt 3 of 3)");
  CHECK(chain0[2].state == TrialState::kComplete);
  CHECK(chain0[2].attempt == 2);
  for (const Trial& t : chain0) CHECK(t.params == chain0[0].params);
  std::set<std::string> checkpoints;
  for (const TrialTask& task : loop.log.started)
    if (task.params == chain0[0].params) checkpoints.insert(task.checkpoint_dir.string());
  CHECK(checkpoints.size() == 1);
  // The next sampled trial exited 3: not retried.
  const Trial& second = trials[3];
  CHECK(second.attempt == 0);
  CHECK(chain(second.number).size() == 1);
  CHECK(second.reason == "exited with status 3");
  // The third exited 75, which is listed: retried once, then complete.
  const auto chain2 = chain(trials[4].number);
  REQUIRE(chain2.size() == 2);
  CHECK(chain2[0].reason == "exited with status 75 (retrying: attempt 2 of 3)");
  CHECK(chain2[1].state == TrialState::kComplete);
  CHECK(loop.counts().complete == 3);
}

TEST_CASE("a stop request interrupts running trials, which are re-queued for the next run",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 6})", "", 2));
  loop.script = [](const TrialTask&) {
    Script s;
    s.duration = 60s;  // only a stop ends them
    return s;
  };
  StudyCore core(loop.storage, loop.spec, OpenOptions{});
  StudyManager manager(core, loop.options());
  std::atomic<bool> stopper_done{false};
  std::thread stopper([&] {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (loop.storage.count_trials(core.id()).running < 2 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    manager.request_stop();  // from another thread, as a signal handler's would
    stopper_done = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult result = manager.run();
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(result.reason == StopReason::kInterrupted);
  REQUIRE(loop.log.cancels.size() == 2);
  for (const auto& c : loop.log.cancels) {
    CHECK(c.cause == StopCause::kInterrupted);
    CHECK_FALSE(c.kill_now);
  }
  const TrialCounts c = loop.counts();
  CHECK(c.fail == 2);
  CHECK(c.waiting == 2);
  CHECK(c.running == 0);
  const auto failed = loop.trials(TrialState::kFail);
  const auto waiting = loop.trials(TrialState::kWaiting);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(failed[i].reason == "interrupted");
    CHECK(waiting[i].params == failed[i].params);
    CHECK(waiting[i].retry_of == failed[i].number);
  }
  // The next run takes the re-queued trials first and completes the budget.
  loop.script = [](const TrialTask&) { return Script{}; };
  StudyManager again(core, loop.options());
  CHECK(again.run().reason == StopReason::kBudgetMet);
  CHECK(loop.counts().complete == 6);
  CHECK(loop.log.started[2].params == waiting[0].params);
}

TEST_CASE("a stop requested before the run starts stops it at once, and only that run",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 3})"));
  StudyCore core(loop.storage, loop.spec, OpenOptions{});
  StudyManager manager(core, loop.options());
  manager.request_stop();
  const RunResult first = manager.run();
  CHECK(first.reason == StopReason::kInterrupted);
  CHECK(loop.log.started.empty());
  const RunResult second = manager.run();
  CHECK(second.reason == StopReason::kBudgetMet);
  CHECK(loop.counts().complete == 3);
}

TEST_CASE("a dead run's trials are taken over: re-queued when gone, followed when re-attached",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 3})"));
  // A run that died on this host (its process is gone) left two RUNNING trials.
  std::int64_t gone_id = 0, attached_id = 0;
  {
    StudyCore core(loop.storage, loop.spec, OpenOptions{});
    const RunRecord dead{"dead-run", this_host(), dead_pid(), {}, {}};
    loop.storage.heartbeat(core.id(), dead, {});
    NewTrial nt;
    nt.owner = "dead-run";
    nt.params = {{"x", 0.25}, {"k", "a"}};
    gone_id = add(loop, core.id(), nt, "fake:gone");
    nt.params = {{"x", 0.75}, {"k", "b"}};
    attached_id = add(loop, core.id(), nt, "fake:still-running");
  }
  loop.on_recover = [](const TrialTask&, const std::string& where) {
    return where == "fake:still-running" ? Recovery::kReattached : Recovery::kGone;
  };
  loop.reattached = [](const TrialTask&) {
    Script s;
    s.duration = 5ms;
    s.outcome = TrialOutcome::complete({{"loss", 0.125}});
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kBudgetMet);
  REQUIRE(loop.log.recoveries.size() == 2);
  CHECK(loop.log.recoveries[0].where == "fake:gone");
  CHECK(loop.log.recoveries[1].where == "fake:still-running");

  const Trial gone = *loop.storage.get_trial(gone_id);
  CHECK(gone.state == TrialState::kFail);
  CHECK(gone.reason == "interrupted (the run that ran it stopped)");
  const Trial attached = *loop.storage.get_trial(attached_id);
  CHECK(attached.state == TrialState::kComplete);
  CHECK(attached.value == 0.125);
  CHECK(attached.owner != "dead-run");  // taken over by this run
  // The gone trial ran again with its parameters; the re-attached one was not started again.
  bool rerun = false;
  for (const TrialTask& task : loop.log.started) {
    CHECK(task.trial_id != attached_id);
    if (task.params == gone.params) {
      rerun = true;
      CHECK(task.attempt == 1);
      CHECK(task.checkpoint_dir == loop.dir / "trials" / std::to_string(gone.number) /
                                       "checkpoint");
    }
  }
  CHECK(rerun);
  CHECK(loop.counts().complete == 3);
  CHECK(loop.storage.list_runs(loop.study_id()).empty());  // the dead lease is gone too
}

TEST_CASE("the budget timeout stops launching while running trials finish", "[engine][run]") {
  Loop loop(spec_text("{}"));
  loop.script = [](const TrialTask&) {
    Script s;
    s.duration = 30ms;
    return s;
  };
  RunOptions o = loop.options();
  o.timeout = 100ms;
  const RunResult result = loop.run(std::move(o));
  CHECK(result.reason == StopReason::kTimeout);
  CHECK(loop.log.cancels.empty());
  const TrialCounts c = loop.counts();
  CHECK(c.complete >= 1);
  CHECK(c.complete <= 5);
  CHECK(c.running == 0);
}

TEST_CASE("a PRUNED outcome counts toward the budget with its last intermediate value",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 3})"));
  loop.script = [](const TrialTask& t) {
    Script s;
    s.duration = 6ms;
    const double x = t.params.at("x").as_double();
    s.reports = {{1, {{"loss", x + 2}}}, {2, {{"loss", x + 1}, {"acc", 0.5}}}};
    s.outcome = TrialOutcome::pruned("pruned by the script");
    return s;
  };
  const RunResult result = loop.run();
  CHECK(result.reason == StopReason::kBudgetMet);
  const auto pruned = loop.trials(TrialState::kPruned);
  REQUIRE(pruned.size() == 3);
  for (const Trial& t : pruned) {
    CHECK(t.value == t.params.at("x").as_double() + 1);
    CHECK(t.intermediate.size() == 2);
    CHECK(t.reason == "pruned by the script");
  }
}

TEST_CASE("runs sharing a study stop together at the budget and never repeat a seeded draw",
          "[engine][run]") {
  Loop loop(spec_text(R"({"trials": 24})", "", 2));
  loop.script = [](const TrialTask& t) {
    Script s;
    s.duration = std::chrono::milliseconds(1 + t.number % 4);
    s.outcome = TrialOutcome::complete({{"loss", t.params.at("x").as_double()}});
    return s;
  };
  { StudyCore create(loop.storage, loop.spec, OpenOptions{}); }
  std::vector<std::thread> runs;
  std::vector<ScriptLog> logs(3);
  for (int r = 0; r < 3; ++r) {
    runs.emplace_back([&, r] {
      StudyCore core(loop.storage, loop.spec, OpenOptions{});
      RunOptions o = loop.options();
      o.make_executor = [&, r](boost::asio::io_context& io, const StudySpec&, std::size_t p) {
        return std::make_unique<ScriptedExecutor>(io, p, loop.script, logs[r]);
      };
      StudyManager(core, std::move(o)).run();
    });
  }
  for (auto& t : runs) t.join();
  CHECK(loop.counts().complete == 24);
  CHECK(loop.counts().total() == 24);
  std::set<std::string> draws;
  for (const Trial& t : loop.trials()) draws.insert(params_text(t.params));
  CHECK(draws.size() == 24);  // every trial drew for its own number
}

TEST_CASE("a run on this host is alive while its hpo process exists, however old its heartbeat",
          "[engine][run][hardening]") {
  const TimePoint now = Clock::now();
  RunRecord paused{"paused", this_host(), static_cast<int>(::getpid()), now - 1h, now - 1h};
  // Stopped by Ctrl-Z for an hour: paused, not dead (it is this very process here).
  CHECK_FALSE(RunLease::is_dead(paused, this_host(), now, 10s));
  RunRecord gone{"gone", this_host(), dead_pid(), now, now};
  CHECK(RunLease::is_dead(gone, this_host(), now, 10s));
  // Another host's run is judged by its heartbeat alone.
  RunRecord far{"far", "another-host", 1, now - 11s, now - 11s};
  CHECK(RunLease::is_dead(far, this_host(), now, 10s));
  far.heartbeat = now - 5s;
  CHECK_FALSE(RunLease::is_dead(far, this_host(), now, 10s));
}

}  // namespace
}  // namespace hpo::testing
