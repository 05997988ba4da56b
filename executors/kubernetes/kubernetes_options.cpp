#include "executors/kubernetes/kubernetes_options.h"

#include <fstream>
#include <sstream>

#include "hpo/errors.h"
#include "executors/kubernetes/yaml_json.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;

bool is_dns_label(const std::string& s, std::size_t max = 63) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  return s.front() != '-' && s.back() != '-';
}

bool is_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

KubernetesOptions read_kubernetes_options(const OrderedJson& block, const fs::path& base_dir,
                                          const std::vector<std::string>* param_names,
                                          SpecChecker& c) {
  KubernetesOptions o;
  const std::string path = "executor";
  const OrderedJson* inline_template = SpecChecker::member(block, "template");
  const OrderedJson* file = SpecChecker::member(block, "template_file");
  if (inline_template == nullptr && file == nullptr)
    c.add(path,
          "needs \"template\" (an inline Job) or \"template_file\" (a YAML or JSON Job "
          "manifest)");
  if (inline_template != nullptr && file != nullptr)
    c.add(path + ".template_file", "cannot be combined with template");

  auto get_string = [&](const char* key, std::string& into) {
    if (const OrderedJson* m = SpecChecker::member(block, key))
      if (auto s = c.get_string(*m, member_path(path, key))) into = *s;
  };
  get_string("context", o.context);
  get_string("namespace", o.job_namespace);
  get_string("container", o.container);
  get_string("checkpoint_volume", o.checkpoint_volume);
  get_string("queue_name", o.queue_name);
  if (!o.job_namespace.empty() && !is_dns_label(o.job_namespace))
    c.add(path + ".namespace",
          "must be a DNS-1123 label (lower-case letters, digits and '-', "
          "at most 63), got " +
              OrderedJson(o.job_namespace).dump());
  if (!o.checkpoint_volume.empty() && !is_dns_subdomain(o.checkpoint_volume))
    c.add(path + ".checkpoint_volume",
          "must name a PersistentVolumeClaim (a DNS-1123 subdomain), got " +
              OrderedJson(o.checkpoint_volume).dump());
  if (const OrderedJson* m = SpecChecker::member(block, "kubeconfig")) {
    if (auto s = c.get_string(*m, path + ".kubeconfig")) {
      const fs::path p(*s);
      o.kubeconfig = (p.is_relative() ? base_dir / p : p).lexically_normal();
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "pending_timeout"))
    if (auto d = c.get_duration(*m, path + ".pending_timeout", false)) o.pending_timeout = *d;
  if (const OrderedJson* m = SpecChecker::member(block, "poll_interval"))
    if (auto d = c.get_duration(*m, path + ".poll_interval", false)) o.poll_interval = *d;
  if (const OrderedJson* m = SpecChecker::member(block, "resync_interval"))
    if (auto d = c.get_duration(*m, path + ".resync_interval", false)) o.resync_interval = *d;
  if (const OrderedJson* m = SpecChecker::member(block, "ttl_after_finished"))
    if (auto d = c.get_duration(*m, path + ".ttl_after_finished", true)) o.ttl_after_finished = *d;
  o.metrics_format = read_metric_options(block, path, /*with_streams=*/false, c).format;
  if (const OrderedJson* m = SpecChecker::member(block, "log_limit_bytes"))
    if (auto n = c.get_int(*m, path + ".log_limit_bytes", 1024, std::int64_t{1} << 32))
      o.log_limit_bytes = *n;
  if (const OrderedJson* m = SpecChecker::member(block, "cleanup")) {
    if (auto s = c.get_enum(*m, path + ".cleanup", {"delete", "keep_failed", "keep"})) {
      o.cleanup = *s == "keep"          ? CleanupPolicy::kKeep
                  : *s == "keep_failed" ? CleanupPolicy::kKeepFailed
                                        : CleanupPolicy::kDelete;
    }
  }

  if (inline_template != nullptr) {
    o.job_template = *inline_template;
    check_job_template(o.job_template, path + ".template", "", o.container, param_names, c);
  }
  if (file != nullptr) {
    if (auto s = c.get_string(*file, path + ".template_file")) {
      const fs::path p(*s);
      o.template_file = (p.is_relative() ? base_dir / p : p).lexically_normal();
      std::ifstream in(o.template_file, std::ios::binary);
      std::error_code ec;
      if (!in || fs::is_directory(o.template_file, ec)) {
        c.add(path + ".template_file", "cannot read " + o.template_file.string());
      } else if (inline_template == nullptr) {
        std::ostringstream text;
        text << in.rdbuf();
        try {
          o.job_template = parse_yaml(text.str());
          check_job_template(o.job_template, path + ".template_file", p.filename().string(),
                             o.container, param_names, c);
        } catch (const std::invalid_argument& e) {
          c.add(path + ".template_file",
                o.template_file.filename().string() + " is not valid YAML or JSON: " + e.what());
        }
      }
    }
  }
  return o;
}

KubernetesOptions kubernetes_options_of(const StudySpec& spec) {
  SpecChecker c;
  const ExecutorSpec& ex = *spec.executor;
  KubernetesOptions o = read_kubernetes_options(ex.block, spec.base_dir, nullptr, c);
  if (!c.ok()) throw InputError(c.take());
  o.timeout = ex.timeout;
  o.metric = spec.metric;
  return o;
}

std::string job_namespace_of(const KubernetesOptions& o, const std::string& context_namespace) {
  if (!o.job_namespace.empty()) return o.job_namespace;
  if (o.job_template.is_object()) {
    const auto meta = o.job_template.find("metadata");
    if (meta != o.job_template.end() && meta->is_object()) {
      const auto ns = meta->find("namespace");
      if (ns != meta->end() && ns->is_string() && !ns->get<std::string>().empty())
        return ns->get<std::string>();
    }
  }
  return context_namespace.empty() ? "default" : context_namespace;
}

JobRenderSettings render_settings(const KubernetesOptions& o, const std::string& job_namespace) {
  JobRenderSettings s;
  s.job_namespace = job_namespace;
  s.container = o.container;
  s.timeout = o.timeout;
  s.checkpoint_claim = o.checkpoint_volume;
  s.queue_name = o.queue_name;
  s.ttl_seconds_after_finished = static_cast<int>(o.ttl_after_finished.count() / 1000);
  return s;
}

}  // namespace hpo
