// ScriptedExecutor: an Executor whose trials do what a test script says, on the run's
// io_context and its timers, with no process or thread: report these intermediate values, then
// end with this outcome after this long. It keeps a log of what the engine asked of it (starts,
// cancels with their causes, recoveries), so that run-loop tests can check the engine's side of
// the Executor contract. Header-only; single-threaded like every executor.
#pragma once

#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"

namespace hpo::testing {

// What one trial does.
struct Script {
  std::chrono::milliseconds duration{1};  // from start to the end
  // Intermediate reports, made evenly over the duration, in order.
  std::vector<std::pair<std::int64_t, std::map<std::string, double>>> reports;
  TrialOutcome outcome = TrialOutcome::complete({{"loss", 1.0}});
  std::string where;  // what on_started says ("" for no on_started)
};

// What the engine asked of a ScriptedExecutor; outlives the executor (which the run owns).
struct ScriptLog {
  struct Cancel {
    std::int64_t trial_id;
    StopCause cause;
    bool kill_now;
  };
  struct Recover {
    std::int64_t trial_id;
    std::string where;
  };
  std::vector<TrialTask> started;
  std::vector<Cancel> cancels;
  std::vector<Recover> recoveries;
  std::size_t most_running = 0;
};

class ScriptedExecutor final : public Executor {
 public:
  // `script` says what each trial does; `on_recover` what recover() finds (default: kGone)
  // and, for kReattached, `reattached` what the re-attached trial does.
  ScriptedExecutor(boost::asio::io_context& io, std::size_t capacity,
                   std::function<Script(const TrialTask&)> script, ScriptLog& log)
      : io_(io), capacity_(capacity), script_(std::move(script)), log_(log) {}

  std::function<Recovery(const TrialTask&, const std::string&)> on_recover;
  std::function<Script(const TrialTask&)> reattached;

  void start(TrialTask task, EventSink& sink) override {
    log_.started.push_back(task);
    log_.most_running = std::max(log_.most_running, runs_.size() + 1);
    follow(task, script_(task), sink);
  }

  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now) override {
    log_.cancels.push_back({trial_id, cause, kill_now});
    auto it = runs_.find(trial_id);
    if (it == runs_.end() || it->second->stopping) return;
    it->second->stopping = true;
    // The trial takes a moment to stop, as a process would.
    it->second->end.expires_after(std::chrono::milliseconds(kill_now ? 0 : 2));
    it->second->end.async_wait([this, trial_id, cause](const boost::system::error_code& ec) {
      if (!ec) finish(trial_id, stopped_outcome(cause));
    });
  }

  std::size_t capacity() const override { return capacity_; }
  std::size_t running() const override { return runs_.size(); }

  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) override {
    log_.recoveries.push_back({task.trial_id, where});
    const Recovery r = on_recover ? on_recover(task, where) : Recovery::kGone;
    if (r == Recovery::kReattached) {
      Script s = reattached ? reattached(task) : Script{};
      s.where.clear();  // a re-attached trial does not start again
      follow(task, std::move(s), sink);
    }
    return r;
  }

 private:
  struct Run {
    explicit Run(boost::asio::io_context& io) : end(io), report(io) {}
    EventSink* sink = nullptr;
    Script script;
    std::size_t next_report = 0;
    bool stopping = false;
    boost::asio::steady_timer end;
    boost::asio::steady_timer report;
  };

  void follow(const TrialTask& task, Script script, EventSink& sink) {
    auto run = std::make_shared<Run>(io_);
    run->sink = &sink;
    run->script = std::move(script);
    runs_[task.trial_id] = run;
    const std::int64_t id = task.trial_id;
    // Never from inside start(): the engine may be iterating.
    boost::asio::post(io_, [this, id, run] {
      if (!run->script.where.empty()) run->sink->on_started(id, run->script.where);
      next_report(id, run);
    });
    // With reports, the end follows the last one (timers under load must not reorder them).
    if (run->script.reports.empty()) arm_end(id, run, run->script.duration);
  }

  void arm_end(std::int64_t id, const std::shared_ptr<Run>& run,
               std::chrono::steady_clock::duration after) {
    run->end.expires_after(after);
    run->end.async_wait([this, id, run](const boost::system::error_code& ec) {
      if (!ec && !run->stopping) finish(id, run->script.outcome);
    });
  }

  void next_report(std::int64_t id, const std::shared_ptr<Run>& run) {
    if (run->stopping) return;
    const auto gap = run->script.duration / (run->script.reports.size() + 1);
    if (run->next_report >= run->script.reports.size()) {
      if (!run->script.reports.empty()) arm_end(id, run, gap);
      return;
    }
    run->report.expires_after(gap);
    run->report.async_wait([this, id, run](const boost::system::error_code& ec) {
      if (ec || run->stopping || runs_.count(id) == 0) return;
      const auto& [step, metrics] = run->script.reports[run->next_report++];
      run->sink->on_intermediate(id, step, metrics);
      next_report(id, run);
    });
  }

  void finish(std::int64_t id, TrialOutcome outcome) {
    auto it = runs_.find(id);
    if (it == runs_.end()) return;
    const std::shared_ptr<Run> run = it->second;
    runs_.erase(it);
    run->report.cancel();
    run->sink->on_finished(id, std::move(outcome));
  }

  boost::asio::io_context& io_;
  const std::size_t capacity_;
  std::function<Script(const TrialTask&)> script_;
  ScriptLog& log_;
  std::map<std::int64_t, std::shared_ptr<Run>> runs_;
};

}  // namespace hpo::testing
