// KubeStandin: a stand-in Kubernetes API server for tests, on loopback, that behaves like the
// real one wherever the executor, kubectl (1.20, 1.32) and python3-kubernetes look (see
// ../shared/KUBERNETES.md, section 4). Not a mock: clients talk HTTP/1.1 to it over TCP.
//
//  * Transport: plain HTTP, or TLS with a certificate given as files (make_test_pki() makes
//    them with `openssl req`); keep-alive; chunked streams for watches and followed logs.
//  * Auth (when tokens or a client CA are configured): a bearer token from the accepted set,
//    or a client certificate signed by the client CA; else 401 Unauthorized.
//  * Discovery for kubectl: /version, /api, /apis, /api/v1, /apis/batch/v1, the 27-byte
//    protobuf document at /openapi/v2, 404 at /openapi/v3.
//  * batch/v1 Jobs and v1 Pods with server defaults (uid, resourceVersion, selector, labels on
//    pods: job-name, controller-uid and their batch.kubernetes.io/ twins, backoffLimit 6),
//    validation (422 with causes: bad name, restartPolicy, no containers, container without
//    name or image), 409 AlreadyExists; LIST with equality labelSelector, fieldSelector
//    metadata.name / metadata.namespace, limit/continue; DELETE with propagationPolicy
//    Background (pods go too), Foreground (202 first), none/Orphan (pods stay, Warning header).
//  * Watch: ADDED/MODIFIED/DELETED, BOOKMARK when asked, timeoutSeconds, a bounded history;
//    a resourceVersion older than the history gets 410 as an HTTP status or, with
//    expired_in_stream, as an ERROR event inside a 200 stream (both forms real servers use).
//  * Pods and logs: container, tailLines, limitBytes, follow; 400 "is waiting to start" while
//    Pending; 404 once deleted.
//  * Lifecycle: Pending (pending_for, or stuck Unschedulable / ImagePullBackOff) -> Running ->
//    Succeeded / Failed with the exit code or OOMKilled (137); a new pod per failure up to
//    backoffLimit; podFailurePolicy FailJob on exit codes; activeDeadlineSeconds
//    (DeadlineExceeded); ttlSecondsAfterFinished; spec.suspend (queued until admit()).
//    minor_version <= 30: the terminal condition at once; >= 31: SuccessCriteriaMet /
//    FailureTarget first and Complete / Failed a moment later, as 1.31 does.
//  * Run modes: local processes (the first container's command + args run with its env in a
//    directory of their own; stdout and stderr are the log; the exit code is real; deleting
//    the pod or the deadline kills it), or scripted (a function of the Job gives the phases).
//    Only the first container runs; the others are accepted, validated and listed in the pod,
//    and their log reads answer empty. Why not all: hpo reads and judges the primary container
//    alone (executor.container, whose index the executor finds by name in the pod it renders),
//    and the Job's outcome follows from it in every case the executor tests need; running the
//    others would need per-container processes, logs, statuses and restart rules (sidecars as
//    initContainers with restartPolicy Always, 1.29+) for no assertion a test makes today.
//    The gap this leaves: a template whose primary container is not the first cannot run in
//    local-process mode (the stand-in would run the other one); such a test uses scripted
//    mode, whose log belongs to the first container too, or puts the primary container first.
//    A persistentVolumeClaim mount becomes <work_dir>/pvc/<claim>/<subPath>, and env values
//    under its mountPath are rewritten to that directory.
//  * Faults, per method and path, N times: a status (429 with Retry-After, 500, 503, 401, 403
//    quota...), a connection reset, a delay, a stream cut after its first chunk; watch events
//    lost without a trace (lose_watch_events).
//  * A request log, for assertions.
//
// Threading: the server runs on a thread of its own; every public method is thread-safe.
// Destruction stops it and kills (and reaps) every process it started.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hpo::testing {

// What a scripted pod does.
struct PodScript {
  std::chrono::milliseconds pending_for{0};
  // Stays Pending with this reason: "Unschedulable", "ImagePullBackOff", ...; empty: runs.
  std::string stuck_reason;
  std::chrono::milliseconds run_for{0};
  std::string log;  // written when it starts (lines ending in '\n')
  int exit_code = 0;
  bool oom_killed = false;  // ends OOMKilled with exit code 137
};

struct StandinOptions {
  bool tls = false;
  std::filesystem::path cert_file;       // PEM server certificate (TLS)
  std::filesystem::path key_file;        // its key
  std::filesystem::path client_ca_file;  // accept client certificates signed by it
  std::set<std::string> tokens;          // accepted bearer tokens
  int minor_version = 30;
  std::size_t history = 100000;    // watch events kept
  bool expired_in_stream = false;  // 410 as an ERROR event in a 200 stream
  std::chrono::milliseconds bookmark_interval{1000};
  // Local processes when unset; else the script of each Job's pods.
  std::function<PodScript(const nlohmann::json& job)> script;
  std::chrono::milliseconds pending_for{0};   // local processes: time Pending before running
  std::filesystem::path work_dir;             // required for local processes
  std::chrono::milliseconds max_grace{2000};  // cap of a deleted pod's grace period
  unsigned short port = 0;                    // 0: any free port
};

struct FaultRule {
  enum class Kind { kStatus, kReset, kDelay, kCutStream };
  std::string method;          // "" for any
  std::string path_contains;   // matched against the path (query excluded)
  std::string query_contains;  // "" for any
  int count = 1;
  Kind kind = Kind::kStatus;
  int status = 500;
  std::optional<int> retry_after;  // seconds
  std::string reason;              // Status.reason
  std::string message;             // Status.message
  std::chrono::milliseconds delay{0};
};

struct LoggedRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string authorization;  // the header as sent
  bool client_cert = false;   // a verified client certificate came with it
  std::string body;
  int status = 0;  // 0 for a reset
};

class KubeStandin {
 public:
  explicit KubeStandin(StandinOptions options);
  ~KubeStandin();
  KubeStandin(const KubeStandin&) = delete;
  KubeStandin& operator=(const KubeStandin&) = delete;

  unsigned short port() const;
  std::string url() const;  // http(s)://127.0.0.1:<port>

  void add_fault(FaultRule rule);
  void set_tokens(std::set<std::string> tokens);
  std::vector<LoggedRequest> requests() const;
  void clear_requests();

  // Objects as the API would return them; nullopt / empty when absent.
  std::optional<nlohmann::json> job(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> jobs(const std::string& ns) const;
  std::vector<nlohmann::json> pods(const std::string& ns) const;
  // Kueue's admission: clears spec.suspend of a Job.
  void admit(const std::string& ns, const std::string& name);
  // Deletes a Job as a user would (Background).
  void delete_job(const std::string& ns, const std::string& name);
  // Forgets the watch history: every older resourceVersion is now too old (410).
  void compact();
  // The next `count` events of `resource` ("jobs", "pods") are lost: recorded (LIST and later
  // watches see their state) but not sent to the watches open when they happen, as a watch
  // that silently missed them.
  void lose_watch_events(const std::string& resource, int count);
  // Local processes still running.
  int live_processes() const;
  // Client connections the server holds open.
  std::size_t open_connections() const;

  struct Impl;  // the server's state; public only for the server's own connection handlers

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hpo::testing
