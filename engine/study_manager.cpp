#include "engine/study_manager.h"

#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <csignal>
#include <random>
#include <set>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/factory.h"
#include "engine/spec_diff.h"
#include "engine/model/errors.h"
#include "engine/model/study_view.h"
#include "samplers/sampler.h"

namespace hpo {

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kBudgetMet: return "budget met";
    case StopReason::kTimeout: return "timeout";
    case StopReason::kMaxFailed: return "too many failed trials";
    case StopReason::kInterrupted: return "interrupted";
  }
  return "budget met";
}

namespace {

constexpr const char* kSpecAttr = "hpo.spec";          // the spec document last run
constexpr const char* kSpecDirAttr = "hpo.spec_dir";   // its directory (relative paths)
constexpr const char* kWhereAttr = "hpo.where";        // trial: where it runs ("pgid:N")

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

bool process_alive(int pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::string join_names(const std::map<std::string, double>& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

// One execution of run(): owns the io_context, the sampler, the executor and the trial
// cache. Lives on the stack of run(); every member is touched only from the io thread,
// except `io_` (for request_stop's post).
class StudyManager::Run final : public EventSink {
 public:
  explicit Run(StudyManager& owner)
      : spec_(owner.spec_), storage_(owner.storage_), options_(owner.options_),
        signals_(io_), tick_(io_), heartbeat_(io_), timeout_(io_), poll_(io_) {}

  RunResult execute() {
    start_time_ = std::chrono::steady_clock::now();
    me_.host = host_name();
    me_.pid = static_cast<int>(::getpid());
    me_.owner = me_.host + ":" + std::to_string(me_.pid) + ":" +
                std::to_string(std::random_device{}() % 1000000);
    open_study();
    parallelism_ = options_.parallelism.value_or(spec_.parallelism);
    target_ = options_.trials ? options_.trials : spec_.budget.trials;
    // Without an explicit limit, a study that fails every trial (a typo in the command, a
    // missing file) must still end: allow as many failures as trials asked for.
    max_failed_ = spec_.budget.max_failed_trials ? spec_.budget.max_failed_trials : target_;
    if (spec_.executor) retry_ = spec_.executor->retry;
    sampler_ = make_sampler(spec_, seed_, parallelism_);
    executor_ = options_.make_executor
                    ? options_.make_executor(io_, spec_, static_cast<std::size_t>(parallelism_))
                    : make_executor(io_, spec_, static_cast<std::size_t>(parallelism_));

    storage_.heartbeat(study_.id, me_, {});
    struct EndRun {
      Run& r;
      ~EndRun() {
        try {
          r.storage_.end_run(r.study_.id, r.me_.owner);
        } catch (...) {
          // A dead lease is recognised by its heartbeat age; nothing is lost.
        }
      }
    } end_run{*this};
    recover_dead_runs();

    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.add(SIGHUP);
      wait_for_signal();
    }
    if (spec_.budget.timeout) {
      timeout_.expires_after(*spec_.budget.timeout);
      timeout_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        stop(StopReason::kTimeout, "timeout of the budget reached: no new trials");
      });
    }
    schedule_tick();
    schedule_heartbeat();
    boost::asio::post(io_, [this] { guarded([this] { pump(); }); });
    io_.run();

    RunResult result;
    result.reason = reason_.value_or(StopReason::kBudgetMet);
    result.stats = stats();
    result.study_id = study_.id;
    if (options_.progress) options_.progress->on_end(result.stats);
    if (error_) std::rethrow_exception(error_);
    return result;
  }

  void request_stop() {
    boost::asio::post(io_, [this] { on_interrupt(); });
  }

  // EventSink --------------------------------------------------------------------------
  void on_started(std::int64_t trial_id, const std::string& where) override {
    guarded([&] {
      if (!running_.count(trial_id)) return;
      storage_.set_trial_user_attr(trial_id, kWhereAttr, where);
      if (Trial* t = find(trial_id)) t->user_attrs[kWhereAttr] = where;
    });
  }

  void on_intermediate(std::int64_t trial_id, std::int64_t step,
                       const std::map<std::string, double>& metrics) override {
    guarded([&] {
      auto it = metrics.find(spec_.metric);
      if (it == metrics.end()) return;
      Trial* t = find(trial_id);
      if (!t || t->state != TrialState::kRunning) return;
      storage_.report_intermediate(trial_id, step, it->second);
      t->intermediate[step] = it->second;
    });
  }

