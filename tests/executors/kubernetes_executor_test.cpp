// The Kubernetes executor against the stand-in API server: what is specific to Kubernetes
// beyond the conformance suite. Authentication (token, tokenFile rotation, client
// certificates, exec plugins refreshed after a 401), every injected fault, how Jobs end
// (OOMKilled, deadline, retries, stuck pods, missing metrics, 1.31 conditions, 422), cancel
// and cleanup, Kueue's suspended Jobs, checkpoints, and resume (re-attaching to Jobs).
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "executors/kubernetes/job_template.h"
#include "executors/kubernetes/kube_client.h"
#include "executors/kubernetes/kube_config.h"
#include "executors/kubernetes/kube_credentials.h"
#include "executors/kubernetes/kubernetes_executor.h"
#include "executors/metric_parser.h"
#include "hpo/errors.h"
#include "tests/executors/executor_harness.h"
#include "tests/executors/kubernetes_backend.h"
#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"

namespace hpo::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Contains;
using Json = nlohmann::json;

struct NoBackend {};
using H = Harness<NoBackend>;

KubernetesOptions child_options(const std::vector<std::string>& script) {
  KubernetesOptions o;
  o.job_template = job_template_for({HPO_TEST_CHILD}, script);
  return o;
}

std::size_t count_requests(const KubeStandin& s, const std::string& method,
                           const std::string& path_part, const std::string& query_part = "") {
  std::size_t n = 0;
  for (const auto& r : s.requests())
    n += r.method == method && r.path.find(path_part) != std::string::npos &&
         r.query.find(query_part) != std::string::npos;
  return n;
}

// A scripted stand-in: every pod does what `script` says.
StandinOptions scripted(PodScript script, int minor = 30) {
  StandinOptions o;
  o.script = [script](const Json&) { return script; };
  o.minor_version = minor;
  return o;
}

KubernetesOptions scripted_options() {
  KubernetesOptions o;
  o.job_template = job_template_for({"train"}, {});
  o.metric = "loss";
  return o;
}

TEST_CASE(
    "a finished Job's log gives the metrics, without the objective it is metrics "
    "unavailable",
    "[executors][kubernetes]") {
  H h;
  for (const int minor : {30, 31}) {
    PodScript good;
    good.log = "epoch 1\nstep=1 loss=0.9\nloss=0.25 acc=0.75\n";
    StandinExecutor ex(h.io, scripted_options(), 1, scripted(good, minor));
    const TrialOutcome o = h.run_one(ex);
    INFO("1." << minor << ": " << o.reason);
    CHECK(o.ok());
    CHECK(o.metrics == Metrics{{"loss", 0.25}, {"acc", 0.75}});
    // Deleted with its pods, once read.
    REQUIRE(h.run_until([&] { return ex.standin().jobs("hpo").empty(); }));
    CHECK(count_requests(ex.standin(), "DELETE", "/jobs/", "propagationPolicy=Background") == 1);
  }
  PodScript none;
  none.log = "acc=0.5\n";
  StandinExecutor ex(h.io, scripted_options(), 1, scripted(none));
  const TrialOutcome o = h.run_one(ex);
  CHECK(o.state == TrialState::kFail);
  CHECK(o.failure == FailureKind::kObjective);
  CHECK_THAT(o.reason, Contains("metrics unavailable") && Contains("'loss'"));
}

