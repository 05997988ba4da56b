// The executor conformance suite: one set of cases, written once, that every Executor backend
// must pass (DESIGN.md: executors are interchangeable). Each backend runs the same trial
// "script", the action language of hpo_test_child (test_child.cpp):
//   - subprocess: hpo_test_child with the script as its arguments;
//   - threads: the objective `script_objective` of the hpo_test_plugin shared library
//     (test_plugin.cpp), loaded through the real plugin loader, with the script as a parameter;
//   - kubernetes: a Job whose container runs hpo_test_child with the script as its args,
//     created through the real KubernetesExecutor against the stand-in API server
//     (tests/kube), which runs containers as local processes.
// {name} in a script element is the trial's parameter `name`.
// A backend joins by adding a fixture with the same three members (and, when parts of it live
// on another thread of this process, a settle() that waits for them to close).
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/model/duration.h"
#include "executors/objective_sources.h"
#include "executors/subprocess_executor.h"
#include "executors/threads_executor.h"
#include "tests/executors/executor_harness.h"
#include "tests/executors/kubernetes_backend.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Contains;
using Script = std::vector<std::string>;

struct SubprocessBackend {
  static constexpr const char* kName = "subprocess";
  std::unique_ptr<Executor> make(boost::asio::io_context& io, const Script& script,
                                 const Settings& s) {
    SubprocessOptions options;
    options.command = {HPO_TEST_CHILD};
    options.command.insert(options.command.end(), script.begin(), script.end());
    options.timeout = s.timeout;
    return std::make_unique<SubprocessExecutor>(io, options, s.parallelism);
  }
};

struct ThreadsBackend {
  static constexpr const char* kName = "threads";
  std::unique_ptr<Executor> make(boost::asio::io_context& io, const Script& script,
                                 const Settings& s) {
    std::string joined;
    for (const auto& element : script) joined += (joined.empty() ? "" : "\n") + element;
    Objective plugin = load_plugin_objective(HPO_TEST_PLUGIN, "script_objective");
    Objective objective = [plugin, joined](const ParamSet& params, ObjectiveContext& trial) {
      ParamSet with_script = params;
      with_script["script"] = joined;
      return plugin(with_script, trial);
    };
    ThreadsExecutorOptions options;
    options.timeout = s.timeout;
    return std::make_unique<ThreadsExecutor>(io, objective, s.parallelism, options);
  }
};

struct KubernetesBackend {
  static constexpr const char* kName = "kubernetes";
  std::unique_ptr<Executor> make(boost::asio::io_context& io, const Script& script,
                                 const Settings& s) {
    KubernetesOptions options;
    options.job_template = job_template_for({HPO_TEST_CHILD}, script);
    options.timeout = s.timeout;
    return std::make_unique<StandinExecutor>(io, options, s.parallelism);
  }
  // The stand-in runs on a thread of this process: its side of closed connections goes a
  // moment later.
  static void settle(Executor& executor) {
    REQUIRE(static_cast<StandinExecutor&>(executor).wait_connections_closed());
  }
};

// Waits until what `executor` closed is closed on every side (see KubernetesBackend::settle).
template <typename Backend>
void settle(Executor& executor) {
  if constexpr (requires { Backend::settle(executor); }) Backend::settle(executor);
}

// The most trials alive at one instant. A trial's code runs from its "<id> B" stamp to its
// "<id> E" stamp; one without an end stamp (a process killed before it could write it) is
// counted alive until its on_finished. The executor learns of an end only after it happened,
// so an on_finished later than the end stamp does not extend the trial: its slot may already
// run the next trial. At equal times a start counts before an end.
std::size_t max_overlap(const fs::path& stamps,
                        const std::map<std::int64_t, std::int64_t>& finished_at) {
  std::map<std::int64_t, std::int64_t> begin, end;
  std::ifstream in(stamps);
  std::int64_t id = 0, ns = 0;
  std::string kind;
  while (in >> id >> kind >> ns) (kind == "B" ? begin : end)[id] = ns;
  std::vector<std::pair<std::int64_t, int>> events;
  for (const auto& [trial, b] : begin) {
    std::int64_t e = b;
    if (end.count(trial))
      e = end[trial];
    else if (finished_at.count(trial))
      e = std::max(e, finished_at.at(trial));
    events.push_back({b, +1});
    events.push_back({e, -1});
  }
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  std::size_t live = 0, most = 0;
  for (const auto& [t, delta] : events) {
    live += delta;
    most = std::max(most, live);
  }
  return most;
}

