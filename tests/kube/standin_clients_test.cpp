// The stand-in API server held to real clients, so that it cannot drift into a fantasy API:
// the machine's kubectl (create, get -o json, logs, wait --for=condition=complete, delete,
// get -w) and Debian's python3-kubernetes (list, watch from a resourceVersion,
// read_namespaced_pod_log). A client that is absent is skipped with a message saying so.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Catch::Contains;

struct Result {
  int status = -1;
  std::string out;
};

// Runs a shell command line (tests only), capturing stdout and stderr.
Result sh(const std::string& command) {
  Result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

Json job_manifest(const std::string& name, const std::string& script) {
  return {
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", {{"name", name}, {"labels", {{"suite", "clients"}}}}},
      {"spec",
       {{"backoffLimit", 0},
        {"template",
         {{"spec",
           {{"restartPolicy", "Never"},
            {"containers",
             {{{"name", "train"}, {"image", "busybox"}, {"command", {"sh", "-c", script}}}}}}}}}}}};
}

// The stand-in over TLS with a client certificate, as a cluster would be.
struct Cluster {
  TempDir dir{"hpo-kube-clients"};
  TestPki pki = make_test_pki(dir / "pki");
  std::unique_ptr<KubeStandin> standin;
  fs::path kubeconfig;
  Cluster() {
    StandinOptions o;
    o.tls = true;
    o.cert_file = pki.server_cert;
    o.key_file = pki.server_key;
    o.client_ca_file = pki.ca_cert;
    o.tokens = {"python-token"};
    o.work_dir = dir / "work";
    o.bookmark_interval = std::chrono::milliseconds(200);
    standin = std::make_unique<KubeStandin>(o);
    kubeconfig = write_kubeconfig(dir / "kubeconfig", standin->url(), "hpo",
                                  "    certificate-authority: " + pki.ca_cert.string(),
                                  "    client-certificate: " + pki.client_cert.string() +
                                      "\n    client-key: " + pki.client_key.string());
  }
  std::string env() const {
    return "KUBECONFIG=" + quote(kubeconfig.string()) + " HOME=" + quote(dir.path().string()) + " ";
  }
};

TEST_CASE("kubectl creates, reads, waits for, follows and deletes Jobs on the stand-in",
          "[kube][clients]") {
  const Result version = sh("kubectl version --client 2>&1");
  if (version.status != 0) {
    WARN("skipped: no working kubectl on this machine (" << version.out.substr(0, 200) << ")");
    return;
  }
  Cluster c;
  const std::string kubectl = c.env() + "timeout 60 kubectl --request-timeout=20s ";
  std::ofstream(c.dir / "job.json") << job_manifest("quick", "echo loss=0.5; echo done").dump();
  std::ofstream(c.dir / "slow.json") << job_manifest("slow", "sleep 1; echo acc=0.9").dump();

  // get -w: a watch that must see a Job created after it started.
  const fs::path watch_out = c.dir / "watch.txt";
  const Result watcher = sh(c.env() + "timeout 30 kubectl get jobs -w > " +
                            quote(watch_out.string()) + " 2>&1 & echo $!");
  const int watcher_pid = std::atoi(watcher.out.c_str());

  Result r = sh(kubectl + "create -f " + quote((c.dir / "job.json").string()));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("job.batch/quick created"));
  r = sh(kubectl + "wait --for=condition=complete job/quick --timeout=30s");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("condition met"));
  r = sh(kubectl + "get job quick -o json");
  REQUIRE(r.status == 0);
  const Json job = Json::parse(r.out);
  CHECK(job["status"]["succeeded"] == 1);
  CHECK(job["spec"]["template"]["metadata"]["labels"]["job-name"] == "quick");
  r = sh(kubectl + "logs job/quick -c train");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out == "loss=0.5\ndone\n");
  r = sh(kubectl + "get pods -l job-name=quick -o json");
  CHECK(Json::parse(r.out)["items"].size() == 1);

  r = sh(kubectl + "create -f " + quote((c.dir / "slow.json").string()));
  REQUIRE(r.status == 0);
  r = sh(kubectl + "logs -f job/slow -c train");
  CHECK(r.out == "acc=0.9\n");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string seen;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(watch_out);
    seen.assign(std::istreambuf_iterator<char>(in), {});
    if (seen.find("slow") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(seen);
  CHECK_THAT(seen, Contains("quick") && Contains("slow"));

  r = sh(kubectl + "delete job quick");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("deleted"));
  r = sh(kubectl + "get job quick");
  CHECK(r.status != 0);
  CHECK_THAT(r.out, Contains("NotFound") || Contains("not found"));
  // kubectl sent Background, so the pods went with the Job.
  for (const auto& req : c.standin->requests())
    if (req.method == "DELETE") CHECK_THAT(req.body, Contains("Background"));
  CHECK(c.standin->pods("hpo").size() == 1);  // slow's
  if (watcher_pid > 0) ::kill(watcher_pid, SIGTERM);
}