TEST_CASE("OOMKilled, a non-zero exit, retries up to backoffLimit and the deadline are named",
          "[executors][kubernetes]") {
  H h;
  {
    PodScript oom;
    oom.log = "allocating\n";
    oom.oom_killed = true;
    StandinExecutor ex(h.io, scripted_options(), 1, scripted(oom, 31));
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kSignal);
    CHECK(o.exit_code == 137);
    CHECK_THAT(o.reason, Contains("OOMKilled"));
  }
  {
    PodScript bad;
    bad.log = "Traceback\nValueError: lr too high\n";
    bad.exit_code = 3;
    KubernetesOptions options = scripted_options();
    options.job_template["spec"]["backoffLimit"] = 2;
    options.cleanup = CleanupPolicy::kKeep;
    StandinExecutor ex(h.io, options, 1, scripted(bad));
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kExitCode);
    CHECK(o.exit_code == 3);
    CHECK_THAT(o.reason, Contains("exited with status 3") && Contains("ValueError: lr too high"));
    // One pod per attempt: the first and two retries; the Job was kept (cleanup "keep").
    REQUIRE(ex.standin().jobs("hpo").size() == 1);
    CHECK(ex.standin().jobs("hpo")[0]["status"]["failed"] == 3);
    CHECK(ex.standin().pods("hpo").size() == 3);
  }
  {
    PodScript slow;
    slow.run_for = 60s;
    KubernetesOptions options = scripted_options();
    options.job_template["spec"]["activeDeadlineSeconds"] = 1;
    StandinExecutor ex(h.io, options, 1, scripted(slow));
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kTimeout);
    CHECK_THAT(o.reason, Contains("DeadlineExceeded"));
  }
}

TEST_CASE("a pod stuck Pending fails the trial with its reason after pending_timeout",
          "[executors][kubernetes]") {
  H h;
  for (const std::string reason : {"ImagePullBackOff", "Unschedulable"}) {
    PodScript stuck;
    stuck.stuck_reason = reason;
    KubernetesOptions options = scripted_options();
    options.pending_timeout = 300ms;
    StandinExecutor ex(h.io, options, 1, scripted(stuck));
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kInfrastructure);
    CHECK_THAT(o.reason, Contains("pending for 300ms") && Contains(reason));
    CHECK(ex.standin().jobs("hpo").empty());  // deleted
  }
}

TEST_CASE("a Kueue Job is queued while suspended: no pending timeout, no trial timeout",
          "[executors][kubernetes]") {
  H h;
  PodScript quick;
  quick.log = "loss=1\n";
  KubernetesOptions options = scripted_options();
  options.queue_name = "team-queue";
  options.pending_timeout = 100ms;
  options.timeout = 200ms;
  StandinExecutor ex(h.io, options, 1, scripted(quick));
  const auto id = h.start(ex);
  REQUIRE(h.run_until([&] { return ex.standin().jobs("hpo").size() == 1; }));
  const Json job = ex.standin().jobs("hpo")[0];
  CHECK(job["spec"]["suspend"] == true);
  CHECK(job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-queue");
  // Well past both limits: still queued.
  const auto until = std::chrono::steady_clock::now() + 600ms;
  h.run_until([&] { return std::chrono::steady_clock::now() > until; });
  CHECK(h.sink.outcome(id) == nullptr);
  ex.standin().admit("hpo", job["metadata"]["name"]);
  REQUIRE(h.run_until([&] { return h.sink.outcome(id) != nullptr; }));
  INFO(h.sink.outcome(id)->reason);
  CHECK(h.sink.outcome(id)->ok());
}

TEST_CASE("cancel deletes the Job in the background, kill_now without grace, pruned is PRUNED",
          "[executors][kubernetes]") {
  H h;
  StandinExecutor ex(h.io, child_options({"out", "step=0 loss=3", "sleep", "60000"}), 2);
  h.sink.on_intermediate_hook = [&](const RecordedIntermediate& r) {
    ex.cancel(r.trial_id, r.trial_id == 1 ? StopCause::kPruned : StopCause::kInterrupted,
              r.trial_id == 2);
  };
  h.start(ex);
  h.start(ex);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 2; }));
  CHECK(h.sink.outcome(1)->state == TrialState::kPruned);
  CHECK(h.sink.outcome(2)->failure == FailureKind::kInterrupted);
  CHECK(count_requests(ex.standin(), "DELETE", "/jobs/", "propagationPolicy=Background") == 2);
  CHECK(count_requests(ex.standin(), "DELETE", "/jobs/", "gracePeriodSeconds=0") == 1);
  REQUIRE(h.run_until([&] { return ex.standin().live_processes() == 0; }));
}

