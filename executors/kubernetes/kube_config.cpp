#include "executors/kubernetes/kube_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "hpo/errors.h"
#include "executors/kubernetes/yaml_json.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::optional<std::string> env_get(const KubeConfigRequest& r, const std::string& name) {
  if (r.env != nullptr) {
    const auto it = r.env->find(name);
    if (it == r.env->end()) return std::nullopt;
    return it->second;
  }
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// One kubeconfig file, parsed, with its directory.
struct ConfigFile {
  fs::path path;
  Json doc;
};

// The named entries ("clusters", "users", "contexts") of the merged files: the first file to
// define a name wins, as client-go's loader merges.
struct Named {
  Json value;
  fs::path dir;
  fs::path file;
};

std::map<std::string, Named> merge_named(const std::vector<ConfigFile>& files, const char* list,
                                         const char* inner) {
  std::map<std::string, Named> out;
  for (const auto& f : files) {
    const auto it = f.doc.find(list);
    if (it == f.doc.end() || !it->is_array()) continue;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) continue;
      const std::string name = entry["name"];
      const Json value = entry.contains(inner) ? entry[inner] : Json::object();
      out.try_emplace(name, Named{value, f.path.parent_path(), f.path});
    }
  }
  return out;
}

std::string str(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return *it;
}

bool flag(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

fs::path resolve(const fs::path& dir, const std::string& p) {
  const fs::path path(p);
  return (path.is_absolute() ? path : dir / path).lexically_normal();
}

// The PEM text of `file_key` (a path) or `data_key` (base64), or "" when neither is set.
std::string pem_of(const Json& obj, const char* file_key, const char* data_key, const fs::path& dir,
                   const std::string& what, const fs::path& config_file) {
  const std::string data = str(obj, data_key);
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded)
      throw ExecutorError("kubeconfig " + config_file.string() + ": " + data_key + " of the " +
                          what + " is not valid base64");
    return *decoded;
  }
  const std::string file = str(obj, file_key);
  if (file.empty()) return "";
  const fs::path path = resolve(dir, file);
  auto text = read_text(path);
  if (!text)
    throw ExecutorError("kubeconfig " + config_file.string() + ": cannot read " + file_key + " " +
                        path.string() + " of the " + what);
  return *text;
}

KubeConfig in_cluster(const KubeConfigRequest& r) {
  const auto host = env_get(r, "KUBERNETES_SERVICE_HOST");
  const auto port = env_get(r, "KUBERNETES_SERVICE_PORT");
  if (!host || !port || host->empty() || port->empty())
    throw ExecutorError(
        "no Kubernetes configuration found: no kubeconfig (KUBECONFIG unset and ~/.kube/config "
        "missing) and not running in a pod (KUBERNETES_SERVICE_HOST unset)");
  KubeConfig cfg;
  cfg.source = "in-cluster service account (" + r.service_account_dir.string() + ")";
  const bool v6 = host->find(':') != std::string::npos;
  set_server(cfg, "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port);
  cfg.token_file = r.service_account_dir / "token";
  if (!fs::exists(cfg.token_file))
    throw ExecutorError("in-cluster configuration: " + cfg.token_file.string() + " is missing");
  auto ca = read_text(r.service_account_dir / "ca.crt");
  if (!ca)
    throw ExecutorError("in-cluster configuration: cannot read " +
                        (r.service_account_dir / "ca.crt").string());
  cfg.ca_pem = *ca;
  if (auto ns = read_text(r.service_account_dir / "namespace"); ns && !trim(*ns).empty())
    cfg.default_namespace = trim(*ns);
  return cfg;
}

}  // namespace

std::optional<std::string> base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

void set_server(KubeConfig& cfg, const std::string& server) {
  cfg.server = server;
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    cfg.tls = true;
    rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    cfg.tls = false;
    rest = server.substr(7);
  } else {
    throw ExecutorError("server " + server + " is not an http:// or https:// URL");
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  cfg.path_prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!cfg.path_prefix.empty() && cfg.path_prefix.back() == '/') cfg.path_prefix.pop_back();
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw ExecutorError("server " + server + ": bad IPv6 host");
    cfg.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    cfg.port = after.size() > 1 && after[0] == ':' ? after.substr(1) : "";
  } else {
    const auto colon = authority.rfind(':');
    cfg.host = authority.substr(0, colon);
    cfg.port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  }
  if (cfg.port.empty()) cfg.port = cfg.tls ? "443" : "80";
  if (cfg.host.empty()) throw ExecutorError("server " + server + " names no host");
}

