#include "executors/kubernetes/kubernetes_executor.h"

// clang-format off
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)
// clang-format on

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <vector>

#include "engine/model/duration.h"
#include "hpo/errors.h"
#include "executors/kubernetes/job_status.h"
#include "executors/metric_format.h"
#include "executors/metric_parser.h"

namespace hpo {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Json = nlohmann::json;
using Timer = asio::steady_timer;

constexpr std::size_t kTailLines = 3;
constexpr std::size_t kTailLineChars = 200;
constexpr std::chrono::seconds kHarvestWait{10};  // for a followed log to end
constexpr std::chrono::seconds kPodLag{5};        // for a finished Job's pod to be seen ended
constexpr std::chrono::milliseconds kLogRetryMin{100};
constexpr std::chrono::seconds kLogRetryMax{2};
constexpr int kLogReadTries = 6;       // of a finished pod's log, on 429, 5xx and lost connections
constexpr int kWatchTimeoutMin = 240;  // seconds; the server ends a watch then
constexpr int kWatchTimeoutMax = 300;
constexpr std::size_t kMaxWatchLine = 32u << 20;

std::string str(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const Json& meta(const Json& obj) {
  static const Json kEmpty = Json::object();
  if (!obj.is_object()) return kEmpty;
  const auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

std::string label(const Json& obj, const char* key) {
  const Json& m = meta(obj);
  const auto it = m.find("labels");
  if (it == m.end() || !it->is_object()) return "";
  return str(*it, key);
}

std::string one_line(std::string s, std::size_t max) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string join_metric_names(const Metrics& m) {
  std::string out;
  for (const auto& [name, value] : m) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

enum class Phase { kCreating, kActive, kHarvesting, kDeleting, kDone };
enum class LogMode { kFollow, kOnce, kTail };

struct TrialRun {
  explicit TrialRun(asio::io_context& io) : timeout_timer(io), pending_timer(io), wait_timer(io) {}

  TrialTask task;
  EventSink* sink = nullptr;
  RenderedJob rendered;
  Phase phase = Phase::kCreating;
  bool seen_job = false;
  bool admitted = false;
  bool pending_done = false;
  bool reattached = false;
  bool pod_wait_armed = false;  // the Job ended; waiting for its pod's end to be seen
  bool pod_wait_over = false;
  std::optional<StopCause> cause;
  bool kill_now = false;
  std::optional<TrialOutcome> stop_outcome;  // decided by a stop; delivered after the DELETE
  Timer timeout_timer;
  Timer pending_timer;
  Timer wait_timer;  // log retries and the harvest's wait for a followed log
  unsigned timer_gen = 0;

  // The log being read.
  std::string log_pod;
  LogMode log_mode = LogMode::kFollow;
  std::uint64_t log_stream = 0;
  bool log_ended = false;      // the stream ended cleanly (the container's whole log)
  bool log_truncated = false;  // limitBytes cut it
  std::string log_note;        // why the log could not be read, for reasons
  std::size_t lines = 0;       // lines delivered by the splitter on this pod's log
  std::size_t skip = 0;        // lines already handled by an earlier connection
  std::uint64_t bytes = 0;
  int log_failures = 0;
  LineSplitter splitter;
  std::optional<MetricReader> reader;  // in options.metrics_format; a new one per pod
  Metrics metrics;
  std::deque<std::string> tail;
  bool harvest_waiting = false;
  Json last_job;
};

struct Informer {
  explicit Informer(asio::io_context& io) : timer(io), resync(io) {}
  std::string kind;  // "Job" or "Pod", for messages
  std::string base;  // collection path
  std::map<std::string, Json> objects;
  std::string rv;
  bool active = false;
  bool synced = false;
  std::uint64_t stream = 0;
  std::string pending;  // an unfinished watch line
  int failures = 0;
  unsigned gen = 0;  // bumped on stop: late callbacks of an older generation are ignored
  Timer timer;
  Timer resync;  // the periodic LIST (resync_interval), re-armed by every completed LIST
};

}  // namespace

struct KubernetesExecutor::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, KubeConfig config, KubernetesOptions opts, std::size_t slots,
       KubeClientOptions client_options)
      : io(io_context),
        credentials(std::move(config)),
        options(std::move(opts)),
        parallelism(slots),
        client(io_context, credentials, client_options),
        client_options_(client_options),
        jobs(io_context),
        pods(io_context),
        rng(std::random_device{}()) {
    job_namespace = job_namespace_of(options, credentials.config().default_namespace);
    settings = render_settings(options, job_namespace);
    jobs.kind = "Job";
    jobs.base = "/apis/batch/v1/namespaces/" + job_namespace + "/jobs";
    pods.kind = "Pod";
    pods.base = "/api/v1/namespaces/" + job_namespace + "/pods";
  }

  asio::io_context& io;
  KubeCredentials credentials;
  const KubernetesOptions options;
  const std::size_t parallelism;
  KubeClient client;
  const KubeClientOptions client_options_;
  std::string job_namespace;
  JobRenderSettings settings;
  std::string selector;  // labelSelector of the study, url-encoded

  std::map<std::int64_t, std::shared_ptr<TrialRun>> trials;
  std::map<std::string, std::int64_t> by_name;  // Job name -> trial id
  Informer jobs;
  Informer pods;
  std::mt19937 rng;
  bool abandoned = false;

  const std::string& server() const { return credentials.config().server; }
  std::string job_path(const std::string& name) const { return jobs.base + "/" + name; }

  // ---- trials --------------------------------------------------------------------------

  void start(TrialTask task, EventSink& sink) {
    auto t = std::make_shared<TrialRun>(io);
    t->task = std::move(task);
    t->sink = &sink;
    const auto [it, inserted] = trials.emplace(t->task.trial_id, t);
    assert(inserted && "REQUIRES: trial_id is not running");
    if (!inserted) return;
    if (selector.empty())
      selector = url_encode(std::string(kStudyLabel) + "=" + label_value(t->task.study));
    t->rendered = render_job(options.job_template, t->task, settings);
    if (!t->rendered.ok()) {
      const std::string error = t->rendered.error;
      asio::post(io, [weak = weak_from_this(), t, error] {
        if (const auto self = weak.lock(); self && !self->abandoned)
          self->finish(
              t, TrialOutcome::failed(FailureKind::kObjective, "cannot build the Job: " + error));
      });
      return;
    }
    by_name[t->rendered.name] = t->task.trial_id;
    ensure_following();
    create(t);
  }

  void create(const std::shared_ptr<TrialRun>& t) {
    client.request("POST", jobs.base, t->rendered.job.dump(),
                   [weak = weak_from_this(), t](ApiResponse r) {
                     const auto self = weak.lock();
                     if (!self || self->abandoned || t->phase == Phase::kDone) return;
                     self->on_created(t, std::move(r));
                   });
  }

  void on_created(const std::shared_ptr<TrialRun>& t, ApiResponse r) {
    const std::string what = "Job " + job_namespace + "/" + t->rendered.name;
    if (r.status == 409) {
      // A create that timed out and was sent again, or a name taken by another trial.
      client.request(
          "GET", job_path(t->rendered.name), "", [weak = weak_from_this(), t, what](ApiResponse g) {
            const auto self = weak.lock();
            if (!self || self->abandoned || t->phase == Phase::kDone) return;
            Json job = Json::parse(g.body, nullptr, false);
            if (g.ok() && label(job, kTrialIdLabel) == std::to_string(t->task.trial_id) &&
                label(job, kStudyLabel) == label_value(t->task.study)) {
              self->created(t, job);
              return;
            }
            self->finish(t, TrialOutcome::failed(FailureKind::kInfrastructure,
                                                 "cannot create " + what +
                                                     ": a Job of that name exists and belongs to "
                                                     "another trial"));
          });
      return;
    }
    if (!r.ok()) {
      const bool invalid = r.status == 422 || r.status == 400;
      finish(t,
             TrialOutcome::failed(invalid ? FailureKind::kObjective : FailureKind::kInfrastructure,
                                  (invalid ? "the API rejected " : "cannot create ") + what + ": " +
                                      (r.status == 0 ? "the API is unreachable: " : "") + r.error));
      return;
    }
    created(t, Json::parse(r.body, nullptr, false));
  }

  void created(const std::shared_ptr<TrialRun>& t, const Json& job) {
    t->phase = Phase::kActive;
    t->last_job = job;
    t->sink->on_started(t->task.trial_id,
                        "job:" + job_namespace + "/" + t->rendered.name + "@" + server());
    if (abandoned || t->phase != Phase::kActive) return;
    if (t->cause) {  // cancelled while the create was on its way
      stop_trial(t, stopped_outcome(*t->cause), t->kill_now);
      return;
    }
    const JobState js = judge_job(job);
    if (!js.suspended) admit(t, std::nullopt);
    reconcile(t);
  }

  // The Job runs (or is admitted by Kueue): executor.timeout starts.
  void admit(const std::shared_ptr<TrialRun>& t, std::optional<std::chrono::milliseconds> elapsed) {
    if (t->admitted) return;
    t->admitted = true;
    if (!options.timeout) return;
    auto left = *options.timeout - elapsed.value_or(std::chrono::milliseconds(0));
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    t->timeout_timer.expires_after(left);
    t->timeout_timer.async_wait([weak = weak_from_this(), t](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || ec || self->abandoned || t->phase != Phase::kActive || t->cause) return;
      t->cause = StopCause::kTimedOut;
      self->stop_trial(
          t,
          TrialOutcome::failed(FailureKind::kTimeout,
                               "timed out after " + format_duration(*self->options.timeout)),
          false);
    });
  }

