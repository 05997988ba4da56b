#include "executors/kubernetes/job_status.h"

#include <algorithm>

namespace hpo {
namespace {

using Json = nlohmann::json;

const Json* member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string str(const Json* obj, const char* key) {
  if (obj == nullptr) return "";
  const Json* v = member(*obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

long long num(const Json* obj, const char* key) {
  if (obj == nullptr) return 0;
  const Json* v = member(*obj, key);
  return v != nullptr && v->is_number() ? v->get<long long>() : 0;
}

// The status entry of the primary container (or the first).
const Json* container_status(const Json& pod, const std::string& container) {
  const Json* st = member(pod, "status");
  const Json* list = st ? member(*st, "containerStatuses") : nullptr;
  if (list == nullptr || !list->is_array() || list->empty()) return nullptr;
  for (const auto& cs : *list)
    if (container.empty() || str(&cs, "name") == container) return &cs;
  return nullptr;
}

}  // namespace

JobState judge_job(const Json& job) {
  JobState out;
  const Json* spec = member(job, "spec");
  if (spec != nullptr) {
    const Json* s = member(*spec, "suspend");
    out.suspended = s != nullptr && s->is_boolean() && s->get<bool>();
  }
  const Json* status = member(job, "status");
  bool terminal = false;
  const Json* conds = status ? member(*status, "conditions") : nullptr;
  if (conds != nullptr && conds->is_array()) {
    for (const auto& c : *conds) {
      if (str(&c, "status") != "True") continue;
      const std::string type = str(&c, "type");
      // A terminal condition wins over an interim one; failure over success when both appear.
      if (type == "Failed" || (type == "FailureTarget" && !terminal)) {
        if (type == "Failed" || out.verdict != JobVerdict::kFailed) {
          out.verdict = JobVerdict::kFailed;
          out.reason = str(&c, "reason");
          out.message = str(&c, "message");
        }
        terminal = terminal || type == "Failed";
      } else if ((type == "Complete" || type == "SuccessCriteriaMet") &&
                 out.verdict != JobVerdict::kFailed) {
        out.verdict = JobVerdict::kSucceeded;
        out.reason = str(&c, "reason");
        out.message = str(&c, "message");
        terminal = terminal || type == "Complete";
      }
    }
  }
  if (out.verdict != JobVerdict::kRunning) {
    const bool pods_done = num(status, "active") == 0 && num(status, "terminating") == 0;
    out.settled = terminal || pods_done;
  }
  return out;
}

PodsState inspect_pods(const std::vector<const Json*>& pods, const std::string& container) {
  PodsState out;
  std::vector<const Json*> sorted = pods;
  // Oldest first; the newest decides "why waiting".
  std::sort(sorted.begin(), sorted.end(), [](const Json* a, const Json* b) {
    const std::string ta = str(member(*a, "metadata"), "creationTimestamp");
    const std::string tb = str(member(*b, "metadata"), "creationTimestamp");
    if (ta != tb) return ta < tb;
    return str(member(*a, "metadata"), "name") < str(member(*b, "metadata"), "name");
  });
  const Json* succeeded = nullptr;
  for (const Json* pod : sorted) {
    const Json* status = member(*pod, "status");
    const std::string name = str(member(*pod, "metadata"), "name");
    const std::string phase = str(status, "phase");
    const Json* cs = container_status(*pod, container);
    const Json* state = cs ? member(*cs, "state") : nullptr;
    const bool running = state && member(*state, "running");
    const bool terminated = state && member(*state, "terminated");
    if (running || terminated || phase == "Running" || phase == "Succeeded" || phase == "Failed") {
      out.started = true;
      out.log_pod = name;
    }
    if (phase == "Succeeded") succeeded = pod;
  }
  if (sorted.empty()) return out;
  const Json* newest = sorted.back();
  const Json* harvest = succeeded ? succeeded : newest;
  out.harvest_pod = str(member(*harvest, "metadata"), "name");
  if (const Json* cs = container_status(*harvest, container)) {
    const Json* state = member(*cs, "state");
    if (state && member(*state, "running")) out.harvest_pod_running = true;
    if (const Json* t = state ? member(*state, "terminated") : nullptr) {
      if (const Json* code = member(*t, "exitCode"); code && code->is_number())
        out.exit_code = code->get<int>();
      out.terminated_reason = str(t, "reason");
      out.terminated_message = str(t, "message");
    }
  }
  // Why the newest pod waits: its container's waiting reason, else an unschedulable condition.
  const Json* status = member(*newest, "status");
  if (const Json* cs = container_status(*newest, container)) {
    const Json* state = member(*cs, "state");
    if (const Json* w = state ? member(*state, "waiting") : nullptr) {
      out.waiting_reason = str(w, "reason");
      out.waiting_message = str(w, "message");
    }
  }
  if (out.waiting_reason.empty() || out.waiting_reason == "ContainerCreating") {
    const Json* conds = status ? member(*status, "conditions") : nullptr;
    if (conds && conds->is_array()) {
      for (const auto& c : *conds) {
        if (str(&c, "type") == "PodScheduled" && str(&c, "status") == "False") {
          out.waiting_reason = str(&c, "reason");
          out.waiting_message = str(&c, "message");
        }
      }
    }
  }
  if (out.waiting_reason.empty() && str(status, "phase") == "Pending") {
    out.waiting_reason = "Pending";
    out.waiting_message = str(status, "message");
  }
  return out;
}

}  // namespace hpo