TEST_CASE("cleanup keep_failed keeps failed Jobs for inspection and deletes the rest",
          "[executors][kubernetes]") {
  H h;
  KubernetesOptions options = child_options({"out", "loss=1", "exit", "{code}"});
  options.cleanup = CleanupPolicy::kKeepFailed;
  StandinExecutor ex(h.io, options, 2);
  h.start(ex, {{"code", 0}});
  h.start(ex, {{"code", 4}});
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 2; }));
  CHECK(h.sink.outcome(1)->ok());
  CHECK(h.sink.outcome(2)->exit_code == 4);
  const auto left = ex.standin().jobs("hpo");
  REQUIRE(left.size() == 1);
  CHECK(left[0]["metadata"]["labels"]["hpo.dev/trial-id"] == "2");
}

TEST_CASE("a broken template is refused by the API with its cause, and not retried",
          "[executors][kubernetes]") {
  H h;
  KubernetesOptions options = child_options({"out", "loss=1"});
  options.job_template["spec"]["template"]["spec"]["containers"][0].erase("image");
  StandinExecutor ex(h.io, options, 1);
  const TrialOutcome o = h.run_one(ex);
  CHECK(o.failure == FailureKind::kObjective);  // not retried: the template must change
  CHECK_THAT(o.reason, Contains("Invalid") && Contains("containers[0].image"));
}

TEST_CASE("every injected fault is survived or reported with the API's reason",
          "[executors][kubernetes]") {
  H h;
  using Kind = FaultRule::Kind;
  KubeClientOptions fast;
  fast.backoff_base = 10ms;
  SECTION("429 with Retry-After, 500 and 503 on create are retried") {
    StandinExecutor ex(h.io, child_options({"out", "loss=1"}), 1, {}, fast);
    ex.standin().add_fault(
        {"POST", "/jobs", "", 1, Kind::kStatus, 429, 1, "TooManyRequests", "slow down"});
    ex.standin().add_fault({"POST", "/jobs", "", 1, Kind::kStatus, 500});
    ex.standin().add_fault(
        {"POST", "/jobs", "", 1, Kind::kStatus, 503, std::nullopt, "ServiceUnavailable"});
    const auto start = std::chrono::steady_clock::now();
    const TrialOutcome o = h.run_one(ex);
    INFO(o.reason);
    CHECK(o.ok());
    CHECK(std::chrono::steady_clock::now() - start >= 1s);  // Retry-After was honoured
    CHECK(count_requests(ex.standin(), "POST", "/jobs") == 4);
  }
  SECTION("a connection reset and a slow answer are retried or waited for") {
    StandinExecutor ex(h.io, child_options({"out", "loss=1"}), 1, {}, fast);
    ex.standin().add_fault({"POST", "/jobs", "", 1, Kind::kReset});
    ex.standin().add_fault(
        {"DELETE", "/jobs/", "", 1, Kind::kDelay, 0, std::nullopt, "", "", 300ms});
    const TrialOutcome o = h.run_one(ex);
    INFO(o.reason);
    CHECK(o.ok());
  }
  SECTION("403 quota fails the trial with the API's message") {
    StandinExecutor ex(h.io, child_options({"out", "loss=1"}), 1, {}, fast);
    ex.standin().add_fault({"POST", "/jobs", "", 1, Kind::kStatus, 403, std::nullopt, "Forbidden",
                            "jobs.batch is forbidden: exceeded quota: compute, requested: "
                            "requests.cpu=4, used: requests.cpu=8, limited: requests.cpu=8"});
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kInfrastructure);
    CHECK_THAT(o.reason, Contains("Forbidden") && Contains("exceeded quota"));
  }
  SECTION("a watch cut mid-stream and both forms of 410 are resumed or re-listed") {
    for (const bool in_stream : {false, true}) {
      StandinOptions so;
      so.expired_in_stream = in_stream;
      StandinExecutor ex(h.io, child_options({"sleep", "{ms}", "out", "loss={ms}"}), 2, so, fast);
      ex.standin().add_fault({"GET", "/jobs", "watch=1", 1, Kind::kCutStream});
      // The first trial runs long enough for the history to be forgotten under its watch.
      const auto first = h.start(ex, {{"ms", 400}});
      REQUIRE(h.run_until([&] { return count_requests(ex.standin(), "GET", "/log") >= 1; }));
      ex.standin().compact();
      ex.standin().add_fault({"GET", "/jobs", "watch=1", 1, Kind::kReset});
      const auto second = h.start(ex, {{"ms", 10}});
      REQUIRE(h.run_until(
          [&] { return h.sink.outcome(first) != nullptr && h.sink.outcome(second) != nullptr; }));
      CHECK(h.sink.outcome(first)->ok());
      CHECK(h.sink.outcome(second)->ok());
      CHECK(count_requests(ex.standin(), "GET", "/jobs", "watch=1") >= 2);
    }
  }
  SECTION("a LIST refused for good fails the waiting trials instead of hanging") {
    StandinExecutor ex(h.io, child_options({"sleep", "200", "out", "loss=1"}), 1, {}, fast);
    ex.standin().add_fault({"GET", "/pods", "limit=500", 100, Kind::kStatus, 403, std::nullopt,
                            "Forbidden", "pods is forbidden: User cannot list pods"});
    const TrialOutcome o = h.run_one(ex);
    CHECK(o.failure == FailureKind::kInfrastructure);
    CHECK_THAT(o.reason, Contains("pods is forbidden"));
  }
}

