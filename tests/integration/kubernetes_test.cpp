// `hpo run` with the Kubernetes executor, end to end: the real binary, a kubeconfig pointing
// at the stand-in API server (hosted by this test process; it runs each Job's container,
// hpo_it_objective, as a local process), and the results database read back.
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <signal.h>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/hpo_runner.h"
#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Catch::Contains;

std::string kubernetes_spec(const std::string& name, int trials, int parallelism,
                            const fs::path& kubeconfig) {
  Json container = {{"name", "train"},
                    {"image", "registry.example/objective:1"},
                    {"command", {HPO_IT_OBJECTIVE}},
                    {"args", {"{x}", "${trialParameters.y}"}}};
  Json spec = Json::parse(objective_spec(name));
  spec["budget"] = {{"trials", trials}};
  spec["parallelism"] = parallelism;
  spec["executor"] = {{"kind", "kubernetes"},
                      {"kubeconfig", kubeconfig.string()},
                      {"timeout", "60s"},
                      {"template",
                       {{"apiVersion", "batch/v1"},
                        {"kind", "Job"},
                        {"spec", {{"template", {{"spec", {{"containers", {container}}}}}}}}}}};
  return spec.dump(2);
}

TEST_CASE("hpo run: 200 trials at parallelism 50 as Kubernetes Jobs", "[integration][kubernetes]") {
  TempDir dir("hpo-it-k8s");
  StandinOptions so;
  so.work_dir = dir / "cluster";
  KubeStandin standin(so);
  const fs::path kubeconfig = write_kubeconfig(dir / "kubeconfig", standin.url(), "hpo", "", "");
  write_file(dir / "study.json", kubernetes_spec("k8s-200", 200, 50, kubeconfig));

  const auto start = std::chrono::steady_clock::now();
  const CommandResult r = run_hpo({"run", "study.json", "--storage", "k8s.db"}, dir.path());
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto trials = stored_trials(dir / "k8s.db", "k8s-200");
  REQUIRE(trials.size() == 200);
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    REQUIRE(t.state == TrialState::kComplete);
    const double x = t.params.at("x").as_double(), y = t.params.at("y").as_double();
    CHECK(*t.value == Approx((x - 1) * (x - 1) + (y + 2) * (y + 2)));
    CHECK(t.intermediate.size() == 3);  // epoch=1..3, streamed from the followed log
    CHECK_THAT(t.location, Contains("job:hpo/k8s-200-"));
  }
  CHECK(standin.jobs("hpo").empty());  // every Job deleted once read
  // One LIST and one watch per study, not per trial: a handful of requests per trial.
  const double per_trial = static_cast<double>(standin.requests().size()) / 200;
  WARN("200 trials in " << seconds.count() << " s, " << per_trial << " API requests per trial");
  CHECK(per_trial < 6);
  CHECK(seconds.count() < 60);
}

TEST_CASE("a killed hpo run re-attaches to its Jobs on resume instead of running them again",
          "[integration][kubernetes][resume]") {
  namespace bp = boost::process;
  TempDir dir("hpo-it-k8s-resume");
  StandinOptions so;
  so.work_dir = dir / "cluster";
  KubeStandin standin(so);
  const fs::path kubeconfig = write_kubeconfig(dir / "kubeconfig", standin.url(), "hpo", "", "");
  const fs::path gate = dir / "gate";
  Json spec = Json::parse(kubernetes_spec("k8s-resume", 4, 2, kubeconfig));
  // Trials wait for the gate, so that the first run dies while its Jobs run.
  spec["executor"]["template"]["spec"]["template"]["spec"]["containers"][0]["command"] = {
      "sh", "-c", "while [ ! -f " + gate.string() + " ]; do sleep 0.02; done; echo loss={x}"};
  spec["executor"]["template"]["spec"]["template"]["spec"]["containers"][0].erase("args");
  write_file(dir / "study.json", spec.dump(2));

  bp::child first(std::string(HPO_BIN), bp::args({"run", "study.json", "--progress", "plain"}),
                  bp::start_dir(dir.path().string()), bp::std_out > bp::null,
                  bp::std_err > bp::null, bp::std_in < bp::null);
  REQUIRE(wait_for([&] {
    return running_and_started(dir / "hpo.db", "k8s-resume") == 2 && standin.live_processes() == 2;
  }));
  ::kill(first.id(), SIGKILL);
  first.wait();
  // While hpo is down both Jobs finish: the next run harvests them (the executor tests cover
  // re-attaching to Jobs that still run).
  write_file(gate, "");
  REQUIRE(wait_for([&] { return standin.live_processes() == 0; }));

  const CommandResult r = run_hpo({"run", "study.json", "--progress", "plain"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out + r.err, Contains("re-attached to 2 trial(s)"));
  const auto trials = stored_trials(dir / "hpo.db", "k8s-resume");
  int complete = 0;
  for (const auto& t : trials) complete += t.state == TrialState::kComplete;
  CHECK(complete == 4);
  CHECK(trials.size() == 4);  // the two re-attached trials did not run again
  std::size_t creates = 0;
  for (const auto& req : standin.requests()) creates += req.method == "POST";
  CHECK(creates == 4);
  CHECK(standin.jobs("hpo").empty());
}

TEST_CASE("hpo validate and hpo k8s render read a Kubernetes spec without a cluster",
          "[integration][kubernetes]") {
  TempDir dir("hpo-it-k8s-render");
  write_file(dir / "study.json", kubernetes_spec("render-me", 4, 2, dir / "no-such-kubeconfig"));
  CommandResult r = run_hpo({"validate", "study.json"}, dir.path());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("kubernetes executor"));
  r = run_hpo({"k8s", "render", "study.json", "--params", R"({"x": 1.5, "y": -2})", "--trial", "3"},
              dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const Json job = Json::parse(r.out);
  CHECK(job["metadata"]["name"].get<std::string>().rfind("render-me-3-0-", 0) == 0);
  CHECK(job["metadata"]["namespace"] == "default");
  CHECK(job["spec"]["activeDeadlineSeconds"] == 60);
  CHECK(job["spec"]["template"]["spec"]["containers"][0]["args"] == Json({"1.5", "-2"}));
  r = run_hpo({"k8s", "render", "study.json", "--params", R"({"z": 1})"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("unknown parameter \"z\""));
  // hpo run checks the configuration before it writes anything.
  r = run_hpo({"run", "study.json"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("no-such-kubeconfig"));
  CHECK_FALSE(fs::exists(dir / "hpo.db"));
}

}  // namespace
}  // namespace hpo::testing
