#include "engine/fail_fast.h"

#include <cctype>

namespace hpo {
namespace {

// Digit runs become '#': "trials/3/train.py" and "trials/4/train.py" are the same problem.
std::string without_numbers(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += c;
    }
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The subprocess executor ends a reason with "; last stderr: line | line | last line".
std::string last_stderr_line(const std::string& reason) {
  static const std::string kMarker = "; last stderr: ";
  const auto at = reason.find(kMarker);
  if (at == std::string::npos) return "";
  std::string tail = reason.substr(at + kMarker.size());
  const auto bar = tail.rfind(" | ");
  return bar == std::string::npos ? tail : tail.substr(bar + 3);
}

// "exited with status 2; last stderr: ..." -> "exited with status 2".
std::string before_stderr(const std::string& reason) {
  return reason.substr(0, reason.find("; last stderr: "));
}

}  // namespace

std::optional<FailureClass> classify_failure(const std::string& reason, const std::string& study,
                                             const std::string& metric) {
  if (starts_with(reason, "interrupted")) return std::nullopt;
  const std::string by_hand = "; look at one trial's command line and logs with `hpo show " +
                              study + " NUMBER` and run it by hand";
  if (starts_with(reason, "cannot start '")) {
    return FailureClass{
        "start: " + without_numbers(reason),
        "the trial program cannot be started (" + reason +
            "): fix executor.command[0] (a bare name is looked up on PATH, a relative path "
            "resolves against the trial's working directory) or install the program"};
  }
  const std::string quoted = "objective metric '" + metric + "'";
  if (starts_with(reason, quoted + " was not reported")) {
    return FailureClass{
        "metric missing",
        "the trials ran but never reported objective.metric '" + metric + "' (" + reason +
            "): fix objective.metric in the spec to a name the trainer prints, or make the "
            "trainer print '" +
            metric + "=<value>'"};
  }
  if (starts_with(reason, quoted + " is ")) {
    return FailureClass{"metric not finite",
                        "every trial's objective metric was not a finite number (" + reason +
                            "): the training diverges or the trainer prints a bad value; "
                            "check its output" +
                            by_hand};
  }
  if (starts_with(reason, "timed out after")) {
    return FailureClass{"timeout", "every trial hit the per-trial time limit (" + reason +
                                       "): raise executor.timeout, or make a trial shorter"};
  }
  if (starts_with(reason, "exited with status") || starts_with(reason, "killed by signal")) {
    const std::string line = last_stderr_line(reason);
    // The status or signal number is the point here: only the stderr line loses its numbers.
    return FailureClass{before_stderr(reason) + " | " + without_numbers(line),
                        "every trial " + before_stderr(reason) +
                            (line.empty() ? std::string(" and wrote nothing to stderr")
                                          : " with the same last stderr line: " + line) +
                            by_hand};
  }
  return FailureClass{"other: " + without_numbers(reason),
                      "every trial failed the same way: " + reason + by_hand};
}

std::optional<std::string> FailFast::observe(const Trial& trial) {
  if (limit_ <= 0 || disarmed_) return std::nullopt;
  if (trial.state != TrialState::kFail) {
    disarmed_ = true;
    return std::nullopt;
  }
  const std::optional<FailureClass> kind = classify_failure(trial.reason, study_, metric_);
  if (!kind) return std::nullopt;  // says nothing about the setup: neither counts nor disarms
  if (failed_alike_ > 0 && kind->key != key_) {
    disarmed_ = true;
    return std::nullopt;
  }
  key_ = kind->key;
  if (++failed_alike_ < limit_) return std::nullopt;
  disarmed_ = true;  // said once
  const std::string first =
      limit_ == 1 ? "the first trial failed: "
                  : "the first " + std::to_string(limit_) + " trials all failed the same way: ";
  return first + kind->advice + " (budget.fail_fast: " + std::to_string(limit_) +
         ", 0 turns this off)";
}

}  // namespace hpo