TEST_CASE("events the watch missed are caught up by the periodic LIST (resync_interval)",
          "[executors][kubernetes]") {
  H h;
  KubeClientOptions fast;
  fast.backoff_base = 10ms;
  for (const bool resync : {false, true}) {
    INFO((resync ? "resync every 300 ms" : "no resync"));
    KubernetesOptions o = child_options({"sleep", "300", "out", "loss=1"});
    o.resync_interval = resync ? std::chrono::milliseconds(300) : std::chrono::hours(1);
    StandinExecutor ex(h.io, o, 1, {}, fast);
    const std::int64_t id = h.start(ex);
    REQUIRE(h.run_until([&] { return !ex.standin().jobs("hpo").empty(); }));
    // From now on the watches open now hear nothing of the Job and its pod: not its start, not
    // its end (bookmarks still move their resourceVersion past the lost events).
    ex.standin().lose_watch_events("jobs", 1000);
    ex.standin().lose_watch_events("pods", 1000);
    const std::size_t lists = count_requests(ex.standin(), "GET", "/jobs", "limit=500");
    if (!resync) {
      // The watch alone leaves the trial RUNNING although its Job is long done: the test would
      // pass vacuously otherwise.
      CHECK_FALSE(h.run_until([&] { return h.sink.outcome(id) != nullptr; }, 3s));
      CHECK(count_requests(ex.standin(), "GET", "/jobs", "limit=500") == lists);
      continue;
    }
    REQUIRE(h.run_until([&] { return h.sink.outcome(id) != nullptr; }, 10s));
    CHECK(h.sink.outcome(id)->ok());
    CHECK(h.sink.outcome(id)->metrics == Metrics{{"loss", 1}});
    CHECK(count_requests(ex.standin(), "GET", "/jobs", "limit=500") > lists);
  }
}

