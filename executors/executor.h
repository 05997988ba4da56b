// Executor: runs trials somewhere (threads, child processes, Kubernetes Jobs) and reports
// what happens through an EventSink. Executors never call a sampler or storage.
//
// Threading: an executor is created on the run's boost::asio::io_context. start() and
// cancel() are called on that io_context's thread, and every EventSink callback is delivered
// on it too (backends with their own threads post back). Nothing throws out of a handler:
// a problem with one trial becomes on_finished(TrialOutcome::failed(...)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "hpo/param_value.h"
#include "hpo/trial.h"
#include "engine/model/trial_outcome.h"

namespace hpo {

// Everything an executor needs to run one trial.
struct TrialTask {
  std::int64_t trial_id = 0;
  int number = 0;
  std::string study;
  ParamSet params;
  // Both exist when the executor's uses_trial_dirs() is true.
  std::filesystem::path trial_dir;       // stdout.log / stderr.log go here
  std::filesystem::path checkpoint_dir;  // stable across retries and resumes
  int attempt = 0;
};

// Why the engine asks a running trial to stop. The outcome that follows says so:
//   kInterrupted  the run is stopping (Ctrl-C): failed(kInterrupted, "interrupted"); the
//                 engine re-queues the trial for the next run
//   kPruned       a pruner judged it hopeless: pruned(...); a trial that finished before the
//                 stop landed reports its real outcome instead (COMPLETE is never lost)
//   kTimedOut     a limit the engine keeps ran out: failed(kTimeout, "timed out ...")
enum class StopCause { kInterrupted, kPruned, kTimedOut };

const char* to_string(StopCause cause);  // "interrupted", "pruned", "timed out"

// The outcome of a trial that stopped because it was asked to, for `cause`: the one mapping
// every executor reports. `detail` is appended to the reason ("interrupted (the objective did
// not return within 5s)").
TrialOutcome stopped_outcome(StopCause cause, const std::string& detail = "");

// What recover() found of a trial that a dead run left RUNNING.
enum class Recovery {
  kGone,        // nothing of it runs any more (leftovers were stopped): run it again
  kReattached,  // it still runs and the executor follows it again: its events will come
};

// Receives trial events, on the io_context thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The trial runs; `where` says where, so that a later hpo can find it again after this one
  // died (recover() gets it back). Opaque to the engine, which only stores it. Called at most
  // once, before any other event of the trial. Default: ignored.
  virtual void on_started(std::int64_t trial_id, const std::string& where) {}
  // What was started for the trial (argv, working directory, the environment hpo added; see
  // TrialLaunch), for the record. Called at most once, before on_started. Default: ignored.
  virtual void on_launched(std::int64_t trial_id, const TrialLaunch& launch) {}
  // An intermediate report: a metrics line that carried step=N or epoch=N (the step key is
  // not among `metrics`). Called in the order the trial reported.
  virtual void on_intermediate(std::int64_t trial_id, std::int64_t step,
                               const std::map<std::string, double>& metrics) = 0;
  // The trial ended. Called exactly once per started trial, after its last on_intermediate.
  virtual void on_finished(std::int64_t trial_id, TrialOutcome outcome) = 0;
};

class Executor {
 public:
  Executor() = default;
  virtual ~Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Starts `task`; returns at once. REQUIRES: fewer than capacity() trials are running.
  // A trial that cannot be started is reported through sink.on_finished(failed(...)), not
  // thrown. `sink` must outlive the trial.
  virtual void start(TrialTask task, EventSink& sink) = 0;
  // Asks a running trial to stop, for `cause` (see StopCause for the outcome that follows):
  // gently first (a subprocess gets TERM, then KILL after the grace period), at once with
  // `kill_now`. Calling it again may only make it harsher (kill_now); the first cause stays.
  // No-op for an unknown or finished trial.
  virtual void cancel(std::int64_t trial_id, StopCause cause, bool kill_now = false) = 0;
  // How many trials may run at once.
  virtual std::size_t capacity() const = 0;
  // Trials started (or re-attached) and not yet finished.
  virtual std::size_t running() const = 0;
  // A run that died left `task`'s trial RUNNING; `where` is what its on_started said (empty
  // when it never said). Called on the io thread before the engine runs the trial again, by
  // the one live run that took the trial over. Either makes sure nothing of the old trial runs
  // any more and returns kGone (a subprocess executor kills the leftover process group, after
  // checking it belongs to this trial: process ids are reused), or follows it again and
  // returns kReattached (a Kubernetes Job outlives hpo): then it counts in running() and its
  // events (no on_started) go to `sink` as for a started trial. A `where` it does not
  // understand, or one from another host, means kGone with nothing touched.
  virtual Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) = 0;
  // True when the manager must create TrialTask::trial_dir and checkpoint_dir before start()
  // (child processes write their logs there). An in-process executor returns false and
  // creates them only when the objective asks for them, which keeps trivial trials cheap.
  virtual bool uses_trial_dirs() const { return true; }
};

}  // namespace hpo