  std::vector<const Json*> pods_of(const std::string& job_name) const {
    std::vector<const Json*> out;
    for (const auto& [name, pod] : pods.objects)
      if (label(pod, "job-name") == job_name) out.push_back(&pod);
    return out;
  }

  void reconcile(const std::shared_ptr<TrialRun>& t) {
    if (t->phase != Phase::kActive || abandoned) return;
    const auto it = jobs.objects.find(t->rendered.name);
    if (it == jobs.objects.end()) {
      if (t->seen_job && jobs.synced && !t->cause)
        finish(t, TrialOutcome::failed(FailureKind::kInfrastructure,
                                       "its Job " + job_namespace + "/" + t->rendered.name +
                                           " was deleted before hpo read its outcome"));
      return;
    }
    t->seen_job = true;
    t->last_job = it->second;
    const JobState js = judge_job(it->second);
    if (js.suspended) {
      t->pending_timer.cancel();
    } else if (!t->admitted) {
      admit(t, std::nullopt);
    }
    const PodsState ps = inspect_pods(pods_of(t->rendered.name), t->rendered.container);
    if (!ps.log_pod.empty() && ps.log_pod != t->log_pod && !t->cause)
      read_log(t, ps.log_pod, LogMode::kFollow);
    if (js.verdict != JobVerdict::kRunning) {
      if (!js.settled) return;
      // The Job's watch may run ahead of the pods' watch: read the pod once it is seen to
      // have ended (or after kPodLag, when it may be gone for good).
      const bool pod_seen_ended = !ps.harvest_pod.empty() && ps.exit_code.has_value();
      if (pod_seen_ended || t->pod_wait_over) return harvest(t, ps);
      if (!t->pod_wait_armed) {
        t->pod_wait_armed = true;
        t->pending_timer.expires_after(kPodLag);
        t->pending_timer.async_wait([weak = weak_from_this(), t](const error_code& ec) {
          const auto self = weak.lock();
          if (!self || ec || self->abandoned || t->phase != Phase::kActive) return;
          t->pod_wait_over = true;
          self->reconcile(t);
        });
      }
      return;
    }
    if (t->cause || js.suspended) return;
    if (ps.started) {
      if (!t->pending_done) {
        t->pending_done = true;
        t->pending_timer.cancel();
      }
    } else if (!t->pending_done) {
      t->pending_done = true;  // armed once, from the first moment the Job waits for a pod
      t->pending_timer.expires_after(options.pending_timeout);
      t->pending_timer.async_wait([weak = weak_from_this(), t](const error_code& ec) {
        const auto self = weak.lock();
        if (!self || ec || self->abandoned || t->phase != Phase::kActive || t->cause) return;
        self->pending_expired(t);
      });
    }
  }

