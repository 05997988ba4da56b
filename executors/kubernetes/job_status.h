// How a Job and its pods are read: pure functions over the JSON objects the API returns, for
// every Kubernetes version the executor meets.
//  * judge_job scans *all* conditions whose status is "True" (never conditions[0] alone):
//    Complete, or from 1.31 SuccessCriteriaMet first, mean success; Failed, or from 1.31
//    FailureTarget first, mean failure. From 1.31 the terminal condition (Complete/Failed)
//    comes only once every pod has terminated; `settled` says when logs may be read: a
//    terminal condition, or an outcome with no pod active or terminating.
//  * spec.suspend (Kueue, before admission) means queued, not pending.
//  * inspect_pods finds what a trial's pods say: whether the primary container ever started,
//    why a pod waits (Unschedulable, ImagePullBackOff, CreateContainerConfigError, ...), and
//    how the primary container ended (exit code, OOMKilled).
// Thread-safe (pure).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hpo {

enum class JobVerdict { kRunning, kSucceeded, kFailed };

struct JobState {
  JobVerdict verdict = JobVerdict::kRunning;
  bool settled = false;    // the outcome is final and no pod still runs: harvest now
  bool suspended = false;  // spec.suspend: queued (Kueue), not admitted yet
  std::string reason;      // of the deciding condition ("BackoffLimitExceeded", ...)
  std::string message;
};

JobState judge_job(const nlohmann::json& job);

struct PodsState {
  bool started = false;        // the primary container of some pod ran (or runs)
  std::string waiting_reason;  // why the newest pod is not running yet ("" when unknown)
  std::string waiting_message;
  // The pod to read metrics from: the one that succeeded, else the newest; empty: none yet.
  std::string harvest_pod;
  // The newest pod whose primary container runs or ran (the log to follow); empty: none.
  std::string log_pod;
  // How the primary container of harvest_pod ended, when it did.
  std::optional<int> exit_code;
  std::string terminated_reason;  // "OOMKilled", "Error", "Completed", ...
  std::string terminated_message;
  bool harvest_pod_running = false;  // its primary container still runs
};

// `pods` are the trial's pods (objects with metadata and status); `container` the primary
// container's name (empty: the first).
PodsState inspect_pods(const std::vector<const nlohmann::json*>& pods,
                       const std::string& container);

}  // namespace hpo
