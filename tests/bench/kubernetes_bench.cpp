// hpo-bench kubernetes: the Kubernetes executor at scale, through the real `hpo run` binary
// against the stand-in API server (hosted in this process; each Job's container, /bin/echo
// printing the objective, runs as a local process).
//
//   hpo-bench kubernetes [--trials 1000] [--parallelism 100] [--minor 30|31]
//
// Prints one JSON line: trials, parallelism, seconds, trials per second, API requests per
// trial (counted by the server, watches and log streams included), and the hpo process's CPU
// seconds (user + system) and peak RSS from wait4(). Trial processes are the stand-in's
// children, not hpo's, so they are not in hpo's figures.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/child_run.h"
#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"
#include "tests/support/temp_dir.h"

namespace hpo::bench {

int kubernetes_main(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  using Json = nlohmann::json;
  std::map<std::string, std::string> opt = {
      {"trials", "1000"}, {"parallelism", "100"}, {"minor", "30"}};
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i].rfind("--", 0) != 0 || !opt.count(args[i].substr(2)))
      throw std::runtime_error("unknown option " + args[i]);
    opt[args[i].substr(2)] = args[i + 1];
  }
  const int trials = std::stoi(opt["trials"]);
  const int parallelism = std::stoi(opt["parallelism"]);

  testing::TempDir dir("hpo-bench-k8s");
  testing::StandinOptions so;
  so.work_dir = dir / "cluster";
  so.minor_version = std::stoi(opt["minor"]);
  testing::KubeStandin standin(so);
  const fs::path kubeconfig =
      testing::write_kubeconfig(dir / "kubeconfig", standin.url(), "hpo", "", "");
  Json spec = {{"name", "k8s-bench"},
               {"direction", "minimize"},
               {"objective", {{"metric", "loss"}}},
               {"space", {{"x", {{"type", "float"}, {"low", -5}, {"high", 5}}}}},
               {"sampler", {{"name", "random"}, {"seed", 1}}},
               {"budget", {{"trials", trials}}},
               {"parallelism", parallelism},
               {"executor",
                {{"kind", "kubernetes"},
                 {"kubeconfig", kubeconfig.string()},
                 {"template",
                  {{"apiVersion", "batch/v1"},
                   {"kind", "Job"},
                   {"spec",
                    {{"template",
                      {{"spec",
                        {{"containers",
                          {{{"name", "trial"},
                            {"image", "bench"},
                            {"command", {"/bin/echo"}},
                            {"args", {"epoch=1 loss={x}"}}}}}}}}}}}}}}}};
  std::ofstream(dir / "study.json") << spec.dump(2);

  const std::string hpo = HPO_BIN;
  std::vector<std::string> argv = {hpo, "run", (dir / "study.json").string(), "--storage",
                                   (dir / "bench.db").string()};
  const ChildRun run = run_child(argv);
  if (run.exit_code != 0)
    throw std::runtime_error("hpo run failed with exit code " + std::to_string(run.exit_code));
  const double seconds = run.seconds;
  const auto requests = standin.requests();
  std::map<std::string, int> by_kind;
  for (const auto& r : requests) {
    std::string kind = r.method + " ";
    if (r.path.find("/log") != std::string::npos)
      kind += "log";
    else if (r.query.find("watch=1") != std::string::npos)
      kind += "watch";
    else if (r.path.find("/jobs") != std::string::npos)
      kind += "jobs";
    else if (r.path.find("/pods") != std::string::npos)
      kind += "pods";
    else
      kind += r.path;
    ++by_kind[kind];
  }
  Json out = {{"bench", "kubernetes"},
              {"trials", trials},
              {"parallelism", parallelism},
              {"kubernetes_minor", so.minor_version},
              {"seconds", seconds},
              {"trials_per_second", trials / seconds},
              {"api_requests", requests.size()},
              {"api_requests_per_trial", static_cast<double>(requests.size()) / trials},
              {"api_requests_by_kind", by_kind},
              {"hpo_cpu_seconds", run.cpu_seconds},
              {"hpo_peak_rss_mib", run.peak_rss_mib}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace hpo::bench