  void pending_expired(const std::shared_ptr<TrialRun>& t) {
    const PodsState ps = inspect_pods(pods_of(t->rendered.name), t->rendered.container);
    if (ps.started) return;
    const auto jt = jobs.objects.find(t->rendered.name);
    if (jt != jobs.objects.end() && judge_job(jt->second).suspended) return;
    std::string why =
        ps.waiting_reason.empty()
            ? "no pod of it started"
            : ps.waiting_reason +
                  (ps.waiting_message.empty() ? "" : ": " + one_line(ps.waiting_message, 300));
    t->cause = StopCause::kTimedOut;
    stop_trial(t,
               TrialOutcome::failed(FailureKind::kInfrastructure,
                                    "pending for " + format_duration(options.pending_timeout) +
                                        " (executor.pending_timeout): " + why),
               false);
  }

  // ---- logs ----------------------------------------------------------------------------

  void read_log(const std::shared_ptr<TrialRun>& t, const std::string& pod, LogMode mode) {
    if (t->log_stream != 0) client.cancel_stream(t->log_stream);
    t->log_stream = 0;
    ++t->timer_gen;
    t->wait_timer.cancel();
    if (pod != t->log_pod) {
      t->log_pod = pod;
      t->lines = 0;
      t->skip = 0;
      t->metrics.clear();
      t->reader.reset();
      t->tail.clear();
      t->log_failures = 0;
    }
    if (mode == LogMode::kTail) {
      t->metrics.clear();
      t->reader.reset();
    }
    if (!t->reader) t->reader.emplace(options.metrics_format);
    t->log_mode = mode;
    t->log_ended = false;
    t->bytes = 0;
    t->splitter = LineSplitter();
    std::string target =
        pods.base + "/" + pod + "/log?container=" + url_encode(t->rendered.container);
    if (mode == LogMode::kFollow) target += "&follow=true";
    if (mode == LogMode::kTail) target += "&tailLines=10000";
    if (mode != LogMode::kFollow)
      target += "&limitBytes=" + std::to_string(options.log_limit_bytes);
    t->lines = 0;  // a new connection reads the log from its start (and skips `skip` lines)
    t->log_stream = client.stream(
        target,
        [weak = weak_from_this(), t](std::string_view data) {
          const auto self = weak.lock();
          if (!self || self->abandoned) return;
          t->bytes += data.size();
          t->splitter.feed(data, [&](std::string_view line) { self->on_log_line(t, line); });
        },
        [weak = weak_from_this(), t](ApiResponse r) {
          const auto self = weak.lock();
          if (!self || self->abandoned) return;
          self->on_log_end(t, std::move(r));
        });
  }

