// SubprocessExecutor: runs each trial as a child process of hpo, on the run's io_context, and
// reads its metrics with the protocol of executors/metric_parser.h (DESIGN.md "How a trial
// reports back").
//
// Spec: "executor": {"kind": "subprocess", "command": [...], "cwd": "...", "env": {...}} plus the
// generic executor keys (timeout, kill_grace, ...). read_subprocess_options() is the one reader
// of those keys, for the spec checker and the factory alike.
//
// Launch. argv is spec.command after substitution (see expand_command below); no shell is
// ever involved. A program name without '/' is looked up in the PATH the child will get
// (spec.env may override PATH); a relative path with '/' ("./train.sh", "bin/train")
// resolves against spec.cwd when set, else against hpo's working directory at construction.
// (The engine makes command[0] absolute first if it wants spec-relative programs.)
// The child runs in spec.cwd (taken as given: the spec reader resolved it against the spec's
// directory, and made it the spec's directory when the spec names none); only options built in
// code without one run in the trial directory. stdin is /dev/null; no other
// descriptor of hpo leaks into it; its signal mask and dispositions start at the defaults.
//
// Environment: hpo's own (as it was at construction, minus inherited HPO_* protocol
// variables), then spec.env, then PYTHONUNBUFFERED=1 unless already set (so Python programs
// report as they go, and a killed one loses nothing), then, per trial:
//   HPO_TRIAL_NUMBER, HPO_STUDY, HPO_ATTEMPT, HPO_PARAMS (JSON object of the parameters),
//   HPO_PARAM_<NAME> (name upper-cased, every non-alphanumeric character -> '_'; absent for
//   inactive parameters), HPO_TRIAL_DIR, HPO_CHECKPOINT_DIR, and
//   HPO_RESULT_FILE = <trial_dir>/result.json (a stale one is deleted before the start).
//
// Output. stdout and stderr are appended to <trial_dir>/stdout.log and stderr.log (a retry,
// attempt > 0, first writes "=== attempt N ===" to both, so earlier attempts' logs stay).
// The lines of the streams spec.metrics.from names (default both) are read as metric reports in
// spec.metrics.format (executors/metric_format.h); intermediate ones (with a step) reach
// sink.on_intermediate in order. All of it is asynchronous on the one io_context: no thread
// per child, memory per trial bounded (a 100 MB line is streamed to the log, not buffered).
//
// Ending. Each child leads its own process group. A timeout (spec.timeout) or cancel() sends
// SIGTERM (and SIGCONT) to the whole group, then SIGKILL after spec.kill_grace. When the main
// process exits, whatever it left behind in its group is killed (as a pod's containers die
// with it), and the pipes get a short drain window (kPipeDrainWindow) after which they are
// closed even if a process that escaped the group still holds them. Every child is reaped.
// on_finished is called exactly once per start(), after the child exited and its output was
// read, never from inside start() or cancel(), with:
//   exit 0                -> complete(metrics): the HPO_RESULT_FILE object when the program
//                            wrote one (it wins whole), else the last value of each metric
//                            read (intermediate lines included); metrics_note says which
//                            streams were read and the last metric lines. Whether the
//                            objective is among them is the study manager's call.
//   exit N != 0           -> failed(kExitCode, "exited with status N; last stderr: ...")
//   killed by a signal    -> failed(kSignal, "killed by signal 9 (SIGKILL); last stderr: ...")
//   spec.timeout expired  -> failed(kTimeout, "timed out after 2s")
//   cancel(kInterrupted)  -> failed(kInterrupted, "interrupted")
//   cancel(kPruned)       -> pruned("pruned")
//   cancel(kTimedOut)     -> failed(kTimeout, "timed out")
//   cannot start          -> failed(kInfrastructure, "cannot start 'foo': No such file or
//                            directory"), also for a malformed command template
//   bad HPO_RESULT_FILE   -> failed(kObjective, "HPO_RESULT_FILE <path> is not valid JSON ...")
// A failed outcome still carries exit_code / signal when known, and the metrics seen so far.
//
// Where (on_started): "pgid:<process group id>@<host name>". recover() of such a trial kills
// that process group when it is on this host and its leader still carries the trial's
// HPO_TRIAL_DIR in its environment (process ids are reused), and returns kGone.
//
// Children exits are noticed through SIGCHLD (a boost::asio::signal_set, installed while the
// executor lives, plus a slow polling sweep as a safety net); the executor only ever waits
// for its own children's pids.
//
// Threading: as Executor. The io_context must be run by one thread, which is also the one
// calling start() and cancel(). io_context::run() returns once every trial has finished and
// nothing else is pending: the executor keeps no work alive while idle.
//
// Destruction with trials still running kills their process groups (SIGKILL), reaps them
// (blocking briefly), closes everything, and calls no EventSink any more. To record those
// trials, cancel() them and run the io_context until running() == 0 first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hpo/param_value.h"
#include "engine/model/spec_checker.h"
#include "engine/model/study_spec.h"
#include "executors/executor.h"
#include "executors/executor_registry.h"
#include "executors/metric_format.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hpo {