TEST_CASE("a watch or a log read answered 429 or 503 waits the Retry-After, then goes on",
          "[executors][kubernetes]") {
  H h;
  using Kind = FaultRule::Kind;
  KubeClientOptions fast;
  fast.backoff_base = 10ms;
  StandinExecutor ex(h.io, child_options({"out", "step=1 loss=2", "sleep", "200", "out", "loss=1"}),
                     1, {}, fast);
  ex.standin().add_fault(
      {"GET", "/jobs", "watch=1", 1, Kind::kStatus, 429, 1, "TooManyRequests", "slow down"});
  ex.standin().add_fault(
      {"GET", "/log", "", 2, Kind::kStatus, 503, 1, "ServiceUnavailable", "try later"});
  const auto start = std::chrono::steady_clock::now();
  const TrialOutcome o = h.run_one(ex);
  INFO(o.reason);
  CHECK(o.ok());
  CHECK(o.metrics == Metrics{{"loss", 1}});
  // Two log reads waited a second each (they are not concurrent: one trial, one log).
  CHECK(std::chrono::steady_clock::now() - start >= 2s);
  CHECK(count_requests(ex.standin(), "GET", "/jobs", "watch=1") >= 2);
  CHECK(count_requests(ex.standin(), "GET", "/log") >= 3);
}

TEST_CASE("a retried create that finds its own Job adopts it, another trial's Job is not taken",
          "[executors][kubernetes]") {
  H h;
  StandinExecutor ex(h.io, child_options({"out", "loss=5"}), 1);
  // Create trial 1's Job beforehand, as a create whose answer was lost would have.
  TrialTask task = h.task(ex);
  RenderedJob mine = render_job(child_options({"out", "loss=5"}).job_template, task, {"hpo"});
  REQUIRE(mine.ok());
  KubeConfigRequest req;
  req.kubeconfig = ex.dir() / "kubeconfig";
  KubeCredentials creds(load_kube_config(req));
  boost::asio::io_context io;
  KubeClient client(io, creds);
  int status = 0;
  client.request("POST", "/apis/batch/v1/namespaces/hpo/jobs", mine.job.dump(),
                 [&](ApiResponse r) { status = r.status; });
  io.run();
  REQUIRE(status == 201);
  ex.start(task, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.outcome(1) != nullptr; }));
  CHECK(h.sink.outcome(1)->ok());
  CHECK(count_requests(ex.standin(), "GET", "/jobs/" + mine.name) == 1);
}

// An exec plugin that prints the token in its directory's "token" file and counts its runs.
fs::path write_exec_plugin(const fs::path& dir, const std::string& api_version) {
  const fs::path script = dir / "plugin.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                           "echo run >> \"$(dirname \"$0\")/runs\"\n"
                           "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; "
                           "*) echo bad exec info >&2; exit 3;; esac\n"
                           "printf '{\"apiVersion\":\""
                        << api_version
                        << "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\","
                           "\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' "
                           "\"$(cat \"$(dirname \"$0\")/token\")\"\n";
  ::chmod(script.c_str(), 0755);
  return script;
}

