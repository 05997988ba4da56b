// KubernetesExecutor: runs each trial as a batch/v1 Job through the Kubernetes API (see
// ../shared/KUBERNETES.md for the contract it follows), on the run's io_context.
//
// Life of a trial:
//   start    render the Job (job_template.h) and POST it. 409 AlreadyExists adopts the Job
//            when it carries this trial's id label (a retried create), else fails; 422 fails
//            the trial without retry (the template is broken); other errors fail it as an
//            infrastructure problem (retried by executor.retries) with the API's reason.
//            on_started(where) follows the create, where = "job:<namespace>/<name>@<server>".
//   follow   one LIST then a watch (resourceVersion, bookmarks) of the study's Jobs and one of
//            its pods, by label: a handful of connections for any number of trials. A watch
//            that the server ends at its timeoutSeconds is resumed from the last
//            resourceVersion; both forms of 410 Expired re-LIST at once; any other watch error
//            re-LISTs after a backoff (jittered, at most poll_interval, or the Retry-After of a
//            429/503). Every resync_interval (60 s) the LIST is made again although the watch
//            runs, so that an event the watch missed leaves no trial RUNNING. While a pod's primary
//            container runs, its log is followed and metric lines (metric_parser.h) stream in
//            as on_intermediate.
//   outcome  from every condition (job_status.h). Success: the metrics of the log (the last
//            value of each); without the objective metric, FAIL "metrics unavailable".
//            Failure: DeadlineExceeded -> kTimeout; OOMKilled -> kSignal (exit 137);
//            exit code N -> kExitCode with the last lines of the log; anything else ->
//            kInfrastructure with the condition's reason and message. A pod that stays
//            Pending (Unschedulable, ImagePullBackOff, ...) for pending_timeout fails the trial
//            with that reason (kInfrastructure); a suspended Job (Kueue) is queued, and neither
//            the pending timeout nor executor.timeout runs before it is admitted.
//   stop     executor.timeout (its own timer; activeDeadlineSeconds is the server-side net),
//            cancel() and the pending timeout DELETE the Job with propagationPolicy=Background
//            (gracePeriodSeconds=0 with kill_now) and report as StopCause says; a Job that
//            already finished reports its real outcome.
//   cleanup  per executor.cleanup, after the log is read; on_finished comes after the
//            DELETE was answered, so running() counts Jobs until they are gone.
//   recover  "job:<ns>/<name>@<server>" of this cluster: GETs the Job (synchronously, on a
//            private io_context). Gone (404) or another trial's Job: kGone, nothing touched.
//            Otherwise kReattached: the trial is followed again (a Job that finished while hpo
//            was down is harvested at once) and its events go to the sink.
// Jobs outlive the executor: destroying it with trials running leaves their Jobs alone (a
// later run re-attaches them) and calls no sink any more.
//
// When no trial runs, nothing is pending: watches are closed, idle connections too, so that
// io_context::run() returns. Credentials are never logged, printed or passed to the sink.
//
// Threading: as Executor (one io_context thread). REQUIRES: one study per executor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "executors/executor.h"
#include "executors/executor_registry.h"
#include "executors/kubernetes/kube_client.h"
#include "executors/kubernetes/kube_config.h"
#include "executors/kubernetes/kubernetes_options.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hpo {

// "kubernetes": the options of kubernetes_options.h.
ExecutorRegistration kubernetes_executor_registration();

class KubernetesExecutor final : public Executor {
 public:
  // `config` says where the API is (load_kube_config); REQUIRES parallelism >= 1 (else throws
  // ExecutorError). `io` must outlive the executor.
  KubernetesExecutor(boost::asio::io_context& io, KubeConfig config, KubernetesOptions options,
                     std::size_t parallelism, KubeClientOptions client_options = {});
  ~KubernetesExecutor() override;

  void start(TrialTask task, EventSink& sink) override;
  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now = false) override;
  std::size_t capacity() const override;
  std::size_t running() const override;
  Recovery recover(const TrialTask& task, const std::string& where, EventSink& sink) override;
  // Trials need no local directories: everything happens in the cluster.
  bool uses_trial_dirs() const override { return false; }

  // API requests sent so far (retries and streams included), for benchmarks.
  std::uint64_t requests_sent() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight io_context handlers
};

}  // namespace hpo
