#include "tests/storage/storage_fixtures.h"

#include <algorithm>
#include <stdexcept>

#include <sqlite3.h>

namespace hpo::testing {
namespace {

std::string time_text(const std::optional<TimePoint>& t, Times times) {
  if (!t) return "unset";
  if (times == Times::kPresence) return "set";
  return format_double(to_unix_seconds(*t));
}

std::string param_text(const ParamValue& v) {
  if (v.is_bool()) return std::string("bool:") + (v.as_bool() ? "true" : "false");
  if (v.is_int()) return "int:" + std::to_string(v.as_int());
  if (v.is_double()) return "double:" + format_double(v.as_double());
  return "string:" + nlohmann::json(v.as_string()).dump();
}

}  // namespace

SqliteStorageFixture::SqliteStorageFixture(SqliteOptions options)
    : dir_("hpo-storage"), path_(dir_ / "hpo.db"), options_(std::move(options)) {
  reopen();
}

void SqliteStorageFixture::reopen() {
  other_.reset();
  storage_.reset();
  storage_ = std::make_unique<SqliteStorage>(path_, options_);
}

Storage& SqliteStorageFixture::another_connection() {
  if (!other_) other_ = std::make_unique<SqliteStorage>(path_, options_);
  return *other_;
}

std::string describe(const Trial& t, Times times) {
  nlohmann::json j;
  j["id"] = t.id;
  j["number"] = t.number;
  j["state"] = to_string(t.state);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : t.params) params[name] = param_text(value);
  j["params"] = params;
  j["value"] = t.value ? format_double(*t.value) : "none";
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : t.metrics) metrics[name] = format_double(value);
  j["metrics"] = metrics;
  nlohmann::json intermediate = nlohmann::json::object();
  for (const auto& [step, value] : t.intermediate)
    intermediate[std::to_string(step)] = format_double(value);
  j["intermediate"] = intermediate;
  j["started"] = time_text(t.started, times);
  j["finished"] = time_text(t.finished, times);
  j["heartbeat"] = time_text(t.heartbeat, times);
  j["reason"] = t.reason;
  j["attempt"] = t.attempt;
  j["retry_of"] = t.retry_of ? std::to_string(*t.retry_of) : "none";
  j["trial_dir"] = t.trial_dir;
  j["owner"] = t.owner;
  j["location"] = t.location;
  j["user_attrs"] = t.user_attrs;
  return j.dump();
}

std::string describe(const std::vector<Trial>& trials, Times times) {
  std::string out;
  for (const auto& t : trials) out += describe(t, times) + "\n";
  return out;
}

std::string describe(const StudyRecord& s, Times times) {
  nlohmann::json j;
  j["id"] = s.id;
  j["name"] = s.name;
  j["direction"] = to_string(s.direction);
  j["metric"] = s.metric;
  j["spec"] = s.spec.dump();
  j["spec_dir"] = s.spec_dir;
  j["sampler_seed"] = std::to_string(s.sampler_seed);
  j["created"] = time_text(s.created, times);
  j["user_attrs"] = s.user_attrs;
  return j.dump();
}

std::string describe(const std::vector<StudyRecord>& studies, Times times) {
  std::string out;
  for (const auto& s : studies) out += describe(s, times) + "\n";
  return out;
}

std::string describe(const RunRecord& run, Times times) {
  nlohmann::json j;
  j["owner"] = run.owner;
  j["host"] = run.host;
  j["pid"] = run.pid;
  j["started"] = time_text(run.started, times);
  j["heartbeat"] = time_text(run.heartbeat, times);
  return j.dump();
}

std::string describe(const std::vector<RunRecord>& runs, Times times) {
  std::string out;
  for (const auto& r : runs) out += describe(r, times) + "\n";
  return out;
}

std::string describe(const TrialCounts& c) {
  return "waiting " + std::to_string(c.waiting) + ", running " + std::to_string(c.running) +
         ", complete " + std::to_string(c.complete) + ", pruned " + std::to_string(c.pruned) +
         ", fail " + std::to_string(c.fail);
}

std::string describe_all(Storage& storage, Times times) {
  std::string out;
  for (const auto& study : storage.list_studies()) {
    out += describe(study, times) + "\n";
    out += describe(storage.list_runs(study.id), times);
    out += describe(storage.get_trials(study.id), times);
  }
  return out;
}

std::string first_difference(const std::string& actual, const std::string& expected) {
  if (actual == expected) return "";
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    if (actual[i] != expected[i]) break;
    if (actual[i] == '\n') line_start = i + 1;
  }
  auto line_at = [&](const std::string& text) {
    if (line_start >= text.size()) return std::string("<end>");
    return text.substr(line_start, text.find('\n', line_start) - line_start);
  };
  return "actual:   " + line_at(actual) + "\nexpected: " + line_at(expected);
}

RawSqlite::RawSqlite(const std::filesystem::path& file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    throw std::runtime_error("cannot open " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
}

RawSqlite::~RawSqlite() { sqlite3_close_v2(db_); }

void RawSqlite::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("SQL failed: " + message + "\n" + sql.substr(0, 300));
  }
}

std::string RawSqlite::query(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("cannot prepare: ") + sqlite3_errmsg(db_) + "\n" + sql);
  std::string out;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  } else if (rc != SQLITE_DONE) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    throw std::runtime_error("query failed: " + message + "\n" + sql);
  }
  sqlite3_finalize(stmt);
  return out;
}

StudyRecord make_study(StudyCatalog& storage, const std::string& name, Direction direction,
                       const std::string& metric, const nlohmann::json& spec,
                       std::uint64_t sampler_seed) {
  NewStudy study;
  study.name = name;
  study.direction = direction;
  study.metric = metric;
  study.spec = spec;
  study.spec_dir = "/specs/" + name;
  study.sampler_seed = sampler_seed;
  return storage.create_study(study);
}

Trial add_trial(TrialJournal& storage, std::int64_t study_id, const NewTrial& trial) {
  std::optional<Trial> created = storage.create_trial(study_id, trial);
  if (!created) throw std::runtime_error("create_trial without a limit returned nothing");
  return *created;
}

nlohmann::json sample_spec(const std::string& name) {
  return nlohmann::json{
      {"name", name},
      {"direction", "maximize"},
      {"objective", {{"metric", "accuracy"}}},
      {"space",
       {{"C", {{"type", "float"}, {"low", 1e-3}, {"high", 1e3}, {"log", true}}},
        {"kernel", {{"type", "categorical"}, {"choices", {"rbf", "poly"}}}}}},
      {"budget", {{"trials", 100}}},
  };
}

}  // namespace hpo::testing
