// SubprocessExecutor against real child processes (hpo_test_child, see test_child.cpp), driven
// by a real io_context and recorded by a RecordingSink.
#include "executors/subprocess_executor.h"

// clang-format off
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)
// clang-format on

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hpo/errors.h"
#include "executors/metric_parser.h"
#include "tests/executors/executor_harness.h"
#include "tests/support/recording_sink.h"
#include "tests/support/temp_dir.h"
#include "engine/model/json_codec.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Contains;
using Catch::StartsWith;

const std::string kChild = HPO_TEST_CHILD;

SubprocessOptions command_spec(std::vector<std::string> command) {
  SubprocessOptions spec;
  spec.command = std::move(command);
  return spec;
}

// Runs hpo_test_child with `args` (see test_child.cpp for its actions).
SubprocessOptions child_spec(const std::vector<std::string>& args) {
  SubprocessOptions spec = command_spec({kChild});
  spec.command.insert(spec.command.end(), args.begin(), args.end());
  return spec;
}

// `text` as a command-template element that reaches the program unchanged (braces doubled).
std::string literal(const std::string& text) {
  std::string out;
  for (const char c : text) {
    out.push_back(c);
    if (c == '{' || c == '}') out.push_back(c);
  }
  return out;
}

// A temp dir for trial directories, an io_context and a sink, and ways to run them.
class Harness {
 public:
  TempDir dir{"hpo-executors"};
  boost::asio::io_context io;
  RecordingSink sink;

  // A fresh trial (its own directory, created) with the given parameters.
  TrialTask task(ParamSet params = {}) {
    TrialTask t;
    t.trial_id = ++last_id_;
    t.number = static_cast<int>(t.trial_id) - 1;
    t.study = "executor-test";
    t.params = std::move(params);
    t.trial_dir = dir / ("trial-" + std::to_string(t.trial_id));
    t.checkpoint_dir = t.trial_dir / "checkpoints";
    fs::create_directories(t.checkpoint_dir);
    return t;
  }

