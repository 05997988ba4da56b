// Pruning through the engine: the study core asks the spec's pruner after each report (on the
// stored history, so the same decisions come back after a resume from SQLite), the run loop
// stops pruned trials with StopCause::kPruned and records them PRUNED with the pruner's reason
// and the judged value, Hyperband's sampler sees one bracket, and two runs share one study
// under ASHA. Real pruners, real study core and storage; scripted trials.
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "engine/factory.h"
#include "engine/progress.h"
#include "engine/study_core.h"
#include "engine/study_manager.h"
#include "storage/memory_storage.h"
#include "storage/sqlite_storage.h"
#include "tests/support/scripted_executor.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
using Catch::StartsWith;

std::string spec_text(const std::string& pruner, int trials, int parallelism = 1,
                      const std::string& objective = R"({"metric": "loss"})") {
  return R"({"name": "prune", "direction": "minimize", "objective": )" + objective + R"(,
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "sampler": {"name": "random", "seed": 11},
    "pruner": )" +
         pruner + R"(,
    "budget": {"trials": )" +
         std::to_string(trials) + R"(}, "parallelism": )" + std::to_string(parallelism) + R"(,
    "executor": {"kind": "subprocess", "command": ["train"]}})";
}

RunOptions options(const TempDir& dir, ScriptLog& log,
                   std::function<Script(const TrialTask&)> script) {
  RunOptions o;
  o.handle_signals = false;
  o.heartbeat_interval = 20ms;
  o.stale_after = 2s;
  o.trials_root = dir / "trials";
  o.make_executor = [&log, script](boost::asio::io_context& io, const StudySpec&, std::size_t p) {
    return std::make_unique<ScriptedExecutor>(io, p, script, log);
  };
  return o;
}

// Loss curves: trial x reports loss = x + 1 / step at steps 1..8 (lower x is better everywhere).
Script curve(const TrialTask& t, const char* metric = "loss") {
  Script s;
  s.duration = 16ms;
  const double x = t.params.at("x").as_double();
  for (int step = 1; step <= 8; ++step)
    s.reports.push_back({step, {{metric, x + 1.0 / step}, {"other", -x}}});
  s.outcome = TrialOutcome::complete({{"loss", x}});
  return s;
}

TEST_CASE("the run loop stops a trial the pruner judges hopeless and records why",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  MemoryStorage storage;
  const StudySpec spec =
      parse_spec(spec_text(R"({"name": "threshold", "upper": 1.2})", 6), dir.path());
  ScriptLog log;
  StudyCore core(storage, spec, OpenOptions{});
  StudyManager(core, options(dir, log, [](const TrialTask& t) { return curve(t); })).run();

  int pruned = 0;
  for (const Trial& t : storage.get_trials(core.id())) {
    const double x = t.params.at("x").as_double();
    // Loss x + 1/step exceeds 1.2 at step 1 exactly when x > 0.2 (x + 1 > 1.2).
    if (x + 1.0 <= 1.2) {
      CHECK(t.state == TrialState::kComplete);
      continue;
    }
    ++pruned;
    CHECK(t.state == TrialState::kPruned);
    // Judged at step 1, and nothing stored after it: the value is the judged one.
    REQUIRE(t.intermediate.size() == 1);
    CHECK(t.intermediate.begin()->first == 1);
    CHECK(t.value == x + 1.0);
    CHECK_THAT(t.reason, StartsWith("pruned at step 1 by threshold: "));
    CHECK_THAT(t.reason, Catch::EndsWith(" > upper 1.2"));
  }
  CHECK(pruned > 0);
  int prune_cancels = 0;
  for (const auto& c : log.cancels) prune_cancels += c.cause == StopCause::kPruned ? 1 : 0;
  CHECK(prune_cancels == pruned);
}

TEST_CASE("objective.intermediate_metric names the metric that is stored and judged",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  MemoryStorage storage;
  // "other" is -x: with upper -0.5, trials with x < 0.5 are pruned at their first report.
  const StudySpec spec =
      parse_spec(spec_text(R"({"name": "threshold", "upper": -0.5})", 5, 1,
                           R"({"metric": "loss", "intermediate_metric": "other"})"),
                 dir.path());
  ScriptLog log;
  StudyCore core(storage, spec, OpenOptions{});
  StudyManager(core, options(dir, log, [](const TrialTask& t) { return curve(t); })).run();
  for (const Trial& t : storage.get_trials(core.id())) {
    const double x = t.params.at("x").as_double();
    REQUIRE_FALSE(t.intermediate.empty());
    CHECK(t.intermediate.begin()->second == -x);
    CHECK(t.state == (-x > -0.5 ? TrialState::kPruned : TrialState::kComplete));
  }
}

