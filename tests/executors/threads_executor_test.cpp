// ThreadsExecutor beyond the conformance suite: C++ objectives, plugin loading and its errors,
// builtin objectives and their spec checks, lazy trial directories, what a timeout or a cancel
// does to an objective that does not stop, and the worker threads TBB is given.
#include "executors/threads_executor.h"

#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <tbb/parallel_for.h>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "hpo/errors.h"
#include "engine/model/study_spec.h"
#include "engine/model/duration.h"
#include "executors/builtin_functions.h"
#include "hpo/plugin.h"
#include "executors/executor_registry.h"
#include "executors/objective_sources.h"
#include "tests/executors/executor_harness.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Contains;
using Catch::StartsWith;

struct NoBackend {};
using ThreadsHarness = Harness<NoBackend>;

std::unique_ptr<ThreadsExecutor> make_executor(ThreadsHarness& h, Objective objective,
                                               std::size_t parallelism = 1,
                                               ThreadsExecutorOptions options = {}) {
  return std::make_unique<ThreadsExecutor>(h.io, std::move(objective), parallelism, options);
}

// The test plugin's script objective with `script` (test_plugin.cpp) as its parameter.
Objective script(const std::vector<std::string>& elements) {
  std::string joined;
  for (const auto& e : elements) joined += (joined.empty() ? "" : "\n") + e;
  Objective plugin = load_plugin_objective(HPO_TEST_PLUGIN, "script_objective");
  return [plugin, joined](const ParamSet& params, ObjectiveContext& trial) {
    ParamSet p = params;
    p["script"] = joined;
    return plugin(p, trial);
  };
}

// Tracks how many calls run at once.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  void enter() {
    const int n = ++now;
    int m = most.load();
    while (n > m && !most.compare_exchange_weak(m, n)) {
    }
  }
  void leave() { --now; }
};

// The spec as `hpo validate` checks it: the generic keys, then the threads executor's checker
// from the executor registry. Returns the issues found (empty when the spec is accepted).
std::vector<SpecIssue> threads_issues(const std::string& space_json,
                                      const std::string& executor_json,
                                      const std::string& metric = "value") {
  ComponentCatalog catalog;
  catalog.samplers.push_back({"random", "", {}, {}});
  for (const auto& r : executor_registry()) catalog.executors.push_back(r.info);
  try {
    parse_study_spec(R"({"name": "t", "direction": "minimize", "objective": {"metric": ")" +
                         metric + R"("}, "space": )" + space_json + R"(, "executor": )" +
                         executor_json + "}",
                     fs::path(HPO_TEST_PLUGIN).parent_path(), catalog);
  } catch (const InputError& e) {
    return e.issues();
  }
  return {};
}

const std::string kXY =
    R"({"x1": {"type": "float", "low": -5, "high": 10}, "x2": {"type": "float", "low": 0, "high": 15}})";

// ---------------------------------------------------------------------------------------------
// C++ objectives

TEST_CASE("the threads executor refuses a missing objective and zero parallelism",
          "[executors][threads]") {
  boost::asio::io_context io;
  CHECK_THROWS_AS(ThreadsExecutor(io, Objective{}, 1), ExecutorError);
  CHECK_THROWS_AS(ThreadsExecutor(
                      io, [](const ParamSet&, ObjectiveContext&) { return 1.0; }, 0),
                  ExecutorError);
  ThreadsExecutor executor(
      io, [](const ParamSet&, ObjectiveContext&) { return 1.0; }, 3);
  CHECK(executor.capacity() == 3);
  CHECK(executor.running() == 0);
  CHECK_FALSE(executor.uses_trial_dirs());
}

TEST_CASE("a number returned by an objective is the study's metric, a map is taken whole",
          "[executors][threads]") {
  ThreadsHarness h;
  ThreadsExecutorOptions options;
  options.metric = "loss";
  auto number = make_executor(
      h, [](const ParamSet& p, ObjectiveContext&) { return p.at("x").as_double() * 2; }, 1,
      options);
  auto outcome = h.run_one(*number, {{"x", 1.5}});
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 3.0}});

  auto map = make_executor(
      h,
      [](const ParamSet&, ObjectiveContext&) -> ObjectiveResult {
        return {{"loss", 0.5}, {"accuracy", 0.9}};
      },
      1, options);
  outcome = h.run_one(*map);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.5}, {"accuracy", 0.9}});
}

