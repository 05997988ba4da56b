#include "executors/threads_executor.h"

// clang-format off
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)
// clang-format on

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <unordered_map>

#include "engine/model/duration.h"
#include "engine/model/file_io.h"
#include "hpo/errors.h"
#include "executors/objective_sources.h"

namespace hpo {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

// TBB starts at most default_concurrency() - 1 workers unless told otherwise, and an arena
// cannot ask for more once the scheduler exists: on a 2-core machine four blocking objectives
// would run one at a time. Each ThreadsExecutor reserves its parallelism here for as long as it
// or any call it started lives (a call that outlived its timeout still holds a worker), and one
// global_control keeps TBB's limit at the sum of the reservations on top of TBB's default (so
// that other TBB users keep their share). global_control takes the smallest value among live
// instances, so there is only ever one of ours.
class WorkerReservation {
 public:
  explicit WorkerReservation(std::size_t workers) : workers_(workers) {
    std::lock_guard lock(mu());
    reserved() += workers_;
    refresh();
  }
  ~WorkerReservation() {
    std::lock_guard lock(mu());
    reserved() -= workers_;
    // The last call of a destroyed executor lets go on a TBB thread, inside a task: not the
    // place to replace the global_control. The next reservation or release elsewhere does it
    // (until then TBB merely may start more threads than needed).
    if (tbb::this_task_arena::current_thread_index() == tbb::task_arena::not_initialized) refresh();
  }
  WorkerReservation(const WorkerReservation&) = delete;
  WorkerReservation& operator=(const WorkerReservation&) = delete;

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::size_t& reserved() {
    static std::size_t n = 0;
    return n;
  }
  // REQUIRES: mu() held.
  static void refresh() {
    static std::unique_ptr<tbb::global_control> control;
    static std::size_t current = 0;
    const std::size_t want =
        reserved() == 0 ? 0
                        : reserved() + static_cast<std::size_t>(tbb::info::default_concurrency());
    if (want == current) return;
    control.reset();
    if (want > 0)
      control =
          std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, want);
    current = want;
  }

  std::size_t workers_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// State shared with the TBB threads. Everything else lives in Impl and is touched only on the
// io_context's thread.

namespace {

// What the objective calls need after the executor may be gone: the objective itself, and a
// way to post to the io_context that knows when it must not any more.
struct Shared {
  explicit Shared(std::size_t parallelism) : workers(parallelism) {}

  WorkerReservation workers;  // released when the executor and its last call are gone
  Objective objective;
  std::string metric;
  std::atomic<std::size_t> active_calls{0};

  std::mutex mu;
  asio::io_context* io = nullptr;  // GUARDED_BY(mu); null once the executor is destroyed

  template <typename Handler>
  void post(Handler&& handler) {
    std::lock_guard lock(mu);
    if (io != nullptr) asio::post(*io, std::forward<Handler>(handler));
  }
};

// One started trial.
struct TrialRun {
  TrialTask task;
  EventSink* sink = nullptr;
  std::atomic<bool> stop{false};   // should_stop(); set on the io thread
  std::atomic<bool> prune{false};  // should_prune(); set on the io thread with `stop`
  // The objective was told to stop early (should_stop() or should_prune() said yes): a return
  // after that is the stop's outcome, not COMPLETE.
  std::atomic<bool> told{false};
  std::atomic<bool> began{false};  // the call was taken up by a thread