TEST_CASE("the pruner's decisions are the same after the study is reopened from SQLite",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  const auto db = dir / "study.db";
  const StudySpec spec =
      parse_spec(spec_text(R"({"name": "median", "n_startup_trials": 2, "n_warmup_steps": 1})", 10),
                 dir.path());
  // A history: three COMPLETE trials and one RUNNING that has reported steps 0..3.
  std::int64_t running_id = 0;
  std::vector<bool> before;
  {
    SqliteStorage storage(db, SqliteOptions{});
    StudyCore core(storage, spec, OpenOptions{});
    const std::vector<std::vector<double>> curves = {{5, 4, 3, 2}, {7, 6, 5, 4}, {9, 8, 7}};
    for (const auto& c : curves) {
      const Trial t = *core.ask("me", std::nullopt, (dir / "t{number}").string());
      for (std::size_t s = 0; s < c.size(); ++s)
        core.report(t.id, static_cast<std::int64_t>(s), c[s]);
      core.tell(t.id, TrialOutcome::complete({{"loss", c.back()}}), RetryPolicy{}, "");
    }
    const Trial r = *core.ask("me", std::nullopt, (dir / "t{number}").string());
    running_id = r.id;
    //  step value  median of COMPLETE at step  decision (hand-worked as in pruner_test)
    //  0    10     (warm-up)                    keep
    //  1    5      6                            keep
    //  2    6.5    5                            keep
    //  3    6      3 (of 2, 4)                  prune
    const std::vector<double> values = {10, 5, 6.5, 6};
    for (std::size_t s = 0; s < values.size(); ++s) {
      core.report(r.id, static_cast<std::int64_t>(s), values[s]);
      before.push_back(core.should_prune(r.id, static_cast<std::int64_t>(s)).prune);
    }
  }
  CHECK(before == std::vector<bool>{false, false, false, true});
  // Another process (a resume) opens the same file: the stored history gives the same answers.
  SqliteStorage storage(db, SqliteOptions{});
  StudyCore core(storage, spec, OpenOptions{});
  std::vector<bool> after;
  for (std::int64_t s = 0; s < 4; ++s) after.push_back(core.should_prune(running_id, s).prune);
  CHECK(after == before);
  CHECK(core.should_prune(running_id, 3).reason ==
        "pruned at step 3 by median: best 5 > median 3 of 2 trials");
}

TEST_CASE("pruners judge from step values read from storage as from every curve",
          "[engine][pruning]") {
  // The study core keeps no curves of finished trials for a pruner that reads other trials
  // only through StudyView::step_values() and last_step(): median and percentile at one step,
  // ASHA and Hyperband at a rung (the first report at or after it) and, with "auto" resources,
  // the latest step of a COMPLETE trial. It reads those from storage. Two cores share one file
  // (as two runs do); after every report, each core's decision equals the pruner's over the
  // whole stored study with every curve.
  const std::string pruner_json = GENERATE(
      std::string(R"({"name": "median", "n_startup_trials": 1, "n_min_trials": 1})"),
      std::string(R"({"name": "asha", "reduction_factor": 2})"),
      std::string(R"({"name": "asha", "min_resource": 1, "reduction_factor": 3, "bootstrap_count": 2})"),
      std::string(R"({"name": "hyperband", "reduction_factor": 2})"));
  INFO(pruner_json);
  TempDir dir("hpo-prune");
  const auto db = dir / "study.db";
  const StudySpec spec = parse_spec(spec_text(pruner_json, 100), dir.path());
  SqliteStorage storage_a(db, SqliteOptions{});
  SqliteStorage storage_b(db, SqliteOptions{});
  StudyCore a(storage_a, spec, OpenOptions{});
  StudyCore b(storage_b, spec, OpenOptions{});
  const std::unique_ptr<Pruner> pruner = make_pruner(spec);
  REQUIRE_FALSE(pruner->reads_other_curves());
  int decisions = 0;
  int pruned = 0;
  for (int i = 0; i < 24; ++i) {
    StudyCore& core = i % 3 == 2 ? b : a;
    core.refresh();
    const Trial t = *core.ask("me", std::nullopt, "");
    bool stopped = false;
    for (std::int64_t step = 0; step < 6 && !stopped; ++step) {
      // Curves that cross, with a NaN and a skipped step now and then.
      const double v = (i % 5 == 3 && step == 2) ? std::nan("") : ((i * 7) % 11) / (step + 1.0) + step * 0.1 * (i % 3);
      if (i % 4 == 1 && step == 3) continue;
      REQUIRE(core.report(t.id, step, v));
      core.refresh_running();  // as the run loop does while another run shares the study
      const PruneDecision got = core.should_prune(t.id, step);
      const std::vector<Trial> all = storage_a.get_trials(core.id());
      const auto self = std::find_if(all.begin(), all.end(), [&](const Trial& u) { return u.id == t.id; });
      REQUIRE(self != all.end());
      const PruneDecision expected = pruner->should_prune(StudyView(spec.direction, all), *self, step);
      CHECK(got.prune == expected.prune);
      if (expected.prune) CHECK_THAT(got.reason, Catch::EndsWith(expected.reason));
      ++decisions;
      if (got.prune) {
        ++pruned;
        stopped = true;
        core.tell(t.id, TrialOutcome::pruned("pruned"), RetryPolicy{}, "");
      }
    }
    if (!stopped) core.tell(t.id, TrialOutcome::complete({{"loss", 1.0 * i}}), RetryPolicy{}, "");
  }
  CHECK(decisions > 30);
  CHECK(pruned > 0);  // the comparison covered both answers
}