TEST_CASE("the context gives the trial's number, study and attempt and forwards reports",
          "[executors][threads]") {
  ThreadsHarness h;
  std::string seen;
  auto executor = make_executor(h, [&](const ParamSet&, ObjectiveContext& trial) {
    seen = trial.study() + "#" + std::to_string(trial.trial_number()) + "@" +
           std::to_string(trial.attempt());
    trial.report(1, {{"value", 3}});
    trial.report(2, {{"value", 2}, {"other", 1}});
    return 1.0;
  });
  TrialTask task = h.task(*executor);
  task.number = 41;
  task.attempt = 2;
  executor->start(task, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 1; }));
  CHECK(seen == "conformance#41@2");
  const auto reports = h.sink.intermediates_of(task.trial_id);
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].step == 1);
  CHECK(reports[1].metrics == Metrics{{"value", 2}, {"other", 1}});
}

TEST_CASE("an exception in an objective is a FAIL with its message, the run goes on",
          "[executors][threads]") {
  ThreadsHarness h;
  auto executor = make_executor(h, [](const ParamSet& p, ObjectiveContext&) -> ObjectiveResult {
    if (p.at("x").as_int() == 1) throw std::invalid_argument("x must not be 1");
    if (p.at("x").as_int() == 2) throw 42;
    return 0.0;
  });
  auto outcome = h.run_one(*executor, {{"x", 1}});
  CHECK(outcome.state == TrialState::kFail);
  CHECK(outcome.failure == FailureKind::kObjective);
  CHECK(outcome.reason == "x must not be 1");
  outcome = h.run_one(*executor, {{"x", 2}});
  CHECK(outcome.failure == FailureKind::kObjective);
  CHECK(outcome.reason == "the objective threw an exception of unknown type");
  CHECK(h.run_one(*executor, {{"x", 3}}).ok());
}

TEST_CASE("throwing TrialPruned prunes the trial", "[executors][threads]") {
  ThreadsHarness h;
  auto executor = make_executor(h, [](const ParamSet&, ObjectiveContext& trial) -> ObjectiveResult {
    trial.report(1, {{"value", 9}});
    throw TrialPruned("worse than the median at step 1");
  });
  const auto outcome = h.run_one(*executor);
  CHECK(outcome.state == TrialState::kPruned);
  CHECK(outcome.reason == "worse than the median at step 1");
}

TEST_CASE("a threads objective is pruned cooperatively through should_prune()",
          "[executors][threads][pruning]") {
  ThreadsHarness h;
  std::atomic<bool> stop_seen{false};
  auto executor = make_executor(h, [&](const ParamSet&, ObjectiveContext& trial) -> ObjectiveResult {
    CHECK_FALSE(trial.should_prune());
    double loss = 1.0;
    for (int epoch = 1; epoch <= 20000; ++epoch) {
      loss *= 0.999;
      trial.report(epoch, {{"value", loss}});
      if (trial.should_prune()) {
        stop_seen = trial.should_stop();  // a prune is also a stop
        return loss;  // returning after the yes: PRUNED all the same
      }
      std::this_thread::sleep_for(1ms);
    }
    return loss;
  });
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    if (r.step == 3) executor->cancel(r.trial_id, StopCause::kPruned);
  };
  const auto outcome = h.run_one(*executor);
  CHECK(outcome.state == TrialState::kPruned);
  CHECK(stop_seen);
  CHECK(h.sink.intermediates_of(1).size() < 20000);
}

TEST_CASE("an objective that returns before it was told of the prune is COMPLETE",
          "[executors][threads][pruning]") {
  ThreadsHarness h;
  std::atomic<bool> pruned{false};
  auto executor = make_executor(h, [&](const ParamSet&, ObjectiveContext& trial) -> ObjectiveResult {
    trial.report(1, {{"value", 2.0}});
    // Finishes without asking: the prune lands while it is already done.
    for (int i = 0; i < 20000 && !pruned; ++i) std::this_thread::sleep_for(1ms);
    return 1.5;
  });
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, StopCause::kPruned);
    pruned = true;
  };
  const auto outcome = h.run_one(*executor);
  CHECK(outcome.state == TrialState::kComplete);
  CHECK(outcome.metrics == Metrics{{"value", 1.5}});
}

