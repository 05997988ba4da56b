// The Kubernetes executor's pure parts: the Job a trial becomes (job_template.h), how Jobs and
// pods are judged (job_status.h), and where the configuration comes from (kube_config.h).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "hpo/errors.h"
#include "executors/kubernetes/job_status.h"
#include "executors/kubernetes/job_template.h"
#include "executors/kubernetes/kube_config.h"
#include "executors/kubernetes/yaml_json.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

using Json = nlohmann::json;
using Catch::Contains;

TrialTask sample_task() {
  TrialTask t;
  t.trial_id = 42;
  t.number = 7;
  t.attempt = 1;
  t.study = "MNIST_study.v2";
  t.params = {{"lr", 0.001}, {"layers", 3}, {"opt", "adam"}};
  t.trial_dir = "/data/trials/7";
  t.checkpoint_dir = "/data/trials/5/checkpoint";  // a retry of trial 5
  return t;
}

const Json* env_of(const Json& container, const std::string& name) {
  for (const auto& e : container["env"])
    if (e["name"] == name) return &e["value"];
  return nullptr;
}

TEST_CASE("a trial's Job has its parameters substituted into string values only",
          "[executors][kubernetes]") {
  const auto tmpl = parse_yaml(R"(
apiVersion: batch/v1
kind: Job
metadata: {namespace: ignored}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: train
        image: "registry.example/train:{opt}"
        command: [sh, -c, 'python3 train.py --out ${HOME}/x --lr "$LR"']
        args: ["--lr={lr}", "--layers", "${trialParameters.layers}", "--degree={degree}",
               "--name=${trialSpec.Name}", "{{literal}}"]
        env: [{name: LR, value: "{lr}"}, {name: HPO_STUDY, value: overridden}]
      - name: sidecar
        image: busybox
)");
  JobRenderSettings s;
  s.job_namespace = "team-a";
  s.timeout = std::chrono::milliseconds(1500);
  s.checkpoint_claim = "ckpt";
  s.queue_name = "gpu-queue";
  const RenderedJob job = render_job(tmpl, sample_task(), s);
  REQUIRE(job.ok());
  const Json& j = job.job;
  CHECK(job.name == "mnist-study-v2-7-1-" + job.name.substr(job.name.size() - 6));
  CHECK(job.name.size() <= 63);
  CHECK(job.container == "train");
  CHECK(j["metadata"]["namespace"] == "team-a");
  CHECK(j["metadata"]["labels"]["hpo.dev/study"] == "MNIST_study.v2");
  CHECK(j["metadata"]["labels"]["hpo.dev/trial"] == "7");
  CHECK(j["metadata"]["labels"]["hpo.dev/attempt"] == "1");
  CHECK(j["metadata"]["labels"]["hpo.dev/trial-id"] == "42");
  CHECK(j["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue");
  CHECK(j["spec"]["suspend"] == true);
  CHECK(j["spec"]["backoffLimit"] == 2);  // the template's own choice stays
  CHECK(j["spec"]["activeDeadlineSeconds"] == 2);
  CHECK(j["spec"]["ttlSecondsAfterFinished"] == 86400);
  const Json& pod = j["spec"]["template"];
  CHECK(pod["metadata"]["labels"]["hpo.dev/trial-id"] == "42");
  CHECK(pod["spec"]["restartPolicy"] == "Never");
  const Json& c = pod["spec"]["containers"][0];
  CHECK(c["image"] == "registry.example/train:adam");
  CHECK(c["command"][2] == "python3 train.py --out ${HOME}/x --lr \"$LR\"");
  // {degree} names no active parameter: its element is dropped.
  CHECK(c["args"] == Json({"--lr=0.001", "--layers", "3", "--name=" + job.name, "{literal}"}));
  CHECK(*env_of(c, "LR") == "0.001");
  CHECK(*env_of(c, "HPO_STUDY") == "MNIST_study.v2");
  CHECK(*env_of(c, "HPO_TRIAL_NUMBER") == "7");
  CHECK(*env_of(c, "HPO_ATTEMPT") == "1");
  CHECK(*env_of(c, "HPO_TRIAL_NAME") == job.name);
  CHECK(*env_of(c, "HPO_PARAM_LR") == "0.001");
  CHECK(Json::parse(env_of(c, "HPO_PARAMS")->get<std::string>()) ==
        Json({{"layers", 3}, {"lr", 0.001}, {"opt", "adam"}}));
  CHECK(*env_of(c, "HPO_CHECKPOINT_DIR") == "/hpo/checkpoint");
  // The checkpoint subPath follows the trial whose checkpoint this attempt continues.
  CHECK(c["volumeMounts"][0]["subPath"] == "mnist-study-v2/5");
  CHECK(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "ckpt");
  CHECK_FALSE(pod["spec"]["containers"][1].contains("env"));  // only the primary container
}

TEST_CASE("names stay DNS-1123 and distinct, a broken placeholder is an error, not a splice",
          "[executors][kubernetes]") {
  TrialTask a = sample_task();
  a.study = std::string(80, 'X') + "--";
  const std::string name = job_name_for(a);
  CHECK(name.size() <= 63);
  CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos);
  TrialTask b = a;
  b.trial_dir = "/elsewhere/7";
  CHECK(job_name_for(b) != name);  // another database's trial 7
  CHECK(label_value("ok-value_1.2") == "ok-value_1.2");
  CHECK(label_value(std::string(70, 'a')).size() <= 63);

  const auto tmpl = parse_yaml(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "x", "image": "i", "args": ["{lr"]}]}}}})");
  const RenderedJob job = render_job(tmpl, sample_task(), {});
  CHECK_THAT(job.error, Contains("unmatched '{'"));
  CHECK_THAT(job.error, Contains("args[0]"));
}

