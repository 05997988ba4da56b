// The Kubernetes executor against the stand-in API server (tests/kube/kube_standin.h), as the
// executor tests use it: StandinExecutor owns a temporary directory, a stand-in that runs
// trials' containers as local processes, a kubeconfig pointing at it, and a real
// KubernetesExecutor configured from that kubeconfig (the executor does not know it talks to
// a stand-in). Destroying it destroys the executor first, then the stand-in, which kills and
// reaps whatever its pods still run. Header-only; single-threaded like the executors.
#pragma once

#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "executors/kubernetes/kube_config.h"
#include "executors/kubernetes/kubernetes_executor.h"
#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {

// A Job template whose one container runs `command` + `args` (the stand-in ignores the image).
inline nlohmann::ordered_json job_template_for(const std::vector<std::string>& command,
                                               const std::vector<std::string>& args) {
  nlohmann::ordered_json container = {{"name", "trial"}, {"image", "registry.example/trial:1"}};
  container["command"] = command;
  container["args"] = args;
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata", {{"labels", {{"team", "hpo"}}}}},
          {"spec", {{"template", {{"spec", {{"containers", {container}}}}}}}}};
}

class StandinExecutor final : public Executor {
 public:
  // REQUIRES: standin_options.work_dir may be empty (a directory of `dir` is used).
  StandinExecutor(boost::asio::io_context& io, KubernetesOptions options, std::size_t parallelism,
                  StandinOptions standin_options = {}, KubeClientOptions client_options = {})
      : dir_("hpo-k8s") {
    if (standin_options.work_dir.empty()) standin_options.work_dir = dir_ / "work";
    standin_ = std::make_unique<KubeStandin>(standin_options);
    KubeConfigRequest req;
    req.kubeconfig = write_kubeconfig(dir_ / "kubeconfig", standin_->url(), "hpo", "", "");
    executor_ = std::make_unique<KubernetesExecutor>(io, load_kube_config(req), std::move(options),
                                                     parallelism, client_options);
  }
  ~StandinExecutor() override {
    executor_.reset();
    standin_.reset();
  }

  void start(TrialTask task, EventSink& sink) override { executor_->start(std::move(task), sink); }
  void cancel(std::int64_t id, StopCause cause, bool kill_now) override {
    executor_->cancel(id, cause, kill_now);
  }
  std::size_t capacity() const override { return executor_->capacity(); }
  std::size_t running() const override { return executor_->running(); }
  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) override {
    return executor_->recover(task, where, sink);
  }
  bool uses_trial_dirs() const override { return executor_->uses_trial_dirs(); }

  KubeStandin& standin() { return *standin_; }
  KubernetesExecutor& executor() { return *executor_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // Waits (at most `limit`) until the stand-in has closed its side of every connection the
  // executor closed: the server lives on a thread of this process, so its descriptors count
  // in this process's, and it closes them a moment after the client does.
  bool wait_connections_closed(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (standin_->open_connections() != 0) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::yield();
    }
    return true;
  }

 private:
  TempDir dir_;
  std::unique_ptr<KubeStandin> standin_;
  std::unique_ptr<KubernetesExecutor> executor_;
};

}  // namespace hpo::testing
