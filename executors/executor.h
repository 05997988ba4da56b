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

#include "engine/model/param_value.h"
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

// Receives trial events, on the io_context thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The trial runs; `where` says where, so that a later hpo can find it again after this one
  // died (subprocess: "pgid:<process group id>"). Called at most once, before any other
  // event of the trial. Default: ignored.
  virtual void on_started(std::int64_t trial_id, const std::string& where) {}
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
  // Asks a running trial to stop (TERM, then KILL after the grace period); its on_finished
  // follows with FailureKind::kInterrupted. `kill_now` skips the grace period. No-op for an
  // unknown or finished trial.
  virtual void cancel(std::int64_t trial_id, bool kill_now = false) = 0;
  // How many trials may run at once.
  virtual std::size_t capacity() const = 0;
  // Trials started and not yet finished.
  virtual std::size_t running() const = 0;
  // True when the manager must create TrialTask::trial_dir and checkpoint_dir before start()
  // (child processes write their logs there). An in-process executor returns false and
  // creates them only when the objective asks for them, which keeps trivial trials cheap.
  virtual bool uses_trial_dirs() const { return true; }
};

}  // namespace hpo