  // io thread only.
  bool finished = false;  // on_finished was delivered
  bool cancelled = false;
  StopCause cause = StopCause::kInterrupted;  // why, when cancelled
  std::optional<asio::steady_timer> timeout_timer;
  std::optional<asio::steady_timer> grace_timer;
};

// ThreadSanitizer does not see the synchronization inside libtbb (Debian's is not built with it),
// so it cannot tell that what the io thread wrote before arena.enqueue happens before the call
// on a TBB thread, nor that TBB reuses a finished call's memory only after it was destroyed.
// The call's closure tells it: constructing it (inside enqueue, maybe in memory recycled from an
// earlier closure) first acquires what the earlier closure's destruction released, then
// releases; the call acquires before it reads anything. Without ThreadSanitizer these are empty.
#if defined(__SANITIZE_THREAD__)
#define HPO_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HPO_THREAD_SANITIZER 1
#endif
#endif
#ifdef HPO_THREAD_SANITIZER
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
void tsan_acquire(void* addr) { __tsan_acquire(addr); }
void tsan_release(void* addr) { __tsan_release(addr); }
#else
void tsan_acquire(void*) {}
void tsan_release(void*) {}
#endif

// First base of AnnotatedCall, so at its address: constructed before and destroyed after the
// closure's members.
struct TsanReuseFence {
  TsanReuseFence() { tsan_acquire(this); }
  TsanReuseFence(const TsanReuseFence&) : TsanReuseFence() {}
  TsanReuseFence& operator=(const TsanReuseFence&) = delete;
  ~TsanReuseFence() { tsan_release(this); }
};

template <typename F>
class AnnotatedCall : TsanReuseFence {
 public:
  explicit AnnotatedCall(F f) : f_(std::move(f)) { tsan_release(this); }
  AnnotatedCall(const AnnotatedCall& other) : TsanReuseFence(), f_(other.f_) { tsan_release(this); }
  AnnotatedCall(AnnotatedCall&& other) noexcept : TsanReuseFence(), f_(std::move(other.f_)) {
    tsan_release(this);
  }
  AnnotatedCall& operator=(const AnnotatedCall&) = delete;
  ~AnnotatedCall() = default;
  void operator()() const {
    tsan_acquire(const_cast<AnnotatedCall*>(this));
    f_();
  }

 private:
  F f_;
};

}  // namespace

struct ThreadsExecutor::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, Objective objective, std::size_t parallelism,
       ThreadsExecutorOptions opts)
      : io(io_context),
        capacity(parallelism),
        options(std::move(opts)),
        arena(static_cast<int>(parallelism), /*reserved_for_masters=*/0),
        shared(std::make_shared<Shared>(parallelism)) {
    shared->objective = std::move(objective);
    shared->metric = options.metric;
    shared->io = &io;
  }

  ~Impl() {
    {
      std::lock_guard lock(shared->mu);
      shared->io = nullptr;
    }
    // Timers must die here, on the io thread, while the io_context exists: a TrialRun may
    // outlive the executor in a call that still runs.
    for (auto& [id, run] : runs) {
      run->stop = true;
      run->timeout_timer.reset();
      run->grace_timer.reset();
    }
  }

  void start(TrialTask task, EventSink& sink);
  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now);
  void finish(const std::shared_ptr<TrialRun>& run, TrialOutcome outcome);
  void call_returned(const std::shared_ptr<TrialRun>& run, TrialOutcome outcome);

  // The ObjectiveContext of one call; lives on the TBB thread's stack.
  class CallContext final : public ObjectiveContext {
   public:
    CallContext(std::shared_ptr<Shared> shared, std::shared_ptr<TrialRun> run,
                std::weak_ptr<Impl> impl)
        : shared_(std::move(shared)), run_(std::move(run)), impl_(std::move(impl)) {}

    void report(std::int64_t step, const Metrics& metrics) override {
      shared_->post([impl = impl_, run = run_, step, metrics] {
        if (impl.expired() || run->finished) return;
        run->sink->on_intermediate(run->task.trial_id, step, metrics);
      });
    }
    bool should_stop() const override { return said_yes(run_->stop.load()); }
    bool should_prune() const override { return said_yes(run_->prune.load()); }
    int trial_number() const override { return run_->task.number; }
    const std::string& study() const override { return run_->task.study; }
    int attempt() const override { return run_->task.attempt; }
    fs::path checkpoint_dir() override {
      return ensure(run_->task.checkpoint_dir, "checkpoint", checkpoint_ready_,
                    /*must_be_new=*/run_->task.attempt == 0);
    }
    fs::path trial_dir() override {
      return ensure(run_->task.trial_dir, "trial", trial_dir_ready_, /*must_be_new=*/true);
    }

   private:
    bool said_yes(bool yes) const {
      if (yes) run_->told = true;
      return yes;
    }

    // Made on the first request, as the study manager makes a process trial's: one level at a
    // time, never through a link, and a new trial's directory must hold nothing yet (files
    // there belong to no trial the database knows).
    static fs::path ensure(const fs::path& dir, const char* what, bool& ready, bool must_be_new) {
      if (dir.empty())
        throw std::runtime_error(std::string("this trial has no ") + what + " directory");
      std::error_code ec;
      const fs::path abs = fs::absolute(dir, ec).lexically_normal();
      if (ec) throw std::runtime_error(std::string("cannot find ") + what + " directory");
      if (ready) return abs;
      if (must_be_new && !is_missing_or_empty_dir(abs))
        throw std::runtime_error(std::string("the ") + what + " directory '" + abs.string() +
                                 "' already holds files this study's database does not know");
      if (auto problem = make_owned_dirs(abs.parent_path(), abs))
        throw std::runtime_error(std::string("cannot create ") + what + " directory: " + *problem);
      ready = true;
      return abs;
    }

    bool checkpoint_ready_ = false;  // the objective's thread only
    bool trial_dir_ready_ = false;

    std::shared_ptr<Shared> shared_;
    std::shared_ptr<TrialRun> run_;
    std::weak_ptr<Impl> impl_;
  };

  // Runs on a TBB thread: the objective call and nothing that could throw out of it.
  static void run_call(const std::shared_ptr<Shared>& shared, const std::shared_ptr<TrialRun>& run,
                       const std::weak_ptr<Impl>& impl) {
    run->began = true;
    TrialOutcome outcome = TrialOutcome::failed(FailureKind::kInterrupted, "interrupted");
    if (!run->stop) {
      ++shared->active_calls;
      try {
        CallContext context(shared, run, impl);
        // Isolated: if the objective waits on TBB work of its own, this thread must not take up
        // another trial's call meanwhile (that would run more trials than threads).
        tbb::this_task_arena::isolate([&] {
          const ObjectiveResult result = shared->objective(run->task.params, context);
          outcome = TrialOutcome::complete(result.to_metrics(shared->metric));
        });
      } catch (const TrialPruned& e) {
        outcome = TrialOutcome::pruned(e.what());
      } catch (const std::exception& e) {
        std::string what = e.what();
        outcome = TrialOutcome::failed(FailureKind::kObjective,
                                       what.empty() ? "the objective threw an exception" : what);
      } catch (...) {
        outcome = TrialOutcome::failed(FailureKind::kObjective,
                                       "the objective threw an exception of unknown type");
      }
      --shared->active_calls;
    }
    try {
      shared->post([impl, run, outcome = std::move(outcome)]() mutable {
        if (auto self = impl.lock()) self->call_returned(run, std::move(outcome));
      });
    } catch (...) {
      // Out of memory while posting: the trial's timeout or cancel grace still ends it.
    }
  }

  asio::io_context& io;
  const std::size_t capacity;
  const ThreadsExecutorOptions options;
  tbb::task_arena arena;
  std::shared_ptr<Shared> shared;

  std::unordered_map<std::int64_t, std::shared_ptr<TrialRun>> runs;  // started, not finished
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

