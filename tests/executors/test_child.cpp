// hpo_test_child: the trial program of the executor tests. It runs its arguments as a list of
// actions, left to right, then exits 0:
//   out TEXT            print TEXT and a newline on stdout (flushed)
//   err TEXT            print TEXT and a newline on stderr
//   raw TEXT            print TEXT on stdout, no newline
//   big BYTES           print BYTES 'x' characters on stdout, no newline
//   junk BYTES          print BYTES pseudo-random bytes (binary, NULs included) on stdout
//   result TEXT         write TEXT to $HPO_RESULT_FILE
//   exit N              exit with status N
//   signal N            die by signal N
//   sleep MS            sleep MS milliseconds
//   busy MS             the same (for the threads test plugin, a wait that ignores stop requests)
//   stamp FILE TEXT     append "TEXT <steady clock ns>\n" to FILE (the conformance suite
//                       measures how many trials overlap from these)
//   ignore-term         ignore SIGTERM from now on
//   save-on-term FILE   from now on, SIGTERM writes "checkpoint saved" to FILE and exits 0 (a
//                       training program that checkpoints when it is stopped)
//   hang                sleep forever
//   grandchild MS FILE  fork a process that sleeps MS while holding stdout and stderr open,
//                       write its pid to FILE, then go on
//   escaped-grandchild MS FILE   the same, but the grandchild leaves the process group
//   barrier DIR N       create DIR/<pid>, then wait until DIR holds N entries (exit 9 after 20 s)
//   dump FILE ...       write {"argv": [...], "env": {...}, "cwd": "..."} to FILE and exit 0,
//                       whatever arguments follow
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

extern char** environ;  // NOLINT: POSIX

namespace {

void write_stdout(const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(1, data, n);
    if (w < 0) std::_Exit(70);
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// The pid file is written, and an escaping grandchild has left the group, before this returns,
// so the test knows what to look for however fast the rest goes.
void spawn_grandchild(long ms, const std::string& pid_file, bool escape) {
  const pid_t pid = ::fork();
  if (pid < 0) std::_Exit(71);
  if (pid == 0) {
    if (escape) ::setsid();
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::_Exit(0);
  }
  std::ofstream(pid_file) << pid << "\n";
  while (escape && ::getpgid(pid) == ::getpgrp()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int save_fd = -1;

void save_and_exit(int) {
  static const char kSaved[] = "checkpoint saved\n";
  [[maybe_unused]] const ssize_t n = ::write(save_fd, kSaved, sizeof kSaved - 1);
  ::_exit(0);
}

int dump(const std::string& file, int argc, char** argv) {
  nlohmann::json doc;
  doc["argv"] = nlohmann::json::array();
  for (int i = 0; i < argc; ++i) doc["argv"].push_back(argv[i]);
  doc["env"] = nlohmann::json::object();
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) doc["env"][kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  doc["cwd"] = std::filesystem::current_path().string();
  std::ofstream(file) << doc.dump(2);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string action = argv[i];
    const auto arg = [&](int k) -> std::string {
      if (i + k >= argc) {
        std::fprintf(stderr, "hpo_test_child: %s needs %d argument(s)\n", action.c_str(), k);
        std::_Exit(64);
      }
      return argv[i + k];
    };
    if (action == "out") {
      const std::string text = arg(1) + "\n";
      write_stdout(text.data(), text.size());
      i += 1;
    } else if (action == "err") {
      std::fprintf(stderr, "%s\n", arg(1).c_str());
      std::fflush(stderr);
      i += 1;
    } else if (action == "raw") {
      const std::string text = arg(1);
      write_stdout(text.data(), text.size());
      i += 1;
    } else if (action == "big" || action == "junk") {
      long long left = std::atoll(arg(1).c_str());
      char chunk[1 << 16];
      unsigned state = 12345;
      while (left > 0) {
        for (char& c : chunk) {
          state = state * 1103515245u + 12345u;
          c = action == "big" ? 'x' : static_cast<char>(state >> 16);
        }
        const auto n = static_cast<std::size_t>(std::min<long long>(left, sizeof chunk));
        write_stdout(chunk, n);
        left -= static_cast<long long>(n);
      }
      i += 1;
    } else if (action == "result") {
      const char* path = std::getenv("HPO_RESULT_FILE");
      if (path == nullptr) std::_Exit(65);
      std::ofstream(path) << arg(1);
      i += 1;
    } else if (action == "exit") {
      std::exit(std::atoi(arg(1).c_str()));
    } else if (action == "signal") {
      const int sig = std::atoi(arg(1).c_str());
      std::signal(sig, SIG_DFL);
      std::raise(sig);
      std::_Exit(66);
    } else if (action == "stamp") {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
      std::ofstream(arg(1), std::ios::app) << arg(2) << " " << ns << "\n";
      i += 2;
    } else if (action == "sleep" || action == "busy") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atol(arg(1).c_str())));
      i += 1;
    } else if (action == "save-on-term") {
      save_fd = ::open(arg(1).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (save_fd < 0) std::_Exit(67);
      std::signal(SIGTERM, save_and_exit);
      i += 1;
    } else if (action == "ignore-term") {
      std::signal(SIGTERM, SIG_IGN);
    } else if (action == "hang") {
      while (true) ::pause();
    } else if (action == "grandchild" || action == "escaped-grandchild") {
      spawn_grandchild(std::atol(arg(1).c_str()), arg(2), action == "escaped-grandchild");
      i += 2;
    } else if (action == "barrier") {
      const std::filesystem::path dir = arg(1);
      const auto n = static_cast<std::size_t>(std::atoi(arg(2).c_str()));
      std::filesystem::create_directories(dir);
      std::ofstream(dir / std::to_string(::getpid())) << "here\n";
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (true) {
        std::size_t count = 0;
        for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++count;
        if (count >= n) break;
        if (std::chrono::steady_clock::now() > give_up) std::_Exit(9);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      i += 2;
    } else if (action == "dump") {
      return dump(arg(1), argc, argv);
    } else {
      std::fprintf(stderr, "hpo_test_child: unknown action '%s'\n", action.c_str());
      return 64;
    }
  }
  return 0;
}
