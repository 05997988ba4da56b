// ThreadsExecutor: runs each trial as a call of an in-process Objective (include/hpo/objective.h)
// on a oneTBB task arena, and posts what happens back to the run's io_context
// (`"executor": {"kind": "threads", "builtin": "branin"}` or `"library": "./libobj.so"`).
//
// Concurrency. The arena has exactly `parallelism` slots, so at most that many objective calls
// run at once, also counting calls the executor stopped waiting for (see Timeouts): a new
// trial queues for a free thread instead of oversubscribing. Each call runs isolated
// (tbb::this_task_arena::isolate), so an objective that uses TBB itself never picks up another
// trial while it waits. The executor raises TBB's worker limit (a global_control shared by all
// ThreadsExecutors) to at least `parallelism`, so objectives that block (I/O, sleeps) still run
// side by side on a machine with fewer cores.
//
// Outcomes, each delivered once per start() through sink.on_finished, on the io_context, never
// from inside start() or cancel():
//   the objective returns        -> complete(metrics); a single number is named
//                                   options.metric (whether that metric is the study's
//                                   objective, and finite, is the study manager's call)
//   it throws hpo::TrialPruned   -> pruned(what())
//   it throws anything else      -> failed(kObjective, what())
//   options.timeout expired      -> failed(kTimeout, "timed out after 2s"), at once
//   cancel(kPruned)              -> should_prune() and should_stop() turn true; pruned when
//                                   the call returns after one of them said yes (or after
//                                   options.cancel_grace); a call that returns without having
//                                   been told keeps its own outcome (it finished first)
//   cancel(cause)                -> stopped_outcome(cause) when the call returns, or after
//                                   options.cancel_grace, or at once with kill_now
// Intermediate reports (ObjectiveContext::report) reach sink.on_intermediate in the order the
// objective made them, before its on_finished; reports made after the trial was reported
// finished are dropped.
//
// Timeouts and cancels. A thread cannot be killed: when the executor stops waiting for a call,
// should_stop() turns true and the call keeps its thread until it returns. Its result is then
// ignored. Objectives should poll should_stop() between steps; one that never returns holds one
// of the `parallelism` threads for good.
//
// Trial directories. uses_trial_dirs() is false: the study manager does not create them, and
// ObjectiveContext::checkpoint_dir()/trial_dir() create them when the objective first asks.
//
// Threading: as Executor. Construct, call start()/cancel()/running() and destroy on the
// io_context's thread. io_context::run() returns by itself once every trial has been reported
// finished (the executor holds work on the io_context only while trials run).
//
// Destruction with trials still running asks them to stop, calls the EventSink no more, and
// does not wait: calls still in progress finish on their threads and are discarded (the
// objective, and a plugin library with it, stays loaded until the last call returns).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "executors/executor.h"
#include "executors/executor_registry.h"
#include "hpo/objective.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hpo {

// Settings of a ThreadsExecutor (from the spec's "executor" block and "objective").
struct ThreadsExecutorOptions {
  // Name of the metric an objective returns as a single number: the study's objective metric
  // ("objective": {"metric": ...}).
  std::string metric = "value";
  // Per-trial time limit (executor "timeout"); nullopt: none.
  std::optional<std::chrono::milliseconds> timeout;
  // How long cancel() waits for the objective to return before reporting the trial
  // interrupted anyway (executor "kill_grace" has this role for subprocesses).
  std::chrono::milliseconds cancel_grace{5000};
};

// "threads": "builtin", or "library" (+ "symbol"); see executors/objective_sources.h.
ExecutorRegistration threads_executor_registration();

class ThreadsExecutor final : public Executor {
 public:
  // REQUIRES: objective is set and parallelism >= 1 (else throws ExecutorError). `io` must
  // outlive the executor.
  ThreadsExecutor(boost::asio::io_context& io, Objective objective, std::size_t parallelism,
                  ThreadsExecutorOptions options = {});
  ~ThreadsExecutor() override;

  // Queues the trial's objective call on the arena and returns. REQUIRES: task.trial_id is not
  // running, running() < capacity().
  void start(TrialTask task, EventSink& sink) override;
  // Makes should_stop() true for the trial; its on_finished(kInterrupted) follows when the
  // call returns, after options.cancel_grace at the latest, or at once with kill_now (also when
  // called again with kill_now). A trial whose call has not begun never calls the objective.
  // No-op for an unknown or finished trial.
  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now = false) override;
  // The parallelism given at construction.
  std::size_t capacity() const override;
  // Trials started whose on_finished has not been called yet.
  std::size_t running() const override;
  // False: directories are created lazily by the objective context.
  bool uses_trial_dirs() const override { return false; }
  // A call dies with the process that made it: always kGone.
  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) override;

  // Objective calls executing right now, including those the executor stopped waiting for.
  // Thread-safe. Never more than capacity().
  std::size_t active_calls() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // weakly shared with in-flight io_context handlers
};

}  // namespace hpo
