// RecordingSink: an EventSink that records every event it receives, in order, for executor
// and engine tests. Optional hooks let a test react inside a callback (cancel a trial from
// on_intermediate, start the next one from on_finished), the way the study manager does.
// Header-only. Single-threaded, like every EventSink: called on the io_context's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "executors/executor.h"

namespace hpo::testing {

struct RecordedIntermediate {
  std::int64_t trial_id = 0;
  std::int64_t step = 0;
  std::map<std::string, double> metrics;
};

class RecordingSink : public EventSink {
 public:
  void on_started(std::int64_t trial_id, const std::string& where) override {
    started[trial_id] = where;
  }

  void on_launched(std::int64_t trial_id, const TrialLaunch& launch) override {
    launched[trial_id] = launch;
  }

  void on_intermediate(std::int64_t trial_id, std::int64_t step,
                       const std::map<std::string, double>& metrics) override {
    intermediates.push_back({trial_id, step, metrics});
    if (on_intermediate_hook) on_intermediate_hook(intermediates.back());
  }

  void on_finished(std::int64_t trial_id, TrialOutcome outcome) override {
    finished.emplace_back(trial_id, std::move(outcome));
    if (on_finished_hook) on_finished_hook(trial_id, finished.back().second);
  }

  // The outcome of `trial_id`; nullptr while it has not finished.
  const TrialOutcome* outcome(std::int64_t trial_id) const {
    for (const auto& [id, outcome] : finished) {
      if (id == trial_id) return &outcome;
    }
    return nullptr;
  }

  // How many times on_finished was called for `trial_id` (the contract says once).
  std::size_t finish_count(std::int64_t trial_id) const {
    std::size_t n = 0;
    for (const auto& entry : finished) n += entry.first == trial_id ? 1 : 0;
    return n;
  }

  // The intermediate reports of one trial, in the order they arrived.
  std::vector<RecordedIntermediate> intermediates_of(std::int64_t trial_id) const {
    std::vector<RecordedIntermediate> out;
    for (const auto& r : intermediates) {
      if (r.trial_id == trial_id) out.push_back(r);
    }
    return out;
  }

  std::map<std::int64_t, std::string> started;  // trial id -> where (on_started)
  std::map<std::int64_t, TrialLaunch> launched;  // trial id -> what ran (on_launched)
  std::vector<RecordedIntermediate> intermediates;
  std::vector<std::pair<std::int64_t, TrialOutcome>> finished;
  std::function<void(const RecordedIntermediate&)> on_intermediate_hook;
  std::function<void(std::int64_t, const TrialOutcome&)> on_finished_hook;
};

}  // namespace hpo::testing
