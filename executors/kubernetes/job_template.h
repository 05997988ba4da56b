// JobTemplate: the batch/v1 Job a trial runs as, built from the user's template ("template"
// inline, or "template_file" in YAML or JSON) with the trial's parameters substituted
// structurally: every string value of the document (never a key) is read with the placeholder
// grammar of executors/command_template.h ("{lr}", "{{" for a literal brace), after two
// Katib spellings are translated so that Katib templates work unchanged:
//   ${trialParameters.lr}                   -> the value of parameter lr
//   ${trialSpec.Name}, ${trialSpec.Namespace} -> the Job's name and namespace
// Any other ${...} (a shell or Kubernetes variable in a command) stays as written. The value
// stays a string (as in Katib: write "{lr}" where Kubernetes wants a string). A string that
// names an inactive conditional parameter is dropped: an array element disappears, an object
// member is removed. Nothing is ever spliced into YAML or JSON text.
//
// On top of the template, per trial: a unique DNS-1123 name (the study, the trial number and
// attempt, and a hash that keeps two databases' trials apart), labels (study, trial, attempt,
// trial id) on the Job and its pods, restartPolicy Never, backoffLimit 0 unless the template
// sets it, activeDeadlineSeconds from the trial timeout (rounded up), ttlSecondsAfterFinished
// unless set, the HPO_* environment of the subprocess executor in the primary container
// (HPO_TRIAL_NUMBER, HPO_STUDY, HPO_ATTEMPT, HPO_PARAMS, HPO_PARAM_<NAME>, HPO_TRIAL_NAME, and
// HPO_CHECKPOINT_DIR with a checkpoint volume), the checkpoint PersistentVolumeClaim mounted
// with a per-study, per-trial subPath that retries and resumes share, and for Kueue the
// queue-name label and spec.suspend.
//
// Pure functions of their arguments: thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/spec_checker.h"
#include "executors/executor.h"

namespace hpo {

// Labels every Job and pod of a trial carries.
inline constexpr const char* kStudyLabel = "hpo.dev/study";
inline constexpr const char* kTrialLabel = "hpo.dev/trial";
inline constexpr const char* kAttemptLabel = "hpo.dev/attempt";
inline constexpr const char* kTrialIdLabel = "hpo.dev/trial-id";
inline constexpr const char* kQueueNameLabel = "kueue.x-k8s.io/queue-name";
// Where the checkpoint volume is mounted in the primary container: the checkpoint directory
// (subPath <study>/<trial whose checkpoint it continues>) and the trial directory (subPath
// <study>/trials/<trial number>).
inline constexpr const char* kCheckpointMountPath = "/hpo/checkpoint";
inline constexpr const char* kTrialMountPath = "/hpo/trial";

// What the executor adds to the template for one trial.
struct JobRenderSettings {
  std::string job_namespace = "default";
  std::string container;  // the primary container's name; empty: the first one
  std::optional<std::chrono::milliseconds> timeout;  // -> activeDeadlineSeconds
  std::string checkpoint_claim;                      // PersistentVolumeClaim name; empty: none
  std::string queue_name;                            // Kueue LocalQueue; empty: none
  int ttl_seconds_after_finished = 86400;
};

struct RenderedJob {
  nlohmann::json job;     // the manifest to POST
  std::string name;       // metadata.name
  std::string container;  // the primary container's name
  std::string error;      // empty on success; else what is wrong with the template
  bool ok() const { return error.empty(); }
};

// The Job for `task`. A broken template (a placeholder that does not parse, no containers, no
// container named settings.container) comes back as `error`.
RenderedJob render_job(const nlohmann::ordered_json& job_template, const TrialTask& task,
                       const JobRenderSettings& settings);

// Reports the problems of a template to `checker`, at `path` ("executor.template", or
// "executor.template_file" with `where` = "job.yaml", the file's name for messages): not a Job
// object, no containers, a `container` that names none of them, a placeholder that does not parse
// or names no parameter of `param_names` (not checked when nullptr), and the YAML trap of an
// unquoted {lr} (a flow mapping).
void check_job_template(const nlohmann::ordered_json& job_template, const std::string& path,
                        const std::string& where, const std::string& container,
                        const std::vector<std::string>* param_names, SpecChecker& checker);

// The Job name of a trial attempt: "<study>-<number>-<attempt>-<hash>", DNS-1123, <= 63 chars.
std::string job_name_for(const TrialTask& task);

// `text` as a label value: kept when valid (<= 63 of [A-Za-z0-9._-], alphanumeric at both
// ends); else a sanitized prefix and a hash.
std::string label_value(std::string_view text);

}  // namespace hpo