  void on_log_line(const std::shared_ptr<TrialRun>& t, std::string_view line) {
    if (t->phase == Phase::kDone || t->phase == Phase::kDeleting) return;
    if (t->log_mode != LogMode::kTail && ++t->lines <= t->skip) return;
    t->tail.emplace_back(one_line(std::string(line.substr(0, kTailLineChars)), kTailLineChars));
    if (t->tail.size() > kTailLines) t->tail.pop_front();
    auto report = t->reader->read(line);
    if (!report) return;
    for (const auto& [name, value] : report->metrics) t->metrics[name] = value;
    if (report->step && t->log_mode != LogMode::kTail && !t->cause)
      t->sink->on_intermediate(t->task.trial_id, *report->step, report->metrics);
  }

  void on_log_end(const std::shared_ptr<TrialRun>& t, ApiResponse r) {
    t->log_stream = 0;
    if (t->phase == Phase::kDone || t->phase == Phase::kDeleting) return;
    if (r.ok()) {
      t->splitter.finish([&](std::string_view line) { on_log_line(t, line); });
      if (t->phase == Phase::kDone || t->phase == Phase::kDeleting) return;
      t->log_ended = true;
      t->log_truncated = t->log_mode == LogMode::kOnce &&
                         t->bytes >= static_cast<std::uint64_t>(options.log_limit_bytes);
      if (t->log_truncated && t->phase == Phase::kHarvesting) {
        read_log(t, t->log_pod, LogMode::kTail);  // the first bytes lack the final values
        return;
      }
      if (t->harvest_waiting) conclude(t);
      return;
    }
    // A follow stream that broke: continue after the lines already seen.
    const bool dropped = r.status == 200;
    // 429, 5xx and lost connections pass: read again (after the Retry-After the server gave),
    // a few times, before the log counts as unreadable.
    const bool transient = r.status == 0 || r.status == 429 || r.status >= 500;
    if (t->phase == Phase::kHarvesting && !dropped &&
        !(transient && t->log_failures < kLogReadTries)) {
      t->log_note = "its log could not be read (" + one_line(r.error, 200) + ")";
      conclude(t);
      return;
    }
    if (dropped) {
      t->skip = std::max(t->skip, t->lines);
    } else if (r.status == 404) {
      return;  // the pod is gone; the Job's status decides
    }
    const int n = std::min(t->log_failures++, 5);
    const auto delay =
        r.retry_after
            ? std::min<std::chrono::milliseconds>(*r.retry_after, std::chrono::seconds(60))
            : std::min<std::chrono::milliseconds>(kLogRetryMin * (1 << n), kLogRetryMax);
    const unsigned gen = ++t->timer_gen;
    const LogMode mode = t->phase == Phase::kHarvesting ? t->log_mode : LogMode::kFollow;
    t->wait_timer.expires_after(delay);
    t->wait_timer.async_wait([weak = weak_from_this(), t, gen, mode](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || ec || self->abandoned || gen != t->timer_gen) return;
      if (t->phase != Phase::kActive && t->phase != Phase::kHarvesting) return;
      if (t->log_stream == 0 && !t->log_pod.empty()) self->read_log(t, t->log_pod, mode);
    });
  }

  // ---- outcome ---------------------------------------------------------------------------

  void harvest(const std::shared_ptr<TrialRun>& t, const PodsState& ps) {
    t->phase = Phase::kHarvesting;
    t->timeout_timer.cancel();
    t->pending_timer.cancel();
    if (ps.harvest_pod.empty()) return conclude(t);
    t->harvest_waiting = true;
    if (t->log_pod == ps.harvest_pod && t->log_ended) return conclude(t);
    if (t->log_pod == ps.harvest_pod && t->log_stream != 0) {
      // The followed log ends with the container; give it a moment, then read it whole.
      const unsigned gen = ++t->timer_gen;
      t->wait_timer.expires_after(kHarvestWait);
      t->wait_timer.async_wait([weak = weak_from_this(), t, gen](const error_code& ec) {
        const auto self = weak.lock();
        if (!self || ec || self->abandoned || gen != t->timer_gen) return;
        if (t->phase == Phase::kHarvesting && !t->log_ended)
          self->read_log(t, t->log_pod, LogMode::kTail);
      });
      return;
    }
    read_log(t, ps.harvest_pod, LogMode::kOnce);
  }

  void conclude(const std::shared_ptr<TrialRun>& t) {
    if (t->phase != Phase::kHarvesting) return;
    t->harvest_waiting = false;
    ++t->timer_gen;
    t->wait_timer.cancel();
    if (t->log_stream != 0) client.cancel_stream(t->log_stream);
    t->log_stream = 0;
    const auto jt = jobs.objects.find(t->rendered.name);
    const Json& job = jt != jobs.objects.end() ? jt->second : t->last_job;
    const JobState js = judge_job(job);
    const PodsState ps = inspect_pods(pods_of(t->rendered.name), t->rendered.container);
    std::string tail;
    for (const auto& line : t->tail) tail += (tail.empty() ? "" : " | ") + line;
    const std::string note = t->log_note.empty() ? "" : "; " + t->log_note;
    TrialOutcome o;
    if (js.verdict == JobVerdict::kSucceeded) {
      if (!options.metric.empty() && !t->metrics.count(options.metric)) {
        o = TrialOutcome::failed(FailureKind::kObjective,
                                 "metrics unavailable: the Job succeeded but its log reported "
                                 "no '" +
                                     options.metric +
                                     "' (reported: " + join_metric_names(t->metrics) + ")" + note +
                                     "; read the log as " + options.metrics_format.name() +
                                     seen_lines_note(t->reader ? quote_lines(t->reader->recent())
                                                               : std::string()));
        o.metrics = t->metrics;
      } else {
        o = TrialOutcome::complete(t->metrics);
      }
      o.exit_code = ps.exit_code;
    } else {
      const std::string condition =
          js.reason + (js.message.empty() ? "" : ": " + one_line(js.message, 300));
      if (js.reason == "DeadlineExceeded") {
        o = TrialOutcome::failed(
            FailureKind::kTimeout,
            "timed out: the Job ran past its activeDeadlineSeconds (" + condition + ")");
      } else if (ps.terminated_reason == "OOMKilled") {
        o = TrialOutcome::failed(FailureKind::kSignal,
                                 "OOMKilled: the container ran out of memory (exit code " +
                                     std::to_string(ps.exit_code.value_or(137)) + ")" +
                                     (tail.empty() ? "" : "; last output: " + tail));
        o.signal = 9;
      } else if (ps.exit_code && *ps.exit_code != 0) {
        o = TrialOutcome::failed(FailureKind::kExitCode,
                                 "exited with status " + std::to_string(*ps.exit_code) +
                                     (tail.empty() ? "" : "; last output: " + tail));
      } else {
        o = TrialOutcome::failed(FailureKind::kInfrastructure,
                                 "the Job failed: " + (condition.empty() ? "Failed" : condition) +
                                     (tail.empty() ? "" : "; last output: " + tail));
      }
      o.exit_code = ps.exit_code;
      o.metrics = t->metrics;
    }
    const bool remove = options.cleanup == CleanupPolicy::kDelete ||
                        (options.cleanup == CleanupPolicy::kKeepFailed && o.ok());
    if (!remove) return finish(t, std::move(o));
    t->stop_outcome = std::move(o);
    t->phase = Phase::kDeleting;
    delete_job(t, false);
  }

  void stop_trial(const std::shared_ptr<TrialRun>& t, TrialOutcome outcome, bool kill_now) {
    t->stop_outcome = std::move(outcome);
    t->timeout_timer.cancel();
    t->pending_timer.cancel();
    ++t->timer_gen;
    t->wait_timer.cancel();
    if (t->log_stream != 0) client.cancel_stream(t->log_stream);
    t->log_stream = 0;
    t->phase = Phase::kDeleting;
    delete_job(t, kill_now);
  }

  void delete_job(const std::shared_ptr<TrialRun>& t, bool kill_now) {
    std::string target = job_path(t->rendered.name) + "?propagationPolicy=Background";
    if (kill_now) target += "&gracePeriodSeconds=0";
    client.request("DELETE", target, "", [weak = weak_from_this(), t](ApiResponse r) {
      const auto self = weak.lock();
      if (!self || self->abandoned || t->phase != Phase::kDeleting) return;
      TrialOutcome o = std::move(*t->stop_outcome);
      if (!r.ok() && r.status != 404)
        o.reason += std::string(o.reason.empty() ? "" : "; ") + "its Job " + self->job_namespace +
                    "/" + t->rendered.name + " could not be deleted: " + r.error;
      self->finish(t, std::move(o));
    });
  }

  void finish(const std::shared_ptr<TrialRun>& t, TrialOutcome outcome) {
    if (t->phase == Phase::kDone) return;
    t->phase = Phase::kDone;
    t->timeout_timer.cancel();
    t->pending_timer.cancel();
    ++t->timer_gen;
    t->wait_timer.cancel();
    if (t->log_stream != 0) client.cancel_stream(t->log_stream);
    t->log_stream = 0;
    by_name.erase(t->rendered.name);
    if (const auto it = trials.find(t->task.trial_id); it != trials.end() && it->second == t)
      trials.erase(it);
    // Keep ourselves alive: the sink may start trials, cancel others, or destroy the executor.
    const auto self = shared_from_this();
    t->sink->on_finished(t->task.trial_id, std::move(outcome));
    if (!abandoned && trials.empty()) go_idle();
  }

  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
    const auto it = trials.find(trial_id);
    if (it == trials.end()) return;
    const std::shared_ptr<TrialRun> t = it->second;
    if (t->phase == Phase::kDone) return;
    if (t->cause) {
      if (kill_now && !t->kill_now && t->phase == Phase::kDeleting) {
        t->kill_now = true;
        client.request(
            "DELETE",
            job_path(t->rendered.name) + "?propagationPolicy=Background&gracePeriodSeconds=0", "",
            [](ApiResponse) {});
      }
      return;
    }
    t->cause = cause;
    t->kill_now = kill_now;
    if (t->phase != Phase::kActive) return;  // creating: on_created stops it; harvesting: real
    const auto jt = jobs.objects.find(t->rendered.name);
    if (jt != jobs.objects.end() && judge_job(jt->second).verdict != JobVerdict::kRunning)
      return;  // it finished before the stop landed: its real outcome follows
    stop_trial(t, stopped_outcome(cause), kill_now);
  }

  // ---- following the study's Jobs and pods ------------------------------------------------

  void ensure_following() {
    if (!jobs.active) start_informer(jobs);
    if (!pods.active) start_informer(pods);
  }

  void go_idle() {
    stop_informer(jobs);
    stop_informer(pods);
    client.close_idle();
  }

  void start_informer(Informer& inf) {
    inf.active = true;
    inf.synced = false;
    inf.failures = 0;
    list(inf, "", std::make_shared<std::map<std::string, Json>>());
  }

  void stop_informer(Informer& inf) {
    inf.active = false;
    inf.synced = false;
    ++inf.gen;
    if (inf.stream != 0) client.cancel_stream(inf.stream);
    inf.stream = 0;
    inf.timer.cancel();
    inf.resync.cancel();
    inf.objects.clear();
    inf.rv.clear();
    inf.pending.clear();
  }

  void list(Informer& inf, const std::string& token,
            std::shared_ptr<std::map<std::string, Json>> acc) {
    std::string target = inf.base + "?labelSelector=" + selector + "&limit=500";
    if (!token.empty()) target += "&continue=" + url_encode(token);
    client.request("GET", target, "",
                   [weak = weak_from_this(), &inf, gen = inf.gen, acc](ApiResponse r) {
                     const auto self = weak.lock();
                     if (!self || self->abandoned || gen != inf.gen) return;
                     self->on_list(inf, std::move(r), acc);
                   });
  }

  void on_list(Informer& inf, ApiResponse r, std::shared_ptr<std::map<std::string, Json>> acc) {
    Json doc = r.ok() ? Json::parse(r.body, nullptr, false) : Json();
    if (!r.ok() || !doc.is_object() || !doc.contains("items")) {
      const std::string why = r.ok() ? "the answer is not a list" : r.error;
      // An expired continue token: start over; anything else: back off, then start over.
      if (!r.ok() && r.status != 410) fail_all_if_hopeless(inf, why, r);
      return retry_informer(inf, /*relist=*/true, r.retry_after);
    }
    for (const auto& item : doc["items"]) {
      const std::string name = str(meta(item), "name");
      if (!name.empty()) (*acc)[name] = item;
    }
    const Json& m = meta(doc);
    if (const std::string token = str(m, "continue"); !token.empty()) {
      list(inf, token, acc);
      return;
    }
    inf.rv = str(m, "resourceVersion");
    std::vector<std::string> changed;
    for (const auto& [name, obj] : inf.objects)
      if (!acc->count(name)) changed.push_back(name);
    for (const auto& [name, obj] : *acc) changed.push_back(name);
    inf.objects = std::move(*acc);
    inf.synced = true;
    inf.failures = 0;
    watch(inf);
    schedule_resync(inf);
    notify(inf, changed);
  }

  // A watch can miss an event and not know it (a proxy that drops a line, a server bug): the
  // LIST every resync_interval compares the whole state with what the watch said, so that a
  // Job that finished unseen is judged within one interval instead of staying RUNNING.
  void schedule_resync(Informer& inf) {
    inf.resync.expires_after(options.resync_interval);
    inf.resync.async_wait([weak = weak_from_this(), &inf, gen = inf.gen](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || ec || self->abandoned || gen != inf.gen || !inf.active) return;
      self->relist(inf);
    });
  }

  // A LIST that fails with an error no retry will cure (403 Forbidden, 404 namespace, 401
  // after refresh) fails the trials waiting on it, instead of waiting forever.
  void fail_all_if_hopeless(Informer& inf, const std::string& why, const ApiResponse& r) {
    const bool hopeless = r.status == 401 || r.status == 403 || r.status == 404;
    if (!hopeless && inf.failures < 8) return;
    std::vector<std::shared_ptr<TrialRun>> victims;
    for (const auto& [id, t] : trials)
      if (t->phase == Phase::kActive) victims.push_back(t);
    for (const auto& t : victims) {
      if (t->phase != Phase::kActive) continue;
      t->stop_outcome = TrialOutcome::failed(
          FailureKind::kInfrastructure, "cannot follow its Job: listing " + inf.kind +
                                            "s in namespace " + job_namespace + " failed: " + why);
      t->phase = Phase::kDeleting;
      delete_job(t, false);
    }
  }

  // Backs off (jittered, doubling from 100 ms up to poll_interval, at most 30 s), or waits the
  // Retry-After the server asked for (a 429 or 503 answer to a watch; capped at 60 s), then
  // lists again or resumes the watch.
  void retry_informer(Informer& inf, bool relist,
                      std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    if (!inf.active) return;
    const int n = std::min(inf.failures++, 10);
    const auto cap =
        std::min<std::chrono::milliseconds>(options.poll_interval, std::chrono::seconds(30));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const auto base = std::min<long long>(100LL << n, cap.count());
    const auto delay =
        retry_after ? std::min<std::chrono::milliseconds>(*retry_after, std::chrono::seconds(60))
                    : std::chrono::milliseconds(static_cast<long long>(base * jitter(rng)));
    inf.timer.expires_after(delay);
    inf.timer.async_wait(
        [weak = weak_from_this(), &inf, gen = inf.gen, relist](const error_code& ec) {
          const auto self = weak.lock();
          if (!self || ec || self->abandoned || gen != inf.gen || !inf.active) return;
          if (relist)
            self->list(inf, "", std::make_shared<std::map<std::string, Json>>());
          else
            self->watch(inf);
        });
  }

  void watch(Informer& inf) {
    std::uniform_int_distribution<int> timeout(kWatchTimeoutMin, kWatchTimeoutMax);
    const std::string target =
        inf.base + "?labelSelector=" + selector +
        "&watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(inf.rv) +
        "&timeoutSeconds=" + std::to_string(timeout(rng));
    inf.pending.clear();
    const unsigned gen = inf.gen;
    inf.stream = client.stream(
        target,
        [weak = weak_from_this(), &inf, gen](std::string_view data) {
          const auto self = weak.lock();
          if (!self || self->abandoned || gen != inf.gen) return;
          self->on_watch_data(inf, data);
        },
        [weak = weak_from_this(), &inf, gen](ApiResponse r) {
          const auto self = weak.lock();
          if (!self || self->abandoned || gen != inf.gen) return;
          inf.stream = 0;
          if (r.status == 410) return self->relist(inf);
          if (r.ok()) {
            inf.failures = 0;
            return self->watch(inf);  // the server ended it at timeoutSeconds: go on
          }
          // Dropped mid-stream or refused: whatever happened meanwhile is known only to a
          // LIST, so list again (after a backoff that honours Retry-After).
          self->retry_informer(inf, /*relist=*/true, r.retry_after);
        });
  }

  void relist(Informer& inf) {
    if (inf.stream != 0) client.cancel_stream(inf.stream);
    inf.stream = 0;
    ++inf.gen;  // drop what the old stream still delivers
    list(inf, "", std::make_shared<std::map<std::string, Json>>());
  }

  void on_watch_data(Informer& inf, std::string_view data) {
    while (!data.empty()) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (inf.pending.size() + data.size() <= kMaxWatchLine) inf.pending.append(data);
        return;
      }
      inf.pending.append(data.substr(0, nl));
      data.remove_prefix(nl + 1);
      std::string line = std::move(inf.pending);
      inf.pending.clear();
      if (line.empty()) continue;
      const unsigned gen = inf.gen;
      on_watch_event(inf, line);
      if (abandoned || gen != inf.gen || !inf.active) return;
    }
  }

  void on_watch_event(Informer& inf, const std::string& line) {
    Json ev = Json::parse(line, nullptr, false);
    if (!ev.is_object()) return;
    const std::string type = str(ev, "type");
    const Json& obj = ev.contains("object") ? ev["object"] : Json();
    if (type == "ERROR") {
      // 410 Expired inside the stream (the second form): list again.
      if (obj.is_object() && obj.value("code", 0) == 410) return relist(inf);
      return;
    }
    const std::string rv = str(meta(obj), "resourceVersion");
    if (!rv.empty()) inf.rv = rv;
    if (type == "BOOKMARK") return;
    const std::string name = str(meta(obj), "name");
    if (name.empty()) return;
    if (type == "DELETED")
      inf.objects.erase(name);
    else if (type == "ADDED" || type == "MODIFIED")
      inf.objects[name] = obj;
    else
      return;
    notify(inf, {name});
  }

  void notify(Informer& inf, const std::vector<std::string>& names) {
    std::vector<std::shared_ptr<TrialRun>> touched;
    for (const auto& name : names) {
      std::string job = name;
      if (&inf == &pods) {
        const auto it = pods.objects.find(name);
        job = it != pods.objects.end() ? label(it->second, "job-name") : "";
        if (job.empty()) {
          // A deleted pod: any trial may have lost it.
          for (const auto& [id, t] : trials) touched.push_back(t);
          continue;
        }
      }
      const auto bt = by_name.find(job);
      if (bt == by_name.end()) continue;
      const auto tt = trials.find(bt->second);
      if (tt != trials.end()) touched.push_back(tt->second);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const auto& t : touched) {
      if (abandoned) return;
      reconcile(t);
    }
  }

  // ---- resume ----------------------------------------------------------------------------

  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) {
    constexpr std::string_view kPrefix = "job:";
    if (where.rfind(kPrefix, 0) != 0) return Recovery::kGone;
    const auto slash = where.find('/');
    const auto at = where.find('@');
    if (slash == std::string::npos || at == std::string::npos || slash > at) return Recovery::kGone;
    const std::string ns = where.substr(kPrefix.size(), slash - kPrefix.size());
    const std::string name = where.substr(slash + 1, at - slash - 1);
    if (where.substr(at + 1) != server() || ns != job_namespace || name.empty())
      return Recovery::kGone;
    if (trials.count(task.trial_id)) return Recovery::kGone;
    // Synchronously, on a loop of our own: the engine needs the answer now.
    ApiResponse answer;
    {
      asio::io_context private_io;
      KubeClientOptions o = client_options_;
      o.max_attempts = std::min(o.max_attempts, 4);
      KubeClient c(private_io, credentials, o);
      c.request("GET", job_path(name), "", [&](ApiResponse r) { answer = std::move(r); });
      private_io.run();
    }
    if (!answer.ok()) return Recovery::kGone;  // gone, or unknowable: run it again
    Json job = Json::parse(answer.body, nullptr, false);
    if (label(job, kTrialIdLabel) != std::to_string(task.trial_id)) return Recovery::kGone;
    auto t = std::make_shared<TrialRun>(io);
    t->task = task;
    t->sink = &sink;
    t->reattached = true;
    t->rendered.name = name;
    t->rendered.job = job;
    t->rendered.container = options.container;
    if (t->rendered.container.empty()) {
      const Json containers =
          job.value(Json::json_pointer("/spec/template/spec/containers"), Json::array());
      if (containers.is_array() && !containers.empty())
        t->rendered.container = str(containers[0], "name");
    }
    t->phase = Phase::kActive;
    t->seen_job = true;
    t->last_job = job;
    trials[task.trial_id] = t;
    by_name[name] = task.trial_id;
    if (selector.empty())
      selector = url_encode(std::string(kStudyLabel) + "=" + label_value(task.study));
    if (!judge_job(job).suspended) {
      std::optional<std::chrono::milliseconds> elapsed;
      const Json& status = job.contains("status") ? job["status"] : Json();
      if (auto started = parse_rfc3339(str(status, "startTime")))
        elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now() - *started);
      admit(t, elapsed);
    }
    // The informers' first LIST (or the cache, when they run) decides what happens next.
    if (jobs.active && jobs.synced) {
      asio::post(io, [weak = weak_from_this(), t] {
        if (const auto self = weak.lock(); self && !self->abandoned) self->reconcile(t);
      });
    }
    ensure_following();
    return Recovery::kReattached;
  }

  void shutdown() {
    abandoned = true;
    for (auto& [id, t] : trials) {
      t->timeout_timer.cancel();
      t->pending_timer.cancel();
      t->wait_timer.cancel();
    }
    trials.clear();
    by_name.clear();
    jobs.timer.cancel();
    pods.timer.cancel();
  }
};

