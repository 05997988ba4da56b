#include "engine/report/optuna_export.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/model/json_codec.h"
#include "engine/model/text.h"
#include "engine/report/study_space.h"
#include "engine/report/text_safety.h"
#include "storage/sqlite/statement.h"

namespace hpo {
namespace {

// Optuna 3.1's tables, as `sqlite3 FILE .schema` prints them for a database Optuna created
// (../shared/formats/optuna-3.1-sqlite-schema.sql).
constexpr const char* kSchema = R"sql(
CREATE TABLE studies (
	study_id INTEGER NOT NULL,
	study_name VARCHAR(512) NOT NULL,
	PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL,
	schema_version INTEGER,
	library_version VARCHAR(256),
	PRIMARY KEY (version_info_id),
	CHECK (version_info_id=1)
);
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL,
	direction VARCHAR(8) NOT NULL,
	study_id INTEGER NOT NULL,
	objective INTEGER NOT NULL,
	PRIMARY KEY (study_direction_id),
	UNIQUE (study_id, objective),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL,
	study_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (study_user_attribute_id),
	UNIQUE (study_id, "key"),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL,
	study_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (study_system_attribute_id),
	UNIQUE (study_id, "key"),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE trials (
	trial_id INTEGER NOT NULL,
	number INTEGER,
	study_id INTEGER,
	state VARCHAR(8) NOT NULL,
	datetime_start DATETIME,
	datetime_complete DATETIME,
	PRIMARY KEY (trial_id),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL,
	trial_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (trial_user_attribute_id),
	UNIQUE (trial_id, "key"),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL,
	trial_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (trial_system_attribute_id),
	UNIQUE (trial_id, "key"),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL,
	trial_id INTEGER,
	param_name VARCHAR(512),
	param_value FLOAT,
	distribution_json TEXT,
	PRIMARY KEY (param_id),
	UNIQUE (trial_id, param_name),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	objective INTEGER NOT NULL,
	value FLOAT,
	value_type VARCHAR(7) NOT NULL,
	PRIMARY KEY (trial_value_id),
	UNIQUE (trial_id, objective),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	step INTEGER NOT NULL,
	intermediate_value FLOAT,
	intermediate_value_type VARCHAR(7) NOT NULL,
	PRIMARY KEY (trial_intermediate_value_id),
	UNIQUE (trial_id, step),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	heartbeat DATETIME NOT NULL,
	PRIMARY KEY (trial_heartbeat_id),
	UNIQUE (trial_id),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, 12, '3.1.0');
INSERT INTO alembic_version (version_num) VALUES ('v3.0.0.d');
)sql";

// Optuna's name of a state; the strings are the same as ours.
const char* optuna_state(TrialState s) { return to_string(s); }

std::optional<std::string> datetime_or_null(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return optuna_datetime(*t);
}

std::optional<double> finite_or_null(double v) {
  if (std::isfinite(v)) return v;
  return std::nullopt;
}

}  // namespace

nlohmann::json optuna_distribution_json(const Distribution& d) {
  switch (d.type) {
    case ParamType::kFloat:
      return {{"name", "FloatDistribution"},
              {"attributes",
               {{"step", d.step ? nlohmann::json(*d.step) : nlohmann::json(nullptr)},
                {"low", d.low},
                {"high", d.high},
                {"log", d.log}}}};
    case ParamType::kInt:
      return {{"name", "IntDistribution"},
              {"attributes",
               {{"log", d.log},
                {"step", static_cast<std::int64_t>(std::llround(d.effective_step()))},
                {"low", static_cast<std::int64_t>(std::llround(d.low))},
                {"high", static_cast<std::int64_t>(std::llround(d.high))}}}};
    case ParamType::kCategorical: {
      nlohmann::json choices = nlohmann::json::array();
      for (const auto& c : d.choices) choices.push_back(to_json(c));
      return {{"name", "CategoricalDistribution"}, {"attributes", {{"choices", choices}}}};
    }
  }
  return nullptr;
}

std::optional<double> optuna_param_value(const Distribution& d, const ParamValue& value) {
  if (d.type == ParamType::kCategorical) {
    auto index = d.choice_index(value);
    if (!index) return std::nullopt;
    return static_cast<double>(*index);
  }
  if (!value.is_number()) return std::nullopt;
  return value.as_double();
}

std::string optuna_datetime(TimePoint t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(us % 1000000));
  return buf;
}

const char* optuna_value_type(double v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INF_POS" : "INF_NEG";
  return "FINITE";
}

