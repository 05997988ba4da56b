// Test helpers shared by the executor tests: a Harness that owns an io_context and a
// RecordingSink, makes trials and runs the loop until something happened, and probes of this
// process's threads, descriptors and children. Header-only; single-threaded like the
// executors it drives.
#pragma once

#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "executors/executor.h"
#include "tests/support/recording_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/time_scale.h"

namespace hpo::testing {

// What a test may ask of an executor besides what the trial runs.
struct Settings {
  std::size_t parallelism = 1;
  std::optional<std::chrono::milliseconds> timeout;
};

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An io_context, a recording sink and trials. `Backend` makes executors: a type with
// std::unique_ptr<Executor> make(io_context&, const std::vector<std::string>& script,
// const Settings&) (see conformance_test.cpp); tests that build their own executors may use
// any type.
template <typename Backend>
class Harness {
 public:
  TempDir dir{"hpo-conformance"};
  boost::asio::io_context io;
  RecordingSink sink;
  std::map<std::int64_t, std::int64_t> finished_at;  // trial id -> steady clock ns
  std::size_t most_running = 0;

  Harness() {
    sink.on_finished_hook = [this](std::int64_t id, const TrialOutcome&) {
      finished_at[id] = now_ns();
      if (on_finished) on_finished(id);
    };
  }

  std::unique_ptr<Executor> make(const std::vector<std::string>& script, Settings settings = {}) {
    return Backend().make(io, script, settings);
  }

  // A fresh trial; its directories exist when the executor wants them made.
  TrialTask task(const Executor& executor, ParamSet params = {}) {
    TrialTask t;
    t.trial_id = ++last_id_;
    t.number = static_cast<int>(t.trial_id) - 1;
    t.study = "conformance";
    t.params = std::move(params);
    t.params["id"] = t.trial_id;
    t.trial_dir = dir / ("trial-" + std::to_string(t.trial_id));
    t.checkpoint_dir = t.trial_dir / "checkpoint";
    if (executor.uses_trial_dirs()) std::filesystem::create_directories(t.checkpoint_dir);
    return t;
  }

  std::int64_t start(Executor& executor, ParamSet params = {}) {
    TrialTask t = task(executor, std::move(params));
    const std::int64_t id = t.trial_id;
    executor.start(std::move(t), sink);
    most_running = std::max(most_running, executor.running());
    return id;
  }

  // Runs the io_context until `done` holds; false after `limit` (a broken executor must not
  // hang the suite).
  bool run_until(const std::function<bool()>& done,
                 std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      io.restart();
      if (io.run_one_for(std::chrono::milliseconds(50)) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  TrialOutcome run_one(Executor& executor, ParamSet params = {}) {
    const std::int64_t id = start(executor, std::move(params));
    REQUIRE(run_until([&] { return sink.outcome(id) != nullptr; }));
    CHECK(sink.finish_count(id) == 1);
    return *sink.outcome(id);
  }

  std::function<void(std::int64_t)> on_finished;

 private:
  std::int64_t last_id_ = 0;
};

inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

inline long thread_count() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::stol(line.substr(8));
  return -1;
}

// Processes whose parent is this test process (zombies included).
inline std::size_t child_process_count() {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 2));
    char state = '?';
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) ++n;
  }
  return n;
}

}  // namespace hpo::testing