TEST_CASE("python3-kubernetes lists, watches from a resourceVersion and reads pod logs",
          "[kube][clients]") {
  // Debian's package installs for /usr/bin/python3, which may not be the first on PATH.
  std::string python;
  for (const std::string candidate : {"/usr/bin/python3", "python3"})
    if (python.empty() && sh(candidate + " -c 'import kubernetes'").status == 0) python = candidate;
  if (python.empty()) {
    WARN("skipped: python3-kubernetes is not installed (apt-get install python3-kubernetes)");
    return;
  }
  Cluster c;
  const fs::path script = c.dir / "client.py";
  std::ofstream(script) << R"PY(
import json, sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
batch, core = client.BatchV1Api(), client.CoreV1Api()
jobs = batch.list_namespaced_job("hpo", label_selector="suite=clients")
rv = jobs.metadata.resource_version
body = json.loads(sys.argv[2])
batch.create_namespaced_job("hpo", body)
done = None
for ev in watch.Watch().stream(batch.list_namespaced_job, "hpo", label_selector="suite=clients",
                               resource_version=rv, timeout_seconds=20):
    st = ev["object"].status
    if any(c.type == "Complete" and c.status == "True" for c in (st.conditions or [])):
        done = ev["object"].metadata.name
        break
pods = core.list_namespaced_pod("hpo", label_selector="job-name=" + done)
log = core.read_namespaced_pod_log(pods.items[0].metadata.name, "hpo", container="train")
print(json.dumps({"before": len(jobs.items), "done": done, "log": log}))
)PY";
  // Token auth this time (the kubeconfig's user switched to a bearer token).
  write_kubeconfig(c.kubeconfig, c.standin->url(), "hpo",
                   "    certificate-authority: " + c.pki.ca_cert.string(),
                   "    token: python-token");
  const Json job = job_manifest("py", "echo step=1 loss=0.7; echo loss=0.25");
  const Result r = sh("timeout 60 " + python + " " + quote(script.string()) + " " +
                      quote(c.kubeconfig.string()) + " " + quote(job.dump()));
  INFO(r.out);
  REQUIRE(r.status == 0);
  const Json out = Json::parse(r.out.substr(r.out.rfind('{')));
  CHECK(out["before"] == 0);
  CHECK(out["done"] == "py");
  CHECK(out["log"] == "step=1 loss=0.7\nloss=0.25\n");
  bool watched_from_rv = false;
  for (const auto& req : c.standin->requests())
    watched_from_rv =
        watched_from_rv || (req.query.find("watch=True") != std::string::npos ||
                            req.query.find("watch=true") != std::string::npos) &&
                               req.query.find("resourceVersion=") != std::string::npos;
  CHECK(watched_from_rv);
}

}  // namespace
}  // namespace hpo::testing
