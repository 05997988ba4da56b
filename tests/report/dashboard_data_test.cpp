// The dashboard's data: studies read once, then incrementally; readers get prebuilt JSON.
#include <catch2/catch.hpp>

#include "engine/report/dashboard_data.h"
#include "storage/memory_storage.h"
#include "tests/report/report_test_util.h"

using hpo::testing::add_complete;
using hpo::testing::make_new_study;
using nlohmann::json;

namespace {

const json kSpace = json::parse(R"({"x": {"type": "float", "low": 0, "high": 10}})");

}  // namespace

TEST_CASE("the dashboard lists studies, reads a study when asked and follows new trials",
          "[report][dashboard]") {
  hpo::MemoryStorage storage;
  const auto study = storage.create_study(make_new_study("live", kSpace));
  storage.create_study(make_new_study("other", kSpace));
  add_complete(storage, study.id, {{"x", 1.0}}, 5.0, {7, 6, 5});
  hpo::DashboardData data(storage, storage, {.storage_label = "mem"});
  data.refresh();
  const json list = json::parse(data.studies_json());
  CHECK(list["storage"] == "mem");
  REQUIRE(list["studies"].size() == 2);
  CHECK(list["studies"][0]["name"] == "live");
  CHECK(list["studies"][0]["trials"] == 1);

  CHECK_FALSE(data.study_json("nope").has_value());
  CHECK(json::parse(*data.study_json("live"))["loading"] == true);
  CHECK(data.has_pending());
  data.refresh();
  CHECK_FALSE(data.has_pending());
  json doc = json::parse(*data.study_json("live"));
  CHECK(doc["summary"]["counts"]["total"] == 1);
  CHECK(doc["curves"]["trials"].size() == 1);

  // A running trial, then its report and its end, then a new trial: each shows up.
  hpo::NewTrial n;
  n.params = {{"x", 2.0}};
  const auto running = *storage.create_trial(study.id, n);
  data.refresh();
  doc = json::parse(*data.study_json("live"));
  CHECK(doc["summary"]["counts"]["RUNNING"] == 1);
  storage.report_intermediate(running.id, 1, 3.0);
  data.refresh();
  doc = json::parse(*data.study_json("live"));
  CHECK(doc["curves"]["trials"].size() == 2);
  storage.finish_trial(running.id, hpo::TrialState::kComplete, 2.0, {{"loss", 2.0}}, "");
  add_complete(storage, study.id, {{"x", 3.0}}, 9.0);
  data.refresh();
  doc = json::parse(*data.study_json("live"));
  CHECK(doc["summary"]["counts"]["COMPLETE"] == 3);
  CHECK(doc["summary"]["best"]["number"] == 1);

  const json page = json::parse(*data.trials_page_json("live", "value", false, 0, 2));
  CHECK(page["total"] == 3);
  REQUIRE(page["rows"].size() == 2);
  CHECK(page["rows"][0][0] == 1);  // value 2.0 first
  CHECK(page["rows"][1][0] == 0);
  const json desc = json::parse(*data.trials_page_json("live", "number", true, 1, 10));
  CHECK(desc["rows"][0][0] == 1);
  CHECK_FALSE(data.trials_page_json("live", "no_such_column", true, 0, 10).has_value());
}

TEST_CASE("the dashboard refreshes a 100,000-trial study incrementally", "[report][dashboard]") {
  hpo::MemoryStorage storage;
  const auto study = storage.create_study(make_new_study("big", kSpace));
  for (int i = 0; i < 100000; ++i) {
    hpo::NewTrial n;
    n.params = {{"x", (i % 1000) / 100.0}};
    const auto t = *storage.create_trial(study.id, n);
    storage.finish_trial(t.id, hpo::TrialState::kComplete, (i % 997) * 0.5, {}, "");
  }
  hpo::DashboardData data(storage, storage, {});
  data.refresh();
  data.study_json("big");
  data.refresh();  // the first read: every trial
  CHECK(json::parse(*data.study_json("big"))["summary"]["counts"]["total"] == 100000);
  add_complete(storage, study.id, {{"x", 1.0}}, -1.0);
  const auto start = std::chrono::steady_clock::now();
  data.refresh();  // one new trial: read alone, the document rebuilt
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const json doc = json::parse(*data.study_json("big"));
  CHECK(doc["summary"]["counts"]["total"] == 100001);
  CHECK(doc["summary"]["best"]["value"] == -1.0);
  CHECK(seconds < 5);  // about 0.3 s; the page polls every 2 s
  const auto page_start = std::chrono::steady_clock::now();
  const json page = json::parse(*data.trials_page_json("big", "value", false, 0, 100));
  CHECK(page["rows"].size() == 100);
  CHECK(page["rows"][0][0] == 100000);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - page_start).count() < 5);
}