OptunaExportStats write_optuna_database(const StudyRecord& record, const std::vector<Trial>& trials,
                                        const SearchSpace& space,
                                        const std::filesystem::path& file) {
  OptunaExportStats stats;
  sqlite::Database db(file.string(), /*create=*/true, /*vfs=*/"");
  db.exec(kSchema);
  sqlite::Transaction tx(db, sqlite::Transaction::Mode::kImmediate);
  constexpr std::int64_t kStudyId = 1;
  {
    auto st = db.cached("INSERT INTO studies (study_id, study_name) VALUES (?, ?)");
    st->bind_all(kStudyId, record.name);
    st->run();
  }
  {
    auto st =
        db.cached("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, 0)");
    st->bind_all(record.direction == Direction::kMaximize ? "MAXIMIZE" : "MINIMIZE", kStudyId);
    st->run();
  }
  auto study_attr = [&](const char* table_sql, const std::string& key, const nlohmann::json& v) {
    auto st = db.cached(table_sql);
    st->bind_all(kStudyId, key, json_text(v));
    st->run();
  };
  const char* kStudyUser =
      "INSERT INTO study_user_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?)";
  const char* kStudySystem =
      "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?)";
  study_attr(kStudyUser, "objective_metric", record.metric);
  study_attr(kStudyUser, "sampler", sampler_label(record));
  study_attr(kStudyUser, "hpo_spec", record.spec);
  // Optuna >= 3.2 and optuna-dashboard name the objective with this; 3.1 ignores it.
  study_attr(kStudySystem, "study:metric_names", nlohmann::json::array({record.metric}));

  std::map<std::string, std::pair<const Distribution*, std::string>> distributions;
  for (const Parameter& p : space.parameters())
    distributions[p.name] = {&p.distribution, json_text(optuna_distribution_json(p.distribution))};

  for (const Trial& t : trials) {
    const std::int64_t trial_id = t.number + 1;
    {
      auto st = db.cached(
          "INSERT INTO trials (trial_id, number, study_id, state, datetime_start, "
          "datetime_complete) VALUES (?, ?, ?, ?, ?, ?)");
      st->bind_all(trial_id, t.number, kStudyId, optuna_state(t.state),
                   t.state == TrialState::kWaiting ? std::nullopt : datetime_or_null(t.started),
                   datetime_or_null(t.finished));
      st->run();
    }
    ++stats.trials;
    for (const auto& [name, value] : t.params) {
      auto it = distributions.find(name);
      if (it == distributions.end()) continue;
      const auto internal = optuna_param_value(*it->second.first, value);
      if (!internal) continue;
      auto st = db.cached(
          "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
          "VALUES (?, ?, ?, ?)");
      st->bind_all(trial_id, name, *internal, it->second.second);
      st->run();
      ++stats.params;
    }
    if (t.value && (t.state == TrialState::kComplete || t.state == TrialState::kPruned)) {
      auto st = db.cached(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) "
          "VALUES (?, 0, ?, ?)");
      st->bind_all(trial_id, finite_or_null(*t.value), optuna_value_type(*t.value));
      st->run();
    }
    for (const auto& [step, value] : t.intermediate) {
      auto st = db.cached(
          "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
          "intermediate_value_type) VALUES (?, ?, ?, ?)");
      st->bind_all(trial_id, step, finite_or_null(value), optuna_value_type(value));
      st->run();
      ++stats.intermediate_values;
    }
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [key, value] : t.user_attrs) attrs[key] = value;
    if (!t.metrics.empty()) {
      nlohmann::json metrics = nlohmann::json::object();
      for (const auto& [name, value] : t.metrics)
        metrics[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
      attrs["metrics"] = metrics;
    }
    if (!t.reason.empty()) attrs["reason"] = t.reason;
    if (t.attempt > 0) attrs["attempt"] = t.attempt;
    if (t.retry_of) attrs["retry_of"] = *t.retry_of;
    if (!t.trial_dir.empty()) attrs["trial_dir"] = t.trial_dir;
    if (!t.location.empty()) attrs["location"] = t.location;
    for (const auto& [key, value] : attrs.items()) {
      auto st = db.cached(
          "INSERT OR REPLACE INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (?, "
          "?, ?)");
      st->bind_all(trial_id, valid_utf8(key), json_text(value));
      st->run();
    }
    if (t.state == TrialState::kFail && !t.reason.empty()) {
      auto st = db.cached(
          "INSERT INTO trial_system_attributes (trial_id, \"key\", value_json) "
          "VALUES (?, 'fail_reason', ?)");
      st->bind_all(trial_id, json_text(t.reason));
      st->run();
    }
  }
  tx.commit();
  return stats;
}

}  // namespace hpo