  // Runs the io_context until `done` holds. The limit only keeps a broken executor from
  // hanging the suite; reaching it fails the test.
  bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      io.restart();
      if (io.run_one_for(50ms) == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  // Starts one trial, runs it to its end and returns its outcome.
  TrialOutcome run_one(SubprocessExecutor& executor, TrialTask t) {
    const std::int64_t id = t.trial_id;
    executor.start(std::move(t), sink);
    REQUIRE(run_until([&] { return sink.outcome(id) != nullptr; }));
    CHECK(sink.finish_count(id) == 1);
    return *sink.outcome(id);
  }

  // Runs a one-trial executor for `spec` on a trial with `params`.
  TrialOutcome run_spec(const SubprocessOptions& spec, ParamSet params = {}) {
    SubprocessExecutor executor(io, spec, 1);
    const TrialOutcome outcome = run_one(executor, task(std::move(params)));
    CHECK(executor.running() == 0);
    return outcome;
  }

  std::int64_t last_id() const { return last_id_; }

 private:
  std::int64_t last_id_ = 0;
};

// A "Key:   value kB" field of /proc/self/status, as a number.
long status_field(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// The state of process `pid` ('Z' for a zombie); nullopt when it no longer exists.
std::optional<char> process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return std::nullopt;
  return stat[paren + 2];
}


// Waits (up to 10 s) until `pid` is gone or a zombie that is not ours to reap.
bool dies(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < give_up) {
    const auto state = process_state(pid);
    if (!state || *state == 'Z') return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

pid_t read_pid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

nlohmann::json read_dump(const fs::path& file) { return nlohmann::json::parse(read_file(file)); }

// ---------------------------------------------------------------------------------------------
// Command templates

TEST_CASE("command templates substitute parameters, keep literal braces, drop inactive elements",
          "[executors][subprocess]") {
  const ParamSet params{{"C", 0.001}, {"kernel", "rbf"}, {"layers", 3}, {"bn", true}};
  const auto e = expand_command({"train", "--C={C}", "{kernel}", "--degree={degree}", "{{literal}}",
                                 "a}}b{{c", "{C}{kernel}", "{layers}-{bn}", "--x", "{degree}"},
                                params);
  REQUIRE(e.ok());
  // "--x" "{degree}": the option goes with its inactive value.
  CHECK(e.argv == std::vector<std::string>{"train", "--C=0.001", "rbf", "{literal}", "a}b{c",
                                           "0.001rbf", "3-true"});
}

TEST_CASE("an option without a placeholder is dropped with the inactive value after it, only then",
          "[executors][subprocess]") {
  const ParamSet active{{"eta0", 0.01}, {"lr", "constant"}};
  const ParamSet inactive{{"lr", "optimal"}};
  const std::vector<std::string> split = {"train", "--lr", "{lr}", "--eta0", "{eta0}", "-v"};
  CHECK(expand_command(split, active).argv ==
        std::vector<std::string>{"train", "--lr", "constant", "--eta0", "0.01", "-v"});
  CHECK(expand_command(split, inactive).argv ==
        std::vector<std::string>{"train", "--lr", "optimal", "-v"});
  // Not an option, an option with its own placeholder, text beside the placeholder, or the
  // program itself: only the element naming the inactive parameter goes.
  CHECK(expand_command({"train", "eta0", "{eta0}"}, inactive).argv ==
        std::vector<std::string>{"train", "eta0"});
  CHECK(expand_command({"train", "--{lr}", "{eta0}"}, inactive).argv ==
        std::vector<std::string>{"train", "--optimal"});
  CHECK(expand_command({"train", "--eta0", "x{eta0}"}, inactive).argv ==
        std::vector<std::string>{"train", "--eta0"});
  CHECK(expand_command({"-train", "{eta0}"}, inactive).argv == std::vector<std::string>{"-train"});
  // Two inactive in a row: each takes only its own option.
  CHECK(expand_command({"t", "--a", "{eta0}", "--b", "{eta0}"}, inactive).argv ==
        std::vector<std::string>{"t"});
}

TEST_CASE("a malformed command template is an error naming the element",
          "[executors][subprocess]") {
  CHECK(expand_command({"a", "--x={"}, {}).error ==
        "executor.command[1] (\"--x={\"): unmatched '{' (write '{{' for a literal brace)");
  CHECK(expand_command({"a}"}, {}).error ==
        "executor.command[0] (\"a}\"): unmatched '}' (write '}}' for a literal brace)");
  CHECK_THAT(expand_command({"x", "{}"}, {}).error, Contains("empty placeholder {}"));
  CHECK_THAT(expand_command({"x", "{a{b}"}, {{"b", 1}}).error, Contains("unmatched '{'"));
  CHECK(expand_command({"x", "{a{b}"}, {{"b", 1}}).argv.empty());
}

TEST_CASE("parameter environment names are upper-cased with non-alphanumerics as _",
          "[executors][subprocess]") {
  CHECK(param_env_name("learning-rate") == "HPO_PARAM_LEARNING_RATE");
  CHECK(param_env_name("n_layers2") == "HPO_PARAM_N_LAYERS2");
  CHECK(param_env_name("opt.β1") == "HPO_PARAM_OPT___1");
}

// A process group such as a trial of a dead hpo leaves behind: its own session, the trial's
// directory in its environment.
pid_t orphan_trial_process(const fs::path& trial_dir) {
  const std::string env_entry = "HPO_TRIAL_DIR=" + trial_dir.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    char* const argv[] = {const_cast<char*>("sleep"), const_cast<char*>("60"), nullptr};
    char* const envp[] = {const_cast<char*>(env_entry.c_str()), nullptr};
    ::execve("/bin/sleep", argv, envp);
    ::_exit(127);
  }
  // Until the child has exec'd, its environment is still ours.
  const std::string expected = env_entry;
  for (int i = 0; i < 500; ++i) {
    std::ifstream env("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::string entry;
    bool found = false;
    while (std::getline(env, entry, '\0')) found = found || entry == expected;
    if (found) break;
    std::this_thread::sleep_for(10ms);
  }
  return pid;
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

TEST_CASE("recover kills a dead run's leftover process group only when it is the trial's",
          "[executors][subprocess]") {
  boost::asio::io_context io;
  RecordingSink sink;
  TempDir dir("hpo-recover");
  SubprocessExecutor executor(io, child_spec({"out", "x=1"}), 1);
  TrialTask task;
  task.trial_id = 5;
  task.trial_dir = dir / "5";

  // Another trial's process (the pid was reused): left alone.
  const pid_t stranger = orphan_trial_process(dir / "6");
  CHECK(executor.recover(task, "pgid:" + std::to_string(stranger) + "@" + host_name(), sink) ==
        Recovery::kGone);
  int status = 0;
  CHECK(::waitpid(stranger, &status, WNOHANG) == 0);  // still running
  ::kill(stranger, SIGKILL);
  ::waitpid(stranger, &status, 0);

  // On another host the process id means nothing here.
  const pid_t ours = orphan_trial_process(dir / "5");
  CHECK(executor.recover(task, "pgid:" + std::to_string(ours) + "@not-" + host_name(), sink) ==
        Recovery::kGone);
  CHECK(::waitpid(ours, &status, WNOHANG) == 0);

  // The trial's own group: killed.
  CHECK(executor.recover(task, "pgid:" + std::to_string(ours) + "@" + host_name(), sink) ==
        Recovery::kGone);
  // Killed, and reaped here or already by recover() (it reaps what it kills of its own children).
  const pid_t reaped = ::waitpid(ours, &status, 0);
  if (reaped == ours) {
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  } else {
    CHECK(errno == ECHILD);
  }
  CHECK_FALSE(fs::exists("/proc/" + std::to_string(ours)));
  CHECK(sink.finished.empty());
}

TEST_CASE("the executor refuses an empty command and zero parallelism", "[executors][subprocess]") {
  boost::asio::io_context io;
  CHECK_THROWS_AS(SubprocessExecutor(io, SubprocessOptions{}, 1), ExecutorError);
  CHECK_THROWS_AS(SubprocessExecutor(io, child_spec({}), 0), ExecutorError);
  SubprocessExecutor executor(io, child_spec({}), 3);
  CHECK(executor.capacity() == 3);
  CHECK(executor.running() == 0);
}

// ---------------------------------------------------------------------------------------------
// Outcomes

TEST_CASE("a trial that exits 0 completes with the last value of each metric it printed",
          "[executors][subprocess]") {
  Harness h;
  const auto outcome =
      h.run_spec(child_spec({"out", "starting up", "out", "step=1 loss=0.9 acc=0.5", "out",
                             "loss=0.4, acc=0.8", "out", "extra = 1"}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.4}, {"acc", 0.8}, {"extra", 1}});
  CHECK(outcome.exit_code == 0);
  CHECK_FALSE(outcome.signal);
  CHECK(outcome.reason.empty());
  CHECK(read_file(h.dir / "trial-1" / "stdout.log") ==
        "starting up\nstep=1 loss=0.9 acc=0.5\nloss=0.4, acc=0.8\nextra = 1\n");
}

TEST_CASE("metrics on stderr are read too, and metrics_from picks the streams",
          "[executors][subprocess]") {
  const std::vector<std::string> args = {"err", "INFO:root:step=1 accuracy=0.5", "out",
                                         "loss=0.3", "err", "INFO:root:accuracy=0.9"};
  {
    Harness h;
    const auto outcome = h.run_spec(child_spec(args));
    REQUIRE(outcome.ok());
    CHECK(outcome.metrics == Metrics{{"accuracy", 0.9}, {"loss", 0.3}});
    REQUIRE(h.sink.intermediates_of(1).size() == 1);
    CHECK(h.sink.intermediates_of(1)[0].metrics == Metrics{{"accuracy", 0.5}});
  }
  {
    Harness h;
    SubprocessOptions spec = child_spec(args);
    spec.metrics.from = MetricStreams::kStdout;
    const auto outcome = h.run_spec(spec);
    REQUIRE(outcome.ok());
    CHECK(outcome.metrics == Metrics{{"loss", 0.3}});
    CHECK(h.sink.intermediates_of(1).empty());
    // Where to look, for the reason of a missing metric.
    CHECK_THAT(outcome.metrics_note, Contains("read stdout as auto"));
    CHECK_THAT(outcome.metrics_note,
               Contains("stderr (not read: metrics_from is \"stdout\") had: "
                        "\"INFO:root:step=1 accuracy=0.5\", \"INFO:root:accuracy=0.9\""));
  }
  {
    Harness h;
    SubprocessOptions spec = child_spec(args);
    spec.metrics.from = MetricStreams::kStderr;
    CHECK(h.run_spec(spec).metrics == Metrics{{"accuracy", 0.9}});
  }
}

TEST_CASE("metrics_format keras reads a keras log the child prints", "[executors][subprocess]") {
  Harness h;
  SubprocessOptions spec = child_spec({"out", "Epoch 1/2", "out",
                                       "3/3 - 0s - loss: 0.5 - val_accuracy: 0.7", "out",
                                       "Epoch 2/2", "out",
                                       "3/3 - 0s - loss: 0.4 - val_accuracy: 0.8"});
  spec.metrics.format.kind = MetricFormatKind::kKeras;
  const auto outcome = h.run_spec(spec);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.4}, {"val_accuracy", 0.8}});
  const auto reports = h.sink.intermediates_of(1);
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].step == 1);
  CHECK(reports[1].step == 2);
}

