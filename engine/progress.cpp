#include "engine/progress.h"

#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include "hpo/param_value.h"

namespace hpo {

std::string format_clock(std::chrono::steady_clock::duration d) {
  long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  if (s < 0) s = 0;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

namespace {

std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

ConsoleProgress::ConsoleProgress(std::FILE* out, bool live, std::string study_name)
    : out_(out), live_(live), study_(std::move(study_name)) {}

bool ConsoleProgress::is_terminal(std::FILE* out) {
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(::fileno(out)) == 1;
}

std::string ConsoleProgress::status_line(const std::string& study, const RunStats& s) {
  std::string line = study + "  " + std::to_string(s.done());
  if (s.target) line += "/" + std::to_string(*s.target);
  line += " done  " + std::to_string(s.running) + " running  ";
  if (s.pruned > 0) line += std::to_string(s.pruned) + " pruned  ";
  line += std::to_string(s.failed) + " failed";
  if (s.best_value)
    line += "  best " + format_value(*s.best_value) + " (#" + std::to_string(*s.best_number) + ")";
  if (s.front_size) {
    line += "  front " + std::to_string(*s.front_size);
    if (s.hypervolume) line += "  hv " + format_value(*s.hypervolume);
  }
  line += "  " + format_clock(s.elapsed) + " elapsed";
  // ETA from this run's pace of finished trials.
  if (s.target && s.finished_this_run > 0 && s.done() < *s.target) {
    const int done_here = s.finished_this_run - s.failed_this_run;
    if (done_here > 0) {
      auto per_trial = s.elapsed / done_here;
      line += "  ETA " + format_clock(per_trial * (*s.target - s.done()));
    }
  }
  return line;
}

void ConsoleProgress::print_line(const std::string& line) {
  if (live_ && line_shown_) std::fputs("\r\x1b[2K", out_);
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  line_shown_ = false;
}

void ConsoleProgress::redraw(const RunStats& stats) {
  std::fputs("\r\x1b[2K", out_);
  std::fputs(status_line(study_, stats).c_str(), out_);
  std::fflush(out_);
  line_shown_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void ConsoleProgress::on_trial_finished(const Trial& trial, const RunStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  if (trial.state == TrialState::kFail) {
    print_line("trial " + std::to_string(trial.number) + " FAIL: " + trial.reason);
  }
  if (live_) {
    if (now - last_draw_ > std::chrono::milliseconds(100)) redraw(stats);
    return;
  }
  if (now - last_plain_ >= std::chrono::seconds(1) || stats.running == 0) {
    std::string line = "trial " + std::to_string(trial.number) + " " + to_string(trial.state);
    if (trial.value) line += " value=" + format_value(*trial.value);
    if (suppressed_ > 0) line += " (+" + std::to_string(suppressed_) + " more)";
    print_line(line + " | " + status_line(study_, stats));
    std::fflush(out_);
    last_plain_ = now;
    suppressed_ = 0;
  } else {
    ++suppressed_;
  }
}

void ConsoleProgress::on_tick(const RunStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  if (live_) {
    redraw(stats);
  } else if (now - last_plain_ >= std::chrono::seconds(10)) {
    print_line(status_line(study_, stats));
    std::fflush(out_);
    last_plain_ = now;
  }
}

void ConsoleProgress::on_message(const std::string& message) {
  print_line(message);
  std::fflush(out_);
}

void ConsoleProgress::on_end(const RunStats& stats) {
  if (live_) {
    redraw(stats);
    std::fputc('\n', out_);
    line_shown_ = false;
  } else if (suppressed_ > 0) {
    print_line(status_line(study_, stats));
  }
  std::fflush(out_);
}

}  // namespace hpo