// The subprocess executor's settings.
struct SubprocessOptions {
  // argv with {param} placeholders ({{ and }} for literal braces). JSON "command".
  std::vector<std::string> command;
  // Working directory, absolute or relative to hpo's working directory. JSON "cwd", resolved
  // against the spec file's directory; the spec reader sets the spec file's directory when the
  // key is absent. nullopt (options built in code only): the trial directory.
  std::optional<std::filesystem::path> cwd;
  // Extra environment variables. JSON "env".
  std::map<std::string, std::string> env;
  // Which streams carry metrics and in which format. JSON "metrics_from", "metrics_format"
  // (executors/metric_format.h).
  MetricOptions metrics;
  // Per-trial time limit (generic "executor.timeout"); nullopt: none.
  std::optional<std::chrono::milliseconds> timeout;
  // Time between TERM and KILL (generic "executor.kill_grace").
  std::chrono::milliseconds kill_grace{5000};
};

// Reads the subprocess keys of the "executor" object `block` (at JSON path "executor"),
// resolving "cwd" against `base_dir`, and reports every problem to `checker`: a missing or
// empty command, a broken placeholder, a placeholder in the program, a placeholder naming no
// parameter of `param_names` (not checked when nullptr), a bad environment variable name.
SubprocessOptions read_subprocess_options(const OrderedJson& block,
                                          const std::filesystem::path& base_dir,
                                          const std::vector<std::string>* param_names,
                                          SpecChecker& checker);

// "subprocess": the options above.
ExecutorRegistration subprocess_executor_registration();

// The argv of one trial, or why it cannot be built.
struct CommandExpansion {
  std::vector<std::string> argv;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// Substitutes `params` into `command`: "{name}" becomes params.at(name).to_string(), "{{" and
// "}}" are literal braces. An element that names a parameter absent from `params` (an inactive
// conditional parameter) is dropped whole ("--degree={degree}" disappears); when that element
// is the placeholder alone ("{degree}") and the element before it is an option without a
// placeholder ("--degree": starts with '-', not the program), the option is dropped too, so
// "--degree" "{degree}" works as well. The executor cannot tell an unknown name
// from an inactive one; the spec parser rejects unknown names. A lone '{' or '}', or an empty
// "{}", is an error naming the element.
CommandExpansion expand_command(const std::vector<std::string>& command, const ParamSet& params);

// "HPO_PARAM_" + name upper-cased with every character outside [A-Za-z0-9] turned into '_'.
std::string param_env_name(const std::string& param);

class SubprocessExecutor final : public Executor {
 public:
  // How long the pipes may stay open after the main process exited (a process that escaped
  // the trial's process group may hold them).
  static constexpr std::chrono::milliseconds kPipeDrainWindow{500};

  // REQUIRES: options.command is not empty and parallelism >= 1 (else throws
  // ExecutorError). `io` must outlive the executor.
  SubprocessExecutor(boost::asio::io_context& io, SubprocessOptions options,
                     std::size_t parallelism);
  ~SubprocessExecutor() override;

  // Spawns the trial's process and returns. Spawn problems come back as on_finished(failed)
  // from a later io_context handler. REQUIRES: task.trial_dir exists, task.trial_id is not
  // running, running() < capacity().
  void start(TrialTask task, EventSink& sink) override;
  // SIGTERM to the trial's process group, SIGKILL after spec.kill_grace (at once with
  // kill_now, or when called again with kill_now). Its on_finished follows as `cause` says
  // (see StopCause), unless a timeout already stopped it (kTimeout) or it had already exited
  // (then its real outcome). No-op for an unknown or finished trial.
  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now = false) override;
  // The parallelism given at construction.
  std::size_t capacity() const override;
  // Trials started whose on_finished has not been called yet.
  std::size_t running() const override;
  // Kills what is left of the trial's process group (see "Where" above); always kGone.
  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight io_context handlers
};

}  // namespace hpo