TEST_CASE("the launch is reported before the start: argv, cwd, the variables hpo added",
          "[executors][subprocess]") {
  Harness h;
  SubprocessOptions spec = child_spec({"out", "x=1"});
  spec.cwd = h.dir.path();
  spec.env = {{"OMP_NUM_THREADS", "1"}, {"WANDB_API_KEY", "hunter2"}};
  REQUIRE(h.run_spec(spec).ok());
  REQUIRE(h.sink.launched.count(1));
  const TrialLaunch& launch = h.sink.launched.at(1);
  CHECK(launch.argv.at(0) == spec.command.at(0));
  CHECK(launch.argv.back() == "x=1");
  CHECK(fs::equivalent(launch.cwd, h.dir.path()));
  std::map<std::string, std::string> env(launch.env.begin(), launch.env.end());
  CHECK(env.at("OMP_NUM_THREADS") == "1");
  CHECK(env.at("WANDB_API_KEY") == "<redacted>");  // never stored or shown
  CHECK(env.count("HPO_TRIAL_DIR"));
  CHECK(env.count("HPO_PARAMS"));
  CHECK_FALSE(env.count("PATH"));  // hpo's own environment is not "added"
}

TEST_CASE("a trial that exits 0 without metrics completes empty, the manager judges that",
          "[executors][subprocess]") {
  Harness h;
  const auto outcome = h.run_spec(child_spec({"out", "nothing to report"}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics.empty());
}

TEST_CASE("intermediate reports reach the sink in the order the trial printed them",
          "[executors][subprocess]") {
  Harness h;
  std::vector<std::string> args;
  for (int i = 0; i < 200; ++i) {
    args.insert(args.end(), {"out", (i % 2 ? "epoch=" : "step=") + std::to_string(i) +
                                        " loss=" + std::to_string(1000 - i)});
  }
  args.insert(args.end(), {"out", "loss=7"});
  const auto outcome = h.run_spec(child_spec(args));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 7}});
  const auto reports = h.sink.intermediates_of(1);
  REQUIRE(reports.size() == 200);
  for (int i = 0; i < 200; ++i) {
    CHECK(reports[i].step == i);
    CHECK(reports[i].metrics == Metrics{{"loss", 1000 - i}});
  }
}

