// Each pruner's decisions against tables worked out by hand from its definition (Optuna 3.1's
// pruners, which hpo's follow): warm-up, startup trials, intervals, percentiles, rungs and
// promotions, brackets, patience. Every row says what the pruner must answer and why.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "samplers/hyperband_pruner.h"
#include "samplers/patient_pruner.h"
#include "samplers/percentile_pruner.h"
#include "samplers/successive_halving_pruner.h"
#include "samplers/threshold_pruner.h"

namespace hpo {
namespace {

Trial trial(int number, TrialState state, std::map<std::int64_t, double> intermediate) {
  Trial t;
  t.id = number + 1;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(intermediate);
  return t;
}

// The running trial is the last of `trials`; it reports `values` one step at a time, and the
// pruner is asked after each report. Returns the decision at each step.
std::vector<PruneDecision> replay(const Pruner& pruner, std::vector<Trial> trials,
                                  const std::vector<std::pair<std::int64_t, double>>& reports,
                                  Direction direction = Direction::kMinimize) {
  std::vector<PruneDecision> out;
  for (const auto& [step, value] : reports) {
    trials.back().intermediate[step] = value;
    const StudyView view(direction, trials);
    out.push_back(pruner.should_prune(view, trials.back(), step));
  }
  return out;
}

const double kNaN = std::nan("");

}  // namespace

TEST_CASE("median pruner: warm-up, startup trials and the median at the same step",
          "[samplers][pruner]") {
  PercentileOptions o;
  o.percentile = 50;
  o.n_startup_trials = 2;
  o.n_warmup_steps = 1;
  const PercentilePruner median(o, "median");
  const std::vector<Trial> history = {
      trial(0, TrialState::kComplete, {{0, 5}, {1, 4}, {2, 3}, {3, 2}}),
      trial(1, TrialState::kComplete, {{0, 7}, {1, 6}, {2, 5}, {3, 4}}),
      trial(2, TrialState::kComplete, {{0, 9}, {1, 8}, {2, 7}}),  // stopped reporting at 2
      trial(3, TrialState::kPruned, {{0, 0.1}, {1, 0.1}, {2, 0.1}, {3, 0.1}}),  // not COMPLETE
      trial(4, TrialState::kRunning, {}),
  };
  //  step  value  best  COMPLETE values at step  median  decision
  //  0     10     10    (warm-up: step < 1)              keep
  //  1     5      5     4 6 8                    6       keep (5 < 6)
  //  2     6.5    5     3 5 7                    5       keep (5 is not worse than 5)
  //  3     6      5     2 4                      3       prune (5 > 3)
  const auto d = replay(median, history, {{0, 10}, {1, 5}, {2, 6.5}, {3, 6}});
  CHECK_FALSE(d[0].prune);
  CHECK_FALSE(d[1].prune);
  CHECK_FALSE(d[2].prune);
  REQUIRE(d[3].prune);
  CHECK(d[3].reason == "best 5 > median 3 of 2 trials");

  // One COMPLETE trial is fewer than n_startup_trials = 2: never prune.
  const std::vector<Trial> young = {history[0], trial(1, TrialState::kRunning, {})};
  for (const auto& x : replay(median, young, {{0, 99}, {1, 99}, {2, 99}})) CHECK_FALSE(x.prune);
}

TEST_CASE("median pruner with n_min_trials waits for enough trials at the step",
          "[samplers][pruner]") {
  PercentileOptions o;
  o.n_startup_trials = 1;
  o.n_min_trials = 3;
  const PercentilePruner median(o, "median");
  const std::vector<Trial> history = {
      trial(0, TrialState::kComplete, {{0, 1}, {1, 1}}),
      trial(1, TrialState::kComplete, {{0, 2}, {1, 2}}),
      trial(2, TrialState::kComplete, {{0, 3}}),
      trial(3, TrialState::kRunning, {}),
  };
  //  step 0: values 1 2 3 (3 >= n_min_trials), median 2, best 9 -> prune
  //  step 1: values 1 2 (2 < 3) -> keep, however bad
  CHECK(replay(median, history, {{0, 9}})[0].prune);
  CHECK_FALSE(replay(median, history, {{1, 9}})[0].prune);
}

TEST_CASE("a NaN-only trial is pruned by the median rule", "[samplers][pruner]") {
  PercentileOptions o;
  o.n_startup_trials = 1;
  const PercentilePruner median(o, "median");
  const std::vector<Trial> history = {trial(0, TrialState::kComplete, {{0, 1}}),
                                      trial(1, TrialState::kRunning, {})};
  const auto d = replay(median, history, {{0, kNaN}});
  CHECK(d[0].prune);
  CHECK(d[0].reason == "every value it reported is NaN");
}

TEST_CASE("interval steps: only the first report at or after each check point is judged",
          "[samplers][pruner]") {
  // n_warmup_steps 2, interval_steps 3: check points 2, 5, 8, ...
  const Trial every =
      trial(0, TrialState::kRunning,
            {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}, {8, 1}});
  //  reported every step: judged at 2, 5, 8
  for (std::int64_t s = 2; s <= 8; ++s)
    CHECK(is_first_in_interval(every, s, 2, 3) == (s == 2 || s == 5 || s == 8));
  //  reported at 0, 3, 4, 7: step 3 (check point 2, previous report 0 < 2) yes; 4 (previous
  //  report 3 already at/after check point 2) no; 7 (check point 5, previous 4 < 5) yes
  const Trial sparse = trial(1, TrialState::kRunning, {{0, 1}, {3, 1}, {4, 1}, {7, 1}});
  CHECK(is_first_in_interval(sparse, 3, 2, 3));
  CHECK_FALSE(is_first_in_interval(sparse, 4, 2, 3));
  CHECK(is_first_in_interval(sparse, 7, 2, 3));
}