TEST_CASE("with Hyperband the sampler sees only the trials of the new trial's bracket",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  MemoryStorage storage;
  const StudySpec spec = parse_spec(
      spec_text(R"({"name": "hyperband", "min_resource": 1, "max_resource": 27})", 40), dir.path());
  StudyCore core(storage, spec, OpenOptions{});
  for (int i = 0; i < 30; ++i) {
    const Trial t = *core.ask("me", std::nullopt, (dir / "t{number}").string());
    core.report(t.id, 1, 0.5);
    core.tell(t.id, TrialOutcome::complete({{"loss", 0.5}}), RetryPolicy{}, "");
  }
  // Brackets of 27: shares 27, 12, 6, 4 (pruner_test). Every trial the sampler sees for trial
  // 30 is in trial 30's bracket, and it sees all of them.
  const auto seen = core.TEST_sampler_view_numbers(30);
  const auto seen_other = core.TEST_sampler_view_numbers(31);
  std::set<int> all(seen.begin(), seen.end());
  all.insert(seen_other.begin(), seen_other.end());
  CHECK(seen.size() < 30);
  CHECK_FALSE(seen.empty());
  // Two new trials see either the same bracket or disjoint ones.
  CHECK((seen == seen_other || all.size() == seen.size() + seen_other.size()));
  // Without brackets (median) the sampler sees everything.
  MemoryStorage other;
  StudyCore plain(other, parse_spec(spec_text(R"({"name": "median"})", 5), dir.path()),
                  OpenOptions{});
  const Trial t = *plain.ask("me", std::nullopt, (dir / "p{number}").string());
  plain.tell(t.id, TrialOutcome::complete({{"loss", 0.5}}), RetryPolicy{}, "");
  CHECK(plain.TEST_sampler_view_numbers(1) == std::vector<int>{0});
}

TEST_CASE("two runs sharing one study prune with ASHA from the shared history",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  const auto db = dir / "shared.db";
  const StudySpec spec =
      parse_spec(spec_text(R"({"name": "asha", "min_resource": 1, "reduction_factor": 2})", 24, 2),
                 dir.path());
  {
    SqliteStorage s(db, SqliteOptions{});
    StudyCore create(s, spec, OpenOptions{});
  }
  std::vector<ScriptLog> logs(2);
  std::vector<std::thread> runs;
  for (int r = 0; r < 2; ++r) {
    runs.emplace_back([&, r] {
      SqliteStorage storage(db, SqliteOptions{});
      StudyCore core(storage, spec, OpenOptions{});
      StudyManager(core, options(dir, logs[static_cast<std::size_t>(r)],
                                 [](const TrialTask& t) { return curve(t); }))
          .run();
    });
  }
  for (auto& t : runs) t.join();
  SqliteStorage storage(db, SqliteOptions{});
  const auto study = storage.find_study("prune");
  const auto trials = storage.get_trials(study->id);
  CHECK(trials.size() == 24);
  int pruned = 0, complete = 0;
  for (const Trial& t : trials) {
    if (t.state == TrialState::kComplete) ++complete;
    if (t.state != TrialState::kPruned) continue;
    ++pruned;
    // Pruned at a rung (steps 1, 2, 4, 8 with min_resource 1 and factor 2), with nothing stored
    // after it, and its value the one judged there.
    const std::int64_t last = t.intermediate.rbegin()->first;
    CHECK((last == 1 || last == 2 || last == 4 || last == 8));
    CHECK(t.value == t.intermediate.rbegin()->second);
    CHECK_THAT(t.reason, StartsWith("pruned at step " + std::to_string(last) + " by asha: "));
  }
  CHECK(pruned > 0);
  CHECK(complete > 0);
  CHECK(complete + pruned == 24);
  CHECK(!logs[0].started.empty());
  CHECK(!logs[1].started.empty());
}