  void on_finished(std::int64_t trial_id, TrialOutcome outcome) override {
    guarded([&] {
      Trial* t = find(trial_id);
      if (!t || !running_.count(trial_id)) return;
      record_finish(*t, std::move(outcome));
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

  void open_study() {
    auto existing = storage_.find_study(spec_.name);
    if (existing) {
      study_ = *existing;
      check_same_study();
      auto seed_attr = study_.user_attrs.find(kSamplerSeedAttr);
      seed_ = spec_.sampler.seed.value_or(
          seed_attr != study_.user_attrs.end() ? std::stoull(seed_attr->second) : 0);
    } else {
      study_ = storage_.create_study(spec_.name, spec_.direction, spec_.metric, spec_.document);
      seed_ = spec_.sampler.seed.value_or(std::random_device{}() ^
                                          (std::uint64_t{std::random_device{}()} << 32));
      storage_.set_study_user_attr(study_.id, kSamplerSeedAttr, std::to_string(seed_));
    }
    // The spec this run uses is the one `hpo resume` continues with.
    storage_.set_study_user_attr(study_.id, kSpecAttr, spec_.document.dump());
    storage_.set_study_user_attr(study_.id, kSpecDirAttr, spec_.base_dir.string());
    reload_trials();
    trials_root_ = spec_.executor && spec_.executor->trials_dir ? *spec_.executor->trials_dir
                                                                : options_.trials_root;
    if (trials_root_.empty())
      trials_root_ = std::filesystem::current_path() / (spec_.name + "-trials");
  }

  // A stored study may continue with another budget, parallelism or executor, but not with
  // another space, direction or metric: its history would no longer mean the same thing.
  void check_same_study() {
    if (options_.allow_spec_change) return;
    StudySpec stored;
    try {
      stored = stored_spec(study_);
    } catch (const InputError&) {
      return;  // written by an older hpo that this one cannot read: nothing to compare
    }
    auto diffs = study_differences(stored, spec_);
    if (diffs.empty()) return;
    std::vector<SpecIssue> issues;
    issues.push_back({"", "study '" + spec_.name +
                              "' exists with a different search space, direction or metric "
                              "(run with --allow-spec-change to continue it anyway):"});
    for (auto& d : diffs) issues.push_back({"", "  " + d});
    throw InputError(issues);
  }

  void reload_trials() {
    trials_ = storage_.get_trials(study_.id);
    index_.clear();
    for (std::size_t i = 0; i < trials_.size(); ++i) index_[trials_[i].id] = i;
    tally_ = RunStats{};
    for (const auto& t : trials_) tally(t);
  }

  // Adds a finished trial to the running counts and best value, so that progress output,
  // called after every trial, does not walk the whole history each time.
  void tally(const Trial& t) {
    switch (t.state) {
      case TrialState::kComplete: ++tally_.complete; break;
      case TrialState::kPruned: ++tally_.pruned; break;
      case TrialState::kFail: ++tally_.failed; break;
      default: return;
    }
    if (t.state == TrialState::kComplete && t.value &&
        (!tally_.best_value || is_better(spec_.direction, *t.value, *tally_.best_value))) {
      tally_.best_value = t.value;
      tally_.best_number = t.number;
    }
  }

  Trial& cache(const Trial& t) {
    auto it = index_.find(t.id);
    if (it != index_.end()) return trials_[it->second] = t;
    index_[t.id] = trials_.size();
    trials_.push_back(t);
    return trials_.back();
  }

  Trial* find(std::int64_t id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &trials_[it->second];
  }

  std::vector<std::int64_t> running_ids() const {
    return {running_.begin(), running_.end()};
  }

  RunStats stats() const {
    RunStats s = tally_;
    s.target = target_;
    s.running = static_cast<int>(running_.size());
    s.failed_this_run = failed_this_run_;
    s.finished_this_run = finished_this_run_;
    s.elapsed = std::chrono::steady_clock::now() - start_time_;
    return s;
  }

  std::string trial_dir_pattern() const { return (trials_root_ / "{number}").string(); }

  // Starts trials while there is room and budget. The budget counts the whole study in
  // storage (other runs' trials too): COMPLETE + PRUNED must reach budget.trials exactly, so a
  // new trial is made only while COMPLETE + PRUNED + RUNNING + WAITING stays below it.
  void pump() {
    while (!reason_ && executor_->running() < executor_->capacity()) {
      const TrialCounts counts = storage_.count_trials(study_.id);
      const int done = counts.complete + counts.pruned;
      if (target_ && done >= *target_) {
        reason_ = StopReason::kBudgetMet;
        break;
      }
      if (counts.waiting > 0 && (!target_ || done + counts.running < *target_)) {
        if (auto claimed = storage_.claim_waiting_trial(study_.id, me_.owner, target_)) {
          launch(cache(*claimed));
          continue;
        }
        continue;  // another run took it first: count again
      }
      if (target_ && done + counts.running + counts.waiting >= *target_) break;
      NewTrial nt;
      nt.state = TrialState::kRunning;
      nt.owner = me_.owner;
      nt.params = sampler_->suggest(StudyView(spec_.direction, trials_), spec_.space,
                                    static_cast<std::uint64_t>(counts.total()));
      nt.trial_dir = trial_dir_pattern();
      // The count above may be stale when other runs share the study: the storage checks the
      // budget again in the transaction that creates the trial.
      std::optional<Trial> created = target_ ? storage_.create_trial_within(study_.id, nt, *target_)
                                             : std::optional<Trial>(storage_.create_trial(study_.id, nt));
      if (!created) continue;
      launch(cache(*created));
    }
    if (!reason_ && running_.empty()) schedule_poll();
    maybe_finish();
  }

  // What the executor is told of a trial; retries and re-queued trials keep the checkpoint of
  // the trial they re-run.
  TrialTask task_for(const Trial& t) const {
    TrialTask task;
    task.trial_id = t.id;
    task.number = t.number;
    task.study = spec_.name;
    task.params = t.params;
    task.trial_dir = t.trial_dir;
    task.checkpoint_dir =
        trials_root_ / std::to_string(t.retry_of.value_or(t.number)) / "checkpoint";
    task.attempt = t.attempt;
    return task;
  }

  void launch(Trial& t) {
    if (t.trial_dir.empty()) t.trial_dir = (trials_root_ / std::to_string(t.number)).string();
    TrialTask task = task_for(t);
    std::error_code ec;
    if (executor_->uses_trial_dirs()) {
      std::filesystem::create_directories(task.checkpoint_dir, ec);
      if (!ec) std::filesystem::create_directories(task.trial_dir, ec);
    }
    if (ec) {
      // Every later trial would fail the same way: this stops the command, not the trial.
      storage_.fail_and_requeue(t.id, "interrupted: cannot create trial directory",
                                trial_dir_pattern());
      throw ExecutorError("cannot create trial directory '" + task.trial_dir.string() +
                          "': " + ec.message());
    }
    running_.insert(t.id);
    executor_->start(std::move(task), *this);
  }

  void record_finish(Trial& t, TrialOutcome outcome) {
    running_.erase(t.id);
    TrialState state = outcome.state;
    std::optional<double> value;
    std::string reason = outcome.reason;
    if (state == TrialState::kComplete) {
      auto it = outcome.metrics.find(spec_.metric);
      if (it == outcome.metrics.end()) {
        state = TrialState::kFail;
        reason = "objective metric '" + spec_.metric + "' was not reported (reported: " +
                 join_names(outcome.metrics) + ")";
      } else if (!std::isfinite(it->second)) {
        state = TrialState::kFail;
        reason = "objective metric '" + spec_.metric + "' is " +
                 (std::isnan(it->second) ? std::string("NaN") : std::string("infinite"));
      } else {
        value = it->second;
      }
    } else if (state == TrialState::kPruned && !t.intermediate.empty()) {
      value = t.intermediate.rbegin()->second;
    }
    if (state == TrialState::kFail && reason.empty()) reason = "failed";

    // An interrupted trial runs again on resume; an infrastructure failure runs again while
    // executor.retries allows. Both keep the parameters and the checkpoint directory.
    const bool interrupted = outcome.failure == FailureKind::kInterrupted;
    const bool retry = !interrupted && retry_.should_retry(outcome, t.attempt);
    if (state == TrialState::kFail && (interrupted || retry)) {
      if (retry)
        reason += " (retrying: attempt " + std::to_string(t.attempt + 2) + " of " +
                  std::to_string(retry_.retries + 1) + ")";
      auto next = storage_.fail_and_requeue(t.id, reason, trial_dir_pattern());
      t.state = TrialState::kFail;
      t.reason = reason;
      t.finished = Clock::now();
      tally(t);
      ++finished_this_run_;
      if (options_.progress) options_.progress->on_trial_finished(t, stats());
      if (next) cache(*next);  // last: it may grow trials_ and invalidate `t`
      return;
    }

    storage_.finish_trial(t.id, state, value, outcome.metrics, reason);
    t.state = state;
    t.value = value;
    t.metrics = std::move(outcome.metrics);
    t.reason = reason;
    t.finished = Clock::now();
    tally(t);
    ++finished_this_run_;
    if (state == TrialState::kFail) {
      ++failed_this_run_;
      if (max_failed_ && failed_this_run_ >= *max_failed_ && !reason_) {
        stop(StopReason::kMaxFailed,
             "max_failed_trials (" + std::to_string(*max_failed_) + ") reached: no new trials");
      }
    }
    if (options_.progress) options_.progress->on_trial_finished(t, stats());
  }

  // Runs of this study that died (their heartbeat is stale, or on this host their process is
  // gone) leave RUNNING trials behind: fail them "interrupted" and re-queue them, each in one
  // transaction that only one live run can win.
  void recover_dead_runs() {
    const auto now = Clock::now();
    std::set<std::string> live, dead;
    for (const auto& run : storage_.list_runs(study_.id)) {
      if (run.owner == me_.owner) continue;
      const bool stale = now - run.heartbeat > options_.stale_after;
      const bool gone = run.host == me_.host && !process_alive(run.pid);
      (stale || gone ? dead : live).insert(run.owner);
    }
    other_runs_alive_ = !live.empty();
    bool changed = false;
    for (const auto& t : storage_.get_trials(study_.id, TrialState::kRunning)) {
      if (t.owner == me_.owner || live.count(t.owner)) continue;
      // Unknown owner (an hpo that kept no lease) or a dead one: the trial's own heartbeat
      // decides for the former.
      if (!dead.count(t.owner) && t.heartbeat && now - *t.heartbeat <= options_.stale_after)
        continue;
      const auto where = t.user_attrs.find(kWhereAttr);
      executor_->recover(task_for(t),
                         where == t.user_attrs.end() ? std::string() : where->second, *this);
      if (storage_.fail_and_requeue(t.id, "interrupted (the run that ran it stopped)",
                                    trial_dir_pattern()))
        changed = true;
    }
    for (const auto& owner : dead) storage_.end_run(study_.id, owner);
    if (changed && options_.progress)
      options_.progress->on_message("re-queued trials of a run that stopped");
    if (changed || other_runs_alive_) {
      // Keep our own running trials' cached state: they are RUNNING in storage too.
      reload_trials();
    }
  }

  void stop(StopReason reason, const std::string& message) {
    if (reason_) return;
    reason_ = reason;
    if (options_.progress && !running_.empty())
      options_.progress->on_message(message + "; waiting for " +
                                    std::to_string(running_.size()) + " running trial(s)");
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
        storage_.heartbeat(study_.id, me_, running_ids());
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
        pump();
      });
    });
  }

  void maybe_finish() {
    if (finished_ || !running_.empty()) return;
    if (!reason_) return;
    finished_ = true;
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    tick_.cancel();
    heartbeat_.cancel();
    timeout_.cancel();
    poll_.cancel();
  }

  const StudySpec& spec_;
  Storage& storage_;
  const RunOptions& options_;

  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer heartbeat_;
  boost::asio::steady_timer timeout_;
  boost::asio::steady_timer poll_;

  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Executor> executor_;
  StudyRecord study_;
  RunRecord me_;
  std::uint64_t seed_ = 0;
  int parallelism_ = 1;
  std::optional<int> target_;
  std::optional<int> max_failed_;
  RetryPolicy retry_;
  std::filesystem::path trials_root_;

  std::vector<Trial> trials_;                           // the study's trials, cache
  RunStats tally_;  // counts and best value of trials_ (the fields tally() keeps)
  std::unordered_map<std::int64_t, std::size_t> index_;  // trial id -> position in trials_
  std::set<std::int64_t> running_;                       // trials this run started
  bool other_runs_alive_ = false;
  bool poll_pending_ = false;
  int failed_this_run_ = 0;
  int finished_this_run_ = 0;
  int interrupts_ = 0;
  std::optional<StopReason> reason_;
  bool finished_ = false;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point start_time_;
};

StudySpec stored_spec(const StudyRecord& study) {
  auto spec_attr = study.user_attrs.find(kSpecAttr);
  auto dir_attr = study.user_attrs.find(kSpecDirAttr);
  const std::string text =
      spec_attr != study.user_attrs.end() ? spec_attr->second : study.spec.dump();
  const std::filesystem::path dir = dir_attr != study.user_attrs.end()
                                        ? std::filesystem::path(dir_attr->second)
                                        : std::filesystem::current_path();
  SpecParseOptions options;
  options.origin = "stored spec of study '" + study.name + "'";
  options.require_executor = false;
  return parse_spec(text, dir, options);
}

StudyManager::StudyManager(StudySpec spec, Storage& storage, RunOptions options)
    : spec_(std::move(spec)), storage_(storage), options_(std::move(options)) {}

StudyManager::~StudyManager() = default;

RunResult StudyManager::run() {
  Run run(*this);
  active_.store(&run);
  struct Reset {
    std::atomic<Run*>& a;
    ~Reset() { a.store(nullptr); }
  } reset{active_};
  return run.execute();
}

void StudyManager::request_stop() {
  if (Run* r = active_.load()) r->request_stop();
}

}  // namespace hpo