// True once nothing a trial started still runs: every process of a subprocess trial has been
// reaped when its trial finished; a threads objective call may outlive its trial.
bool no_trial_code_runs(const Executor& executor) {
  if (const auto* threads = dynamic_cast<const ThreadsExecutor*>(&executor))
    return threads->active_calls() == 0;
  return executor.running() == 0;
}

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

#define CONFORMANCE_CASE(name) \
  TEMPLATE_TEST_CASE(name, "[executors][conformance]", SubprocessBackend, ThreadsBackend, \
                     KubernetesBackend)

// ---------------------------------------------------------------------------------------------

CONFORMANCE_CASE("a trial that succeeds completes with the metrics it reported") {
  Harness<TestType> h;
  auto executor = h.make({"out", "loss={x}", "out", "acc=0.5"});
  const TrialOutcome outcome = h.run_one(*executor, {{"x", 0.25}});
  INFO(TestType::kName << ": " << outcome.reason);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.25}, {"acc", 0.5}});
  CHECK(outcome.reason.empty());
  CHECK(executor->running() == 0);
}

CONFORMANCE_CASE("intermediate reports arrive in order, all before the trial's end") {
  Harness<TestType> h;
  Script script;
  for (int i = 0; i < 100; ++i)
    script.insert(script.end(),
                  {"out", "step=" + std::to_string(i) + " loss=" + std::to_string(1000 - i)});
  script.insert(script.end(), {"out", "loss=7"});
  auto executor = h.make(script);
  std::size_t reports_at_end = 0;
  h.on_finished = [&](std::int64_t) { reports_at_end = h.sink.intermediates.size(); };
  const TrialOutcome outcome = h.run_one(*executor);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 7}});
  const auto reports = h.sink.intermediates_of(1);
  REQUIRE(reports.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(reports[i].step == i);
    CHECK(reports[i].metrics == Metrics{{"loss", 1000 - i}});
  }
  CHECK(reports_at_end == 100);
}

CONFORMANCE_CASE("a trial that fails is a FAIL with its reason, and the next trial runs") {
  Harness<TestType> h;
  auto executor = h.make({"err", "{message}", "exit", "{code}", "out", "loss=1"});
  const TrialOutcome failed =
      h.run_one(*executor, {{"message", "ValueError: C must be positive"}, {"code", 3}});
  CHECK(failed.state == TrialState::kFail);
  CHECK(failed.failure != FailureKind::kNone);
  CHECK_THAT(failed.reason, Contains("ValueError: C must be positive"));

  const TrialOutcome next = h.run_one(*executor, {{"message", "fine"}, {"code", 0}});
  CHECK(next.ok());
}

CONFORMANCE_CASE("a trial past its timeout is a FAIL that says so, and the next trial runs") {
  Harness<TestType> h;
  Settings settings;
  // Not a whole number of seconds: a Kubernetes Job also gets the timeout, rounded up, as its
  // activeDeadlineSeconds, and the executor's own timer is to be first.
  settings.timeout = scaled(250ms);
  auto executor = h.make({"out", "step=0 ready=1", "sleep", "{ms}", "out", "loss=1"}, settings);
  const TrialOutcome timed_out = h.run_one(*executor, {{"ms", 60000}});
  CHECK(timed_out.state == TrialState::kFail);
  CHECK(timed_out.failure == FailureKind::kTimeout);
  CHECK(timed_out.reason == "timed out after " + format_duration(scaled(250ms)));
  CHECK(h.sink.intermediates_of(1).size() == 1);  // it did run before it timed out

  const TrialOutcome next = h.run_one(*executor, {{"ms", 0}});
  INFO(next.reason);
  CHECK(next.ok());
  CHECK(executor->running() == 0);
}

CONFORMANCE_CASE("cancel interrupts a running trial, unknown and finished trials are ignored") {
  Harness<TestType> h;
  auto executor = h.make({"out", "step=0 ready=1", "sleep", "{ms}", "out", "loss=1"});
  executor->cancel(12345, StopCause::kInterrupted);  // unknown: nothing happens
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, StopCause::kInterrupted);
  };
  const TrialOutcome cancelled = h.run_one(*executor, {{"ms", 60000}});
  CHECK(cancelled.state == TrialState::kFail);
  CHECK(cancelled.failure == FailureKind::kInterrupted);
  CHECK(cancelled.reason == "interrupted");

  h.sink.on_intermediate_hook = nullptr;
  const TrialOutcome done = h.run_one(*executor, {{"ms", 0}});
  CHECK(done.ok());
  executor->cancel(2, StopCause::kInterrupted);  // finished: nothing happens
  h.io.restart();
  h.io.poll();
  CHECK(h.sink.finish_count(2) == 1);
}

