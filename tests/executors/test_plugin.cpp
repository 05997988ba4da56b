// hpo_test_plugin: the objective plugin of the executor tests, the in-process twin of
// hpo_test_child. Its objective `script_objective` runs the parameter "script" (elements
// separated by '\n', each with {name} replaced by the parameter's text and {{ }} as literal
// braces; an element naming an absent parameter is dropped, as the subprocess executor expands
// a command) as the same list of actions that
// hpo_test_child takes on its command line, so that one conformance test drives both backends:
//   out TEXT            a metrics line: `name=value` pairs; with step=N / epoch=N it is an
//                       intermediate report, and every value is also kept as a final metric
//   err TEXT            remember TEXT as the last error output
//   exit N              end: N == 0 completes, otherwise FAIL with the last error output
//   sleep MS            wait MS milliseconds, or less once should_stop() (a process is killed)
//   busy MS             wait MS milliseconds whatever happens (an objective that never polls)
//   hang                wait until should_stop()
//   stamp FILE TEXT     append "TEXT <steady clock ns>\n" to FILE
//   barrier DIR N       create an entry in DIR, then wait until DIR holds N entries (FAIL
//                       after 20 s)
// and, for threads-only tests:
//   prune TEXT          end as PRUNED with reason TEXT
//   throw TEXT          throw std::runtime_error(TEXT) out of the objective
//   status N            return N from the objective (not a valid outcome unless 0..2)
//   checkpoint NAME     write NAME into the checkpoint directory (FAIL if there is none)
// Without "script", the objective fails. When HPO_TEST_PLUGIN_LOAD_MARK names a file, loading
// the library creates it (its static initialiser runs), so a test can tell whether a command
// loaded the plugin (`hpo validate` must not). Built three times: the plugin itself, one without
// the version symbol (HPO_TEST_PLUGIN_NO_VERSION) and one with another ABI version
// (HPO_TEST_PLUGIN_WRONG_VERSION).
#include <unistd.h>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hpo/plugin.h"

#if defined(HPO_TEST_PLUGIN_WRONG_VERSION)
HPO_PLUGIN_EXTERN_C HPO_PLUGIN_EXPORT uint32_t hpo_plugin_abi_version(void) {
  return 99;  // a version from the future
}
#elif !defined(HPO_TEST_PLUGIN_NO_VERSION)
HPO_PLUGIN_DECLARE()
#endif

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

[[maybe_unused]] const bool kLoadMarked = [] {
  if (const char* mark = std::getenv("HPO_TEST_PLUGIN_LOAD_MARK"))
    std::ofstream(mark) << "loaded\n";
  return true;
}();

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!text.empty()) out.push_back(cur);
  return out;
}

// {name} -> the parameter's text; {{ and }} -> literal braces. An element that names an absent
// parameter is dropped whole (false), as the subprocess executor does.
bool expand(const hpo_trial* t, const std::string& element, std::string& out) {
  for (std::size_t i = 0; i < element.size(); ++i) {
    const char c = element[i];
    if ((c == '{' || c == '}') && i + 1 < element.size() && element[i + 1] == c) {
      out.push_back(c);
      ++i;
    } else if (c == '{') {
      const auto close = element.find('}', i);
      const std::string name = element.substr(i + 1, close - i - 1);
      const char* text = t->param_text(t->host, name.c_str());
      if (text == nullptr) return false;
      out += text;
      i = close;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// `name=value` pairs separated by blanks or commas.
std::map<std::string, double> parse_metrics(const std::string& line) {
  std::map<std::string, double> out;
  std::string token;
  auto flush = [&] {
    const auto eq = token.find('=');
    if (eq != std::string::npos && eq > 0)
      out[token.substr(0, eq)] = std::strtod(token.c_str() + eq + 1, nullptr);
    token.clear();
  };
  for (char c : line) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',')
      flush();
    else
      token.push_back(c);
  }
  flush();
  return out;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool wait(const hpo_trial* t, std::chrono::milliseconds d, bool cooperative) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (cooperative && t->should_stop(t->host)) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        1ms, until - std::chrono::steady_clock::now()));
  }
  return true;
}