TEST_CASE("percentile pruner keeps the best percentile in either direction", "[samplers][pruner]") {
  std::vector<double> v = {4, 1, kNaN, 3, 2};
  CHECK(percentile_of(v, 25) == Approx(1.75));  // rank 0.75 between 1 and 2 (NaN dropped)
  std::vector<double> none = {kNaN};
  CHECK(std::isnan(percentile_of(none, 50)));

  PercentileOptions o;
  o.percentile = 25;
  o.n_startup_trials = 1;
  const PercentilePruner pruner(o, "percentile");
  std::vector<Trial> history;
  for (int i = 0; i < 5; ++i)
    history.push_back(trial(i, TrialState::kComplete, {{1, static_cast<double>(i + 1)}}));
  history.push_back(trial(5, TrialState::kRunning, {}));
  //  maximize: the 75th percentile of 1..5 is 4 (rank 3): best 3.5 < 4 prunes, 4 keeps
  const auto lo = replay(pruner, history, {{1, 3.5}}, Direction::kMaximize);
  REQUIRE(lo[0].prune);
  CHECK(lo[0].reason == "best 3.5 < 75th percentile 4 of 5 trials");
  CHECK_FALSE(replay(pruner, history, {{1, 4}}, Direction::kMaximize)[0].prune);
  //  minimize: the 25th percentile is 2: 2.5 prunes, 2 keeps
  CHECK(replay(pruner, history, {{1, 2.5}})[0].prune);
  CHECK_FALSE(replay(pruner, history, {{1, 2}})[0].prune);
}

TEST_CASE("threshold pruner: outside [lower, upper] or NaN, after warm-up", "[samplers][pruner]") {
  ThresholdOptions o;
  o.lower = 0;
  o.upper = 1;
  o.n_warmup_steps = 2;
  const ThresholdPruner pruner(o);
  const std::vector<Trial> history = {trial(0, TrialState::kRunning, {})};
  //  step  value  decision
  //  1     5      keep (warm-up)
  //  2     1.5    prune: above upper
  const auto d = replay(pruner, history, {{1, 5}, {2, 1.5}});
  CHECK_FALSE(d[0].prune);
  REQUIRE(d[1].prune);
  CHECK(d[1].reason == "1.5 > upper 1");
  const auto low = replay(pruner, history, {{3, -0.1}});
  REQUIRE(low[0].prune);
  CHECK(low[0].reason == "-0.1 < lower 0");
  CHECK(replay(pruner, history, {{3, kNaN}})[0].prune);
  CHECK_FALSE(replay(pruner, history, {{3, 0.5}})[0].prune);
}

