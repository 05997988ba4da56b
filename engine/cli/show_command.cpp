// hpo show STUDY TRIAL: everything stored about one trial, so that it can be understood (and
// rerun by hand) without opening the database: parameters, value and best intermediate value,
// state and reason, timings, attempts and the retries of the same parameters, where it ran,
// its logs with the last lines of stderr.log, and the intermediate curve.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>

#include "engine/cli/study_access.h"
#include "engine/model/file_io.h"
#include "engine/model/text.h"
#include "engine/model/trial_launch.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_json.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kShowUsage = R"(usage: hpo show STUDY TRIAL [options]
       hpo show --spec FILE TRIAL [options]

Shows trial number TRIAL of STUDY: parameters, value (and the best intermediate value beside
it), state and reason, timings, attempts (the retries of the same parameters), where it ran,
its log files with the last lines of stderr.log, and the intermediate values as a sparkline
and a table. --format json prints the same as one JSON object.)";

// The last `n` lines of a trial's log; empty when it cannot be read. A trial wrote the file and
// may have replaced it by a FIFO, a device or a link: only a regular file is read (not through
// a link), and only its last 64 KiB.
std::vector<std::string> tail_lines(const std::filesystem::path& path, std::size_t n) {
  if (n == 0) return {};
  const FileText file = read_regular_file_tail(path, 64 * 1024, /*follow_symlinks=*/false);
  if (!file.ok()) return {};
  std::deque<std::string> lines;
  std::size_t pos = 0;
  if (file.from_middle) {  // a partial first line when starting mid-file
    pos = file.text.find('\n');
    pos = pos == std::string::npos ? file.text.size() : pos + 1;
  }
  while (pos < file.text.size()) {
    std::size_t end = file.text.find('\n', pos);
    if (end == std::string::npos) end = file.text.size();
    std::string line = file.text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (lines.size() > n) lines.pop_front();
    pos = end + 1;
  }
  return {lines.begin(), lines.end()};
}