CONFORMANCE_CASE("cancel with kill_now ends a trial that ignores stop requests") {
  Harness<TestType> h;
  auto executor = h.make({"out", "step=0 ready=1", "busy", "{ms}", "out", "loss=1"});
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, StopCause::kInterrupted, /*kill_now=*/true);
  };
  // The threads backend stops waiting for the objective (it keeps its thread for 3 s more).
  const TrialOutcome outcome = h.run_one(*executor, {{"ms", 3000}});
  CHECK(outcome.failure == FailureKind::kInterrupted);
  CHECK_THAT(outcome.reason, Contains("interrupted"));
}

CONFORMANCE_CASE("the cause of a cancel reaches the outcome: pruned, timed out, interrupted") {
  Harness<TestType> h;
  auto executor = h.make({"out", "step=0 ready=1", "sleep", "{ms}", "out", "loss=1"});
  StopCause cause = StopCause::kPruned;
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, cause);
    executor->cancel(r.trial_id, StopCause::kInterrupted);  // the first cause stays
  };
  const TrialOutcome pruned = h.run_one(*executor, {{"ms", 60000}});
  CHECK(pruned.state == TrialState::kPruned);
  CHECK_THAT(pruned.reason, Contains("pruned"));
  CHECK(h.sink.intermediates_of(1).size() == 1);  // what it reported before stays

  cause = StopCause::kTimedOut;
  const TrialOutcome timed_out = h.run_one(*executor, {{"ms", 60000}});
  CHECK(timed_out.state == TrialState::kFail);
  CHECK(timed_out.failure == FailureKind::kTimeout);
  CHECK_THAT(timed_out.reason, Contains("timed out"));
}

CONFORMANCE_CASE("recover of a where it does not know touches nothing and says kGone") {
  Harness<TestType> h;
  auto executor = h.make({"out", "loss=1"});
  TrialTask task;
  task.trial_id = 77;
  task.number = 3;
  task.study = "conformance";
  task.trial_dir = h.dir / "77";
  CHECK(executor->recover(task, "", h.sink) == Recovery::kGone);
  CHECK(executor->recover(task, "pgid:1@another-host", h.sink) == Recovery::kGone);
  CHECK(executor->recover(task, "job:ns/name", h.sink) == Recovery::kGone);
  CHECK(executor->running() == 0);
  h.io.restart();
  h.io.poll();
  CHECK(h.sink.finish_count(77) == 0);
  CHECK(h.run_one(*executor, {}).ok());  // and it still runs trials
}

CONFORMANCE_CASE("no more trials than the parallelism run at once, and that many do") {
  Harness<TestType> h;
  constexpr std::size_t kParallel = 3;
  constexpr int kTrials = 12;
  const fs::path stamps = h.dir / "stamps";
  Settings settings;
  settings.parallelism = kParallel;
  // The first three wait for each other at a barrier: they must run side by side. The rest
  // pass their barrier alone.
  auto executor = h.make({"stamp", stamps.string(), "{id} B", "barrier", "{dir}", "{n}", "sleep",
                          "20", "stamp", stamps.string(), "{id} E", "out", "loss=1"},
                         settings);
  int started = 0;
  const auto start_next = [&] {
    const bool first = started < static_cast<int>(kParallel);
    h.start(*executor,
            {{"dir", (h.dir / (first ? "barrier" : "solo-" + std::to_string(started))).string()},
             {"n", first ? static_cast<int>(kParallel) : 1}});
    ++started;
  };
  h.on_finished = [&](std::int64_t) {
    if (started < kTrials) start_next();
  };
  while (started < static_cast<int>(kParallel)) start_next();
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == kTrials; }));
  for (const auto& [id, outcome] : h.sink.finished) {
    INFO("trial " << id << ": " << outcome.reason);
    CHECK(outcome.ok());
  }
  CHECK(h.most_running == kParallel);
  CHECK(max_overlap(stamps, h.finished_at) == kParallel);
}