TEST_CASE("patience: no improvement in patience + 1 reports, then the wrapped pruner",
          "[samplers][pruner]") {
  const PatientPruner alone(2, nullptr);
  const std::vector<Trial> history = {trial(0, TrialState::kRunning, {})};
  //  step  value  before window  best before  window        best in window  decision
  //  0..2  5 4 4.5  (3 reports <= patience + 1)                              keep
  //  3     4.2    5              5            4 4.5 4.2     4               keep (improved)
  //  4     4.1    5 4            4            4.5 4.2 4.1   4.1             prune
  const auto d = replay(alone, history, {{0, 5}, {1, 4}, {2, 4.5}, {3, 4.2}, {4, 4.1}});
  for (int i = 0; i < 4; ++i) CHECK_FALSE(d[static_cast<std::size_t>(i)].prune);
  REQUIRE(d[4].prune);
  CHECK(d[4].reason == "no improvement on 4 in the last 3 reports (patience 2)");

  // Wrapped: the threshold (upper 4.15) must agree too.
  ThresholdOptions t;
  t.upper = 4.15;
  const PatientPruner wrapped(2, std::make_unique<ThresholdPruner>(t));
  const auto w = replay(wrapped, history, {{0, 5}, {1, 4}, {2, 4.5}, {3, 4.2}, {4, 4.1}, {5, 4.3}});
  CHECK_FALSE(w[4].prune);  // stalled, but 4.1 is within the threshold
  REQUIRE(w[5].prune);      // stalled (best 4 before, 4.1 in 4.2 4.1 4.3) and 4.3 > 4.15
  CHECK(w[5].reason ==
        "no improvement on 4 in the last 3 reports (patience 2), and 4.3 > upper 4.15");
}

TEST_CASE("ASHA: rungs, promotions and the best 1/reduction_factor", "[samplers][pruner]") {
  SuccessiveHalvingOptions o;
  o.min_resource = 1;
  o.reduction_factor = 2;  // rungs at steps 1, 2, 4, 8
  const SuccessiveHalvingPruner asha(o);
  std::vector<Trial> trials = {
      trial(0, TrialState::kComplete, {{1, 0.5}, {2, 0.4}, {4, 0.3}, {8, 0.2}}),
      trial(1, TrialState::kPruned, {{1, 0.9}}),  // pruned at rung 0: counts there only
  };
  //  trial 2 reports 0.6 at step 1: rung 0 holds 0.5 0.9 0.6, keep 3/2 = 1, cut-off 0.5 -> prune
  trials.push_back(trial(2, TrialState::kRunning, {}));
  auto d = replay(asha, trials, {{1, 0.6}});
  REQUIRE(d[0].prune);
  CHECK(d[0].reason == "0.6 not in the best 1 of 3 at rung 0 (step 1) (cut-off 0.5)");
  trials.back().state = TrialState::kPruned;
  trials.back().intermediate = {{1, 0.6}};

  //  trial 3: step 1 = 0.45: rung 0 holds 0.5 0.9 0.6 0.45, keep 2, cut-off 0.5 -> promoted;
  //           step 2 = 0.41: rung 0 was judged at step 1; rung 1 holds 0.4 (trial 0) 0.41,
  //           keep 1, cut-off 0.4 -> prune
  trials.push_back(trial(3, TrialState::kRunning, {}));
  d = replay(asha, trials, {{1, 0.45}, {2, 0.41}});
  CHECK_FALSE(d[0].prune);
  REQUIRE(d[1].prune);
  CHECK(d[1].reason == "0.41 not in the best 1 of 2 at rung 1 (step 2) (cut-off 0.4)");
  trials.back().state = TrialState::kPruned;
  trials.back().intermediate = {{1, 0.45}, {2, 0.41}};

  //  trial 4 first reports at step 3 = 0.35: one report crosses rungs 0 and 1. Rung 0 holds
  //  0.5 0.9 0.6 0.45 0.35 (keep 2: promoted), rung 1 holds 0.4 0.41 0.35 (keep 1, 0.35 is the
  //  best: promoted); rung 2 is at step 4 > 3 -> keep
  trials.push_back(trial(4, TrialState::kRunning, {}));
  CHECK_FALSE(replay(asha, trials, {{3, 0.35}})[0].prune);
  //  0.42 instead: rung 0 holds 0.5 0.9 0.6 0.45 0.42 (keep 2, cut-off 0.45: promoted); rung 1
  //  holds 0.4 0.41 0.42 (keep 1, cut-off 0.4) -> prune at rung 1
  const auto r = replay(asha, trials, {{3, 0.42}});
  REQUIRE(r[0].prune);
  CHECK(r[0].reason == "0.42 not in the best 1 of 3 at rung 1 (step 2) (cut-off 0.4)");
  //  maximize: at rung 0 the best 2 of 0.5 0.9 0.6 0.45 0.55 are 0.9 and 0.6 -> 0.55 pruned
  const auto m = replay(asha, trials, {{1, 0.55}}, Direction::kMaximize);
  REQUIRE(m[0].prune);
  CHECK(m[0].reason == "0.55 not in the best 2 of 5 at rung 0 (step 1) (cut-off 0.6)");
}