TEST_CASE("the result file wins whole over metrics printed on stdout", "[executors][subprocess]") {
  Harness h;
  const auto outcome =
      h.run_spec(child_spec({"out", "loss=5 acc=0.1", "result", literal(R"({"loss": 0.25})")}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.25}});
}

TEST_CASE("a stale result file from an earlier attempt is deleted before the start",
          "[executors][subprocess]") {
  Harness h;
  SubprocessExecutor executor(h.io, child_spec({"out", "loss=5"}), 1);
  TrialTask t = h.task();
  write_file(t.trial_dir / "result.json", R"({"loss": 9})");
  const auto result_file = t.trial_dir / "result.json";
  const auto outcome = h.run_one(executor, std::move(t));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 5}});
  CHECK_FALSE(fs::exists(result_file));
}

TEST_CASE("an unusable result file fails the trial as an objective failure",
          "[executors][subprocess]") {
  Harness h;
  const std::string file = (h.dir / "trial-1" / "result.json").string();
  auto outcome = h.run_spec(child_spec({"out", "loss=1", "result", "loss: 0.5"}));
  CHECK(outcome.state == TrialState::kFail);
  CHECK(outcome.failure == FailureKind::kObjective);
  CHECK_THAT(outcome.reason, StartsWith("HPO_RESULT_FILE " + file + " is not valid JSON ("));
  CHECK(outcome.exit_code == 0);

  outcome = h.run_spec(child_spec({"result", literal(R"({"loss": 0.5, "note": "ok"})")}));
  CHECK(outcome.failure == FailureKind::kObjective);
  CHECK_THAT(outcome.reason, Contains("has a string for metric \"note\", not a number"));
}

TEST_CASE("a non-zero exit fails the trial with the last stderr lines in the reason",
          "[executors][subprocess]") {
  Harness h;
  auto outcome = h.run_spec(child_spec({"out", "loss=0.3", "err", "loading data", "err",
                                        "Traceback (most recent call last):", "err",
                                        "ValueError: C must be positive", "exit", "3"}));
  CHECK(outcome.state == TrialState::kFail);
  CHECK(outcome.failure == FailureKind::kExitCode);
  CHECK(outcome.exit_code == 3);
  CHECK(outcome.reason ==
        "exited with status 3; last stderr: loading data | Traceback (most recent call "
        "last): | ValueError: C must be positive");
  CHECK(outcome.metrics == Metrics{{"loss", 0.3}});  // what it reported before failing
  CHECK(read_file(h.dir / "trial-1" / "stderr.log") ==
        "loading data\nTraceback (most recent call last):\nValueError: C must be positive\n");

  // A long last line is cut; the reason stays short enough to show in a table.
  outcome = h.run_spec(child_spec({"err", "E: " + std::string(5000, 'e'), "exit", "1"}));
  CHECK_THAT(outcome.reason, StartsWith("exited with status 1; last stderr: E: eee"));
  CHECK(outcome.reason.size() < 260);

  // Without stderr, the status alone.
  outcome = h.run_spec(child_spec({"exit", "42"}));
  CHECK(outcome.reason == "exited with status 42");
}

TEST_CASE("death by a signal fails the trial naming the signal", "[executors][subprocess]") {
  Harness h;
  auto outcome = h.run_spec(child_spec({"signal", "9"}));
  CHECK(outcome.failure == FailureKind::kSignal);
  CHECK(outcome.signal == SIGKILL);
  CHECK_FALSE(outcome.exit_code);
  CHECK(outcome.reason == "killed by signal 9 (SIGKILL)");

  outcome = h.run_spec(child_spec({"err", "out of patience", "signal", "10"}));
  CHECK(outcome.signal == SIGUSR1);
  CHECK(outcome.reason == "killed by signal 10 (SIGUSR1); last stderr: out of patience");
}