TEST_CASE("authentication: token, tokenFile rotation, client certificates, exec plugins",
          "[executors][kubernetes]") {
  H h;
  TempDir dir("hpo-k8s-auth");
  const TestPki pki = make_test_pki(dir / "pki");
  StandinOptions so;
  so.tls = true;
  so.cert_file = pki.server_cert;
  so.key_file = pki.server_key;
  so.client_ca_file = pki.ca_cert;
  so.tokens = {"first-token"};
  so.work_dir = dir / "work";
  KubeStandin standin(so);
  const std::string ca = "    certificate-authority: " + pki.ca_cert.string();

  auto run_trial = [&](const fs::path& kubeconfig) {
    KubeConfigRequest req;
    req.kubeconfig = kubeconfig;
    KubernetesExecutor ex(h.io, load_kube_config(req), child_options({"out", "loss=2"}), 1);
    return h.run_one(ex);
  };
  auto bearer_requests = [&](const std::string& token) {
    std::size_t n = 0;
    for (const auto& r : standin.requests()) n += r.authorization == "Bearer " + token;
    return n;
  };

  SECTION("a static token over TLS checked against the kubeconfig's CA") {
    CHECK(run_trial(write_kubeconfig(dir / "token.yaml", standin.url(), "hpo", ca,
                                     "    token: first-token"))
              .ok());
    CHECK(bearer_requests("first-token") >= 3);
    // Without the CA the server is not trusted: the trial fails, saying why.
    const TrialOutcome o = run_trial(
        write_kubeconfig(dir / "noca.yaml", standin.url(), "hpo", "", "    token: first-token"));
    CHECK(o.failure == FailureKind::kInfrastructure);
    CHECK_THAT(o.reason, Contains("TLS handshake") || Contains("certificate"));
  }
  SECTION("a rotated tokenFile is read again after a 401") {
    write_file(dir / "token", "first-token\n");
    const fs::path cfg = write_kubeconfig(dir / "tf.yaml", standin.url(), "hpo", ca,
                                          "    tokenFile: " + (dir / "token").string());
    KubeConfigRequest req;
    req.kubeconfig = cfg;
    KubernetesExecutor ex(h.io, load_kube_config(req), child_options({"out", "loss=2"}), 1);
    CHECK(h.run_one(ex).ok());
    standin.set_tokens({"second-token"});  // the old one expired
    write_file(dir / "token", "second-token\n");
    CHECK(h.run_one(ex).ok());
    CHECK(bearer_requests("second-token") >= 3);
  }
  SECTION("client certificate and key, as files and as data") {
    CHECK(run_trial(write_kubeconfig(dir / "cert.yaml", standin.url(), "hpo", ca,
                                     "    client-certificate: " + pki.client_cert.string() +
                                         "\n    client-key: " + pki.client_key.string()))
              .ok());
    CHECK(
        run_trial(write_kubeconfig(dir / "certdata.yaml", standin.url(), "hpo",
                                   "    certificate-authority-data: " + base64_file(pki.ca_cert),
                                   "    client-certificate-data: " + base64_file(pki.client_cert) +
                                       "\n    client-key-data: " + base64_file(pki.client_key)))
            .ok());
    std::size_t with_cert = 0;
    for (const auto& r : standin.requests()) with_cert += r.client_cert && r.authorization.empty();
    CHECK(with_cert >= 6);
  }
  SECTION("an exec plugin runs once, is cached, and runs again after a 401") {
    for (const std::string version :
         {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}) {
      const fs::path pdir = dir / ("plugin-" + version.substr(version.size() - 2));
      fs::create_directories(pdir);
      write_exec_plugin(pdir, version);
      write_file(pdir / "token", "first-token");
      standin.set_tokens({"first-token"});
      const fs::path cfg =
          write_kubeconfig(pdir / "config", standin.url(), "hpo", ca,
                           "    exec:\n      apiVersion: " + version +
                               "\n      command: ./plugin.sh\n      interactiveMode: Never");
      KubeConfigRequest req;
      req.kubeconfig = cfg;
      KubernetesExecutor ex(h.io, load_kube_config(req), child_options({"out", "loss=2"}), 1);
      CHECK(h.run_one(ex).ok());
      CHECK(h.run_one(ex).ok());
      CHECK(read_file(pdir / "runs") == "run\n");  // cached until it expires
      standin.set_tokens({"rotated"});
      write_file(pdir / "token", "rotated");
      const TrialOutcome o = h.run_one(ex);
      INFO(o.reason);
      CHECK(o.ok());
      CHECK(read_file(pdir / "runs") == "run\nrun\n");
    }
  }
  SECTION("in-cluster: the service account's token, CA and namespace") {
    write_file(dir / "sa/token", "first-token");
    fs::copy_file(pki.ca_cert, dir / "sa/ca.crt", fs::copy_options::overwrite_existing);
    write_file(dir / "sa/namespace", "ml-team");
    std::map<std::string, std::string> env = {
        {"KUBERNETES_SERVICE_HOST", "127.0.0.1"},
        {"KUBERNETES_SERVICE_PORT", std::to_string(standin.port())}};
    KubeConfigRequest req;
    req.env = &env;
    req.service_account_dir = dir / "sa";
    KubernetesExecutor ex(h.io, load_kube_config(req), child_options({"out", "loss=2"}), 1);
    CHECK(h.run_one(ex).ok());
    CHECK(count_requests(standin, "POST", "/namespaces/ml-team/jobs") == 1);
  }
  // Credentials never reach an outcome.
  for (const auto& [id, outcome] : h.sink.finished) {
    CHECK_THAT(outcome.reason, !Contains("first-token") && !Contains("rotated"));
  }
}