std::atomic<int> barrier_entries{0};

int fail(const hpo_trial* t, const std::string& reason) {
  t->set_reason(t->host, reason.c_str());
  return HPO_FAIL;
}

}  // namespace

HPO_OBJECTIVE(script_objective) {
  const char* script = trial->param_text(trial->host, "script");
  if (script == nullptr) return fail(trial, "no script parameter");
  const std::vector<std::string> raw = split_lines(script);
  std::vector<std::string> args;
  for (const auto& element : raw) {
    std::string arg;
    if (expand(trial, element, arg)) args.push_back(arg);
  }

  std::string last_error;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& action = args[i];
    auto arg = [&](std::size_t k) -> const std::string& {
      if (i + k >= args.size()) throw std::runtime_error(action + " needs an argument");
      return args[i + k];
    };
    if (action == "out") {
      const std::string line = arg(1);
      auto metrics = parse_metrics(line);
      std::int64_t step = -1;
      for (const char* key : {"step", "epoch"}) {
        const auto it = metrics.find(key);
        if (it != metrics.end() && step < 0) {
          step = static_cast<std::int64_t>(it->second);
          metrics.erase(it);
        }
      }
      std::vector<const char*> names;
      std::vector<double> values;
      for (const auto& [name, value] : metrics) {
        names.push_back(name.c_str());
        values.push_back(value);
        trial->set_metric(trial->host, name.c_str(), value);
      }
      if (step >= 0 && !names.empty())
        trial->report(trial->host, step, names.data(), values.data(), names.size());
      i += 1;
    } else if (action == "err") {
      last_error = arg(1);
      i += 1;
    } else if (action == "exit") {
      const int code = std::atoi(arg(1).c_str());
      if (code == 0) return HPO_COMPLETE;
      return fail(trial, last_error.empty() ? "exit " + std::to_string(code) : last_error);
    } else if (action == "sleep" || action == "busy") {
      wait(trial, std::chrono::milliseconds(std::atol(arg(1).c_str())), action == "sleep");
      i += 1;
    } else if (action == "until-pruned") {
      // Trains until the study's pruner says stop (20 s at most), then says PRUNED.
      const auto give_up = std::chrono::steady_clock::now() + 20s;
      while (!trial->should_prune(trial->host)) {
        if (std::chrono::steady_clock::now() > give_up) return fail(trial, "never pruned");
        std::this_thread::sleep_for(1ms);
      }
      return HPO_PRUNED;
    } else if (action == "hang") {
      while (!trial->should_stop(trial->host)) std::this_thread::sleep_for(1ms);
    } else if (action == "stamp") {
      std::ofstream(arg(1), std::ios::app) << arg(2) << " " << now_ns() << "\n";
      i += 2;
    } else if (action == "barrier") {
      const fs::path dir = arg(1);
      const auto n = static_cast<std::size_t>(std::atoi(arg(2).c_str()));
      fs::create_directories(dir);
      std::ofstream(dir / (std::to_string(::getpid()) + "-" + std::to_string(++barrier_entries)))
          << "here\n";
      const auto give_up = std::chrono::steady_clock::now() + 20s;
      while (true) {
        std::size_t count = 0;
        for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++count;
        if (count >= n) break;
        if (std::chrono::steady_clock::now() > give_up) return fail(trial, "barrier timed out");
        std::this_thread::sleep_for(5ms);
      }
      i += 2;
    } else if (action == "prune") {
      trial->set_reason(trial->host, arg(1).c_str());
      return HPO_PRUNED;
    } else if (action == "throw") {
      throw std::runtime_error(arg(1));
    } else if (action == "status") {
      return std::atoi(arg(1).c_str());
    } else if (action == "checkpoint") {
      const char* dir = trial->checkpoint_dir(trial->host);
      if (dir == nullptr) return fail(trial, "no checkpoint directory");
      std::ofstream(fs::path(dir) / arg(1)) << "saved\n";
      i += 1;
    } else {
      return fail(trial, "unknown action '" + action + "'");
    }
  }
  return HPO_COMPLETE;
}