TEST_CASE("a timeout stops the trial with SIGTERM to its process group",
          "[executors][subprocess]") {
  Harness h;
  auto spec = child_spec({"grandchild", "60000", (h.dir / "grandchild.pid").string(), "hang"});
  spec.timeout = 200ms;
  spec.kill_grace = 1h;  // only TERM can end it within the test's limit
  const auto outcome = h.run_spec(spec);
  CHECK(outcome.failure == FailureKind::kTimeout);
  CHECK(outcome.reason == "timed out after 200ms");
  CHECK(outcome.signal == SIGTERM);
  CHECK(dies(read_pid(h.dir / "grandchild.pid")));
}

TEST_CASE("a timeout escalates to SIGKILL after the grace period when SIGTERM is ignored",
          "[executors][subprocess]") {
  Harness h;
  auto spec = child_spec({"ignore-term", "out", "step=0 ready=1", "hang"});
  spec.timeout = 1s;
  spec.kill_grace = 200ms;
  const auto outcome = h.run_spec(spec);
  // The child announces itself only after it ignores TERM, so this proves TERM was ignored.
  REQUIRE(h.sink.intermediates_of(1).size() == 1);
  CHECK(outcome.failure == FailureKind::kTimeout);
  CHECK(outcome.reason == "timed out after 1s");
  CHECK(outcome.signal == SIGKILL);
}

TEST_CASE("cancel interrupts a trial, from inside a sink callback too", "[executors][subprocess]") {
  Harness h;
  auto spec = child_spec({"out", "step=0 ready=1", "hang"});
  spec.kill_grace = 1h;
  SubprocessExecutor executor(h.io, spec, 1);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor.cancel(r.trial_id, StopCause::kInterrupted);
  };
  const auto outcome = h.run_one(executor, h.task());
  CHECK(outcome.failure == FailureKind::kInterrupted);
  CHECK(outcome.reason == "interrupted");
  CHECK(outcome.signal == SIGTERM);

  // Unknown and finished trials: nothing happens.
  executor.cancel(12345, StopCause::kInterrupted);
  executor.cancel(1, StopCause::kInterrupted, true);
  h.io.restart();
  h.io.poll();
  CHECK(h.sink.finished.size() == 1);
}

TEST_CASE("a pruned trial gets SIGTERM, saves its checkpoint, and keeps its logs",
          "[executors][subprocess][pruning]") {
  Harness h;
  TrialTask t = h.task();
  const fs::path saved = t.checkpoint_dir / "saved";
  auto spec = child_spec({"save-on-term", saved.string(), "out", "step=1 loss=0.9", "err",
                          "epoch 1 done", "out", "step=2 loss=0.8", "hang"});
  spec.kill_grace = 1h;  // the program ends itself on SIGTERM: no SIGKILL needed
  SubprocessExecutor executor(h.io, spec, 1);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    if (r.step == 2) executor.cancel(r.trial_id, StopCause::kPruned);
  };
  const fs::path trial_dir = t.trial_dir;
  const auto outcome = h.run_one(executor, std::move(t));
  CHECK(outcome.state == TrialState::kPruned);
  CHECK(outcome.exit_code == 0);  // it exited by itself after saving
  CHECK(read_file(saved) == "checkpoint saved\n");
  CHECK_THAT(read_file(trial_dir / "stdout.log"), Contains("step=2 loss=0.8"));
  CHECK_THAT(read_file(trial_dir / "stderr.log"), Contains("epoch 1 done"));
  CHECK(h.sink.intermediates_of(1).size() == 2);
}

TEST_CASE("a trial that exits while it is being pruned keeps its own outcome",
          "[executors][subprocess][pruning]") {
  Harness h;
  SubprocessExecutor executor(h.io, child_spec({"out", "step=1 loss=0.9", "out", "loss=0.5"}), 1);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    // The pruning decision lands after the program exited but before hpo reaped it: wait
    // (bounded) until the process is a zombie, then prune.
    const std::string& where = h.sink.started.at(r.trial_id);
    const pid_t pid = static_cast<pid_t>(std::stol(where.substr(5)));
    for (int i = 0; i < 20000; ++i) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid)
        break;
      std::this_thread::sleep_for(1ms);
    }
    executor.cancel(r.trial_id, StopCause::kPruned);
  };
  const auto outcome = h.run_one(executor, h.task());
  CHECK(outcome.state == TrialState::kComplete);  // never both: one outcome, the real one
  CHECK(outcome.metrics == Metrics{{"loss", 0.5}});
}

TEST_CASE("a second cancel with kill_now kills a trial that ignores SIGTERM at once",
          "[executors][subprocess]") {
  Harness h;
  auto spec =
      child_spec({"ignore-term", "out", "step=0 a=1", "sleep", "200", "out", "step=1 a=1", "hang"});
  spec.kill_grace = 1h;  // only kill_now can end it within the test's limit
  SubprocessExecutor executor(h.io, spec, 1);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    executor.cancel(r.trial_id, StopCause::kInterrupted, /*kill_now=*/r.step == 1);
  };
  const auto outcome = h.run_one(executor, h.task());
  CHECK(h.sink.intermediates_of(1).size() == 2);  // it outlived the first, gentle cancel
  CHECK(outcome.failure == FailureKind::kInterrupted);
  CHECK(outcome.signal == SIGKILL);
}

