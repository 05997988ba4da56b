#include "tests/kube/test_pki.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hpo::testing {
namespace {

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("failed: " + command);
}

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TestPki make_test_pki(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  TestPki p;
  p.ca_cert = dir / "ca.crt";
  p.ca_key = dir / "ca.key";
  p.server_cert = dir / "server.crt";
  p.server_key = dir / "server.key";
  p.client_cert = dir / "client.crt";
  p.client_key = dir / "client.key";
  const auto ext = dir / "server.ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                        "extendedKeyUsage=serverAuth\n";
  const auto cext = dir / "client.ext";
  std::ofstream(cext) << "extendedKeyUsage=clientAuth\n";
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hpo-test-ca -keyout " +
      q(p.ca_key) + " -out " + q(p.ca_cert));
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " + q(p.server_key) +
      " -out " + q(dir / "server.csr"));
  run("openssl x509 -req -days 2 -in " + q(dir / "server.csr") + " -CA " + q(p.ca_cert) +
      " -CAkey " + q(p.ca_key) + " -CAcreateserial -extfile " + q(ext) + " -out " +
      q(p.server_cert));
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=hpo-tester/O=system:masters -keyout " +
      q(p.client_key) + " -out " + q(dir / "client.csr"));
  run("openssl x509 -req -days 2 -in " + q(dir / "client.csr") + " -CA " + q(p.ca_cert) +
      " -CAkey " + q(p.ca_key) + " -CAcreateserial -extfile " + q(cext) + " -out " +
      q(p.client_cert));
  return p;
}

std::filesystem::path write_kubeconfig(const std::filesystem::path& file, const std::string& server,
                                       const std::string& ns, const std::string& cluster_extra,
                                       const std::string& user_yaml) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  out << "apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
      << "clusters:\n- name: standin\n  cluster:\n    server: " << server << "\n"
      << (cluster_extra.empty() ? "" : cluster_extra + "\n") << "users:\n- name: standin\n  user:\n"
      << (user_yaml.empty() ? "    {}" : user_yaml) << "\n"
      << "contexts:\n- name: standin\n  context:\n    cluster: standin\n    user: standin\n"
      << "    namespace: " << ns << "\n";
  return file;
}

std::string base64_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < data.size()) v |= static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < data.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace hpo::testing
