// StudySpec: a parsed, validated study spec (the JSON a user writes; see DESIGN.md). Parsing
// collects every problem as a SpecIssue with its JSON path and throws one InputError holding
// all of them; it never touches the filesystem beyond reading the spec file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/search_space.h"
#include "engine/model/trial_state.h"

namespace hpo {

struct Budget {
  // Trials that must finish COMPLETE or PRUNED; nullopt means no limit (then timeout or
  // Ctrl-C ends the run). JSON key "trials".
  std::optional<int> trials;
  // Wall-clock limit of one `hpo run` ("90s", "20m", "2h", "1h30m"). JSON key "timeout".
  std::optional<std::chrono::milliseconds> timeout;
  // The run stops once this many trials FAILed. JSON key "max_failed_trials"; nullopt = no
  // limit.
  std::optional<int> max_failed_trials;
};

struct SamplerSpec {
  std::string name = "random";         // "random" | "tpe"; JSON key "name"
  std::optional<std::uint64_t> seed;   // JSON key "seed"; nullopt: drawn at study creation
  // Sampler-specific options (every key of the "sampler" object but name and seed); each
  // sampler validates its own and reports unknown keys.
  nlohmann::json options = nlohmann::json::object();
};

struct ExecutorSpec {
  std::string kind = "subprocess";  // "subprocess" | "threads" | "kubernetes"; JSON "kind"
  // subprocess: argv with {param} placeholders ({{ and }} for literal braces). "command"
  std::vector<std::string> command;
  // subprocess: working directory, relative to the spec file's directory. "cwd"
  std::optional<std::filesystem::path> cwd;
  // subprocess: extra environment variables. "env"
  std::map<std::string, std::string> env;
  // Per-trial time limit ("20m"); nullopt = none. "timeout"
  std::optional<std::chrono::milliseconds> timeout;
  // Time between TERM and KILL when a trial is stopped. "kill_grace", default "5s".
  std::chrono::milliseconds kill_grace{5000};
  // Where trial directories go; default "<storage dir>/<study>-trials". "trials_dir"
  std::optional<std::filesystem::path> trials_dir;
  // The whole "executor" object as written, for backends with settings of their own.
  nlohmann::json raw = nlohmann::json::object();
};

struct StudySpec {
  std::string name;                       // "name": [A-Za-z0-9._-]+
  Direction direction = Direction::kMinimize;  // "direction"
  std::string metric;                     // "objective": {"metric": ...}
  SearchSpace space;                      // "space"
  SamplerSpec sampler;                    // "sampler" (default random)
  Budget budget;                          // "budget"
  int parallelism = 1;                    // "parallelism" >= 1
  ExecutorSpec executor;                  // "executor"
  std::optional<std::filesystem::path> storage;  // "storage", resolved against base_dir
  // Directory of the spec file (relative paths in the spec resolve against it); the current
  // directory for a spec read from a string.
  std::filesystem::path base_dir;
  // The spec document as written (stored with the study).
  nlohmann::json document = nlohmann::json::object();
};

// Parses and validates `text`. `origin` names the source in messages (a file name). Throws
// InputError with every issue found: JSON syntax errors carry line and column; unknown keys
// get a did-you-mean hint.
StudySpec parse_study_spec(std::string_view text, const std::filesystem::path& base_dir,
                           const std::string& origin = "spec");
// Reads and parses a spec file; a missing or unreadable file is an InputError.
StudySpec load_study_spec(const std::filesystem::path& path);

// "90s", "20m", "2h", "1h30m", "500ms", "1.5h" -> duration; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace hpo