KubernetesExecutor::KubernetesExecutor(boost::asio::io_context& io, KubeConfig config,
                                       KubernetesOptions options, std::size_t parallelism,
                                       KubeClientOptions client_options) {
  if (parallelism == 0) throw ExecutorError("parallelism must be at least 1");
  impl_ = std::make_shared<Impl>(io, std::move(config), std::move(options), parallelism,
                                 client_options);
}

KubernetesExecutor::~KubernetesExecutor() { impl_->shutdown(); }

void KubernetesExecutor::start(TrialTask task, EventSink& sink) {
  impl_->start(std::move(task), sink);
}

void KubernetesExecutor::cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
  impl_->cancel(trial_id, cause, kill_now);
}

std::size_t KubernetesExecutor::capacity() const { return impl_->parallelism; }

std::size_t KubernetesExecutor::running() const { return impl_->trials.size(); }

Recovery KubernetesExecutor::recover(const TrialTask& task, const std::string& where,
                                     EventSink& sink) {
  try {
    return impl_->recover(task, where, sink);
  } catch (const std::exception&) {
    return Recovery::kGone;  // e.g. the exec plugin failed: nothing was touched
  }
}

std::uint64_t KubernetesExecutor::requests_sent() const { return impl_->client.requests_sent(); }

ExecutorRegistration kubernetes_executor_registration() {
  ExecutorRegistration r;
  r.info.name = "kubernetes";
  r.info.summary = "each trial a batch/v1 Job through the Kubernetes API (metrics from its log)";
  r.info.keys = {"template",          "template_file",     "kubeconfig",      "context",
                 "namespace",         "container",         "pending_timeout", "cleanup",
                 "checkpoint_volume", "queue_name",        "poll_interval",   "resync_interval",
                 "log_limit_bytes",   "ttl_after_finished"};
  for (const std::string& key : metric_option_keys(/*with_streams=*/false)) r.info.keys.push_back(key);
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_kubernetes_options(block.json, block.spec.base_dir, block.param_names, c);
  };
  r.preflight = [](const StudySpec& spec, SpecChecker& c) {
    const KubernetesOptions o =
        read_kubernetes_options(spec.executor->block, spec.base_dir, nullptr, c);
    if (!c.ok()) return;
    try {
      KubeConfigRequest req;
      req.kubeconfig = o.kubeconfig;
      req.context = o.context;
      load_kube_config(req);
    } catch (const ExecutorError& e) {
      c.add(o.kubeconfig        ? "executor.kubeconfig"
            : o.context.empty() ? "executor"
                                : "executor.context",
            e.what());
    }
  };
  r.make = [](const ExecutorArgs& args) -> std::unique_ptr<Executor> {
    KubernetesOptions o = kubernetes_options_of(args.spec);
    KubeConfigRequest req;
    req.kubeconfig = o.kubeconfig;
    req.context = o.context;
    KubeConfig config = load_kube_config(req);
    return std::make_unique<KubernetesExecutor>(args.io, std::move(config), std::move(o),
                                                args.parallelism);
  };
  return r;
}

}  // namespace hpo
