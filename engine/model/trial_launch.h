// TrialLaunch (hpo/trial.h) helpers: the one rule for which environment values are secret, its
// JSON form (storage, `hpo trials --format json`, `hpo show`), and the command line people can
// paste into a shell. Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hpo/trial.h"

namespace hpo {

// What a secret value is stored and shown as.
inline constexpr std::string_view kRedacted = "<redacted>";

// True when an environment variable's name looks like it holds a secret: it contains TOKEN,
// PASSWORD, SECRET, KEY or CREDENTIAL (any case). hpo's own HPO_* variables never do.
bool looks_secret(std::string_view name);

// Adds `name`=`value` to launch.env, the value redacted when the name looks secret.
void add_launch_env(TrialLaunch& launch, const std::string& name, const std::string& value);

// {"argv": [...], "cwd": "...", "env": {"NAME": "value", ...}}.
nlohmann::json launch_to_json(const TrialLaunch& launch);
// The inverse; nullopt when `j` is not of that shape.
std::optional<TrialLaunch> launch_from_json(const nlohmann::json& j);

// `argv` as one line a POSIX shell reads back to the same words: a word with characters
// outside [A-Za-z0-9_./:=@%+,-] is single-quoted.
std::string shell_command_line(const std::vector<std::string>& argv);

}  // namespace hpo