KubeConfig load_kube_config(const KubeConfigRequest& r) {
  std::vector<fs::path> paths;
  if (r.kubeconfig) {
    if (!fs::exists(*r.kubeconfig))
      throw ExecutorError("kubeconfig " + r.kubeconfig->string() + " does not exist");
    paths.push_back(*r.kubeconfig);
  } else if (auto list = env_get(r, "KUBECONFIG"); list && !list->empty()) {
    std::string_view rest(*list);
    while (true) {
      const auto colon = rest.find(':');
      const std::string item(rest.substr(0, colon));
      if (!item.empty() && fs::exists(item)) paths.emplace_back(item);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  } else if (auto home = env_get(r, "HOME"); home && fs::exists(fs::path(*home) / ".kube/config")) {
    paths.push_back(fs::path(*home) / ".kube/config");
  }
  if (paths.empty()) return in_cluster(r);

  std::vector<ConfigFile> files;
  std::string current_context;
  for (const auto& p : paths) {
    auto text = read_text(p);
    if (!text) throw ExecutorError("cannot read kubeconfig " + p.string());
    ConfigFile f{p, Json::object()};
    try {
      f.doc = parse_yaml(*text);
    } catch (const std::invalid_argument& e) {
      throw ExecutorError("kubeconfig " + p.string() + " is not valid YAML: " + e.what());
    }
    if (f.doc.is_null()) f.doc = Json::object();
    if (!f.doc.is_object()) throw ExecutorError("kubeconfig " + p.string() + " is not a mapping");
    if (current_context.empty()) current_context = str(f.doc, "current-context");
    files.push_back(std::move(f));
  }
  std::string files_text;
  for (const auto& p : paths) files_text += (files_text.empty() ? "" : ":") + p.string();

  const auto contexts = merge_named(files, "contexts", "context");
  const auto clusters = merge_named(files, "clusters", "cluster");
  const auto users = merge_named(files, "users", "user");
  const std::string context = r.context.empty() ? current_context : r.context;
  if (context.empty())
    throw ExecutorError("kubeconfig " + files_text +
                        " sets no current-context; name one with executor.context");
  const auto ctx = contexts.find(context);
  if (ctx == contexts.end()) {
    std::string known;
    for (const auto& [name, _] : contexts) known += (known.empty() ? "" : ", ") + name;
    throw ExecutorError("kubeconfig " + files_text + " has no context \"" + context +
                        "\" (it has: " + (known.empty() ? "none" : known) + ")");
  }
  KubeConfig cfg;
  cfg.context = context;
  cfg.source = "kubeconfig " + files_text + ", context " + context;
  const std::string cluster_name = str(ctx->second.value, "cluster");
  const std::string user_name = str(ctx->second.value, "user");
  if (const std::string ns = str(ctx->second.value, "namespace"); !ns.empty())
    cfg.default_namespace = ns;

  const auto cl = clusters.find(cluster_name);
  if (cl == clusters.end())
    throw ExecutorError("kubeconfig " + files_text + ": context \"" + context +
                        "\" names cluster \"" + cluster_name + "\", which is not defined");
  const Json& c = cl->second.value;
  const std::string server = str(c, "server");
  if (server.empty())
    throw ExecutorError("kubeconfig " + cl->second.file.string() + ": cluster \"" + cluster_name +
                        "\" has no server");
  set_server(cfg, server);
  if (!str(c, "proxy-url").empty())
    throw ExecutorError("kubeconfig " + cl->second.file.string() + ": cluster \"" + cluster_name +
                        "\" uses proxy-url, which hpo does not support (run `kubectl proxy` "
                        "and point a context at it)");
  cfg.ca_pem = pem_of(c, "certificate-authority", "certificate-authority-data", cl->second.dir,
                      "cluster \"" + cluster_name + "\"", cl->second.file);
  cfg.insecure_skip_tls_verify = flag(c, "insecure-skip-tls-verify");
  cfg.tls_server_name = str(c, "tls-server-name");

  if (!user_name.empty()) {
    const auto us = users.find(user_name);
    if (us == users.end())
      throw ExecutorError("kubeconfig " + files_text + ": context \"" + context +
                          "\" names user \"" + user_name + "\", which is not defined");
    const Json& u = us->second.value;
    const std::string what = "user \"" + user_name + "\"";
    const fs::path& file = us->second.file;
    if (u.contains("auth-provider"))
      throw ExecutorError("kubeconfig " + file.string() + ": " + what +
                          " uses auth-provider, which hpo does not support (kubectl 1.26 "
                          "removed it too; use an exec plugin, or `kubectl proxy`)");
    if (!str(u, "username").empty() || !str(u, "password").empty())
      throw ExecutorError("kubeconfig " + file.string() + ": " + what +
                          " uses basic auth, which hpo does not support (use `kubectl proxy`)");
    cfg.token = str(u, "token");
    if (const std::string tf = str(u, "tokenFile"); !tf.empty())
      cfg.token_file = resolve(us->second.dir, tf);
    cfg.client_cert_pem =
        pem_of(u, "client-certificate", "client-certificate-data", us->second.dir, what, file);
    cfg.client_key_pem = pem_of(u, "client-key", "client-key-data", us->second.dir, what, file);
    if (cfg.client_cert_pem.empty() != cfg.client_key_pem.empty())
      throw ExecutorError("kubeconfig " + file.string() + ": " + what +
                          " has a client certificate without its key, or a key without its "
                          "certificate");
    if (const auto ex = u.find("exec"); ex != u.end() && ex->is_object()) {
      ExecPluginConfig e;
      e.api_version = str(*ex, "apiVersion");
      if (e.api_version != "client.authentication.k8s.io/v1" &&
          e.api_version != "client.authentication.k8s.io/v1beta1")
        throw ExecutorError("kubeconfig " + file.string() + ": exec plugin of " + what +
                            " has apiVersion \"" + e.api_version +
                            "\"; hpo supports client.authentication.k8s.io/v1 and v1beta1");
      e.command = str(*ex, "command");
      if (e.command.empty())
        throw ExecutorError("kubeconfig " + file.string() + ": exec plugin of " + what +
                            " has no command");
      if (e.command.find('/') != std::string::npos)
        e.command = resolve(us->second.dir, e.command).string();
      if (const auto a = ex->find("args"); a != ex->end() && a->is_array())
        for (const auto& arg : *a)
          if (arg.is_string()) e.args.push_back(arg);
      if (const auto en = ex->find("env"); en != ex->end() && en->is_array())
        for (const auto& kv : *en)
          if (kv.is_object()) e.env.emplace_back(str(kv, "name"), str(kv, "value"));
      e.provide_cluster_info = flag(*ex, "provideClusterInfo");
      e.install_hint = str(*ex, "installHint");
      e.base_dir = us->second.dir;
      cfg.exec = std::move(e);
    }
  }
  return cfg;
}

}  // namespace hpo