TEST_CASE("a plugin sees should_prune through the C ABI", "[executors][threads][plugin][pruning]") {
  ThreadsHarness h;
  auto executor = make_executor(h, script({"out", "step=1 loss=2", "until-pruned"}), 1);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, StopCause::kPruned);
  };
  const auto outcome = h.run_one(*executor);
  CHECK(outcome.state == TrialState::kPruned);
}

TEST_CASE("trial directories are created only when the objective asks for them",
          "[executors][threads]") {
  ThreadsHarness h;
  fs::path asked;
  auto executor = make_executor(h, [&](const ParamSet& p, ObjectiveContext& trial) {
    if (p.at("ask").as_bool()) asked = trial.checkpoint_dir();
    return 0.0;
  });
  TrialTask quiet = h.task(*executor, {{"ask", false}});
  const fs::path quiet_dir = quiet.trial_dir;
  executor->start(quiet, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 1; }));
  CHECK_FALSE(fs::exists(quiet_dir));

  TrialTask asking = h.task(*executor, {{"ask", true}});
  const fs::path checkpoint = asking.checkpoint_dir;
  executor->start(asking, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 2; }));
  CHECK(h.sink.outcome(asking.trial_id)->ok());
  CHECK(fs::is_directory(checkpoint));
  CHECK(asked == fs::absolute(checkpoint));

  // A trial without directories fails when it asks for one.
  TrialTask none = h.task(*executor, {{"ask", true}});
  none.checkpoint_dir.clear();
  executor->start(none, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 3; }));
  CHECK(h.sink.outcome(none.trial_id)->reason == "this trial has no checkpoint directory");
}

// ---------------------------------------------------------------------------------------------
// Stopping objectives that do not stop

TEST_CASE("a timed-out objective keeps its thread: a trial queued behind it does not start",
          "[executors][threads]") {
  ThreadsHarness h;
  Concurrency calls;
  ThreadsExecutorOptions options;
  options.timeout = scaled(100ms);
  const std::string timed_out = "timed out after " + format_duration(scaled(100ms));
  std::atomic<bool> release{false};
  auto executor = make_executor(
      h,
      [&](const ParamSet& p, ObjectiveContext&) {
        calls.enter();
        // The first trial ignores the stop request until the test lets it go.
        if (p.at("hold").as_bool())
          while (!release) std::this_thread::sleep_for(1ms);
        calls.leave();
        return 1.0;
      },
      1, options);
  // Trial 2 starts when trial 1 is reported timed out and times out itself, waiting for the one
  // thread that trial 1 still holds.
  h.on_finished = [&](std::int64_t id) {
    if (id == 1) h.start(*executor, {{"hold", false}});
  };
  h.start(*executor, {{"hold", true}});
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 2; }));
  CHECK(h.sink.outcome(1)->reason == timed_out);
  CHECK_THAT(h.sink.outcome(2)->reason, StartsWith(timed_out + " (it never started"));
  CHECK(executor->running() == 0);
  CHECK(executor->active_calls() == 1);  // trial 1, still held

  release = true;
  REQUIRE(h.run_until([&] { return executor->active_calls() == 0; }));
  h.on_finished = nullptr;
  const TrialOutcome after = h.run_one(*executor, {{"hold", false}});
  INFO(after.reason);
  CHECK(after.ok());
  CHECK(calls.most == 1);
}

TEST_CASE("cancel waits for the objective to return, up to the grace period",
          "[executors][threads]") {
  ThreadsHarness h;
  ThreadsExecutorOptions options;
  options.cancel_grace = 100ms;
  std::atomic<bool> release{false};
  auto executor = make_executor(
      h,
      [&](const ParamSet& p, ObjectiveContext& trial) -> ObjectiveResult {
        trial.report(0, {{"ready", 1}});
        const bool polite = p.at("polite").as_bool();
        while (!(polite ? trial.should_stop() : release.load())) std::this_thread::sleep_for(1ms);
        return {{"value", 4}, {"epochs", 2}};
      },
      2, options);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor->cancel(r.trial_id, StopCause::kInterrupted);
  };
  // A polite objective returns: interrupted, with what it returned.
  auto outcome = h.run_one(*executor, {{"polite", true}});
  CHECK(outcome.failure == FailureKind::kInterrupted);
  CHECK(outcome.reason == "interrupted");
  CHECK(outcome.metrics == Metrics{{"value", 4}, {"epochs", 2}});
  // One that ignores should_stop() is given up on after the grace period.
  outcome = h.run_one(*executor, {{"polite", false}});
  CHECK(outcome.failure == FailureKind::kInterrupted);
  CHECK(outcome.reason ==
        "interrupted (the objective did not return within 100ms of the request to stop)");
  release = true;
  REQUIRE(h.run_until([&] { return executor->active_calls() == 0; }));
}