TEST_CASE("the progress line counts pruned trials once there are any", "[engine][pruning]") {
  RunStats s;
  s.complete = 3;
  s.failed = 1;
  s.target = 10;
  s.running = 2;
  CHECK(ConsoleProgress::status_line("q", s) == "q  3/10 done  2 running  1 failed  0:00 elapsed");
  s.pruned = 4;
  CHECK(ConsoleProgress::status_line("q", s) ==
        "q  7/10 done  2 running  4 pruned  1 failed  0:00 elapsed");
}

TEST_CASE("a pruner with trials that can never report a step is a warning, not an error",
          "[engine][pruning]") {
  const auto threads = [](const std::string& pruner) {
    return parse_spec(R"({"name": "w", "direction": "minimize", "objective": {"metric": "value"},
      "space": {"x1": {"type": "float", "low": -5, "high": 10},
                "x2": {"type": "float", "low": 0, "high": 15}},
      "pruner": )" + pruner +
                          R"(, "executor": {"kind": "threads", "builtin": "branin"}})",
                      ".");
  };
  const auto warnings = spec_warnings(threads(R"({"name": "median"})"));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].to_string() ==
        "pruner: this executor's trials never report steps (threads executor as configured), "
        "so no trial will be pruned");
  CHECK(spec_warnings(threads(R"({"name": "none"})")).empty());
  CHECK(spec_warnings(parse_spec(spec_text(R"({"name": "median"})", 5), ".")).empty());
}

TEST_CASE("the study core remembers that trials reported steps after it dropped their curves",
          "[engine][pruning]") {
  TempDir dir("hpo-prune");
  const StudySpec spec = parse_spec(spec_text(R"({"name": "median"})", 5), dir.path());
  MemoryStorage storage;
  StudyCore core(storage, spec, OpenOptions{});
  CHECK_FALSE(core.steps_seen());
  const Trial t = *core.ask("me", std::nullopt, "");
  REQUIRE(core.report(t.id, 1, 0.5));
  core.tell(t.id, TrialOutcome::complete({{"loss", 0.5}}), RetryPolicy{}, "");
  // The median pruner reads other trials one step at a time: the cache keeps no finished curve,
  // so the curves in trials() alone would say that no trial ever reported a step.
  REQUIRE(core.trials().size() == 1);
  CHECK(core.trials()[0].intermediate.empty());
  CHECK(unused_pruner_warning(spec, core.trials()));
  CHECK(core.steps_seen());
  CHECK(storage.get_trial(t.id)->intermediate.size() == 1);
}

TEST_CASE("after a run, a pruner that no trial ever reported a step to is a warning",
          "[engine][pruning]") {
  const StudySpec spec = parse_spec(spec_text(R"({"name": "median"})", 5), ".");
  Trial done;
  done.number = 0;
  done.state = TrialState::kComplete;
  done.value = 0.5;
  Trial running;
  running.number = 1;
  running.state = TrialState::kRunning;
  // Only finished trials without a single step report tell: nothing yet, running only, or one
  // report anywhere says the protocol works.
  CHECK_FALSE(unused_pruner_warning(spec, {}));
  CHECK_FALSE(unused_pruner_warning(spec, {running}));
  const auto w = unused_pruner_warning(spec, {done, running});
  REQUIRE(w);
  CHECK(w->to_string() ==
        "pruner: no trial reported a step of 'loss', so the pruner never judged one (a trial "
        "reports one by printing a line such as `step=3 loss=0.25`, or `epoch=3 ...`; see "
        "executors/metric_parser.h)");
  running.intermediate[1] = 0.7;
  CHECK_FALSE(unused_pruner_warning(spec, {done, running}));
  // Without a pruner there is nothing to warn about; with an intermediate metric, it is named.
  CHECK_FALSE(unused_pruner_warning(parse_spec(spec_text(R"({"name": "none"})", 5), "."), {done}));
  const auto named = unused_pruner_warning(
      parse_spec(spec_text(R"({"name": "median"})", 5, 1,
                           R"({"metric": "loss", "intermediate_metric": "val"})"),
                 "."),
      {done});
  REQUIRE(named);
  CHECK(named->path == "objective.intermediate_metric");
  CHECK_THAT(named->message, StartsWith("no trial reported a step of 'val'"));
}

}  // namespace
}  // namespace hpo::testing