void ThreadsExecutor::Impl::start(TrialTask task, EventSink& sink) {
  auto run = std::make_shared<TrialRun>();
  run->task = std::move(task);
  run->sink = &sink;
  runs[run->task.trial_id] = run;
  if (!work) work.emplace(io.get_executor());

  if (options.timeout) {
    run->timeout_timer.emplace(io, *options.timeout);
    run->timeout_timer->async_wait(
        [weak = weak_from_this(), run, timeout = *options.timeout](const error_code& ec) {
          const auto self = weak.lock();
          if (ec || !self || run->finished) return;
          run->stop = true;
          std::string reason = "timed out after " + format_duration(timeout);
          if (!run->began)
            reason +=
                " (it never started: every thread was still busy with an earlier "
                "objective that did not stop)";
          self->finish(run, TrialOutcome::failed(FailureKind::kTimeout, reason));
        });
  }
  arena.enqueue(AnnotatedCall([shared = shared, run, weak = weak_from_this()] {
    run_call(shared, run, weak);
  }));
}

void ThreadsExecutor::Impl::cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
  const auto it = runs.find(trial_id);
  if (it == runs.end()) return;
  const std::shared_ptr<TrialRun> run = it->second;
  if (!run->cancelled) run->cause = cause;
  if (run->cause == StopCause::kPruned) run->prune = true;
  run->stop = true;
  run->cancelled = true;
  // A call that has not begun will not begin (the thread that takes it up sees `stop`): report
  // it now, as a call that was never made. The order of the two flags matters: run_call sets
  // `began` before it reads `stop`.
  if (kill_now || !run->began) {
    asio::post(io, [weak = weak_from_this(), run] {
      if (auto self = weak.lock(); self && !run->finished)
        self->finish(run, stopped_outcome(run->cause));
    });
    return;
  }
  if (run->grace_timer) return;  // already waiting
  run->grace_timer.emplace(io, options.cancel_grace);
  run->grace_timer->async_wait(
      [weak = weak_from_this(), run, grace = options.cancel_grace](const error_code& ec) {
        const auto self = weak.lock();
        if (ec || !self || run->finished) return;
        self->finish(run, stopped_outcome(run->cause, "(the objective did not return within " +
                                                          format_duration(grace) +
                                                          " of the request to stop)"));
      });
}

