// hpo-kube-standin: the stand-in Kubernetes API server of the tests (kube_standin.h) as a
// program, to point kubectl, python3-kubernetes or `hpo run` at by hand:
//
//   hpo-kube-standin [--dir DIR] [--port N] [--tls] [--token TOKEN] [--minor 30|31]
//                    [--pending-ms N]
//
// It writes DIR/kubeconfig (context "standin", namespace "hpo"; over TLS with a CA and a
// server certificate made by `openssl req` in DIR, plus the token or a client certificate),
// prints `export KUBECONFIG=...` and serves until SIGINT or SIGTERM. Trials' containers run
// as local processes (command + args; the image is ignored) in DIR/work.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "tests/kube/kube_standin.h"
#include "tests/kube/test_pki.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace hpo::testing;
  fs::path dir = fs::temp_directory_path() / "hpo-kube-standin";
  StandinOptions options;
  std::string token;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hpo-kube-standin: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir")
      dir = next();
    else if (a == "--port")
      options.port = static_cast<unsigned short>(std::stoi(next()));
    else if (a == "--tls")
      options.tls = true;
    else if (a == "--token")
      token = next();
    else if (a == "--minor")
      options.minor_version = std::stoi(next());
    else if (a == "--pending-ms")
      options.pending_for = std::chrono::milliseconds(std::stoi(next()));
    else if (a == "-h" || a == "--help") {
      std::puts(
          "usage: hpo-kube-standin [--dir DIR] [--port N] [--tls] [--token TOKEN] "
          "[--minor 30|31] [--pending-ms N]");
      return 0;
    } else {
      std::fprintf(stderr, "hpo-kube-standin: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  fs::create_directories(dir / "work");
  options.work_dir = fs::absolute(dir / "work");
  std::string cluster_extra, user;
  if (options.tls) {
    const TestPki pki = make_test_pki(dir / "pki");
    options.cert_file = pki.server_cert;
    options.key_file = pki.server_key;
    options.client_ca_file = pki.ca_cert;
    cluster_extra = "    certificate-authority: " + pki.ca_cert.string();
    user = token.empty() ? "    client-certificate: " + pki.client_cert.string() +
                               "\n    client-key: " + pki.client_key.string()
                         : "    token: " + token;
    if (!token.empty()) options.tokens = {token};
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // the server's thread inherits the mask
  KubeStandin standin(options);
  const fs::path kubeconfig =
      write_kubeconfig(dir / "kubeconfig", standin.url(), "hpo", cluster_extra, user);
  std::cout << "hpo-kube-standin: serving " << standin.url() << " (Kubernetes 1."
            << options.minor_version << " behaviour)\n"
            << "export KUBECONFIG=" << kubeconfig.string() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  std::cout << "hpo-kube-standin: stopping" << std::endl;
  return 0;
}