TEST_CASE("resume: a running Job is re-attached, a finished one harvested, a vanished one gone",
          "[executors][kubernetes]") {
  H h;
  TempDir dir("hpo-k8s-resume");
  StandinOptions so;
  so.work_dir = dir / "work";
  KubeStandin standin(so);
  KubeConfigRequest req;
  req.kubeconfig = write_kubeconfig(dir / "config", standin.url(), "hpo", "", "");
  const KubeConfig config = load_kube_config(req);
  const auto options = child_options(
      {"out", "step=1 loss=9", "sleep", "{ms}", "out", "step=2 loss=4", "out", "loss={ms}"});

  // A first hpo starts three trials and dies (its executor goes away with them running).
  std::map<std::int64_t, std::string> where;
  std::vector<TrialTask> tasks;
  {
    RecordingSink first;
    struct WhereSink : RecordingSink {
      std::map<std::int64_t, std::string>* where = nullptr;
      void on_started(std::int64_t id, const std::string& w) override { (*where)[id] = w; }
    } sink;
    sink.where = &where;
    KubernetesExecutor ex(h.io, config, options, 3);
    for (const int ms : {1500, 20, 1500}) {
      tasks.push_back(h.task(ex, {{"ms", ms}}));
      ex.start(tasks.back(), sink);
    }
    REQUIRE(h.run_until([&] { return where.size() == 3 && standin.live_processes() >= 2; }));
    CHECK(sink.finished.empty());
  }
  CHECK_THAT(where[1], Contains("job:hpo/") && Contains("@" + standin.url()));
  // While hpo is down, trial 2's Job finishes and trial 3's is deleted by someone.
  const std::string name3 =
      where[3].substr(where[3].find('/') + 1, where[3].find('@') - where[3].find('/') - 1);
  standin.delete_job("hpo", name3);
  REQUIRE(h.run_until([&] {
    for (const auto& j : standin.jobs("hpo"))
      if (j["metadata"]["labels"]["hpo.dev/trial-id"] == "2" && j["status"].contains("succeeded"))
        return true;
    return false;
  }));

  KubernetesExecutor ex(h.io, config, options, 3);
  CHECK(ex.recover(tasks[0], where[1], h.sink) == Recovery::kReattached);
  CHECK(ex.recover(tasks[1], where[2], h.sink) == Recovery::kReattached);
  CHECK(ex.recover(tasks[2], where[3], h.sink) == Recovery::kGone);
  // Another cluster's Job, or another trial's: nothing is touched.
  CHECK(ex.recover(tasks[2], "job:hpo/x@https://elsewhere:6443", h.sink) == Recovery::kGone);
  CHECK(ex.recover(tasks[2], where[1], h.sink) == Recovery::kGone);
  CHECK(ex.running() == 2);
  REQUIRE(h.run_until([&] { return h.sink.finished.size() == 2; }));
  CHECK(h.sink.outcome(1)->metrics == Metrics{{"loss", 1500}});
  CHECK(h.sink.outcome(2)->metrics == Metrics{{"loss", 20}});
  // Re-attached trials report their steps to the new sink.
  CHECK(h.sink.intermediates_of(1).size() == 2);
  CHECK(standin.jobs("hpo").empty());
}

