#include "engine/model/trial_launch.h"

#include <algorithm>
#include <cctype>

namespace hpo {

bool looks_secret(std::string_view name) {
  if (name.rfind("HPO_", 0) == 0) return false;
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

void add_launch_env(TrialLaunch& launch, const std::string& name, const std::string& value) {
  launch.env.emplace_back(name, looks_secret(name) ? std::string(kRedacted) : value);
}

nlohmann::json launch_to_json(const TrialLaunch& launch) {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [name, value] : launch.env) env[name] = value;
  return {{"argv", launch.argv}, {"cwd", launch.cwd}, {"env", env}};
}

std::optional<TrialLaunch> launch_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  TrialLaunch launch;
  const auto argv = j.find("argv");
  if (argv == j.end() || !argv->is_array()) return std::nullopt;
  for (const auto& a : *argv) {
    if (!a.is_string()) return std::nullopt;
    launch.argv.push_back(a.get<std::string>());
  }
  if (const auto cwd = j.find("cwd"); cwd != j.end() && cwd->is_string())
    launch.cwd = cwd->get<std::string>();
  if (const auto env = j.find("env"); env != j.end() && env->is_object()) {
    for (const auto& [name, value] : env->items())
      if (value.is_string()) launch.env.emplace_back(name, value.get<std::string>());
  }
  return launch;
}

std::string shell_command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& word : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("_./:=@%+,-").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += word;
      continue;
    }
    out += '\'';
    for (const char c : word) {
      if (c == '\'')
        out += "'\\''";
      else
        out += c;
    }
    out += '\'';
  }
  return out;
}

}  // namespace hpo
