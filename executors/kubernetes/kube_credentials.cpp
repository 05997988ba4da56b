#include "executors/kubernetes/kube_credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/errors.h"

extern char** environ;  // NOLINT: POSIX

namespace hpo {
namespace {

using Json = nlohmann::json;

std::string cut(std::string s, std::size_t n = 300) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

struct ExecResult {
  int status = -1;
  std::string out;
  std::string err;
  std::string spawn_error;
  bool timed_out = false;
};

// Runs argv with `env`, stdin /dev/null, collecting stdout and stderr, for at most `limit`.
ExecResult run_plugin(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::filesystem::path& cwd, std::chrono::seconds limit) {
  ExecResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.spawn_error = std::strerror(errno);
    return r;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.spawn_error = std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    r.spawn_error = std::strerror(rc);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  char buf[4096];
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        std::string& to = i == 0 ? r.out : r.err;
        if (to.size() < (1 << 20)) to.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::optional<std::string> read_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t i = static_cast<std::size_t>(consumed);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  }
  long offset = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = (text[i] == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
  } else if (i >= text.size() || (text[i] != 'Z' && text[i] != 'z')) {
    return std::nullopt;
  }
  const std::time_t t = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
}

KubeCredentials::KubeCredentials(KubeConfig config) : config_(std::move(config)) {}

std::string KubeCredentials::authorization() {
  if (!config_.tls) return "";  // client-go attaches credentials over TLS only
  if (config_.exec) {
    const auto now = std::chrono::system_clock::now();
    if (!exec_valid_ || (exec_expiry_ && now >= *exec_expiry_)) run_exec();
    if (!exec_token_.empty()) return "Bearer " + exec_token_;
    if (!exec_cert_.cert_pem.empty()) return "";
  }
  if (!config_.token_file.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (!token_loaded_ || now - token_read_ >= kTokenFileRefresh) {
      auto text = read_file_text(config_.token_file);
      if (!text)
        throw ExecutorError("cannot read the token file " + config_.token_file.string() + " (" +
                            config_.source + ")");
      std::string t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      token_ = t;
      token_loaded_ = true;
      token_read_ = now;
    }
    if (!token_.empty()) return "Bearer " + token_;
  }
  if (!config_.token.empty()) return "Bearer " + config_.token;
  return "";
}

KubeCredentials::ClientCert KubeCredentials::client_cert() {
  if (config_.exec && config_.tls) {
    const auto now = std::chrono::system_clock::now();
    if (!exec_valid_ || (exec_expiry_ && now >= *exec_expiry_)) run_exec();
    if (!exec_cert_.cert_pem.empty()) return exec_cert_;
  }
  return {config_.client_cert_pem, config_.client_key_pem};
}

bool KubeCredentials::on_unauthorized(const std::string& used) {
  bool may_help = false;
  if (config_.exec) {
    const bool current =
        !exec_valid_ || (exec_token_.empty() ? used.empty() : used == "Bearer " + exec_token_);
    if (current) exec_valid_ = false;
    may_help = true;
  }
  if (!config_.token_file.empty()) {
    if (!token_loaded_ || used == "Bearer " + token_) token_loaded_ = false;
    may_help = true;
  }
  return may_help;
}

void KubeCredentials::run_exec() {
  const ExecPluginConfig& e = *config_.exec;
  Json info = {{"kind", "ExecCredential"},
               {"apiVersion", e.api_version},
               {"spec", {{"interactive", false}}}};
  if (e.provide_cluster_info) {
    Json cluster = {{"server", config_.server}, {"config", nullptr}};
    if (!config_.ca_pem.empty()) {
      static const char* kAlphabet =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string b64;
      const std::string& in = config_.ca_pem;
      for (std::size_t i = 0; i < in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
        b64 += kAlphabet[(v >> 18) & 63];
        b64 += kAlphabet[(v >> 12) & 63];
        b64 += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
        b64 += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
      }
      cluster["certificate-authority-data"] = b64;
    }
    if (!config_.tls_server_name.empty()) cluster["tls-server-name"] = config_.tls_server_name;
    if (config_.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    info["spec"]["cluster"] = cluster;
  }
  std::vector<std::string> env;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    if (std::strncmp(*p, "KUBERNETES_EXEC_INFO=", 21) == 0) continue;
    env.emplace_back(*p);
  }
  for (const auto& [name, value] : e.env) env.push_back(name + "=" + value);
  env.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<std::string> argv{e.command};
  argv.insert(argv.end(), e.args.begin(), e.args.end());
  ++exec_runs_;
  const ExecResult r = run_plugin(argv, env, e.base_dir, kExecTimeout);
  const std::string who = "exec plugin '" + e.command + "' (" + config_.source + ")";
  if (!r.spawn_error.empty())
    throw ExecutorError("cannot run the " + who + ": " + r.spawn_error +
                        (e.install_hint.empty() ? "" : "; " + cut(e.install_hint)));
  if (r.timed_out)
    throw ExecutorError("the " + who + " did not finish within " +
                        std::to_string(kExecTimeout.count()) + "s");
  if (r.status != 0)
    throw ExecutorError("the " + who + " exited with status " + std::to_string(r.status) +
                        (r.err.empty() ? "" : ": " + cut(r.err)));
  Json cred;
  try {
    cred = Json::parse(r.out);
  } catch (const Json::exception&) {
    throw ExecutorError("the " + who + " printed something that is not an ExecCredential");
  }
  if (!cred.is_object() || cred.value("kind", "") != "ExecCredential" || !cred.contains("status") ||
      !cred["status"].is_object())
    throw ExecutorError("the " + who + " printed JSON without an ExecCredential status");
  if (cred.value("apiVersion", "") != e.api_version)
    throw ExecutorError("the " + who + " answered with apiVersion \"" +
                        cred.value("apiVersion", "") + "\", expected \"" + e.api_version + "\"");
  const Json& st = cred["status"];
  exec_token_ = st.value("token", "");
  ClientCert cert{st.value("clientCertificateData", ""), st.value("clientKeyData", "")};
  if (exec_token_.empty() && cert.cert_pem.empty())
    throw ExecutorError("the " + who + " gave neither a token nor a client certificate");
  if (cert.cert_pem != exec_cert_.cert_pem || cert.key_pem != exec_cert_.key_pem) {
    exec_cert_ = std::move(cert);
    ++generation_;
  }
  exec_expiry_.reset();
  if (const std::string exp = st.value("expirationTimestamp", ""); !exp.empty()) {
    exec_expiry_ = parse_rfc3339(exp);
    if (!exec_expiry_)
      throw ExecutorError("the " + who + " gave an expirationTimestamp that is not RFC 3339");
  }
  exec_valid_ = true;
}

}  // namespace hpo