// Eight-level Unicode sparkline of `values` (NaN shown as a space).
std::string sparkline(const std::vector<double>& values) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double lo = INFINITY;
  double hi = -INFINITY;
  for (double v : values) {
    if (std::isnan(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  std::string out;
  for (double v : values) {
    if (!std::isfinite(v)) {
      out += " ";
      continue;
    }
    const int level = hi > lo ? static_cast<int>(std::lround(7.0 * (v - lo) / (hi - lo))) : 3;
    out += kBars[std::clamp(level, 0, 7)];
  }
  return out;
}

// The curve resampled to at most `width` points (evenly over the steps, last one kept).
std::vector<std::size_t> pick(std::size_t n, std::size_t width) {
  std::vector<std::size_t> idx;
  if (n == 0) return idx;
  if (n <= width) {
    for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (std::size_t k = 0; k < width; ++k) idx.push_back(k * (n - 1) / (width - 1));
  return idx;
}

std::string file_note(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (!std::filesystem::exists(status)) return " (missing)";
  if (!std::filesystem::is_regular_file(status)) return " (not a regular file: not read)";
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "";
  char buf[32];
  if (size < 10 * 1024) {
    std::snprintf(buf, sizeof buf, " (%llu bytes)", static_cast<unsigned long long>(size));
  } else {
    std::snprintf(buf, sizeof buf, " (%.1f KiB)", static_cast<double>(size) / 1024.0);
  }
  return buf;
}

// The trials that ran the same parameters as `trial` (its retry lineage), by number: the first
// run and its re-runs, read by number and through the re-run index, not by reading the study.
std::vector<Trial> lineage(Storage& storage, std::int64_t study_id, const Trial& trial) {
  const int root = trial.retry_of.value_or(trial.number);
  std::vector<Trial> out;
  if (root == trial.number) out.push_back(trial);
  else if (auto first = storage.find_trial(study_id, root)) out.push_back(std::move(*first));
  for (Trial& t : storage.get_retries(study_id, root)) out.push_back(std::move(t));
  return out;
}

}  // namespace

int show_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("args", po::value<std::vector<std::string>>(), "STUDY TRIAL (or TRIAL with --spec)")
      ("lines", po::value<int>()->default_value(10), "last lines of stderr.log to show")
      ("format", po::value<std::string>()->default_value("table"), "table | json");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("args", -1);
  auto vm = parse_args(args, kShowUsage, options, pos);
  if (!vm) return 0;
  const std::string format = check_format((*vm)["format"].as<std::string>(), {"table", "json"});
  const int lines = (*vm)["lines"].as<int>();
  if (lines < 0) throw InputError("--lines", "must be >= 0");
  std::vector<std::string> positional;
  if (vm->count("args")) positional = (*vm)["args"].as<std::vector<std::string>>();
  if (positional.empty() || positional.size() > 2)
    throw InputError("usage: hpo show STUDY TRIAL (or hpo show --spec FILE TRIAL)");
  const std::string& trial_text = positional.back();
  char* end = nullptr;
  const long number = std::strtol(trial_text.c_str(), &end, 10);
  if (trial_text.empty() || *end != '\0' || number < 0)
    throw InputError("TRIAL", "must be a trial number (0, 1, ...), got '" + trial_text + "'");

  std::optional<std::string> given;
  if (positional.size() == 2) given = positional[0];
  const OpenedStudy opened = open_study(*vm, given);
  const StudyRecord& study = opened.study;
  const std::optional<Trial> found =
      number <= INT_MAX ? opened.storage->find_trial(study.id, static_cast<int>(number))
                        : std::nullopt;
  if (!found) {
    const int total = opened.storage->count_trials(study.id).total();
    throw InputError("TRIAL", "study '" + study.name + "' has no trial #" + trial_text + " (" +
                                  (total == 0 ? std::string("no trials yet")
                                              : "trials #0 to #" + std::to_string(total - 1)) +
                                  ")");
  }
  const Trial& t = *found;
  const std::filesystem::path dir = t.trial_dir;
  const std::vector<std::string> stderr_tail =
      t.trial_dir.empty() ? std::vector<std::string>{}
                          : tail_lines(dir / "stderr.log", static_cast<std::size_t>(lines));
  const std::vector<Trial> runs = lineage(*opened.storage, study.id, t);

  if (format == "json") {
    nlohmann::json j = trial_to_json(t, study.direction);
    j["study"] = study.name;
    j["metric"] = study.metric;
    j["direction"] = to_string(study.direction);
    nlohmann::json attempts = nlohmann::json::array();
    for (const Trial& r : runs)
      attempts.push_back(
          {{"number", r.number},
           {"state", to_string(r.state)},
           {"attempt", r.attempt},
           {"reason", r.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.reason)}});
    j["attempts"] = attempts;
    j["logs"] = t.trial_dir.empty() ? nlohmann::json(nullptr)
                                    : nlohmann::json{{"stdout", (dir / "stdout.log").string()},
                                                     {"stderr", (dir / "stderr.log").string()}};
    j["stderr_tail"] = stderr_tail;
    // What ran is j["launch"] (argv, cwd, env); this is its argv as one shell line.
    j["command"] = t.launch ? nlohmann::json(shell_command_line(t.launch->argv))
                            : nlohmann::json(nullptr);
    std::cout << json_text(j, 2) << "\n";
    return 0;
  }

  auto line = [](const char* key, const std::string& value) {
    std::printf("%-10s %s\n", key, value.c_str());
  };
  line("study:", clean_text(study.name) + " (" + to_string(study.direction) + " " +
                     clean_text(study.metric) + ")");
  line("trial:", "#" + std::to_string(t.number) + "  " + to_string(t.state));
  std::string value = t.value ? format_double(*t.value) : "-";
  if (auto b = best_intermediate(t, study.direction))
    value += "   (best intermediate " + format_double(b->value) + " at step " +
             std::to_string(b->step) + ")";
  line("value:", value);
  if (!t.reason.empty()) line("reason:", clean_text(t.reason));
  if (t.started) line("started:", format_time(*t.started));
  if (t.finished) line("finished:", format_time(*t.finished));
  if (auto d = t.duration_s()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fs", *d);
    line("duration:", buf);
  }
  std::string attempt = std::to_string(t.attempt);
  if (t.retry_of) attempt += " (a retry of #" + std::to_string(*t.retry_of) + ")";
  line("attempt:", attempt);
  if (runs.size() > 1) {
    std::string chain;
    for (const Trial& r : runs)
      chain += (chain.empty() ? "" : " -> ") + std::string("#") + std::to_string(r.number) + " " +
               to_string(r.state);
    line("attempts:", chain);
  }
  if (!t.location.empty()) line("location:", clean_text(t.location));
  if (!t.owner.empty()) line("run:", clean_text(t.owner));
  std::printf("params:\n");
  for (const auto& [pname, v] : t.params)
    std::printf("  %s = %s\n", pname.c_str(), clean_text(v.to_string()).c_str());
  if (!t.metrics.empty()) {
    std::printf("metrics:\n");
    for (const auto& [mname, v] : t.metrics)
      std::printf("  %s = %s\n", clean_text(mname).c_str(), format_double(v).c_str());
  }
  if (!t.intermediate.empty()) {
    std::vector<std::int64_t> steps;
    std::vector<double> values;
    for (const auto& [step, v] : t.intermediate) {
      steps.push_back(step);
      values.push_back(v);
    }
    std::vector<double> curve;
    for (std::size_t i : pick(values.size(), 60)) curve.push_back(values[i]);
    std::printf("intermediate (%zu steps, %s): %s\n", values.size(),
                clean_text(study.metric).c_str(), sparkline(curve).c_str());
    std::printf("  %-8s %s\n", "step", clean_text(study.metric).c_str());
    for (std::size_t i : pick(values.size(), 12))
      std::printf("  %-8lld %s\n", static_cast<long long>(steps[i]),
                  format_double(values[i]).c_str());
  }
  // What ran, so that it can be rerun by hand: cd CWD && env ... ARGV.
  if (t.launch) {
    line("command:", clean_text(shell_command_line(t.launch->argv)));
    if (!t.launch->cwd.empty()) line("cwd:", clean_text(t.launch->cwd));
    if (!t.launch->env.empty()) {
      std::printf("env (added by hpo):\n");
      for (const auto& [name, value] : t.launch->env)
        std::printf("  %s\n", clean_text(shell_command_line({name + "=" + value})).c_str());
    }
  } else {
    line("command:", "(not recorded: an in-process objective, or a trial of an older hpo)");
  }
  if (!t.trial_dir.empty()) {
    std::printf("logs:\n");
    std::printf("  %s%s\n", clean_text((dir / "stdout.log").string()).c_str(),
                file_note(dir / "stdout.log").c_str());
    std::printf("  %s%s\n", clean_text((dir / "stderr.log").string()).c_str(),
                file_note(dir / "stderr.log").c_str());
    if (!stderr_tail.empty()) {
      std::printf("stderr.log, last %zu lines:\n", stderr_tail.size());
      for (const auto& l : stderr_tail) std::printf("  | %s\n", clean_text(l).c_str());
    }
  }
  return 0;
}

}  // namespace hpo::cli