CONFORMANCE_CASE("the parallelism cap holds while timed-out trials are still stopping") {
  Harness<TestType> h;
  constexpr std::size_t kParallel = 2;
  constexpr int kTrials = 8;
  const fs::path stamps = h.dir / "stamps";
  Settings settings;
  settings.parallelism = kParallel;
  settings.timeout = scaled(150ms);
  // The first two ignore stop requests for 400 ms (times the sanitizer scale, as the timeout). The subprocess backend kills them; the
  // threads backend reports them timed out at once but cannot take their threads back, so
  // later trials wait for a thread (and may time out waiting).
  auto executor = h.make({"stamp", stamps.string(), "{id} B", "busy", "{ms}", "stamp",
                          stamps.string(), "{id} E", "out", "loss=1"},
                         settings);
  int started = 0;
  const auto start_next = [&] {
    h.start(*executor, {{"ms", started < static_cast<int>(kParallel) ? scaled_ms(400) : 10}});
    ++started;
  };
  h.on_finished = [&](std::int64_t) {
    if (started < kTrials) start_next();
  };
  while (started < static_cast<int>(kParallel)) start_next();
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == kTrials; }));
  CHECK(h.sink.outcome(1)->failure == FailureKind::kTimeout);
  CHECK(h.sink.outcome(2)->failure == FailureKind::kTimeout);
  for (std::int64_t id = 1; id <= kTrials; ++id) CHECK(h.sink.finish_count(id) == 1);
  // Let the stragglers write their end stamps before measuring: no trial code runs any more (a
  // killed process wrote none; an objective call the executor stopped waiting for returns).
  REQUIRE(wait_until([&] { return no_trial_code_runs(*executor); }, 20s));
  CHECK(max_overlap(stamps, h.finished_at) <= kParallel);
  CHECK(h.most_running <= kParallel);
}

CONFORMANCE_CASE("1,000 short trials leak no threads, descriptors or child processes") {
  Harness<TestType> h;
  constexpr std::size_t kParallel = 8;
  Settings settings;
  settings.parallelism = kParallel;
  // The first round meets at a barrier, so that every thread or descriptor the backend creates
  // lazily exists before counting; later trials have no "barrier" parameter, and the elements
  // that name it are dropped.
  auto executor = h.make({"{barrier}", "{dir}", "{n}", "out", "loss={x}"}, settings);
  std::size_t started = 0;
  std::size_t target = kParallel;
  const auto start_next = [&] {
    ParamSet params{{"x", static_cast<std::int64_t>(started)}};
    if (started < kParallel) {
      params["barrier"] = "barrier";
      params["dir"] = (h.dir / "warm-up").string();
      params["n"] = static_cast<int>(kParallel);
    }
    h.start(*executor, params);
    ++started;
  };
  h.on_finished = [&](std::int64_t) {
    if (started < target) start_next();
  };
  while (started < kParallel) start_next();
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == target; }));
  for (const auto& [id, outcome] : h.sink.finished) {
    INFO(outcome.reason);
    REQUIRE(outcome.ok());
  }

  settle<TestType>(*executor);
  const std::size_t fds_before = open_fd_count();
  const long threads_before = thread_count();
  target += 1000;
  while (executor->running() < kParallel) start_next();
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == target; }, 120s));

  settle<TestType>(*executor);
  CHECK(open_fd_count() == fds_before);
  CHECK(thread_count() == threads_before);
  CHECK(child_process_count() == 0);
  CHECK(executor->running() == 0);
  CHECK(h.most_running == kParallel);
  std::size_t good = 0;
  for (const auto& [id, outcome] : h.sink.finished) {
    // Trial ids start at 1 and x at 0.
    good += outcome.ok() && outcome.metrics == Metrics{{"loss", static_cast<double>(id - 1)}};
  }
  CHECK(good == target);
}

CONFORMANCE_CASE("io_context::run returns by itself once every trial has finished") {
  Harness<TestType> h;
  Settings settings;
  settings.parallelism = 3;
  auto executor = h.make({"sleep", "50", "out", "loss=1"}, settings);
  for (int i = 0; i < 3; ++i) h.start(*executor);
  std::atomic<bool> done = false, watchdog_fired = false;
  std::thread watchdog([&] {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!done && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(5ms);
    if (!done) {
      watchdog_fired = true;
      h.io.stop();
    }
  });
  h.io.run();
  done = true;
  watchdog.join();
  CHECK_FALSE(watchdog_fired);
  CHECK(h.sink.finished.size() == 3);
}

CONFORMANCE_CASE("destroying the executor with trials running calls the sink no more") {
  Harness<TestType> h;
  {
    Settings settings;
    settings.parallelism = 2;
    auto executor = h.make({"out", "step=0 ready=1", "sleep", "60000"}, settings);
    h.start(*executor);
    REQUIRE(h.run_until([&] { return h.sink.intermediates.size() == 1; }));
    h.start(*executor);  // one that may not have begun yet
  }
  h.io.restart();
  h.io.poll();
  std::this_thread::sleep_for(50ms);
  h.io.restart();
  h.io.poll();
  CHECK(h.sink.finished.empty());
  CHECK(child_process_count() == 0);
}

}  // namespace
}  // namespace hpo::testing