TEST_CASE("a program that cannot be started fails as an infrastructure problem",
          "[executors][subprocess]") {
  Harness h;
  SECTION("not on PATH") {
    SubprocessExecutor executor(h.io, command_spec({"hpo-no-such-program", "x"}), 1);
    TrialTask t = h.task();
    const auto log = t.trial_dir / "stderr.log";
    executor.start(std::move(t), h.sink);
    CHECK(h.sink.finished.empty());  // never from inside start()
    CHECK(executor.running() == 1);
    REQUIRE(h.run_until([&] { return !h.sink.finished.empty(); }));
    const auto& outcome = h.sink.finished.front().second;
    CHECK(outcome.failure == FailureKind::kInfrastructure);
    CHECK(outcome.reason == "cannot start 'hpo-no-such-program': No such file or directory");
    CHECK(executor.running() == 0);
    CHECK(read_file(log) == "hpo: cannot start 'hpo-no-such-program': No such file or directory\n");
  }
  SECTION("not executable") {
    const auto script = write_file(h.dir / "train.sh", "#!/bin/sh\necho loss=1\n");
    fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write);
    const auto outcome = h.run_spec(command_spec({script.string()}));
    CHECK(outcome.failure == FailureKind::kInfrastructure);
    CHECK(outcome.reason == "cannot start '" + script.string() + "': Permission denied");
  }
  SECTION("missing working directory") {
    auto spec = child_spec({"out", "loss=1"});
    spec.cwd = h.dir / "nowhere";
    const auto outcome = h.run_spec(spec);
    CHECK(outcome.failure == FailureKind::kInfrastructure);
    CHECK(outcome.reason == "cannot start '" + kChild + "': working directory " +
                                (h.dir / "nowhere").string() + " does not exist");
  }
  SECTION("malformed template") {
    const auto outcome = h.run_spec(child_spec({"--x={"}));
    CHECK(outcome.failure == FailureKind::kInfrastructure);
    CHECK_THAT(outcome.reason, StartsWith("executor.command[1] (\"--x={\")"));
  }
}

// ---------------------------------------------------------------------------------------------
// Output

TEST_CASE("garbage output is logged and ignored, and metrics after it still count",
          "[executors][subprocess]") {
  Harness h;
  const auto outcome =
      h.run_spec(child_spec({"junk", "300000", "out", "", "out", "acc=0.5", "junk", "1000"}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"acc", 0.5}});
  CHECK(fs::file_size(h.dir / "trial-1" / "stdout.log") == 300000 + 1 + 8 + 1000);
}

TEST_CASE("a 100 MB line is streamed to the log without being held in memory",
          "[executors][subprocess]") {
  Harness h;
  // Reset the peak-RSS mark so that VmHWM measures this test alone.
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    REQUIRE(clear.good());
  }
  const long rss_before_kb = status_field("VmRSS");
  constexpr long kBytes = 100'000'000;
  const auto outcome = h.run_spec(child_spec(
      {"out", "step=0 loss=1", "big", std::to_string(kBytes), "out", "", "out", "loss=0.25"}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 0.25}});
  CHECK(h.sink.intermediates_of(1).size() == 1);
  CHECK(fs::file_size(h.dir / "trial-1" / "stdout.log") == 14 + kBytes + 1 + 10);
  const long peak_growth_kb = status_field("VmHWM") - rss_before_kb;
  INFO("peak RSS grew by " << peak_growth_kb << " kB");
  CHECK(peak_growth_kb < 16 * 1024);
}

TEST_CASE("a retry appends to the logs under an attempt header", "[executors][subprocess]") {
  Harness h;
  SubprocessExecutor first(h.io, child_spec({"out", "first=1", "err", "e1"}), 1);
  TrialTask t = h.task();
  const auto trial_dir = t.trial_dir;
  REQUIRE(h.run_one(first, t).ok());
  SubprocessExecutor second(h.io, child_spec({"out", "second=2", "err", "e2"}), 1);
  t.trial_id = 2;
  t.attempt = 1;
  const auto outcome = h.run_one(second, t);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"second", 2}});
  CHECK(read_file(trial_dir / "stdout.log") == "first=1\n=== attempt 1 ===\nsecond=2\n");
  CHECK(read_file(trial_dir / "stderr.log") == "e1\n=== attempt 1 ===\ne2\n");
}

// ---------------------------------------------------------------------------------------------
// What the program sees

TEST_CASE("argv carries substituted parameters, literal braces, and no inactive element",
          "[executors][subprocess]") {
  Harness h;
  const auto dump = (h.dir / "argv.json").string();
  const auto outcome =
      h.run_spec(child_spec({"dump", dump, "--C={C}", "{kernel}", "--degree={degree}",
                             "{{literal}}", "--gamma", "{gamma}"}),
                 {{"C", 0.001}, {"kernel", "rbf"}, {"gamma", 1e-05}});
  REQUIRE(outcome.ok());
  CHECK(read_dump(dump)["argv"] == nlohmann::json({kChild, "dump", dump, "--C=0.001", "rbf",
                                                   "{literal}", "--gamma", "1e-05"}));
}

