// Trial tables: the columns --columns names, CSV and JSON records that pandas reads as is.
#include <catch2/catch.hpp>

#include "engine/report/trial_json.h"
#include "engine/report/trial_table.h"
#include "hpo/errors.h"
#include "tests/report/report_test_util.h"

using hpo::ParamSet;
using hpo::Trial;
using hpo::testing::make_trial;

namespace {

std::vector<Trial> sample() {
  std::vector<Trial> t{
      make_trial(0, 0.5, ParamSet{{"lr", 0.01}, {"opt", "momentum"}, {"m", 0.9}}),
      make_trial(1, std::nullopt, ParamSet{{"lr", 0.1}, {"opt", "sgd"}}, hpo::TrialState::kFail)};
  t[0].intermediate = {{10, 0.5}, {2, 0.8}, {1, 0.9}};
  t[0].metrics = {{"loss", 0.5}, {"acc", 0.75}};
  t[1].reason = "said \"no\", then\nleft";
  return t;
}

}  // namespace

TEST_CASE("CSV has one column per parameter, metric and step, by step as a number",
          "[report][table]") {
  const auto table = hpo::build_trial_table(sample(), hpo::Direction::kMinimize, "loss",
                                            hpo::default_export_columns());
  const std::string csv = hpo::to_csv(table);
  const std::string header = csv.substr(0, csv.find('\n'));
  CHECK(header ==
        "number,state,value,duration_s,started,finished,attempt,retry_of,best_intermediate,"
        "best_step,params_lr,params_m,params_opt,metrics_acc,metrics_loss,intermediate_1,"
        "intermediate_2,intermediate_10,reason,trial_dir,location");
  CHECK(csv.find("\n0,COMPLETE,0.5,0.5,") != std::string::npos);
  CHECK(csv.find(",0.5,10,0.01,0.9,momentum,0.75,0.5,0.9,0.8,0.5,,,\n") != std::string::npos);
  // The absent conditional parameter and the missing value are empty; the reason is quoted.
  CHECK(csv.find("\n1,FAIL,,0.5,") != std::string::npos);
  CHECK(csv.find(",,,0.1,,sgd,,,,,,\"said \"\"no\"\", then\nleft\",,\n") != std::string::npos);
}

TEST_CASE("JSON records carry the same table with nulls and numbers", "[report][table]") {
  const auto table = hpo::build_trial_table(sample(), hpo::Direction::kMinimize, "loss",
                                            hpo::default_export_columns());
  const auto records = hpo::to_json_records(table);
  REQUIRE(records.size() == 2);
  CHECK(records[0]["params_lr"] == 0.01);
  CHECK(records[0]["intermediate_10"] == 0.5);
  CHECK(records[0]["best_intermediate"] == 0.5);
  CHECK(records[0]["best_step"] == 10);
  CHECK(records[1]["params_m"].is_null());
  CHECK(records[1]["value"].is_null());
}

TEST_CASE("a --columns list picks named columns, parameters and metrics, and refuses unknown names",
          "[report][table]") {
  const auto table = hpo::build_trial_table(sample(), hpo::Direction::kMaximize, "loss",
                                            hpo::split_columns("number, lr,acc ,state"));
  REQUIRE(table.columns.size() == 4);
  CHECK(table.columns[1].key == "params_lr");
  CHECK(table.columns[2].key == "metrics_acc");
  try {
    hpo::build_trial_table(sample(), hpo::Direction::kMinimize, "loss", {"numbr"});
    FAIL("no error");
  } catch (const hpo::InputError& e) {
    const std::string m = e.issues().front().to_string();
    CHECK(m.find("--columns: unknown column 'numbr' (did you mean \"number\"?)") == 0);
    CHECK(m.find("lr") != std::string::npos);
  }
}

TEST_CASE("text tables escape control characters and cut long cells", "[report][table]") {
  auto trials = sample();
  trials[1].reason = "bad\x1b[31m red" + std::string(100, 'x');
  const auto table = hpo::build_trial_table(trials, hpo::Direction::kMinimize, "loss",
                                            hpo::default_text_columns(trials));
  const std::string text = hpo::to_text(table);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("bad\\x1b[31m red") != std::string::npos);
  CHECK(text.find("...") != std::string::npos);
  CHECK(text.find("BEST_INTERM") != std::string::npos);
}

TEST_CASE("trial JSON lists intermediate values by step as numbers with the best beside",
          "[report][table]") {
  const auto j = hpo::trial_to_json(sample()[0], hpo::Direction::kMinimize);
  REQUIRE(j["intermediate"].size() == 3);
  CHECK(j["intermediate"][0] == nlohmann::json({{"step", 1}, {"value", 0.9}}));
  CHECK(j["intermediate"][2]["step"] == 10);
  CHECK(j["best_intermediate"] == nlohmann::json({{"step", 10}, {"value", 0.5}}));
  CHECK(hpo::trial_to_json(sample()[0], hpo::Direction::kMaximize)["best_intermediate"]["step"] ==
        1);
}
