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

namespace {

// Reads a stored parameter object straight into a ParamSet, without building the JSON document
// first (a resume reads every trial's parameters: the document was most of its time). Each value
// still goes through param_from_json, the one rule for what a JSON value is as a parameter, and
// a repeated name keeps its last value, as the document would. Errors are thrown as
// std::invalid_argument (a value that is no parameter) or nlohmann's parse errors.
class ParamsReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  ParamSet params;

  bool null() override { return put(nlohmann::json(nullptr)); }
  bool boolean(bool v) override { return put(nlohmann::json(v)); }
  bool number_integer(number_integer_t v) override { return put(nlohmann::json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(nlohmann::json(v)); }
  bool number_float(number_float_t v, const string_t& /*text*/) override {
    return put(nlohmann::json(v));
  }
  bool string(string_t& v) override { return put(nlohmann::json(std::move(v))); }
  bool binary(binary_t& v) override { return put(nlohmann::json::binary(v)); }
  bool start_object(std::size_t /*size*/) override {
    if (depth_++ == 0) return true;
    return put(nlohmann::json::object());
  }
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t /*size*/) override { return put(nlohmann::json::array()); }
  bool end_array() override { return true; }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) override {
    throw std::invalid_argument(e.what());
  }

 private:
  bool put(const nlohmann::json& value) {
    // The whole text is one value that is no object: params_from_json's refusal.
    if (depth_ == 0) return params_from_json(value).empty();
    params.insert_or_assign(key_, param_from_json(value));  // throws for objects, arrays, null
    return true;
  }

  int depth_ = 0;
  std::string key_;
};

}  // namespace

ParamSet decode_params(std::string_view text) {
  try {
    ParamsReader reader;
    nlohmann::json::sax_parse(text, &reader);
    return std::move(reader.params);
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

std::string encode_values(const std::vector<double>& values) {
  nlohmann::json j = nlohmann::json::array();
  for (double v : values) j.push_back(v);
  return dump(j, "objective values");
}

std::vector<double> decode_values(std::string_view text) {
  std::vector<double> out;
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_array()) throw_corrupt("objective values", text, "not a JSON array");
    for (const auto& v : j) {
      if (!v.is_number()) throw_corrupt("objective values", text, "not a number");
      out.push_back(v.get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt("objective values", text, e.what());
  }
  return out;
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
