// KubeCredentials: the credential a request to the API server carries, kept fresh the way
// client-go does:
//   - `token`: sent as is;
//   - `tokenFile`: read again when a minute has passed, and after a 401 (projected service
//     account tokens rotate);
//   - exec plugins (client.authentication.k8s.io v1 / v1beta1): the plugin runs when no
//     credential is cached or the cached one expired (expirationTimestamp), with
//     KUBERNETES_EXEC_INFO set and stdin closed (interactive is false); its token or client
//     certificate is cached until it expires, and after a 401 it runs once more;
//   - client certificates (kubeconfig or exec): used for the TLS handshake; generation()
//     changes when they do, so that the transport makes new connections.
// Like client-go, credentials are only sent over TLS: over plain http none is attached.
// Nothing here prints or logs a credential; plugin failures quote its stderr (cut short).
//
// Not thread-safe: used from the io_context thread. A plugin runs synchronously (bounded by
// kExecTimeout), which blocks the loop for as long as the plugin takes, as client-go does.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "executors/kubernetes/kube_config.h"

namespace hpo {

class KubeCredentials {
 public:
  static constexpr std::chrono::seconds kExecTimeout{60};
  static constexpr std::chrono::seconds kTokenFileRefresh{60};

  explicit KubeCredentials(KubeConfig config);

  // The Authorization header value ("Bearer ..."), or "" when there is none to send. Runs the
  // exec plugin or re-reads the token file when due. Throws ExecutorError when the plugin
  // fails or the token file cannot be read.
  std::string authorization();
  // The client certificate and key (PEM) for the handshake; empty when none.
  struct ClientCert {
    std::string cert_pem;
    std::string key_pem;
  };
  ClientCert client_cert();
  // Bumped whenever client_cert() changes.
  std::uint64_t generation() const { return generation_; }

  // The server answered 401 to a request sent with `used` (its Authorization header): forget
  // that credential so that the next authorization() refreshes it, unless it was refreshed
  // since (concurrent requests fail together; the plugin runs once). True when a retry may
  // help (a token file or an exec plugin); false for static credentials, whose 401 is final.
  bool on_unauthorized(const std::string& used);

  // How many times the exec plugin ran (tests check the caching).
  int exec_runs() const { return exec_runs_; }

  const KubeConfig& config() const { return config_; }

 private:
  void run_exec();

  KubeConfig config_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
  bool token_loaded_ = false;
  // Exec plugin cache.
  bool exec_valid_ = false;
  std::optional<std::chrono::system_clock::time_point> exec_expiry_;
  std::string exec_token_;
  ClientCert exec_cert_;
  int exec_runs_ = 0;
  std::uint64_t generation_ = 0;
};

// Parses an RFC 3339 time ("2026-11-28T10:00:00Z", with optional fraction and offset).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

}  // namespace hpo