TEST_CASE("a trial cancelled before its call began never calls the objective",
          "[executors][threads]") {
  ThreadsHarness h;
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  auto executor = make_executor(h, [&](const ParamSet&, ObjectiveContext&) {
    ++calls;
    while (!release) std::this_thread::sleep_for(1ms);
    return 1.0;
  });
  // Two trials on one thread: the second waits in the queue, and is cancelled there.
  const auto first = h.start(*executor);
  REQUIRE(h.run_until([&] { return calls == 1; }));
  executor->start(h.task(*executor), h.sink);
  executor->cancel(first + 1, StopCause::kInterrupted);
  REQUIRE(h.run_until([&] { return h.sink.outcome(first + 1) != nullptr; }));
  CHECK(h.sink.outcome(first + 1)->reason == "interrupted");
  release = true;
  REQUIRE(h.run_until([&] { return h.sink.outcome(first) != nullptr; }));
  CHECK(h.sink.outcome(first)->ok());
  REQUIRE(h.run_until([&] { return executor->active_calls() == 0; }));
  CHECK(calls == 1);
}

// ---------------------------------------------------------------------------------------------
// Threads

TEST_CASE("each executor gets its own parallelism, beyond the machine's cores",
          "[executors][threads]") {
  ThreadsHarness h;
  constexpr int kWide = 6;
  std::atomic<int> arrived{0};
  // kWide calls meet: none returns before all have begun, so they must run side by side.
  Objective meet = [&](const ParamSet&, ObjectiveContext&) -> ObjectiveResult {
    ++arrived;
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (arrived < kWide && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    if (arrived < kWide) throw std::runtime_error("the others never came");
    return 1.0;
  };
  auto narrow = make_executor(
      h, [](const ParamSet&, ObjectiveContext&) { return 0.0; }, 1);
  auto wide = make_executor(h, meet, kWide);
  for (int i = 0; i < kWide; ++i) h.start(*wide);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == kWide; }));
  for (const auto& [id, outcome] : h.sink.finished) {
    INFO(outcome.reason);
    CHECK(outcome.ok());
  }
  CHECK(h.run_one(*narrow).ok());
}

TEST_CASE("an objective that runs TBB work of its own never runs a second trial meanwhile",
          "[executors][threads]") {
  ThreadsHarness h;
  Concurrency calls;
  std::atomic<bool> nested{false};
  static thread_local int depth = 0;
  auto executor = make_executor(
      h,
      [&](const ParamSet&, ObjectiveContext&) {
        if (++depth > 1) nested = true;
        calls.enter();
        tbb::parallel_for(0, 64, [](int) { std::this_thread::sleep_for(100us); });
        calls.leave();
        --depth;
        return 1.0;
      },
      2);
  int started = 0;
  h.on_finished = [&](std::int64_t) {
    if (started < 40) {
      h.start(*executor);
      ++started;
    }
  };
  for (; started < 2; ++started) h.start(*executor);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 40; }));
  CHECK_FALSE(nested);
  CHECK(calls.most <= 2);
}

// ---------------------------------------------------------------------------------------------
// Plugins

