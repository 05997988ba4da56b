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

// TrialQueries that counts the trials it hands out: what a refresh read from the database.
class CountingQueries : public hpo::TrialQueries {
 public:
  explicit CountingQueries(hpo::TrialQueries& inner) : inner_(inner) {}
  hpo::TrialCounts count_trials(std::int64_t study_id) override {
    return inner_.count_trials(study_id);
  }
  std::vector<hpo::Trial> get_trials(std::int64_t study_id, std::optional<hpo::TrialState> state,
                                     int from_number, hpo::TrialDetail detail) override {
    auto trials = inner_.get_trials(study_id, state, from_number, detail);
    read += trials.size();
    return trials;
  }
  std::optional<hpo::Trial> get_trial(std::int64_t trial_id) override {
    auto trial = inner_.get_trial(trial_id);
    if (trial) ++read;
    return trial;
  }
  std::optional<hpo::Trial> find_trial(std::int64_t study_id, int number) override {
    auto trial = inner_.find_trial(study_id, number);
    if (trial) ++read;
    return trial;
  }
  std::vector<std::pair<int, double>> get_step_values(std::int64_t study_id, std::int64_t step,
                                                      hpo::TrialState state,
                                                      hpo::StepMatch match) override {
    return inner_.get_step_values(study_id, step, state, match);
  }
  std::optional<std::int64_t> get_last_step(std::int64_t study_id, hpo::TrialState state) override {
    return inner_.get_last_step(study_id, state);
  }
  std::vector<hpo::Trial> get_retries(std::int64_t study_id, int number) override {
    auto trials = inner_.get_retries(study_id, number);
    read += trials.size();
    return trials;
  }
  std::vector<hpo::Trial> get_best_trials(std::int64_t study_id, hpo::Direction direction,
                                          std::optional<hpo::TrialState> state,
                                          int limit) override {
    auto trials = inner_.get_best_trials(study_id, direction, state, limit);
    read += trials.size();
    return trials;
  }
  std::size_t read = 0;

 private:
  hpo::TrialQueries& inner_;
};

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
  CountingQueries queries(storage);
  hpo::DashboardData data(queries, storage, {});
  data.refresh();
  data.study_json("big");
  data.refresh();  // the first read: every trial
  CHECK(queries.read == 100000);
  CHECK(json::parse(*data.study_json("big"))["summary"]["counts"]["total"] == 100000);
  add_complete(storage, study.id, {{"x", 1.0}}, -1.0);
  queries.read = 0;
  data.refresh();  // one new trial: read alone, the document rebuilt
  CHECK(queries.read == 1);
  const json doc = json::parse(*data.study_json("big"));
  CHECK(doc["summary"]["counts"]["total"] == 100001);
  CHECK(doc["summary"]["best"]["value"] == -1.0);
  // What the page receives stays bounded: the plots downsampled, one table page.
  CHECK(doc.dump().size() < 1000000);
  const json page = json::parse(*data.trials_page_json("big", "value", false, 0, 100));
  CHECK(page["rows"].size() == 100);
  CHECK(page["rows"][0][0] == 100000);
}