void ThreadsExecutor::Impl::call_returned(const std::shared_ptr<TrialRun>& run,
                                          TrialOutcome outcome) {
  if (run->finished) return;  // timed out or cancelled already; the result is discarded
  // Pruning is cooperative: an objective that returned without having been told to stop
  // finished before the pruning landed, and its outcome stands (COMPLETE is never lost).
  const bool finished_first = run->cause == StopCause::kPruned && !run->told;
  if (run->cancelled && !finished_first) {
    TrialOutcome stopped = stopped_outcome(run->cause);
    stopped.metrics = std::move(outcome.metrics);
    outcome = std::move(stopped);
  }
  finish(run, std::move(outcome));
}

void ThreadsExecutor::Impl::finish(const std::shared_ptr<TrialRun>& run, TrialOutcome outcome) {
  run->finished = true;
  run->timeout_timer.reset();  // cancels; destroyed here, on the io thread (see ~Impl)
  run->grace_timer.reset();
  runs.erase(run->task.trial_id);
  if (runs.empty()) work.reset();
  run->sink->on_finished(run->task.trial_id, std::move(outcome));
}

// ---------------------------------------------------------------------------------------------

ThreadsExecutor::ThreadsExecutor(asio::io_context& io, Objective objective, std::size_t parallelism,
                                 ThreadsExecutorOptions options) {
  if (!objective) throw ExecutorError("threads executor: no objective");
  if (parallelism < 1) throw ExecutorError("threads executor: parallelism must be >= 1");
  impl_ = std::make_shared<Impl>(io, std::move(objective), parallelism, std::move(options));
}

ThreadsExecutor::~ThreadsExecutor() = default;

void ThreadsExecutor::start(TrialTask task, EventSink& sink) {
  impl_->start(std::move(task), sink);
}

void ThreadsExecutor::cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
  impl_->cancel(trial_id, cause, kill_now);
}

Recovery ThreadsExecutor::recover(const TrialTask&, const std::string&, EventSink&) {
  return Recovery::kGone;  // a call dies with the process that made it
}

ExecutorRegistration threads_executor_registration() {
  ExecutorRegistration r;
  r.info.name = "threads";
  r.info.summary = "each trial a call of an in-process objective (a builtin or a plugin library)";
  r.info.keys = {"builtin", "library", "symbol"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    const std::size_t before = c.issue_count();
    const ObjectiveSource source = read_objective_source(block.json, block.spec.base_dir, c);
    if (c.issue_count() == before) check_objective_source(source, block.spec, c);
  };
  r.preflight = [](const StudySpec& spec, SpecChecker& c) {
    const ObjectiveSource source = read_objective_source(spec.executor->block, spec.base_dir, c);
    preflight_objective(source, c);
  };
  r.make = [](const ExecutorArgs& args) -> std::unique_ptr<Executor> {
    const ExecutorSpec& ex = *args.spec.executor;
    SpecChecker c;
    const ObjectiveSource source = read_objective_source(ex.block, args.spec.base_dir, c);
    c.throw_if_any();
    ThreadsExecutorOptions options;
    options.metric = args.spec.metric;
    options.timeout = ex.timeout;
    options.cancel_grace = ex.kill_grace;
    return std::make_unique<ThreadsExecutor>(args.io, load_objective(source), args.parallelism,
                                             options);
  };
  // The builtin test functions return one value and never report a step.
  r.reports_steps = [](const StudySpec& spec) {
    return SpecChecker::member(spec.executor->block, "builtin") == nullptr;
  };
  return r;
}

std::size_t ThreadsExecutor::capacity() const { return impl_->capacity; }

std::size_t ThreadsExecutor::running() const { return impl_->runs.size(); }

std::size_t ThreadsExecutor::active_calls() const { return impl_->shared->active_calls.load(); }

}  // namespace hpo
