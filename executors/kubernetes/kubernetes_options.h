// The Kubernetes executor's spec keys ("executor": {"kind": "kubernetes", ...}), read by one
// function for the spec checker, the factory and `hpo k8s render` alike:
//   template           the Job, inline (a JSON object)                    } exactly one
//   template_file      a YAML or JSON Job manifest, relative to the spec  } of these two
//   kubeconfig         a kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
//   context            kubeconfig context (default: current-context)
//   namespace          where Jobs go (default: the template's, else the context's, else
//                      "default")
//   container          the primary container: metrics, env (default: the first)
//   pending_timeout    how long a pod may stay unscheduled or unable to start ("10m")
//   cleanup            "delete" (default: every Job once its log is read), "keep_failed",
//                      or "keep"
//   checkpoint_volume  a PersistentVolumeClaim mounted at /hpo/checkpoint (HPO_CHECKPOINT_DIR)
//                      with the subPath <study>/<trial>
//   queue_name         a Kueue LocalQueue: Jobs are created suspended with its label
//   poll_interval      how soon a broken watch is listed again, at most ("10s")
//   resync_interval    how often the Jobs and pods are listed again although the watch runs,
//                      so that an event the watch missed never leaves a trial RUNNING ("60s")
//   log_limit_bytes    the most of a log read for metrics (default 10 MiB)
//   ttl_after_finished ttlSecondsAfterFinished, a safety net ("1d")
//   metrics_format     how the log's lines report metrics (executors/metric_format.h; "auto")
// Generic keys it uses: timeout (activeDeadlineSeconds, and its own timer), retries.
// Reading never contacts a cluster; a template_file is read and checked.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "engine/model/study_spec.h"
#include "executors/kubernetes/job_template.h"
#include "executors/metric_format.h"

namespace hpo {

enum class CleanupPolicy { kDelete, kKeepFailed, kKeep };

struct KubernetesOptions {
  nlohmann::ordered_json job_template;              // "template", or "template_file" parsed
  std::filesystem::path template_file;              // empty for an inline template
  std::optional<std::filesystem::path> kubeconfig;  // "kubeconfig"
  std::string context;                              // "context"
  std::string job_namespace;                        // "namespace"; empty: see above
  std::string container;                            // "container"
  std::chrono::milliseconds pending_timeout{std::chrono::minutes(10)};   // "pending_timeout"
  CleanupPolicy cleanup = CleanupPolicy::kDelete;                        // "cleanup"
  std::string checkpoint_volume;                                         // "checkpoint_volume"
  std::string queue_name;                                                // "queue_name"
  std::chrono::milliseconds poll_interval{std::chrono::seconds(10)};     // "poll_interval"
  std::chrono::milliseconds resync_interval{std::chrono::seconds(60)};   // "resync_interval"
  std::int64_t log_limit_bytes = 10 << 20;                               // "log_limit_bytes"
  std::chrono::milliseconds ttl_after_finished{std::chrono::hours(24)};  // "ttl_after_finished"
  MetricFormat metrics_format;                                           // "metrics_format"
  // From the generic keys and the spec.
  std::optional<std::chrono::milliseconds> timeout;  // executor.timeout
  std::string metric;  // the objective metric: a Job that succeeds without it fails
};

// Reads the Kubernetes keys of `block` (at "executor"), reading template_file against
// `base_dir`, and reports every problem to `checker`.
KubernetesOptions read_kubernetes_options(const OrderedJson& block,
                                          const std::filesystem::path& base_dir,
                                          const std::vector<std::string>* param_names,
                                          SpecChecker& checker);

// The options of a checked spec (generic keys and metric included). Throws InputError when
// the spec has problems.
KubernetesOptions kubernetes_options_of(const StudySpec& spec);

// The namespace Jobs go to: options.job_namespace, else the template's metadata.namespace,
// else `context_namespace`.
std::string job_namespace_of(const KubernetesOptions& options,
                             const std::string& context_namespace);

// What render_job needs, for Jobs in `job_namespace`.
JobRenderSettings render_settings(const KubernetesOptions& options,
                                  const std::string& job_namespace);

}  // namespace hpo