TEST_CASE("a Job's outcome comes from every condition, as 1.30 and 1.31 report it",
          "[executors][kubernetes]") {
  auto job = [](Json conditions, int active = 0) {
    return Json{{"spec", {{"suspend", false}}},
                {"status", {{"active", active}, {"conditions", conditions}}}};
  };
  CHECK(judge_job(job(Json::array(), 1)).verdict == JobVerdict::kRunning);
  // 1.31: SuccessCriteriaMet first; settled once no pod is active.
  JobState s = judge_job(job({{{"type", "SuccessCriteriaMet"}, {"status", "True"}}}, 1));
  CHECK(s.verdict == JobVerdict::kSucceeded);
  CHECK_FALSE(s.settled);
  s = judge_job(job({{{"type", "SuccessCriteriaMet"}, {"status", "True"}},
                     {{"type", "Complete"}, {"status", "True"}}}));
  CHECK(s.settled);
  // Not conditions[0] alone: a False first entry, the verdict later.
  s = judge_job(job({{{"type", "Suspended"}, {"status", "False"}},
                     {{"type", "FailureTarget"}, {"status", "True"}, {"reason", "x"}},
                     {{"type", "Failed"},
                      {"status", "True"},
                      {"reason", "DeadlineExceeded"},
                      {"message", "Job was active longer than specified deadline"}}}));
  CHECK(s.verdict == JobVerdict::kFailed);
  CHECK(s.reason == "DeadlineExceeded");
  CHECK(s.settled);
  CHECK(judge_job(Json{{"spec", {{"suspend", true}}}}).suspended);
}