TEST_CASE("ASHA: NaN, bootstrap_count and min_resource auto", "[samplers][pruner]") {
  SuccessiveHalvingOptions o;
  o.min_resource = 1;
  o.reduction_factor = 2;
  o.bootstrap_count = 2;
  const SuccessiveHalvingPruner bootstrap(o);
  std::vector<Trial> trials = {trial(0, TrialState::kComplete, {{1, 0.5}}),
                               trial(1, TrialState::kRunning, {})};
  //  2 values at rung 0 (<= bootstrap_count 2): prune, as Optuna does
  auto d = replay(bootstrap, trials, {{1, 0.1}});
  REQUIRE(d[0].prune);
  CHECK(d[0].reason == "only 2 trial(s) at rung 0 (step 1), bootstrap_count 2");
  CHECK(replay(bootstrap, trials, {{0, kNaN}})[0].prune == false);  // step 0 < rung 0
  o.bootstrap_count = 0;
  CHECK(replay(SuccessiveHalvingPruner(o), trials, {{1, kNaN}})[0].reason ==
        "NaN at rung 0 (step 1)");

  // auto: no COMPLETE trial yet -> no rung is known -> keep; then max(250 / 100, 1) = 2
  SuccessiveHalvingOptions automatic;
  automatic.reduction_factor = 2;
  const SuccessiveHalvingPruner asha(automatic);
  std::vector<Trial> fresh = {trial(0, TrialState::kRunning, {{1, 0.9}}),
                              trial(1, TrialState::kRunning, {})};
  CHECK_FALSE(replay(asha, fresh, {{2, 5.0}})[0].prune);
  std::vector<Trial> done = {trial(0, TrialState::kComplete, {{2, 0.1}, {250, 0.01}}),
                             trial(1, TrialState::kRunning, {})};
  REQUIRE(estimate_min_resource(StudyView(Direction::kMinimize, done)) == 2);
  CHECK_FALSE(replay(asha, done, {{1, 5.0}})[0].prune);  // step 1 < rung 0 at step 2
  CHECK(replay(asha, done, {{2, 5.0}})[0].prune);        // 5 vs 0.1 at rung 0: keep 1
}