TEST_CASE("parameter values reach the program verbatim, never through a shell",
          "[executors][subprocess]") {
  Harness h;
  const auto dump = (h.dir / "argv.json").string();
  write_file(h.dir / "keep", "precious");
  const std::string evil = "$(touch " + (h.dir / "pwned").string() + "); rm -rf " +
                           (h.dir / "keep").string() + "; `touch " + (h.dir / "pwned2").string() +
                           "` | cat > " + (h.dir / "pwned3").string() + " \"'* ${HOME} \\n";
  const auto outcome =
      h.run_spec(child_spec({"dump", dump, "{evil}", "--opt={evil}"}), {{"evil", evil}});
  REQUIRE(outcome.ok());
  const auto argv = read_dump(dump)["argv"];
  REQUIRE(argv.size() == 5);
  CHECK(argv[3] == evil);
  CHECK(argv[4] == "--opt=" + evil);
  CHECK(read_dump(dump)["env"]["HPO_PARAM_EVIL"] == evil);
  CHECK(fs::exists(h.dir / "keep"));
  CHECK_FALSE(fs::exists(h.dir / "pwned"));
  CHECK_FALSE(fs::exists(h.dir / "pwned2"));
  CHECK_FALSE(fs::exists(h.dir / "pwned3"));
}

TEST_CASE("the environment carries the HPO protocol variables, spec.env and hpo's own",
          "[executors][subprocess]") {
  Harness h;
  ::setenv("HPO_TEST_INHERITED", "from-parent", 1);
  ::setenv("HPO_PARAM_STALE", "from-an-outer-run", 1);
  const auto dump = (h.dir / "env.json").string();
  auto spec = child_spec({"dump", dump});
  spec.env = {{"MY_VAR", "hello world"}, {"HPO_TEST_OVERRIDDEN", "by-spec"}};
  ::setenv("HPO_TEST_OVERRIDDEN", "from-parent", 1);
  SubprocessExecutor executor(h.io, spec, 1);
  ::unsetenv("HPO_TEST_INHERITED");
  ::unsetenv("HPO_PARAM_STALE");
  ::unsetenv("HPO_TEST_OVERRIDDEN");

  const ParamSet params{{"learning-rate", 0.01}, {"layers", 3}, {"act", "relu"}, {"bn", true}};
  TrialTask t = h.task(params);
  t.number = 7;
  t.attempt = 2;
  const auto trial_dir = t.trial_dir;
  const auto checkpoint_dir = t.checkpoint_dir;
  REQUIRE(h.run_one(executor, t).ok());

  const auto env = read_dump(dump)["env"];
  const auto var = [&](const std::string& name) { return env.value(name, std::string("<unset>")); };
  CHECK(var("HPO_TRIAL_NUMBER") == "7");
  CHECK(var("HPO_STUDY") == "executor-test");
  CHECK(var("HPO_ATTEMPT") == "2");
  CHECK(nlohmann::json::parse(var("HPO_PARAMS")) == params_to_json(params));
  CHECK(var("HPO_PARAM_LEARNING_RATE") == "0.01");
  CHECK(var("HPO_PARAM_LAYERS") == "3");
  CHECK(var("HPO_PARAM_ACT") == "relu");
  CHECK(var("HPO_PARAM_BN") == "true");
  CHECK_FALSE(env.contains("HPO_PARAM_STALE"));
  CHECK(var("HPO_TRIAL_DIR") == trial_dir.string());
  CHECK(var("HPO_CHECKPOINT_DIR") == checkpoint_dir.string());
  CHECK(var("HPO_RESULT_FILE") == (trial_dir / "result.json").string());
  CHECK(var("MY_VAR") == "hello world");
  CHECK(var("HPO_TEST_INHERITED") == "from-parent");
  CHECK(var("HPO_TEST_OVERRIDDEN") == "by-spec");
  CHECK(var("PYTHONUNBUFFERED") == "1");
  CHECK(env.contains("PATH"));
  CHECK(fs::equivalent(read_dump(dump)["cwd"].get<std::string>(), trial_dir));
}

TEST_CASE("relative trial directories reach the program as absolute paths",
          "[executors][subprocess]") {
  Harness h;
  const auto dump = (h.dir / "env.json").string();
  auto spec = child_spec({"result", literal(R"({"ok": 1})"), "dump", dump});
  spec.cwd = h.dir.path();  // elsewhere than the trial directory
  SubprocessExecutor executor(h.io, spec, 1);
  TrialTask t = h.task();
  t.trial_dir = fs::relative(t.trial_dir);
  t.checkpoint_dir = fs::relative(t.checkpoint_dir);
  REQUIRE(t.trial_dir.is_relative());
  const auto trial_dir = fs::absolute(t.trial_dir);
  const auto outcome = h.run_one(executor, t);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"ok", 1}});  // the program found HPO_RESULT_FILE
  const auto env = read_dump(dump)["env"];
  CHECK(env.value("HPO_TRIAL_DIR", "") == trial_dir.string());
  CHECK(env.value("HPO_CHECKPOINT_DIR", "") == (trial_dir / "checkpoints").string());
  CHECK(env.value("HPO_RESULT_FILE", "") == (trial_dir / "result.json").string());
}

