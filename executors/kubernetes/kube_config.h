// KubeConfig: where the Kubernetes API is and how to authenticate to it, found the way kubectl
// finds it (client-go's clientcmd loader and rest.InClusterConfig):
//   1. an explicit kubeconfig file (the spec's executor.kubeconfig), else
//   2. $KUBECONFIG: files separated by ':', merged so that the first file to define a cluster,
//      user or context name (or current-context) wins; missing files are skipped, else
//   3. ~/.kube/config when it exists, else
//   4. the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and
//      /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}).
// The context is `context` when given, else current-context; its namespace is the default
// namespace ("default" when it names none). Relative file paths in a kubeconfig resolve
// against the directory of the file that defined them. Supported per cluster: server,
// certificate-authority(-data), insecure-skip-tls-verify, tls-server-name; per user: token,
// tokenFile, client-certificate(-data), client-key(-data), exec (client.authentication.k8s.io
// v1 and v1beta1). auth-provider, username/password and proxy-url are rejected with a message
// that says so (use `kubectl proxy` for those).
//
// Secrets (tokens, keys) are kept in memory only; nothing here prints them, and describe()
// names files and servers, never their contents. Value types; loading reads files only.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hpo {

// A client.authentication.k8s.io exec credential plugin ("users[].user.exec").
struct ExecPluginConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;      // resolved against the kubeconfig's directory when it has a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provide_cluster_info = false;
  std::string install_hint;
  std::filesystem::path base_dir;  // the kubeconfig's directory (the plugin's working dir)
};

struct KubeConfig {
  // Where the configuration came from, for messages: "kubeconfig /home/u/.kube/config,
  // context kind-hpo" or "in-cluster service account".
  std::string source;
  std::string context;  // empty in-cluster
  // The API server as written ("https://10.0.0.1:6443") and in parts.
  std::string server;
  bool tls = true;
  std::string host;         // without brackets for IPv6
  std::string port;         // "443" by default for https, "80" for http
  std::string path_prefix;  // a server URL may carry a path ("/k8s/clusters/c-1"); no '/' at end
  // TLS.
  std::string ca_pem;  // empty: the system's trust store
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // SNI and the name the certificate must carry
  // Credentials.
  std::string token;
  std::filesystem::path token_file;  // read again every minute and after a 401
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<ExecPluginConfig> exec;
  // The namespace of the context (or the service account's); "default" when none.
  std::string default_namespace = "default";

  // The cluster's identity in `where` strings: the server URL.
  std::string cluster_id() const { return server; }
};

// What to load.
struct KubeConfigRequest {
  // An explicit kubeconfig file: only this file is read (as kubectl --kubeconfig).
  std::optional<std::filesystem::path> kubeconfig;
  // Context to use instead of current-context.
  std::string context;
  // Environment lookups (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT); nullptr: the
  // process environment.
  const std::map<std::string, std::string>* env = nullptr;
  // The service account directory for in-cluster configuration.
  std::filesystem::path service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// Loads the configuration. Throws ExecutorError naming the file and the problem (no
// configuration found, unknown context, unreadable certificate, an unsupported auth method).
KubeConfig load_kube_config(const KubeConfigRequest& request);

// Splits a server URL into cfg.tls/host/port/path_prefix. Throws ExecutorError when it is not
// an http(s) URL.
void set_server(KubeConfig& cfg, const std::string& server);

// Standard base64 (padding optional, whitespace ignored); nullopt when malformed.
std::optional<std::string> base64_decode(const std::string& text);

}  // namespace hpo
