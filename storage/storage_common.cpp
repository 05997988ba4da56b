#include "storage/storage_common.h"

#include <charconv>
#include <cmath>
#include <system_error>
#include <limits>

#include "hpo/errors.h"
#include "engine/model/json_codec.h"
#include "engine/model/trial_launch.h"

namespace hpo::storage_common {
namespace {

constexpr std::string_view kNumberPlaceholder = "{number}";

[[noreturn]] void throw_corrupt(std::string_view what, std::string_view text,
                                const std::string& why) {
  throw StorageError(StorageErrc::kCorrupt, "stored " + std::string(what) + " is not readable (" + why +
                                         "): " + std::string(text.substr(0, 200)));
}

std::string dump(const nlohmann::json& j, std::string_view what) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    // Only invalid UTF-8 makes dump() throw.
    throw StorageError(StorageErrc::kMismatch, std::string(what) + " cannot be stored: " + e.what());
  }
}

}  // namespace

double now_seconds() { return to_unix_seconds(Clock::now()); }

std::string encode_params(const ParamSet& params) {
  for (const auto& [name, value] : params) {
    if (value.is_double() && !std::isfinite(value.as_double()))
      throw StorageError(StorageErrc::kMismatch, "parameter '" + name + "' has the non-finite value " +
                                              value.to_string() + ", which cannot be stored");
  }
  return dump(params_to_json(params), "parameters");
}

ParamSet decode_params(std::string_view text) {
  try {
    return params_from_json(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    throw_corrupt("parameters", text, e.what());
  }
}

std::string encode_metrics(const std::map<std::string, double>& metrics) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : metrics) {
    if (std::isnan(value)) {
      j[name] = "NaN";
    } else if (std::isinf(value)) {
      j[name] = value > 0 ? "Infinity" : "-Infinity";
    } else {
      j[name] = value;
    }
  }
  return dump(j, "metrics");
}

std::string encode_launch(const TrialLaunch& launch) {
  return dump(launch_to_json(launch), "launch");
}

std::optional<TrialLaunch> decode_launch(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::optional<TrialLaunch> launch;
  try {
    launch = launch_from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt("launch", text, e.what());
  }
  if (!launch) throw_corrupt("launch", text, "not an object with an \"argv\" array");
  return launch;
}

std::map<std::string, double> decode_metrics(std::string_view text) {
  std::map<std::string, double> out;
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_object()) throw_corrupt("metrics", text, "not a JSON object");
    for (const auto& [name, value] : j.items()) {
      if (value.is_number()) {
        out.emplace(name, value.get<double>());
      } else if (value == "NaN") {
        out.emplace(name, std::numeric_limits<double>::quiet_NaN());
      } else if (value == "Infinity") {
        out.emplace(name, std::numeric_limits<double>::infinity());
      } else if (value == "-Infinity") {
        out.emplace(name, -std::numeric_limits<double>::infinity());
      } else {
        throw_corrupt("metrics", text, "metric '" + name + "' is not a number");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt("metrics", text, e.what());
  }
  return out;
}

std::string encode_spec(const nlohmann::json& spec) { return dump(spec, "the study spec"); }

nlohmann::json decode_spec(std::string_view text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt("study spec", text, e.what());
  }
}

StudyRecord record_of(const NewStudy& study) {
  StudyRecord record;
  record.name = study.name;
  record.direction = study.direction;
  record.metric = study.metric;
  record.spec = decode_spec(encode_spec(study.spec));
  record.spec_dir = study.spec_dir;
  record.sampler_seed = study.sampler_seed;
  return record;
}

std::string encode_seed(std::uint64_t seed) { return std::to_string(seed); }

std::uint64_t decode_seed(std::string_view text, const std::string& study) {
  std::uint64_t seed = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw StorageError(StorageErrc::kCorrupt,
                       "study '" + study + "' has an unreadable sampler seed '" +
                           std::string(text.substr(0, 40)) + "' (expected a number in [0, 2^64))");
  return seed;
}

std::string substitute_number(std::string dir, int number) {
  const std::string replacement = std::to_string(number);
  for (auto pos = dir.find(kNumberPlaceholder); pos != std::string::npos;
       pos = dir.find(kNumberPlaceholder, pos + replacement.size())) {
    dir.replace(pos, kNumberPlaceholder.size(), replacement);
  }
  return dir;
}

std::optional<double> stored_value(std::optional<double> value) {
  if (!value || std::isnan(*value)) return std::nullopt;
  return stored_intermediate(*value);
}

double stored_intermediate(double value) { return value == 0.0 ? 0.0 : value; }

void check_new_trial_state(TrialState state) {
  if (state != TrialState::kRunning && state != TrialState::kWaiting)
    throw StorageError(StorageErrc::kMisuse, std::string("a new trial must be RUNNING or WAITING, not ") +
                                          to_string(state));
}

void check_final_state(TrialState state) {
  if (!is_finished(state))
    throw StorageError(
        StorageErrc::kMisuse,
        std::string("a trial can only be finished as COMPLETE, PRUNED or FAIL, not ") +
            to_string(state));
}

void throw_no_study(std::int64_t study_id) {
  throw StorageError(StorageErrc::kNotFound, "no study with id " + std::to_string(study_id));
}

void throw_no_trial(std::int64_t trial_id) {
  throw StorageError(StorageErrc::kNotFound, "no trial with id " + std::to_string(trial_id));
}

void throw_duplicate_study(const std::string& name) {
  throw StorageError(StorageErrc::kExists, "a study named '" + name + "' already exists");
}

}  // namespace hpo::storage_common
