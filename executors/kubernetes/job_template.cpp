#include "executors/kubernetes/job_template.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "engine/model/json_codec.h"
#include "executors/command_template.h"
#include "executors/subprocess_executor.h"

namespace hpo {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

std::uint64_t fnv1a(std::string_view text, std::uint64_t h = 1469598103934665603ull) {
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(std::uint64_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[(v >> (4 * (digits - 1 - i))) & 15]);
  return out;
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Lower-case DNS-1123 label characters; runs of others become one '-'; no '-' at the ends.
std::string slug(std::string_view text, std::size_t max) {
  std::string out;
  for (const char c : text) {
    if (is_alnum(c)) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "trial" : out;
}

std::string escape_braces(std::string_view text) {
  std::string out;
  for (const char c : text) {
    out.push_back(c);
    if (c == '{' || c == '}') out.push_back(c);
  }
  return out;
}

// Katib's ${trialParameters.x} and ${trialSpec.Name|Namespace} into the hpo grammar; any other
// ${...} becomes literal text.
std::string translate(std::string_view s, const std::string& name, const std::string& ns) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      const std::size_t close = s.find('}', i + 2);
      if (close != std::string_view::npos) {
        const std::string_view inner = s.substr(i + 2, close - i - 2);
        constexpr std::string_view kParam = "trialParameters.";
        if (inner.substr(0, kParam.size()) == kParam) {
          out += "{" + std::string(inner.substr(kParam.size())) + "}";
        } else if (inner == "trialSpec.Name") {
          out += escape_braces(name);
        } else if (inner == "trialSpec.Namespace") {
          out += escape_braces(ns);
        } else {
          out += "$" + escape_braces(s.substr(i + 1, close - i));
        }
        i = close + 1;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

std::string join_path(const std::string& parent, const std::string& key) {
  return member_path(parent, key);
}

// Substitutes every string of `node`; false (and `error`) on a broken placeholder. `drop` is
// set when the string names an inactive parameter.
bool substitute(Json& node, const ParamSet& params, const std::string& name, const std::string& ns,
                const std::string& path, std::string& error, bool& drop) {
  drop = false;
  if (node.is_string()) {
    const std::string text = node.get<std::string>();
    if (text.find_first_of("{}") == std::string::npos) return true;
    const ParsedTemplate parsed = parse_template(translate(text, name, ns));
    if (!parsed.ok()) {
      error = path + ": " + parsed.error + " in " + Json(text).dump() + " " + parsed.hint;
      return false;
    }
    auto value = parsed.substitute(params);
    if (!value) {
      drop = true;
      return true;
    }
    node = *value;
    return true;
  }
  if (node.is_array()) {
    Json out = Json::array();
    for (std::size_t i = 0; i < node.size(); ++i) {
      bool d = false;
      if (!substitute(node[i], params, name, ns, element_path(path, i), error, d)) return false;
      if (!d) out.push_back(std::move(node[i]));
    }
    node = std::move(out);
    return true;
  }
  if (node.is_object()) {
    std::vector<std::string> dropped;
    for (auto it = node.begin(); it != node.end(); ++it) {
      bool d = false;
      if (!substitute(it.value(), params, name, ns, join_path(path, it.key()), error, d))
        return false;
      if (d) dropped.push_back(it.key());
    }
    for (const auto& k : dropped) node.erase(k);
  }
  return true;
}

// Sets env `name` in container `c` (replacing an entry of that name).
void set_env(Json& c, const std::string& name, const std::string& value) {
  if (!c.contains("env") || !c["env"].is_array()) c["env"] = Json::array();
  Json& env = c["env"];
  for (auto& e : env) {
    if (e.is_object() && e.value("name", "") == name) {
      e = Json{{"name", name}, {"value", value}};
      return;
    }
  }
  env.push_back(Json{{"name", name}, {"value", value}});
}

// The per-trial key of the checkpoint subPath: the trial whose checkpoint this attempt reuses
// (the engine names checkpoint_dir after it: <trials>/<N>/checkpoint), else the trial number.
std::string checkpoint_key(const TrialTask& task) {
  const std::string parent = task.checkpoint_dir.parent_path().filename().string();
  if (!parent.empty() && parent.find_first_not_of("0123456789") == std::string::npos) return parent;
  return std::to_string(task.number);
}

// Walks `node` for the checker: placeholders parse and name parameters; unquoted {x} in YAML.
using Report = std::function<void(const std::string& path, const std::string& message)>;

void check_strings(const OJson& node, const std::string& path,
                   const std::vector<std::string>* param_names, const Report& report) {
  if (node.is_string()) {
    const std::string text = node.get<std::string>();
    if (text.find_first_of("{}") == std::string::npos) return;
    const ParsedTemplate parsed = parse_template(translate(text, "name", "namespace"));
    if (!parsed.ok()) {
      report(path, parsed.error + " in " + OJson(text).dump() + " " + parsed.hint);
      return;
    }
    if (param_names == nullptr) return;
    for (const std::string& p : parsed.placeholders()) {
      if (std::find(param_names->begin(), param_names->end(), p) != param_names->end()) continue;
      std::string hint = did_you_mean(p, *param_names);
      if (hint.empty()) hint = "; the space defines " + quoted_list(*param_names, ", ");
      report(path, "unknown parameter " + OJson(p).dump() + " in placeholder" + hint);
    }
    return;
  }
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      check_strings(node[i], element_path(path, i), param_names, report);
    return;
  }
  if (!node.is_object()) return;
  // YAML reads an unquoted {lr} as a mapping {lr: null}.
  if (node.size() == 1 && node.begin().value().is_null() && param_names != nullptr &&
      std::find(param_names->begin(), param_names->end(), node.begin().key()) !=
          param_names->end()) {
    report(path, "an unquoted {" + node.begin().key() + "} is a YAML mapping; quote it: \"{" +
                     node.begin().key() + "}\"");
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it)
    check_strings(it.value(), member_path(path, it.key()), param_names, report);
}

}  // namespace

std::string label_value(std::string_view text) {
  const bool valid = !text.empty() && text.size() <= 63 && is_alnum(text.front()) &&
                     is_alnum(text.back()) && std::all_of(text.begin(), text.end(), [](char ch) {
                       return is_alnum(ch) || ch == '-' || ch == '_' || ch == '.';
                     });
  if (valid) return std::string(text);
  return slug(text, 50) + "-" + hex(fnv1a(text), 8);
}

std::string job_name_for(const TrialTask& task) {
  std::string key = task.study;
  key += '\0';
  key += std::to_string(task.trial_id);
  key += '\0';
  key += task.trial_dir.string();
  const std::string tail = "-" + std::to_string(task.number) + "-" + std::to_string(task.attempt) +
                           "-" + hex(fnv1a(key), 6);
  return slug(task.study, 63 - tail.size()) + tail;
}

RenderedJob render_job(const nlohmann::ordered_json& job_template, const TrialTask& task,
                       const JobRenderSettings& s) {
  RenderedJob out;
  out.name = job_name_for(task);
  Json job = Json::parse(job_template.dump());
  if (!job.is_object()) {
    out.error = "the template is not an object";
    return out;
  }
  bool drop = false;
  if (!substitute(job, task.params, out.name, s.job_namespace, "template", out.error, drop))
    return out;

  job["apiVersion"] = "batch/v1";
  job["kind"] = "Job";
  Json& meta = job["metadata"];
  if (!meta.is_object()) meta = Json::object();
  meta.erase("generateName");
  meta.erase("resourceVersion");
  meta.erase("uid");
  meta["name"] = out.name;
  meta["namespace"] = s.job_namespace;
  Json labels = {{kStudyLabel, label_value(task.study)},
                 {kTrialLabel, std::to_string(task.number)},
                 {kAttemptLabel, std::to_string(task.attempt)},
                 {kTrialIdLabel, std::to_string(task.trial_id)}};
  if (!meta["labels"].is_object()) meta["labels"] = Json::object();
  for (const auto& [k, v] : labels.items()) meta["labels"][k] = v;
  if (!s.queue_name.empty()) meta["labels"][kQueueNameLabel] = s.queue_name;
  if (!meta["annotations"].is_object()) meta["annotations"] = Json::object();
  meta["annotations"]["hpo.dev/params"] = params_to_json(task.params).dump();

  Json& spec = job["spec"];
  if (!spec.is_object()) spec = Json::object();
  spec.erase("selector");  // the server generates it
  if (!spec.contains("backoffLimit")) spec["backoffLimit"] = 0;
  if (s.timeout) {
    const auto secs = static_cast<std::int64_t>(std::ceil(s.timeout->count() / 1000.0));
    spec["activeDeadlineSeconds"] = std::max<std::int64_t>(1, secs);
  }
  if (!spec.contains("ttlSecondsAfterFinished"))
    spec["ttlSecondsAfterFinished"] = s.ttl_seconds_after_finished;
  if (!s.queue_name.empty()) spec["suspend"] = true;

  Json& pod = spec["template"];
  if (!pod.is_object()) pod = Json::object();
  if (!pod["metadata"].is_object()) pod["metadata"] = Json::object();
  if (!pod["metadata"]["labels"].is_object()) pod["metadata"]["labels"] = Json::object();
  for (const auto& [k, v] : labels.items()) pod["metadata"]["labels"][k] = v;
  pod["metadata"].erase("name");
  Json& pod_spec = pod["spec"];
  if (!pod_spec.is_object()) pod_spec = Json::object();
  pod_spec["restartPolicy"] = "Never";
  Json& containers = pod_spec["containers"];
  if (!containers.is_array() || containers.empty()) {
    out.error = "template.spec.template.spec.containers: the Job has no containers";
    return out;
  }
  Json* primary = nullptr;
  for (auto& c : containers) {
    if (!c.is_object()) continue;
    if (s.container.empty() || c.value("name", "") == s.container) {
      primary = &c;
      break;
    }
  }
  if (primary == nullptr) {
    out.error = "template: no container named \"" + s.container + "\"";
    return out;
  }
  out.container = primary->value("name", "");
  set_env(*primary, "HPO_TRIAL_NUMBER", std::to_string(task.number));
  set_env(*primary, "HPO_STUDY", task.study);
  set_env(*primary, "HPO_ATTEMPT", std::to_string(task.attempt));
  set_env(*primary, "HPO_TRIAL_NAME", out.name);
  set_env(*primary, "HPO_PARAMS", params_to_json(task.params).dump());
  for (const auto& [name, value] : task.params)
    set_env(*primary, param_env_name(name), value.to_string());
  if (!s.checkpoint_claim.empty()) {
    set_env(*primary, "HPO_CHECKPOINT_DIR", kCheckpointMountPath);
    // The subprocess executor's trial directory and result file, on the same volume: a
    // directory of the trial's own (a retry, a new trial number, gets a new one, as locally).
    set_env(*primary, "HPO_TRIAL_DIR", kTrialMountPath);
    set_env(*primary, "HPO_RESULT_FILE", std::string(kTrialMountPath) + "/result.json");
    if (!pod_spec["volumes"].is_array()) pod_spec["volumes"] = Json::array();
    pod_spec["volumes"].push_back({{"name", "hpo-checkpoint"},
                                   {"persistentVolumeClaim", {{"claimName", s.checkpoint_claim}}}});
    if (!(*primary)["volumeMounts"].is_array()) (*primary)["volumeMounts"] = Json::array();
    const std::string study_dir = slug(task.study, 40);
    (*primary)["volumeMounts"].push_back({{"name", "hpo-checkpoint"},
                                          {"mountPath", kCheckpointMountPath},
                                          {"subPath", study_dir + "/" + checkpoint_key(task)}});
    // "trials/" keeps these apart from the checkpoints' <study>/<number> subPaths.
    (*primary)["volumeMounts"].push_back(
        {{"name", "hpo-checkpoint"},
         {"mountPath", kTrialMountPath},
         {"subPath", study_dir + "/trials/" + std::to_string(task.number)}});
  }
  out.job = std::move(job);
  return out;
}

void check_job_template(const nlohmann::ordered_json& t, const std::string& path,
                        const std::string& where, const std::string& container,
                        const std::vector<std::string>* param_names, SpecChecker& c) {
  const std::string in = where.empty() ? "" : " in " + where;
  if (!t.is_object()) {
    c.add(path, "must be a batch/v1 Job object" + in + ", got " + describe(t));
    return;
  }
  if (const auto k = t.find("kind"); k != t.end() && *k != "Job")
    c.add(path, "kind must be \"Job\"" + in + ", got " + describe(*k));
  if (const auto a = t.find("apiVersion"); a != t.end() && *a != "batch/v1")
    c.add(path, "apiVersion must be \"batch/v1\"" + in + ", got " + describe(*a));
  const OJson* containers = nullptr;
  if (const auto spec = t.find("spec"); spec != t.end() && spec->is_object())
    if (const auto tp = spec->find("template"); tp != spec->end() && tp->is_object())
      if (const auto ps = tp->find("spec"); ps != tp->end() && ps->is_object())
        if (const auto cs = ps->find("containers"); cs != ps->end()) containers = &*cs;
  if (containers == nullptr || !containers->is_array() || containers->empty()) {
    c.add(path, "the Job" + in + " needs spec.template.spec.containers (one or more)");
  } else if (!container.empty()) {
    bool found = false;
    std::vector<std::string> names;
    for (const auto& ct : *containers) {
      if (!ct.is_object()) continue;
      const std::string n = ct.value("name", "");
      names.push_back(n);
      found = found || n == container;
    }
    if (!found)
      c.add("executor.container", "the template" + in + " has no container named " +
                                      OJson(container).dump() + did_you_mean(container, names));
  }
  // Inline: paths continue the spec's ("executor.template.spec..."); a file: the path is the
  // key's, and the message says where in the file.
  const Report report = [&](const std::string& inner, const std::string& message) {
    if (where.empty())
      c.add(inner.empty() ? path : path + "." + inner, message);
    else
      c.add(path, where + (inner.empty() ? "" : " at " + inner) + ": " + message);
  };
  check_strings(t, "", param_names, report);
}

}  // namespace hpo