TEST_CASE("the program runs in spec.cwd when set", "[executors][subprocess]") {
  Harness h;
  const auto work = h.dir / "work";
  fs::create_directories(work);
  const auto dump = (h.dir / "cwd.json").string();
  auto spec = child_spec({"dump", dump});
  spec.cwd = work;
  REQUIRE(h.run_spec(spec).ok());
  CHECK(fs::equivalent(read_dump(dump)["cwd"].get<std::string>(), work));
}

TEST_CASE("a bare program name is looked up on the child's PATH, a relative path in spec.cwd",
          "[executors][subprocess]") {
  Harness h;
  const fs::path child(kChild);
  SubprocessOptions spec = command_spec({child.filename().string(), "out", "found=1"});
  spec.env["PATH"] = "/nonexistent:" + child.parent_path().string();
  auto outcome = h.run_spec(spec);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"found", 1}});

  SubprocessOptions relative = command_spec({"./" + child.filename().string(), "out", "found=2"});
  relative.cwd = child.parent_path();
  outcome = h.run_spec(relative);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"found", 2}});
}

// ---------------------------------------------------------------------------------------------
// Process hygiene

TEST_CASE("a grandchild holding stdout open does not hang the trial, and dies with it",
          "[executors][subprocess]") {
  Harness h;
  const auto pid_file = h.dir / "grandchild.pid";
  const auto outcome =
      h.run_spec(child_spec({"grandchild", "60000", pid_file.string(), "out", "loss=1"}));
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 1}});
  const pid_t grandchild = read_pid(pid_file);
  REQUIRE(grandchild > 0);
  CHECK(dies(grandchild));
}

TEST_CASE("a process that escaped the group holds the trial open only for the drain window",
          "[executors][subprocess]") {
  Harness h;
  const auto pid_file = h.dir / "escaped.pid";
  // The escaped process keeps the pipes for 60 s, beyond the 30 s limit of run_until.
  const auto outcome =
      h.run_spec(child_spec({"escaped-grandchild", "60000", pid_file.string(), "out", "loss=1"}));
  const pid_t escaped = read_pid(pid_file);
  if (escaped > 0) ::kill(escaped, SIGKILL);
  REQUIRE(outcome.ok());
  CHECK(outcome.metrics == Metrics{{"loss", 1}});
  REQUIRE(escaped > 0);
}

TEST_CASE("parallel trials run at the same time, without a thread per child",
          "[executors][subprocess]") {
  Harness h;
  constexpr int kTrials = 4;
  // Each child waits at a barrier until all four exist: run one at a time, none would pass.
  const auto barrier = (h.dir / "barrier").string();
  SubprocessExecutor executor(
      h.io, child_spec({"barrier", barrier, std::to_string(kTrials), "out", "passed=1"}), kTrials);
  const long threads_before = status_field("Threads");
  for (int i = 0; i < kTrials; ++i) executor.start(h.task(), h.sink);
  CHECK(executor.running() == kTrials);
  CHECK(status_field("Threads") == threads_before);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == kTrials; }));
  for (const auto& [id, outcome] : h.sink.finished) {
    INFO("trial " << id << ": " << outcome.reason);
    CHECK(outcome.ok());
    CHECK(outcome.metrics == Metrics{{"passed", 1}});
  }
  CHECK(executor.running() == 0);
}

// 1,000 short trials without leaks, and io_context::run() returning by itself, are cases of
// the executor conformance suite (conformance_test.cpp), which runs them on every backend.

TEST_CASE("destroying the executor kills and reaps running trials and calls the sink no more",
          "[executors][subprocess]") {
  Harness h;
  const auto pid_file = h.dir / "grandchild.pid";
  {
    SubprocessExecutor executor(h.io,
                                child_spec({"ignore-term", "grandchild", "60000", "{pid_file}",
                                            "out", "step=0 ready=1", "hang"}),
                                2);
    executor.start(h.task({{"pid_file", pid_file.string()}}), h.sink);
    REQUIRE(h.run_until([&] { return h.sink.intermediates.size() == 1; }));
    // And one that may not even have started its grandchild yet.
    executor.start(h.task({{"pid_file", (h.dir / "other.pid").string()}}), h.sink);
  }
  h.io.restart();
  h.io.poll();
  CHECK(h.sink.finished.empty());
  CHECK(child_process_count() == 0);
  CHECK(dies(read_pid(pid_file)));
}

}  // namespace
}  // namespace hpo::testing