TEST_CASE("pods tell why a trial waits and how its container ended", "[executors][kubernetes]") {
  const Json pending = {
      {"metadata", {{"name", "p1"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
      {"status",
       {{"phase", "Pending"},
        {"containerStatuses",
         {{{"name", "train"},
           {"state", {{"waiting", {{"reason", "ImagePullBackOff"}, {"message", "nope"}}}}}}}}}}};
  PodsState ps = inspect_pods({&pending}, "train");
  CHECK_FALSE(ps.started);
  CHECK(ps.waiting_reason == "ImagePullBackOff");
  const Json oom = {
      {"metadata", {{"name", "p2"}, {"creationTimestamp", "2026-01-01T00:00:01Z"}}},
      {"status",
       {{"phase", "Failed"},
        {"containerStatuses",
         {{{"name", "train"},
           {"state", {{"terminated", {{"exitCode", 137}, {"reason", "OOMKilled"}}}}}}}}}}};
  ps = inspect_pods({&oom, &pending}, "train");
  CHECK(ps.started);
  CHECK(ps.harvest_pod == "p2");
  CHECK(ps.exit_code == 137);
  CHECK(ps.terminated_reason == "OOMKilled");
}

TEST_CASE("kubeconfig: KUBECONFIG files merge, the first to name an entry wins",
          "[executors][kubernetes]") {
  TempDir dir("hpo-kubeconfig");
  write_file(dir / "a/config", R"(
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: team-a}
clusters:
- name: c1
  cluster: {server: "https://10.1.2.3:6443", certificate-authority: ca.crt, tls-server-name: api.internal}
users:
- name: u1
  user: {tokenFile: token}
)");
  write_file(dir / "a/ca.crt", "PEM-A");
  write_file(dir / "b/config", R"(
current-context: prod
contexts:
- name: dev
  context: {cluster: c2, user: u2}
- name: prod
  context: {cluster: c2, user: u2}
clusters:
- name: c1
  cluster: {server: "https://evil:1"}
- name: c2
  cluster: {server: "http://127.0.0.1:8001/proxy/", insecure-skip-tls-verify: true}
users:
- name: u2
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plugin, args: [get-token],
           env: [{name: X, value: "1"}], provideClusterInfo: true}
)");
  std::map<std::string, std::string> env = {
      {"KUBECONFIG", (dir / "missing").string() + ":" + (dir / "a/config").string() + ":" +
                         (dir / "b/config").string()},
      {"HOME", "/nonexistent"}};
  KubeConfigRequest req;
  req.env = &env;
  KubeConfig cfg = load_kube_config(req);
  CHECK(cfg.context == "dev");
  CHECK(cfg.server == "https://10.1.2.3:6443");  // c1 from the first file
  CHECK(cfg.host == "10.1.2.3");
  CHECK(cfg.port == "6443");
  CHECK(cfg.ca_pem == "PEM-A");  // relative to the file that named it
  CHECK(cfg.tls_server_name == "api.internal");
  CHECK(cfg.token_file == dir / "a/token");
  CHECK(cfg.default_namespace == "team-a");

  req.context = "prod";
  cfg = load_kube_config(req);
  CHECK(cfg.server == "http://127.0.0.1:8001/proxy/");
  CHECK_FALSE(cfg.tls);
  CHECK(cfg.path_prefix == "/proxy");
  CHECK(cfg.insecure_skip_tls_verify);
  CHECK(cfg.default_namespace == "default");
  REQUIRE(cfg.exec);
  CHECK(cfg.exec->command == (dir / "b/plugin").string());
  CHECK(cfg.exec->provide_cluster_info);

  req.context = "nope";
  CHECK_THROWS_WITH(load_kube_config(req), Contains("has no context \"nope\""));
}

TEST_CASE("in a pod without a kubeconfig, the service account is the configuration",
          "[executors][kubernetes]") {
  TempDir dir("hpo-incluster");
  write_file(dir / "sa/token", "sa-token\n");
  write_file(dir / "sa/ca.crt", "PEM");
  write_file(dir / "sa/namespace", "ml\n");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"},
                                            {"HOME", (dir / "home").string()}};
  KubeConfigRequest req;
  req.env = &env;
  req.service_account_dir = dir / "sa";
  const KubeConfig cfg = load_kube_config(req);
  CHECK(cfg.server == "https://10.96.0.1:443");
  CHECK(cfg.token_file == dir / "sa/token");
  CHECK(cfg.ca_pem == "PEM");
  CHECK(cfg.default_namespace == "ml");
  env.erase("KUBERNETES_SERVICE_HOST");
  CHECK_THROWS_WITH(load_kube_config(req), Contains("no Kubernetes configuration found"));
}

}  // namespace
}  // namespace hpo::testing