TEST_CASE("with a checkpoint volume the pod gets HPO_TRIAL_DIR and HPO_RESULT_FILE on it",
          "[executors][kubernetes]") {
  H h;
  TempDir dir("hpo-k8s-trialdir");
  const fs::path script = dir / "train.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                           "echo '{\"loss\": 0.5}' > \"$HPO_RESULT_FILE\"\n"
                           "echo dir=$HPO_TRIAL_DIR > \"$HPO_TRIAL_DIR/where\"\n"
                           "echo loss=0.5\n";
  ::chmod(script.c_str(), 0755);
  KubernetesOptions options;
  options.job_template = job_template_for({script.string()}, {});
  options.checkpoint_volume = "checkpoints";
  StandinOptions so;
  so.work_dir = dir / "work";
  StandinExecutor ex(h.io, options, 1, so);
  TrialTask task = h.task(ex);
  task.number = 7;
  task.checkpoint_dir = "/trials/7/checkpoint";
  ex.start(task, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.outcome(task.trial_id) != nullptr; }));
  CHECK(h.sink.outcome(task.trial_id)->metrics == Metrics{{"loss", 0.5}});
  // The stand-in maps the claim to <work>/pvc/<claim>/<subPath>: the trial's own directory.
  const fs::path trial_dir = dir / "work" / "pvc" / "checkpoints" / task.study / "trials" / "7";
  std::ifstream result(trial_dir / "result.json");
  std::string text((std::istreambuf_iterator<char>(result)), std::istreambuf_iterator<char>());
  CHECK(text == "{\"loss\": 0.5}\n");
  CHECK(fs::exists(trial_dir / "where"));
  // The rendered Job says where: the same claim twice, two subPaths.
  const Json job = render_job(options.job_template, task, render_settings(options, "hpo")).job;
  const Json& c = job["spec"]["template"]["spec"]["containers"][0];
  std::map<std::string, std::string> env;
  for (const auto& e : c["env"]) env[e["name"]] = e["value"];
  CHECK(env["HPO_TRIAL_DIR"] == "/hpo/trial");
  CHECK(env["HPO_RESULT_FILE"] == "/hpo/trial/result.json");
  CHECK(env["HPO_CHECKPOINT_DIR"] == "/hpo/checkpoint");
  REQUIRE(c["volumeMounts"].size() == 2);
  CHECK(c["volumeMounts"][1]["subPath"] == task.study + "/trials/7");
  // Without a volume, none of the three.
  options.checkpoint_volume.clear();
  const Json plain = render_job(options.job_template, task, render_settings(options, "hpo")).job;
  for (const auto& e : plain["spec"]["template"]["spec"]["containers"][0]["env"]) {
    const std::string name = e["name"];
    CHECK((name != "HPO_TRIAL_DIR" && name != "HPO_RESULT_FILE" && name != "HPO_CHECKPOINT_DIR"));
  }
}

TEST_CASE("a retry mounts the same checkpoint subPath, so it continues where it stopped",
          "[executors][kubernetes]") {
  H h;
  TempDir dir("hpo-k8s-ckpt");
  const fs::path script = dir / "train.sh";
  // Fails the first time; the second attempt finds the first one's checkpoint.
  std::ofstream(script) << "#!/bin/sh\n"
                           "if [ -f \"$HPO_CHECKPOINT_DIR/state\" ]; then\n"
                           "  echo resumed=1 loss=$(cat \"$HPO_CHECKPOINT_DIR/state\"); exit 0\n"
                           "fi\n"
                           "echo 0.5 > \"$HPO_CHECKPOINT_DIR/state\"; exit 1\n";
  ::chmod(script.c_str(), 0755);
  KubernetesOptions options;
  options.job_template = job_template_for({script.string()}, {});
  options.checkpoint_volume = "checkpoints";
  StandinExecutor ex(h.io, options, 1);
  TrialTask first = h.task(ex);
  first.checkpoint_dir = "/trials/0/checkpoint";
  ex.start(first, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.outcome(first.trial_id) != nullptr; }));
  CHECK(h.sink.outcome(first.trial_id)->exit_code == 1);
  TrialTask retry = h.task(ex);
  retry.checkpoint_dir = first.checkpoint_dir;
  retry.attempt = 1;
  ex.start(retry, h.sink);
  REQUIRE(h.run_until([&] { return h.sink.outcome(retry.trial_id) != nullptr; }));
  CHECK(h.sink.outcome(retry.trial_id)->metrics == Metrics{{"resumed", 1}, {"loss", 0.5}});
}

}  // namespace
}  // namespace hpo::testing