TEST_CASE("a plugin objective reports, completes, fails, prunes and throws through the C ABI",
          "[executors][threads][plugin]") {
  ThreadsHarness h;
  auto executor =
      make_executor(h, script({"out", "step=1 loss=2", "out", "loss={x}", "{then}", "{arg}"}), 1);
  auto outcome = h.run_one(*executor, {{"x", 0.5}, {"then", "exit"}, {"arg", 0}});
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.5}});
  CHECK(h.sink.intermediates_of(1).size() == 1);

  outcome = h.run_one(*executor, {{"x", 0.5}, {"then", "prune"}, {"arg", "plateaued"}});
  CHECK(outcome.state == TrialState::kPruned);
  CHECK(outcome.reason == "plateaued");

  outcome = h.run_one(*executor, {{"x", 0.5}, {"then", "throw"}, {"arg", "boom"}});
  CHECK(outcome.failure == FailureKind::kObjective);
  CHECK(outcome.reason == "boom");

  outcome = h.run_one(*executor, {{"x", 0.5}, {"then", "status"}, {"arg", 7}});
  CHECK(outcome.state == TrialState::kFail);
  CHECK(outcome.reason ==
        "script_objective returned 7, which is not HPO_COMPLETE, HPO_FAIL or HPO_PRUNED");

  outcome = h.run_one(*executor, {{"x", 0.5}, {"then", "status"}, {"arg", HPO_FAIL}});
  CHECK(outcome.reason == "script_objective returned HPO_FAIL");
}

TEST_CASE("a plugin finds its checkpoint directory, created on demand",
          "[executors][threads][plugin]") {
  ThreadsHarness h;
  auto executor = make_executor(h, script({"checkpoint", "state.bin"}));
  TrialTask task = h.task(*executor);
  const fs::path checkpoint = task.checkpoint_dir;
  executor->start(task, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 1; }));
  INFO(h.sink.finished[0].second.reason);
  CHECK(h.sink.finished[0].second.ok());
  CHECK(read_file(checkpoint / "state.bin") == "saved\n");
}

TEST_CASE("a plugin written in C runs as a threads objective", "[executors][threads][plugin]") {
  ThreadsHarness h;
  auto executor = make_executor(h, load_plugin_objective(HPO_TEST_PLUGIN_C, "quadratic"));
  TrialTask task = h.task(*executor, {{"x", 3.0}});
  task.number = 17;
  executor->start(task, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 1; }));
  const auto& outcome = h.sink.finished[0].second;
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics ==
        Metrics{{"value", 4.0}, {"number", 17}, {"study_name_length", 11}});  // "conformance"
  const auto reports = h.sink.intermediates_of(task.trial_id);
  REQUIRE(reports.size() == 3);
  CHECK(reports[2].metrics.at("value") == Approx(4.0 * (1 + 1.0 / 3)));

  const auto failed = h.run_one(*executor, {{"y", 1.0}});
  CHECK(failed.reason == "quadratic needs a numeric parameter x");
}

TEST_CASE("a plugin that cannot be used is an ExecutorError naming the problem",
          "[executors][threads][plugin]") {
  TempDir dir;
  CHECK_THROWS_WITH(load_plugin_objective(dir / "libnothing.so"),
                    "executor.library: no such file '" + (dir / "libnothing.so").string() + "'");
  write_file(dir / "libgarbage.so", "not an ELF file");
  CHECK_THROWS_WITH(
      load_plugin_objective(dir / "libgarbage.so"),
      StartsWith("executor.library: cannot load '" + (dir / "libgarbage.so").string() + "': "));
  CHECK_THROWS_WITH(load_plugin_objective(HPO_TEST_PLUGIN_NO_VERSION),
                    Contains("is not an hpo plugin: it does not export hpo_plugin_abi_version"));
  CHECK_THROWS_WITH(load_plugin_objective(HPO_TEST_PLUGIN_WRONG_VERSION),
                    Contains("was built for plugin ABI version 99, this hpo speaks versions 1 to"));
  CHECK_THROWS_WITH(load_plugin_objective(HPO_TEST_PLUGIN, "no_such_function"),
                    "executor.symbol: '" + std::string(HPO_TEST_PLUGIN) +
                        "' does not export a function 'no_such_function'");
  CHECK_THROWS_AS(load_plugin_objective(HPO_TEST_PLUGIN, "no_such_function"), ExecutorError);
}