TEST_CASE("Hyperband: bracket shares, a fixed bracket per number, and competition inside it",
          "[samplers][pruner]") {
  HyperbandOptions o;
  o.min_resource = 1;
  o.max_resource = 27;
  o.reduction_factor = 3;
  const HyperbandPruner hb(o);
  //  floor(log3(27)) + 1 = 4 brackets; shares ceil(4 * 3^s / (s + 1)), s = 3, 2, 1, 0
  CHECK(hb.bracket_shares(27) == std::vector<int>{27, 12, 6, 4});
  //  81: the paper's n_i for R = 81, eta = 3
  CHECK(hb.bracket_shares(81) == std::vector<int>{81, 34, 15, 8, 5});
  CHECK(hb.bracket_shares(1) == std::vector<int>{1});

  // Trial numbers spread over brackets in proportion to the shares.
  const std::vector<int> shares = hb.bracket_shares(27);
  std::vector<int> counts(4, 0);
  for (int n = 0; n < 49000; ++n)
    ++counts[static_cast<std::size_t>(HyperbandPruner::bracket_of(shares, n))];
  for (std::size_t b = 0; b < 4; ++b)
    CHECK(counts[b] / 49000.0 == Approx(shares[b] / 49.0).margin(0.01));

  // Pick trials of bracket 0 (first rung at step 1) and of bracket 1 (first rung at step 3).
  std::vector<int> b0, b1;
  for (int n = 0; b0.size() < 3 || b1.size() < 2; ++n) {
    const int b = HyperbandPruner::bracket_of(shares, n);
    if (b == 0 && b0.size() < 3) b0.push_back(n);
    if (b == 1 && b1.size() < 2) b1.push_back(n);
  }
  std::vector<Trial> trials = {
      trial(b0[0], TrialState::kComplete, {{1, 0.5}, {3, 0.4}}),
      trial(b1[0], TrialState::kComplete, {{1, 0.1}, {3, 0.1}}),
  };
  const StudyView view(Direction::kMinimize, trials);
  const BracketRule rule = hb.brackets(view);
  REQUIRE(rule);
  CHECK(rule(b0[1]) == 0);
  CHECK(rule(b1[1]) == 1);
  //  a bracket-0 trial reporting 0.3 at step 1 meets only bracket 0's 0.5: keep 1 of 2,
  //  cut-off 0.3 -> promoted (with bracket 1's 0.1 it would have been pruned)
  trials.push_back(trial(b0[1], TrialState::kRunning, {}));
  CHECK_FALSE(replay(hb, trials, {{1, 0.3}})[0].prune);
  const auto d = replay(hb, trials, {{1, 0.6}});
  REQUIRE(d[0].prune);
  CHECK(d[0].reason == "bracket 0: 0.6 not in the best 1 of 2 at rung 0 (step 1) (cut-off 0.5)");
  //  a bracket-1 trial's first rung is at step 3: nothing at step 1, however bad
  trials.back() = trial(b1[1], TrialState::kRunning, {});
  CHECK_FALSE(replay(hb, trials, {{1, 9.0}})[0].prune);
  CHECK(replay(hb, trials, {{3, 9.0}})[0].prune);

  // max_resource auto: unknown until a trial completed (no brackets, no pruning), then the
  // last step of the longest COMPLETE trial + 1.
  HyperbandOptions automatic;
  const HyperbandPruner hb_auto(automatic);
  std::vector<Trial> none = {trial(0, TrialState::kRunning, {{1, 1.0}})};
  CHECK_FALSE(hb_auto.brackets(StudyView(Direction::kMinimize, none)));
  std::vector<Trial> one = {trial(0, TrialState::kComplete, {{25, 1.0}, {26, 1.0}})};
  REQUIRE(hb_auto.brackets(StudyView(Direction::kMinimize, one)));
  CHECK(hb_auto.brackets(StudyView(Direction::kMinimize, one))(7) ==
        HyperbandPruner::bracket_of(shares, 7));  // 26 + 1 = 27: the same 4 brackets
}

TEST_CASE("pruner options are checked with JSON paths", "[samplers][pruner]") {
  auto issues = [](auto read, const char* json) {
    SpecChecker c;
    read(OrderedJson::parse(json), std::string("pruner"), c);
    std::vector<std::string> out;
    for (const auto& i : c.take()) out.push_back(i.to_string());
    return out;
  };
  auto asha = [](const OrderedJson& j, const std::string& p, SpecChecker& c) {
    read_successive_halving_options(j, p, c);
  };
  auto hb = [](const OrderedJson& j, const std::string& p, SpecChecker& c) {
    read_hyperband_options(j, p, c);
  };
  auto pct = [](const OrderedJson& j, const std::string& p, SpecChecker& c) {
    read_percentile_options(j, p, true, c);
  };
  auto thr = [](const OrderedJson& j, const std::string& p, SpecChecker& c) {
    read_threshold_options(j, p, c);
  };
  CHECK(issues(asha, R"({"reduction_factor": 1})") ==
        std::vector<std::string>{"pruner.reduction_factor: must be between 2 and 1000, got 1"});
  CHECK(issues(asha, R"({"min_resource": "soon"})").size() == 1);
  CHECK(issues(asha, R"({"bootstrap_count": 2})") ==
        std::vector<std::string>{"pruner.bootstrap_count: needs an explicit integer "
                                 "\"min_resource\" (not \"auto\"), as in Optuna"});
  CHECK(issues(asha, R"({"min_resource": 2, "bootstrap_count": 2})").empty());
  CHECK(issues(hb, R"({"min_resource": 9, "max_resource": 3})") ==
        std::vector<std::string>{"pruner.max_resource: must be >= min_resource (9), got 3"});
  CHECK(issues(hb, R"({"max_resource": "auto", "reduction_factor": 3})").empty());
  CHECK(issues(pct, R"({})") == std::vector<std::string>{"pruner.percentile: is required"});
  CHECK(issues(pct, R"({"percentile": 120})") ==
        std::vector<std::string>{"pruner.percentile: must be between 0 and 100, got 120"});
  CHECK(issues(pct, R"({"percentile": 10, "interval_steps": 0})").size() == 1);
  CHECK(issues(thr, R"({})").size() == 1);
  CHECK(issues(thr, R"({"lower": 2, "upper": 1})") ==
        std::vector<std::string>{"pruner.lower: must be <= upper (1), got 2"});
}

}  // namespace hpo
