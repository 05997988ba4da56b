#include "engine/study_manager.h"

#include <utility>  // before Boost.Asio: Boost 1.74 with GCC 12 in C++20 needs it

#include <algorithm>
#include <cmath>
#include <csignal>
#include <random>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/factory.h"
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

constexpr const char* kSeedAttr = "hpo.sampler_seed";

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
  Run(StudyManager& owner) : owner_(owner), spec_(owner.spec_), storage_(owner.storage_),
                             options_(owner.options_), signals_(io_), tick_(io_),
                             heartbeat_(io_), timeout_(io_) {}

  RunResult execute() {
    start_time_ = std::chrono::steady_clock::now();
    open_study();
    parallelism_ = options_.parallelism.value_or(spec_.parallelism);
    target_ = options_.trials ? options_.trials : spec_.budget.trials;
    // Without an explicit limit, a study that fails every trial (a typo in the command, a
    // missing file) must still end: allow as many failures as trials asked for.
    max_failed_ = spec_.budget.max_failed_trials ? spec_.budget.max_failed_trials : target_;
    sampler_ = make_sampler(spec_, seed_, parallelism_);
    executor_ = options_.make_executor
                    ? options_.make_executor(io_, spec_, static_cast<std::size_t>(parallelism_))
                    : make_executor(io_, spec_, static_cast<std::size_t>(parallelism_));

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
      if (!t || t->state != TrialState::kRunning) return;
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
      for (auto& [id, index] : running_) executor_->cancel(id, true);
      maybe_finish();
    }
  }

  void open_study() {
    auto existing = storage_.find_study(spec_.name);
    if (existing) {
      study_ = *existing;
      auto seed_attr = study_.user_attrs.find(kSeedAttr);
      seed_ = spec_.sampler.seed.value_or(
          seed_attr != study_.user_attrs.end() ? std::stoull(seed_attr->second) : 0);
    } else {
      study_ = storage_.create_study(spec_.name, spec_.direction, spec_.metric, spec_.document);
      seed_ = spec_.sampler.seed.value_or(std::random_device{}() ^
                                          (std::uint64_t{std::random_device{}()} << 32));
      storage_.set_study_user_attr(study_.id, kSeedAttr, std::to_string(seed_));
    }
    trials_ = storage_.get_trials(study_.id);
    index_.clear();
    for (std::size_t i = 0; i < trials_.size(); ++i) index_[trials_[i].id] = i;
    trials_root_ = spec_.executor.trials_dir.value_or(options_.trials_root);
    if (trials_root_.empty()) trials_root_ = std::filesystem::current_path() / (spec_.name + "-trials");
  }

  Trial* find(std::int64_t id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &trials_[it->second];
  }

  RunStats stats() const {
    RunStats s;
    s.target = target_;
    s.running = static_cast<int>(running_.size());
    for (const auto& t : trials_) {
      switch (t.state) {
        case TrialState::kComplete: ++s.complete; break;
        case TrialState::kPruned: ++s.pruned; break;
        case TrialState::kFail: ++s.failed; break;
        default: break;
      }
      if (t.state == TrialState::kComplete && t.value &&
          (!s.best_value || is_better(spec_.direction, *t.value, *s.best_value))) {
        s.best_value = t.value;
        s.best_number = t.number;
      }
    }
    s.failed_this_run = failed_this_run_;
    s.finished_this_run = finished_this_run_;
    s.elapsed = std::chrono::steady_clock::now() - start_time_;
    return s;
  }

  int done_count() const {
    int n = 0;
    for (const auto& t : trials_)
      if (t.state == TrialState::kComplete || t.state == TrialState::kPruned) ++n;
    return n;
  }

  bool budget_met() const { return target_ && done_ >= *target_; }

  // Starts trials while there is room and budget; ends the run when nothing is left to do.
  void pump() {
    done_ = done_count();
    if (!reason_ && budget_met()) reason_ = StopReason::kBudgetMet;
    while (!reason_ && executor_->running() < executor_->capacity() &&
           (!target_ || done_ + static_cast<int>(running_.size()) < *target_)) {
      launch_one();
    }
    maybe_finish();
  }

  void launch_one() {
    std::optional<Trial> trial = storage_.claim_waiting_trial(study_.id);
    if (trial) {
      // An enqueued trial: its row exists already, but maybe not in our cache.
      if (auto* cached = find(trial->id)) {
        *cached = *trial;
      } else {
        index_[trial->id] = trials_.size();
        trials_.push_back(*trial);
      }
    } else {
      NewTrial nt;
      nt.state = TrialState::kRunning;
      nt.params = sampler_->suggest(StudyView(spec_.direction, trials_), spec_.space,
                                    static_cast<std::uint64_t>(trials_.size()));
      nt.trial_dir = (trials_root_ / "{number}").string();
      trial = storage_.create_trial(study_.id, nt);
      index_[trial->id] = trials_.size();
      trials_.push_back(*trial);
    }
    Trial& t = trials_[index_[trial->id]];
    if (t.trial_dir.empty()) t.trial_dir = (trials_root_ / std::to_string(t.number)).string();

    TrialTask task;
    task.trial_id = t.id;
    task.number = t.number;
    task.study = spec_.name;
    task.params = t.params;
    task.trial_dir = t.trial_dir;
    task.checkpoint_dir =
        trials_root_ / std::to_string(t.retry_of.value_or(t.number)) / "checkpoint";
    task.attempt = t.attempt;
    std::error_code ec;
    if (executor_->uses_trial_dirs()) {
      std::filesystem::create_directories(task.checkpoint_dir, ec);
      if (!ec) std::filesystem::create_directories(task.trial_dir, ec);
    }
    if (ec) {
      // Every later trial would fail the same way: this stops the command, not the trial.
      storage_.finish_trial(t.id, TrialState::kFail, std::nullopt, {},
                            "cannot create trial directory: " + ec.message());
      t.state = TrialState::kFail;
      throw ExecutorError("cannot create trial directory '" + task.trial_dir.string() +
                          "': " + ec.message());
    }
    running_[t.id] = index_[t.id];
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
    storage_.finish_trial(t.id, state, value, outcome.metrics, reason);
    t.state = state;
    t.value = value;
    t.metrics = std::move(outcome.metrics);
    t.reason = reason;
    t.finished = Clock::now();
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
      if (!reason_ || *reason_ != StopReason::kInterrupted) reason_ = StopReason::kInterrupted;
      if (options_.progress)
        options_.progress->on_message(
            running_.empty()
                ? "interrupted"
                : "interrupted: stopping " + std::to_string(running_.size()) +
                      " running trial(s) (press Ctrl-C again to kill them now)");
      for (auto& [id, index] : snapshot_running()) executor_->cancel(id, false);
    } else {
      if (options_.progress) options_.progress->on_message("killing running trials");
      for (auto& [id, index] : snapshot_running()) executor_->cancel(id, true);
    }
    maybe_finish();
  }

  std::vector<std::pair<std::int64_t, std::size_t>> snapshot_running() const {
    return {running_.begin(), running_.end()};
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
        std::vector<std::int64_t> ids;
        for (const auto& [id, index] : running_) ids.push_back(id);
        if (!ids.empty()) storage_.heartbeat(ids);
      });
      schedule_heartbeat();
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
  }

  StudyManager& owner_;
  const StudySpec& spec_;
  Storage& storage_;
  const RunOptions& options_;

  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer heartbeat_;
  boost::asio::steady_timer timeout_;

  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Executor> executor_;
  StudyRecord study_;
  std::uint64_t seed_ = 0;
  int parallelism_ = 1;
  std::optional<int> target_;
  std::optional<int> max_failed_;
  std::filesystem::path trials_root_;

  std::vector<Trial> trials_;                           // the study's trials, cache
  std::unordered_map<std::int64_t, std::size_t> index_;  // trial id -> position in trials_
  std::map<std::int64_t, std::size_t> running_;          // trials this run started
  int done_ = 0;
  int failed_this_run_ = 0;
  int finished_this_run_ = 0;
  int interrupts_ = 0;
  std::optional<StopReason> reason_;
  bool finished_ = false;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point start_time_;
};

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
