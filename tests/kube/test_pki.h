// Test certificates and kubeconfig files for the Kubernetes tests: a CA, a server certificate
// for IP:127.0.0.1 and DNS:localhost, and a client certificate, made at test time with
// `openssl req` (nothing secret is checked in); and kubeconfig files pointing at a stand-in.
#pragma once

#include <filesystem>
#include <string>

namespace hpo::testing {

struct TestPki {
  std::filesystem::path ca_cert, ca_key;
  std::filesystem::path server_cert, server_key;
  std::filesystem::path client_cert, client_key;
};

// Makes them in `dir`. Throws std::runtime_error when openssl fails.
TestPki make_test_pki(const std::filesystem::path& dir);

// Writes a kubeconfig with one cluster, user and context, all named "standin" (the context's
// namespace `ns`), current-context "standin". `cluster_extra` and `user_yaml` are YAML lines
// indented by four spaces ("    certificate-authority: /x/ca.crt", "    token: abc").
std::filesystem::path write_kubeconfig(const std::filesystem::path& file, const std::string& server,
                                       const std::string& ns, const std::string& cluster_extra,
                                       const std::string& user_yaml);

// The whole file, base64-encoded (for *-data kubeconfig keys).
std::string base64_file(const std::filesystem::path& file);

}  // namespace hpo::testing
