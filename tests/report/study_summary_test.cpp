// What hpo compare says about a study: counts, best, best within budgets, times.
#include <catch2/catch.hpp>

#include "engine/report/study_summary.h"
#include "tests/report/report_test_util.h"

using hpo::ParamSet;
using hpo::TrialState;
using hpo::testing::make_record;
using hpo::testing::make_trial;

TEST_CASE("a summary counts states, finds the best and the best within each budget",
          "[report][summary]") {
  const auto record = make_record("s", {{"x", {{"type", "float"}, {"low", 0}, {"high", 1}}}});
  std::vector<hpo::Trial> trials;
  for (int i = 0; i < 30; ++i)
    trials.push_back(make_trial(i, 100.0 - i, ParamSet{{"x", i / 30.0}}));
  trials[5].state = TrialState::kFail;
  trials[5].value.reset();
  trials[29].state = TrialState::kRunning;
  trials[29].finished.reset();
  trials[29].value.reset();
  const auto s =
      hpo::summarize(record, trials, hpo::kCompareBudgets, hpo::from_unix_seconds(1.7e9 + 40));
  CHECK(s.counts.complete == 28);
  CHECK(s.counts.fail == 1);
  CHECK(s.counts.running == 1);
  CHECK(*s.best_number == 28);
  CHECK(*s.best_value == 72.0);
  REQUIRE(s.best_at.size() == 5);
  CHECK(s.best_at[0] == std::make_pair(10, std::optional<double>(91.0)));
  CHECK(s.best_at[1].second == 76.0);
  CHECK_FALSE(s.best_at[2].second.has_value());  // 50 trials not reached
  CHECK(s.best_at[4].first == 0);
  CHECK(s.best_at[4].second == 72.0);
  CHECK(*s.wall_time_s == Approx(40.0));  // running: up to now
  CHECK(*s.mean_trial_s == Approx(0.5));
  CHECK(s.sampler == "tpe (seed 3)");
  CHECK(s.budget == 20);
  const auto j = hpo::to_json(s);
  CHECK(j["best_at"]["50"].is_null());
  CHECK(j["best_at"]["all"] == 72.0);
  CHECK(j["counts"]["RUNNING"] == 1);
  CHECK(hpo::format_seconds(75) == "1m15s");
  CHECK(hpo::format_seconds(3.5) == "3.50s");
}
