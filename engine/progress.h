// ConsoleProgress: prints a run's progress. On a terminal it keeps one live status line
// (done/total, running, failed, best value and trial, elapsed, ETA) redrawn in place, with
// failures and messages printed above it; elsewhere (a pipe, a CI log) it prints plain lines:
// one per finished trial, at most one a second, and a summary every 10 s while nothing
// finishes. Not thread-safe: used from the run loop's thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "engine/study_manager.h"

namespace hpo {

class ConsoleProgress final : public ProgressListener {
 public:
  // `out` is usually stderr; `live` selects the terminal mode (see is_terminal()).
  ConsoleProgress(std::FILE* out, bool live, std::string study_name);

  void on_trial_finished(const Trial& trial, const RunStats& stats) override;
  void on_tick(const RunStats& stats) override;
  void on_message(const std::string& message) override;
  void on_end(const RunStats& stats) override;

  // True when `out` is a terminal (and TERM is not "dumb").
  static bool is_terminal(std::FILE* out);

  // The status line without terminal codes, e.g.
  // "quickstart  12/30 done  2 running  1 failed  best 0.1234 (#7)  0:12 elapsed  ETA 0:18";
  // with pruned trials "... 2 running  5 pruned  1 failed ...".
  static std::string status_line(const std::string& study, const RunStats& stats);

 private:
  void redraw(const RunStats& stats);
  void print_line(const std::string& line);

  std::FILE* out_;
  bool live_;
  std::string study_;
  bool line_shown_ = false;
  std::chrono::steady_clock::time_point last_plain_{};
  std::chrono::steady_clock::time_point last_draw_{};
  int suppressed_ = 0;
};

// "1:02:03" / "2:03" style durations.
std::string format_clock(std::chrono::steady_clock::duration d);

}  // namespace hpo
