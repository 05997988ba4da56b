// The Optuna encoding: distributions, internal values, datetimes and value types as Optuna 3.1
// writes them, and a database whose rows say what the trials were. (tests/integration runs
// Debian's python3-optuna on an exported file.)
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "engine/report/optuna_export.h"
#include "engine/report/study_space.h"
#include "storage/sqlite/statement.h"
#include "tests/report/report_test_util.h"
#include "tests/support/temp_dir.h"

using hpo::Distribution;
using hpo::ParamSet;
using hpo::TrialState;
using hpo::testing::make_record;
using hpo::testing::make_trial;
using nlohmann::json;

TEST_CASE("distributions are written as optuna.distributions.distribution_to_json does",
          "[report][optuna]") {
  CHECK(hpo::optuna_distribution_json(Distribution::float_range(1e-4, 1.0, true)) ==
        json::parse(R"({"name": "FloatDistribution",
                        "attributes": {"step": null, "low": 0.0001, "high": 1.0, "log": true}})"));
  CHECK(hpo::optuna_distribution_json(Distribution::float_range(0, 1, false, 0.25)) ==
        json::parse(R"({"name": "FloatDistribution",
                        "attributes": {"step": 0.25, "low": 0.0, "high": 1.0, "log": false}})"));
  const json int_json = hpo::optuna_distribution_json(Distribution::int_range(4, 128, true));
  CHECK(int_json == json::parse(R"({"name": "IntDistribution",
                                    "attributes": {"log": true, "step": 1,
                                                    "low": 4, "high": 128}})"));
  CHECK(int_json["attributes"]["low"].is_number_integer());
  CHECK(hpo::optuna_distribution_json(
            Distribution::int_range(0, 10, false, 2))["attributes"]["step"] == 2);
  CHECK(hpo::optuna_distribution_json(Distribution::categorical({16, 32, "x", true})) ==
        json::parse(R"({"name": "CategoricalDistribution",
                        "attributes": {"choices": [16, 32, "x", true]}})"));
}

TEST_CASE("parameter values are stored as Optuna's internal floats", "[report][optuna]") {
  const auto cat = Distribution::categorical({"sgd", "momentum", "adam"});
  CHECK(*hpo::optuna_param_value(cat, "adam") == 2.0);
  CHECK_FALSE(hpo::optuna_param_value(cat, "rmsprop").has_value());
  CHECK(*hpo::optuna_param_value(Distribution::categorical({16, 32}), std::int64_t{32}) == 1.0);
  CHECK(*hpo::optuna_param_value(Distribution::int_range(4, 128), std::int64_t{17}) == 17.0);
  CHECK(*hpo::optuna_param_value(Distribution::float_range(0, 1), 0.125) == 0.125);
}

TEST_CASE("datetimes are local time with microseconds and values carry their type",
          "[report][optuna]") {
  const std::string text = hpo::optuna_datetime(hpo::from_unix_seconds(1700000000.123456));
  REQUIRE(text.size() == 26);
  CHECK(text[4] == '-');
  CHECK(text[10] == ' ');
  CHECK(text.substr(19) == ".123456");
  CHECK(std::string(hpo::optuna_value_type(1.5)) == "FINITE");
  CHECK(std::string(hpo::optuna_value_type(std::numeric_limits<double>::infinity())) == "INF_POS");
  CHECK(std::string(hpo::optuna_value_type(-std::numeric_limits<double>::infinity())) == "INF_NEG");
  CHECK(std::string(hpo::optuna_value_type(std::nan(""))) == "NAN");
}

TEST_CASE("an exported database holds the study's trials in Optuna's tables", "[report][optuna]") {
  const json space = json::parse(R"({
    "lr": {"type": "float", "low": 0.001, "high": 1, "log": true},
    "opt": {"type": "categorical", "choices": ["sgd", "momentum"]},
    "m": {"type": "float", "low": 0.5, "high": 0.9, "when": {"opt": "momentum"}}})");
  const hpo::StudyRecord record = make_record("exp", space, hpo::Direction::kMaximize);
  std::vector<hpo::Trial> trials{
      make_trial(0, 0.5, ParamSet{{"lr", 0.01}, {"opt", "momentum"}, {"m", 0.7}}),
      make_trial(1, std::nullopt, ParamSet{{"lr", 0.1}, {"opt", "sgd"}}, TrialState::kFail),
      make_trial(2, 0.75, ParamSet{{"lr", 0.02}, {"opt", "sgd"}}, TrialState::kPruned),
      make_trial(3, std::nullopt, ParamSet{{"lr", 0.03}, {"opt", "sgd"}}, TrialState::kWaiting)};
  trials[0].intermediate = {{1, 0.25}, {10, std::nan("")}, {2, 0.5}};
  trials[0].metrics = {{"loss", 0.5}, {"acc\xff", 0.9}};  // a metric name that is not UTF-8
  trials[1].reason = "exit status 3: ValueError";
  trials[3].started.reset();
  hpo::testing::TempDir dir;
  const auto file = dir / "out.db";
  const auto stats =
      hpo::write_optuna_database(record, trials, hpo::effective_space(record, trials), file);
  CHECK(stats.trials == 4);
  CHECK(stats.params == 9);
  CHECK(stats.intermediate_values == 3);

  hpo::sqlite::Database db(file.string(), false, "");
  auto one = [&](const char* sql) {
    hpo::sqlite::Statement st(db.get(), sql);
    REQUIRE(st.step());
    return st.is_null(0) ? std::string("NULL") : st.text(0);
  };
  CHECK(one("SELECT schema_version || ' ' || library_version FROM version_info") == "12 3.1.0");
  CHECK(one("SELECT version_num FROM alembic_version") == "v3.0.0.d");
  CHECK(one("SELECT direction FROM study_directions") == "MAXIMIZE");
  CHECK(one("SELECT group_concat(state, ',') FROM (SELECT state FROM trials ORDER BY number)") ==
        "COMPLETE,FAIL,PRUNED,WAITING");
  CHECK(one("SELECT count(*) FROM trials WHERE trial_id = number + 1") == "4");
  CHECK(one("SELECT datetime_start FROM trials WHERE number = 3") == "NULL");
  CHECK(one("SELECT param_value FROM trial_params WHERE trial_id = 1 AND param_name = 'opt'") ==
        "1.0");
  CHECK(one("SELECT count(*) FROM trial_params WHERE param_name = 'm'") == "1");
  CHECK(json::parse(
            one("SELECT distribution_json FROM trial_params WHERE param_name = 'm'"))["name"] ==
        "FloatDistribution");
  CHECK(one("SELECT group_concat(value, ',') FROM trial_values") == "0.5,0.75");
  CHECK(one("SELECT group_concat(step || ':' || intermediate_value_type, ',') FROM "
            "(SELECT * FROM trial_intermediate_values ORDER BY step)") ==
        "1:FINITE,2:FINITE,10:NAN");
  CHECK(json::parse(
            one("SELECT value_json FROM trial_system_attributes WHERE \"key\" = 'fail_reason'")) ==
        "exit status 3: ValueError");
  const json metrics =
      json::parse(one("SELECT value_json FROM trial_user_attributes WHERE \"key\" = 'metrics'"));
  CHECK(metrics["loss"] == 0.5);
  CHECK(metrics.size() == 2);  // the invalid name survives, with U+FFFD for the bad byte
  CHECK(json::parse(one(
            "SELECT value_json FROM study_user_attributes WHERE \"key\" = 'objective_metric'")) ==
        "loss");
}