TEST_CASE("the spec check finds the plugin file relative to the spec without loading it",
          "[executors][threads][plugin]") {
  const std::string plugin = fs::path(HPO_TEST_PLUGIN).filename().string();
  const std::string no_version = fs::path(HPO_TEST_PLUGIN_NO_VERSION).filename().string();
  const std::string space = R"({"x": {"type": "float", "low": 0, "high": 1}})";

  CHECK(threads_issues(space, R"({"kind": "threads", "library": ")" + plugin +
                                  R"(", "symbol": "script_objective"})")
            .empty());
  // What only loading can tell waits for the run: validation runs no code of the library.
  CHECK(threads_issues(space, R"({"kind": "threads", "library": ")" + no_version + R"("})")
            .empty());
  CHECK(threads_issues(space, R"({"kind": "threads", "library": ")" + plugin +
                                  R"(", "symbol": "no_such_function"})")
            .empty());

  auto issues =
      threads_issues(space, R"({"kind": "threads", "library": "./missing/libx.so"})");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "executor.library");
  CHECK_THAT(issues[0].message, Contains("no such file"));
  CHECK_THAT(issues[0].message, Contains("missing/libx.so"));

  issues = threads_issues(space, R"({"kind": "threads", "library": "."})");
  REQUIRE(issues.size() == 1);
  CHECK_THAT(issues[0].message, Contains("is not a regular file"));

  issues = threads_issues(space, R"({"kind": "threads", "symbol": "x"})");
  CHECK(std::any_of(issues.begin(), issues.end(),
                    [](const SpecIssue& i) { return i.path == "executor.symbol"; }));

  // load_objective resolves the same way, loads, and the objective works.
  SpecChecker checker;
  const ObjectiveSource source = read_objective_source(
      OrderedJson::parse(R"({"kind": "threads", "library": ")" + plugin +
                         R"(", "symbol": "script_objective"})"),
      fs::path(HPO_TEST_PLUGIN).parent_path(), checker);
  REQUIRE(checker.ok());
  CHECK(source.library == fs::path(HPO_TEST_PLUGIN));
  CHECK(load_objective(source));
  ObjectiveSource missing_symbol = source;
  missing_symbol.symbol = "no_such_function";
  CHECK_THROWS_AS(load_objective(missing_symbol), ExecutorError);
}

// ---------------------------------------------------------------------------------------------
// Builtins

TEST_CASE("builtin objectives report their value as the metric 'value'", "[executors][threads]") {
  ThreadsHarness h;
  auto executor = make_executor(h, builtin_objective("branin"));
  auto outcome = h.run_one(*executor, {{"x1", 3.14159265358979}, {"x2", 2.275}});
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics.at("value") == Approx(0.397887).epsilon(1e-5));

  executor = make_executor(h, builtin_objective("sphere"));
  outcome = h.run_one(*executor, {{"x1", 1.0}, {"x2", 2.0}, {"x3", -2.0}});
  CHECK(outcome.metrics == Metrics{{"value", 9.0}});

  CHECK_THROWS_AS(builtin_objective("no-such-function"), InputError);
}

TEST_CASE(
    "the builtins named in the spec exist: branin, hartmann6, rosenbrock, "
    "styblinski_tang, sphere",
    "[executors][threads]") {
  for (const char* name : {"branin", "hartmann6", "rosenbrock", "styblinski_tang", "sphere"}) {
    INFO(name);
    CHECK(find_builtin(name) != nullptr);
  }
}

TEST_CASE("a study whose space or metric does not fit its builtin is a spec error",
          "[executors][threads]") {
  CHECK(threads_issues(kXY, R"({"kind": "threads", "builtin": "branin"})").empty());

  auto issues = threads_issues(
      R"({"x": {"type": "float", "low": 0, "high": 1}, "y": {"type": "float", "low": 0, "high": 1}})",
      R"({"kind": "threads", "builtin": "branin"})", "loss");
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].path == "space");
  CHECK_THAT(issues[0].message, StartsWith("branin needs parameters x1..x2"));
  CHECK(issues[1].path == "objective.metric");
  CHECK_THAT(issues[1].message, Contains("report the metric \"value\""));

  issues = threads_issues(
      R"({"x1": {"type": "float", "low": 0, "high": 1}, "x2": {"type": "float", "low": 0, "high": 1},
          "x3": {"type": "float", "low": 0, "high": 1}})",
      R"({"kind": "threads", "builtin": "hartmann6"})");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "space");

  issues = threads_issues(kXY, R"({"kind": "threads", "builtin": "brainin"})");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "executor.builtin");
  CHECK_THAT(issues[0].message, StartsWith("unknown builtin \"brainin\"; available: branin,"));
}

}  // namespace
}  // namespace hpo::testing
