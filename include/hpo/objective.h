// Objective: an in-process objective function, what the threads executor runs for each trial
// (DESIGN.md: "threads-executor objectives run on oneTBB"). It comes from C++ code (the library
// API, engine/api/study.h), from a builtin test function, or from a plugin library written
// against the C ABI of hpo/plugin.h (adapted by executors/objective_sources.h).
//
//   hpo::Objective objective = [](const hpo::ParamSet& params, hpo::ObjectiveContext& trial)
//       -> hpo::ObjectiveResult {
//     double loss = 0;
//     for (int epoch = 1; epoch <= 10 && !trial.should_stop(); ++epoch) {
//       loss = train_one_epoch(params.at("lr").as_double());
//       trial.report(epoch, {{"loss", loss}});
//       if (trial.should_prune()) throw hpo::TrialPruned();  // the study's pruner said so
//     }
//     return loss;  // a double is the study's objective metric; or return a Metrics map
//   };
//
// Outcomes: returning is COMPLETE with the returned metrics (the study manager checks that the
// objective metric is among them and finite); throwing hpo::TrialPruned is PRUNED; any other
// exception is FAIL with the exception's message as the reason.
//
// Threading: the executor calls one Objective from up to `parallelism` threads at once, each
// call with its own ObjectiveContext: an objective must be safe to call concurrently (no
// unguarded shared state). A thread cannot be killed: after a timeout or cancel the executor
// stops waiting for the call, and the call should notice should_stop() and return soon.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "hpo/param_value.h"
#include "hpo/trial.h"

namespace hpo {

// What an objective sees of its trial besides the parameters. Valid during the objective call
// only; used from the thread that runs the call (it is not shared with other trials).
class ObjectiveContext {
 public:
  virtual ~ObjectiveContext() = default;

  // An intermediate report: the metrics at `step` (an epoch, an iteration). Reports reach the
  // study in the order they are made; the objective metric's value is stored per step.
  virtual void report(std::int64_t step, const Metrics& metrics) = 0;
  // True once the trial should end early: it timed out, it was cancelled (Ctrl-C), or a
  // pruner decided so. Cheap (an atomic load): poll it between steps.
  virtual bool should_stop() const = 0;
  // True once the study's pruner judged this trial hopeless after one of its reports (as
  // Optuna's trial.should_prune()). End the objective then: return, or throw TrialPruned; the
  // trial is PRUNED with its last intermediate value. A trial whose objective returns without
  // having seen a yes here or from should_stop() is COMPLETE (it finished before the pruning
  // landed). Cheap: poll it after each report.
  virtual bool should_prune() const = 0;
  // The trial's number in its study (0, 1, 2, ...), its study's name, and its attempt (0 for
  // the first run of these parameters, +1 per retry).
  virtual int trial_number() const = 0;
  virtual const std::string& study() const = 0;
  virtual int attempt() const = 0;
  // A directory for checkpoints that survives retries and resumes of this trial, created on
  // the first call (absolute path). Throws std::runtime_error when it cannot be created, which
  // fails the trial with that message.
  virtual std::filesystem::path checkpoint_dir() = 0;
  // The trial's own directory (files it wants to keep), created on the first call, as above.
  virtual std::filesystem::path trial_dir() = 0;
};

// What an objective returns: either one number, which is the study's objective metric, or
// named metrics (the objective metric among them). Implicit on purpose, so that an objective
// can `return loss;` or `return {{"loss", loss}, {"accuracy", acc}};`.
class ObjectiveResult {
 public:
  ObjectiveResult(double value) : value_(value), is_value_(true) {}    // NOLINT: implicit
  ObjectiveResult(Metrics metrics) : metrics_(std::move(metrics)) {}   // NOLINT: implicit
  ObjectiveResult(std::initializer_list<Metrics::value_type> metrics)  // NOLINT: implicit
      : metrics_(metrics) {}

  // True when the objective returned a single number.
  bool is_value() const { return is_value_; }
  // REQUIRES: is_value().
  double value() const { return value_; }
  // The metrics, with a single number named `objective_metric`.
  Metrics to_metrics(const std::string& objective_metric) const {
    if (!is_value_) return metrics_;
    return {{objective_metric, value_}};
  }

 private:
  double value_ = 0.0;
  bool is_value_ = false;
  Metrics metrics_;
};

using Objective = std::function<ObjectiveResult(const ParamSet& params, ObjectiveContext& trial)>;

// Thrown by an objective to end its trial as PRUNED (as optuna.TrialPruned). The study stores
// the last intermediate value as the trial's value.
class TrialPruned : public std::runtime_error {
 public:
  explicit TrialPruned(const std::string& why = "pruned") : std::runtime_error(why) {}
};

}  // namespace hpo
