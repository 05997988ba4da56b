#include "engine/study_manager.h"

#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <csignal>
#include <map>
#include <set>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/budget.h"
#include "engine/factory.h"
#include "engine/fail_fast.h"
#include "engine/model/file_io.h"
#include "hpo/errors.h"
#include "engine/run_lease.h"

namespace hpo {

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kBudgetMet: return "budget met";
    case StopReason::kTimeout: return "timeout";
    case StopReason::kMaxFailed: return "too many failed trials";
    case StopReason::kInterrupted: return "interrupted";
    case StopReason::kExhausted: return "sampler exhausted: every point has run";
    case StopReason::kGoalReached: return "goal reached";
    case StopReason::kFailFast: return "stopped early: every trial failed the same way";
  }
  return "budget met";
}

// One execution of run(): owns the io_context, the executor, the lease and the run's state.
// Lives on the stack of run(); every member is touched only from the io thread.
class StudyManager::Run final : public EventSink {
 public:
  Run(StudyManager& owner)
      : core_(owner.core_),
        options_(owner.options_),
        stop_requests_(owner.stop_requests_),
        signals_(io_),
        tick_(io_),
        heartbeat_(io_),
        timeout_(io_),
        poll_(io_),
        stop_check_(io_) {}

  RunResult execute() {
    start_time_ = std::chrono::steady_clock::now();
    const StudySpec& spec = core_.spec();
    parallelism_ = options_.parallelism.value_or(spec.parallelism);
    core_.set_parallelism(parallelism_);
    budget_.target = options_.trials ? options_.trials : spec.budget.trials;
    // Without an explicit limit, a study that fails every trial (a typo in the command, a
    // missing file) must still end: allow as many failures as trials asked for.
    budget_.max_failed = options_.max_failed_trials
                             ? options_.max_failed_trials
                             : (spec.budget.max_failed_trials ? spec.budget.max_failed_trials
                                                              : budget_.target);
    fail_fast_.emplace(spec.budget.fail_fast, spec.name, spec.metric);
    if (spec.executor) retry_ = spec.executor->retry;
    trials_root_ = spec.executor && spec.executor->trials_dir ? *spec.executor->trials_dir
                                                              : options_.trials_root;
    if (trials_root_.empty())
      trials_root_ = std::filesystem::current_path() / (spec.name + "-trials");
    executor_ = options_.make_executor
                    ? options_.make_executor(io_, spec, static_cast<std::size_t>(parallelism_))
                    : make_executor(io_, spec, static_cast<std::size_t>(parallelism_));
    core_.refresh();
    lease_.emplace(core_.storage(), core_.id());
    recover_dead_runs();

    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.add(SIGHUP);
      wait_for_signal();
    }
    const auto timeout = options_.timeout ? options_.timeout : spec.budget.timeout;
    if (timeout) {
      timeout_.expires_after(*timeout);
      timeout_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        stop(StopReason::kTimeout, "timeout of the budget reached: no new trials");
      });
    }
    schedule_tick();
    schedule_heartbeat();
    check_stop_requests();
    boost::asio::post(io_, [this] {
      guarded([this] {
        // Stopped from inside the loop, so that the signal and timer waits are cancelled.
        if (core_.goal_reached())
          stop(StopReason::kGoalReached, goal_text() + ": nothing to run", goal_text());
        pump();
      });
    });
    io_.run();

    // Other runs of the study may have finished trials since this run last looked: the summary
    // counts the study as it is now, beside what this run did.
    try {
      core_.refresh();
    } catch (const StorageError&) {
      // The counts this run last saw are still true for it; the summary says those.
    }
    RunResult result;
    result.reason = reason_.value_or(StopReason::kBudgetMet);
    result.detail = detail_;
    result.stats = stats();
    result.study_id = core_.id();
    if (options_.progress) options_.progress->on_end(result.stats);
    lease_.reset();
    if (error_) std::rethrow_exception(error_);
    return result;
  }

  // EventSink --------------------------------------------------------------------------------
  void on_started(std::int64_t trial_id, const std::string& where) override {
    guarded([&] {
      if (running_.count(trial_id)) core_.set_location(trial_id, where);
    });
  }

  void on_launched(std::int64_t trial_id, const TrialLaunch& launch) override {
    guarded([&] {
      if (running_.count(trial_id)) core_.set_launch(trial_id, launch);
    });
  }

  void on_intermediate(std::int64_t trial_id, std::int64_t step,
                       const std::map<std::string, double>& metrics) override {
    guarded([&] {
      const auto it = metrics.find(core_.spec().judged_metric());
      // A trial being pruned stores nothing after the step it was pruned at: its value is the
      // one that was judged, and the pruners' view of it stays what it was then.
      if (it == metrics.end() || !running_.count(trial_id) || pruning_.count(trial_id)) return;
      if (!core_.report(trial_id, step, it->second)) return;
      if (!core_.prunes()) return;
      // Other runs' trials report into storage, not into this run's view: catch up first.
      if (other_runs_alive_) core_.refresh_running();
      PruneDecision decision = core_.should_prune(trial_id, step);
      if (!decision.prune) return;
      pruning_[trial_id] = std::move(decision.reason);
      executor_->cancel(trial_id, StopCause::kPruned, false);
    });
  }

  void on_finished(std::int64_t trial_id, TrialOutcome outcome) override {
    guarded([&] {
      if (!running_.erase(trial_id)) return;
      if (const auto it = pruning_.find(trial_id); it != pruning_.end()) {
        // The executor says "pruned"; the pruner's reason says why.
        if (outcome.state == TrialState::kPruned) outcome.reason = it->second;
        pruning_.erase(it);
      }
      record_finish(trial_id, std::move(outcome));
      pump();
    });
  }

 private:
  // Storage failures inside a handler must not escape io_context::run() half-way: keep the
  // first one, stop launching, and rethrow it once the run is wound down.
  template <typename Fn>
  void guarded(Fn&& fn) {
    try {
      fn();
    } catch (...) {
      if (!error_) error_ = std::current_exception();
      if (!reason_) reason_ = StopReason::kInterrupted;
      for (auto id : running_ids()) executor_->cancel(id, StopCause::kInterrupted, true);
      maybe_finish();
    }
  }

  std::vector<std::int64_t> running_ids() const { return {running_.begin(), running_.end()}; }

  RunStats stats() const {
    const StudyTally& tally = core_.tally();
    RunStats s = run_stats_;
    s.complete = tally.counts.complete;
    s.pruned = tally.counts.pruned;
    s.failed = tally.counts.fail;
    s.best_number = tally.best_number;
    s.best_value = tally.best_value;
    if (core_.spec().multi_objective()) {
      const StudyCore::Front front = core_.front();
      s.front_size = static_cast<int>(front.trials.size());
      s.hypervolume = front.hypervolume;
    }
    s.target = budget_.target;
    s.running = static_cast<int>(running_.size());
    s.elapsed = std::chrono::steady_clock::now() - start_time_;
    return s;
  }

  std::string trial_dir_pattern() const { return (trials_root_ / "{number}").string(); }

  // What the executor is told of a trial. Retries and re-queued trials keep the checkpoint of
  // the trial they re-run.
  TrialTask task_for(const Trial& t) const {
    TrialTask task;
    task.trial_id = t.id;
    task.number = t.number;
    task.study = core_.spec().name;
    task.params = t.params;
    task.trial_dir = t.trial_dir.empty() ? trials_root_ / std::to_string(t.number)
                                         : std::filesystem::path(t.trial_dir);
    task.checkpoint_dir =
        trials_root_ / std::to_string(t.retry_of.value_or(t.number)) / "checkpoint";
    task.attempt = t.attempt;
    return task;
  }

  // Starts trials while there is room and budget (see Budget).
  void pump() {
    while (!reason_ && budget_.may_start(executor_->capacity(), executor_->running(),
                                         run_stats_.failed_this_run) > 0) {
      const TrialCounts counts = core_.storage().count_trials(core_.id());
      const RunBudget::Next next = budget_.next(counts);
      if (next == RunBudget::Next::kMet) {
        reason_ = StopReason::kBudgetMet;
        break;
      }
      if (next == RunBudget::Next::kWait) break;
      if (next == RunBudget::Next::kClaim) {
        if (auto claimed = core_.claim(lease_->me().owner, budget_.target)) launch(*claimed);
        continue;  // claimed, or another run took it first: count again
      }
      std::optional<Trial> created =
          core_.ask(lease_->me().owner, budget_.target, trial_dir_pattern());
      if (created) {
        launch(*created);
        continue;
      }
      if (!core_.sampler_exhausted()) continue;  // another run reached the limit: count again
      if (running_.empty())
        stop(StopReason::kExhausted,
             "the sampler has proposed everything it can (every grid point has run)");
      break;
    }
    if (!reason_ && running_.empty()) schedule_poll();
    maybe_finish();
  }

  void launch(const Trial& t) {
    TrialTask task = task_for(t);
    std::optional<std::string> problem;
    if (executor_->uses_trial_dirs() && !is_missing_or_empty_dir(task.trial_dir))
      problem = "it already holds files this study's database does not know (an earlier study "
                "of the same name, or another database's): move it away";
    if (!problem && executor_->uses_trial_dirs()) {
      // With mkdir, one level at a time from the trials root, never through a link, and only
      // into directories of this user (a shared, world-writable place is no trap).
      problem = make_owned_dirs(trials_root_, task.checkpoint_dir);
      if (!problem) problem = make_owned_dirs(trials_root_, task.trial_dir);
    }
    if (problem) {
      // Every later trial would fail the same way: this stops the command, not the trial.
      core_.tell(t.id,
                 TrialOutcome::failed(FailureKind::kInterrupted,
                                      "interrupted: cannot create trial directory"),
                 retry_, trial_dir_pattern());
      throw ExecutorError("cannot create trial directory '" + task.trial_dir.string() +
                          "': " + *problem);
    }
    running_.insert(t.id);
    executor_->start(std::move(task), *this);
  }

  void record_finish(std::int64_t trial_id, TrialOutcome outcome) {
    const auto recorded = core_.tell(trial_id, std::move(outcome), retry_, trial_dir_pattern());
    if (!recorded) return;  // finished elsewhere meanwhile (it is no longer ours)
    const Trial& t = recorded->finished;
    ++run_stats_.finished_this_run;
    if (t.state == TrialState::kComplete) ++run_stats_.complete_this_run;
    if (t.state == TrialState::kPruned) ++run_stats_.pruned_this_run;
    if (!recorded->requeued) {
      // Said before max_failed_trials: it names the cause, not just the count.
      if (auto broken = fail_fast_->observe(t)) stop(StopReason::kFailFast, *broken, *broken);
    }
    if (t.state == TrialState::kFail && !recorded->requeued) {
      ++run_stats_.failed_this_run;
      if (budget_.failures_exhausted(run_stats_.failed_this_run))
        stop(StopReason::kMaxFailed, "max_failed_trials (" +
                                         std::to_string(*budget_.max_failed) +
                                         ") reached: no new trials; the last failure: " +
                                         t.reason);
    }
    if (t.state == TrialState::kComplete && core_.goal_reached())
      stop(StopReason::kGoalReached, goal_text() + ": no new trials", goal_text());
    if (options_.progress) options_.progress->on_trial_finished(t, stats());
  }

  // "goal reached (value 0.97 of trial 4)": the study's best, which reached objective.goal.
  std::string goal_text() const {
    const StudyTally& tally = core_.tally();
    return "goal reached (value " + format_double(*tally.best_value) + " of trial " +
           std::to_string(*tally.best_number) + ")";
  }

  // Runs of this study that died leave RUNNING trials behind. Each is taken over (one live run
  // wins it), then the executor either follows it again or makes sure nothing of it runs, and
  // it is re-queued with its parameters and checkpoint directory.
  void recover_dead_runs() {
    const RunLease::Others others = lease_->others(options_.stale_after);
    other_runs_alive_ = !others.live.empty();
    const TimePoint now = Clock::now();
    int requeued = 0, reattached = 0;
    for (const Trial& t : core_.storage().get_trials(core_.id(), TrialState::kRunning)) {
      if (t.owner == lease_->me().owner || others.live.count(t.owner)) continue;
      // An owner without a lease (an hpo that kept none): the trial's own heartbeat decides.
      if (!others.dead.count(t.owner) && t.heartbeat && now - *t.heartbeat <= options_.stale_after)
        continue;
      std::optional<Trial> adopted =
          core_.storage().adopt_trial(t.id, t.owner, lease_->me().owner);
      if (!adopted) continue;  // another run took it first
      core_.put(*adopted);
      if (executor_->recover(task_for(*adopted), adopted->location, *this) ==
          Recovery::kReattached) {
        running_.insert(adopted->id);
        ++reattached;
        continue;
      }
      if (core_.tell(adopted->id,
                     TrialOutcome::failed(FailureKind::kInterrupted,
                                          "interrupted (the run that ran it stopped)"),
                     retry_, trial_dir_pattern()))
        ++requeued;
    }
    for (const auto& owner : others.dead) lease_->forget(owner);
    if (options_.progress && requeued > 0)
      options_.progress->on_message("re-queued " + std::to_string(requeued) +
                                    " trial(s) of a run that stopped");
    if (options_.progress && reattached > 0)
      options_.progress->on_message("re-attached to " + std::to_string(reattached) +
                                    " trial(s) of a run that stopped");
    if (other_runs_alive_) core_.refresh();
  }

  // Stops launching trials for `reason`; `message` is for the progress output, `detail` for the
  // run's summary (RunResult::detail).
  void stop(StopReason reason, const std::string& message, const std::string& detail = "") {
    if (reason_) return;
    reason_ = reason;
    detail_ = detail;
    if (options_.progress)
      options_.progress->on_message(
          running_.empty() ? message
                           : message + "; waiting for " + std::to_string(running_.size()) +
                                 " running trial(s)");
    maybe_finish();
  }

  void on_interrupt() {
    ++interrupts_;
    if (interrupts_ == 1) {
      reason_ = StopReason::kInterrupted;
      if (options_.progress)
        options_.progress->on_message(
            running_.empty()
                ? "interrupted"
                : "interrupted: stopping " + std::to_string(running_.size()) +
                      " running trial(s); they run again on resume (Ctrl-C again to kill now)");
      for (auto id : running_ids()) executor_->cancel(id, StopCause::kInterrupted, false);
    } else {
      if (options_.progress) options_.progress->on_message("killing running trials");
      for (auto id : running_ids()) executor_->cancel(id, StopCause::kInterrupted, true);
    }
    maybe_finish();
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      on_interrupt();
      if (!finished_) wait_for_signal();
    });
  }

  // request_stop() only raises a counter; the loop turns each new request into an interrupt.
  void check_stop_requests() {
    while (handled_requests_ < stop_requests_.load()) {
      ++handled_requests_;
      on_interrupt();
    }
    if (finished_) return;
    stop_check_.expires_after(kStopPollInterval);
    stop_check_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) check_stop_requests();
    });
  }

  void schedule_tick() {
    tick_.expires_after(std::chrono::seconds(1));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      if (options_.progress) options_.progress->on_tick(stats());
      schedule_tick();
    });
  }

  void schedule_heartbeat() {
    heartbeat_.expires_after(options_.heartbeat_interval);
    heartbeat_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      guarded([&] {
        lease_->beat(running_ids());
        recover_dead_runs();
        pump();
      });
      schedule_heartbeat();
    });
  }

  // While this run has nothing to do but the budget is not met (other runs' trials are still
  // running, or a dead run's trials are not yet recognised as dead), look again shortly.
  void schedule_poll() {
    if (poll_pending_) return;
    poll_pending_ = true;
    poll_.expires_after(std::chrono::milliseconds(250));
    poll_.async_wait([this](const boost::system::error_code& ec) {
      poll_pending_ = false;
      if (ec || finished_) return;
      guarded([&] {
        recover_dead_runs();
        core_.refresh();
        pump();
      });
    });
  }

  void maybe_finish() {
    if (finished_ || !running_.empty() || !reason_) return;
    finished_ = true;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    tick_.cancel();
    heartbeat_.cancel();
    timeout_.cancel();
    poll_.cancel();
    stop_check_.cancel();
  }

  StudyCore& core_;
  const RunOptions& options_;
  std::atomic<int>& stop_requests_;

  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer heartbeat_;
  boost::asio::steady_timer timeout_;
  boost::asio::steady_timer poll_;
  boost::asio::steady_timer stop_check_;

  std::unique_ptr<Executor> executor_;
  std::optional<RunLease> lease_;
  int parallelism_ = 1;
  RunBudget budget_;
  std::optional<FailFast> fail_fast_;
  RetryPolicy retry_;
  std::filesystem::path trials_root_;

  std::set<std::int64_t> running_;  // trials this run started or re-attached
  // Running trials the pruner stopped, with the reason to record when they end.
  std::map<std::int64_t, std::string> pruning_;
  RunStats run_stats_;              // the fields counted by this run
  bool other_runs_alive_ = false;
  bool poll_pending_ = false;
  int interrupts_ = 0;
  int handled_requests_ = 0;
  std::optional<StopReason> reason_;
  std::string detail_;  // RunResult::detail
  bool finished_ = false;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point start_time_;
};

StudyManager::StudyManager(StudyCore& core, RunOptions options)
    : core_(core), options_(std::move(options)) {}

StudyManager::~StudyManager() = default;

RunResult StudyManager::run() {
  Run run(*this);
  RunResult result = run.execute();
  // Requests made during this run were for it.
  stop_requests_.store(0);
  return result;
}

void StudyManager::request_stop() { stop_requests_.fetch_add(1); }

}  // namespace hpo
