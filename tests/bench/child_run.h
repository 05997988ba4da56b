// Running the real `hpo` binary from a benchmark: one child process, no shell, its output sent
// to /dev/null, timed on the wall clock, with its CPU seconds and peak RSS from wait4().
#pragma once

#include <string>
#include <vector>

namespace hpo::bench {

struct ChildRun {
  int exit_code = -1;  // -1 when it died by a signal
  double seconds = 0.0;
  double cpu_seconds = 0.0;  // user + system
  double peak_rss_mib = 0.0;
};

// Runs argv[0] with argv (not through a shell) and waits for it. Throws std::runtime_error when
// it cannot be started.
ChildRun run_child(const std::vector<std::string>& argv);

}  // namespace hpo::bench
