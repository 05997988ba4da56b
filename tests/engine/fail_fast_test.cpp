// FailFast (engine/fail_fast.h): which FAIL reasons are the same broken setup, and when the
// first trials of a run are enough to say so.
#include "engine/fail_fast.h"

#include <catch2/catch.hpp>

namespace hpo::testing {
namespace {

Trial finished(TrialState state, const std::string& reason = "") {
  Trial t;
  t.state = state;
  t.reason = reason;
  return t;
}

std::string key_of(const std::string& reason) {
  const auto c = classify_failure(reason, "rf", "accuracy");
  REQUIRE(c);
  return c->key;
}

TEST_CASE("failures are classed by what is broken, not by the numbers in their reasons",
          "[engine][fail_fast]") {
  // A missing script: the path holds the trial number, the setup is the same.
  CHECK(key_of("exited with status 2; last stderr: python3: can't open file "
               "'/s/rf-trials/1/train_rf.py': [Errno 2] No such file or directory") ==
        key_of("exited with status 2; last stderr: python3: can't open file "
               "'/s/rf-trials/12/train_rf.py': [Errno 2] No such file or directory"));
  // Another exit status, or another last line, is another problem.
  CHECK(key_of("exited with status 1; last stderr: Traceback | KeyError: 'x'") !=
        key_of("exited with status 2; last stderr: Traceback | KeyError: 'x'"));
  CHECK(key_of("exited with status 1; last stderr: Traceback | KeyError: 'x'") !=
        key_of("exited with status 1; last stderr: Traceback | ValueError: bad"));
  // Only the last stderr line counts: earlier ones (a progress bar) may differ.
  CHECK(key_of("exited with status 1; last stderr: epoch 3 | KeyError: 'x'") ==
        key_of("exited with status 1; last stderr: epoch 7 | KeyError: 'x'"));
  // The metric missing, whatever else was reported.
  CHECK(key_of("objective metric 'accuracy' was not reported (reported: acc)") ==
        key_of("objective metric 'accuracy' was not reported (reported: none)"));
  CHECK(key_of("objective metric 'accuracy' is NaN") ==
        key_of("objective metric 'accuracy' is infinite"));
  CHECK(key_of("timed out after 2s") == key_of("timed out after 2s"));
  // An interrupted trial says nothing about the setup.
  CHECK_FALSE(classify_failure("interrupted (the run that ran it stopped)", "rf", "accuracy"));
}

TEST_CASE("the advice names what is broken and how to fix it", "[engine][fail_fast]") {
  auto advice = [](const std::string& reason) {
    return classify_failure(reason, "rf", "accuracy")->advice;
  };
  CHECK_THAT(advice("cannot start './trian.py': No such file or directory"),
             Catch::Contains("cannot be started") && Catch::Contains("executor.command[0]") &&
                 Catch::Contains("./trian.py"));
  CHECK_THAT(advice("objective metric 'accuracy' was not reported (reported: acc)"),
             Catch::Contains("fix objective.metric") && Catch::Contains("reported: acc") &&
                 Catch::Contains("accuracy=<value>"));
  CHECK_THAT(advice("exited with status 3; last stderr: ValueError: exploded"),
             Catch::Contains("exited with status 3") &&
                 Catch::Contains("last stderr line: ValueError: exploded") &&
                 Catch::Contains("hpo show rf NUMBER"));
  CHECK_THAT(advice("timed out after 2s"), Catch::Contains("raise executor.timeout"));
}

TEST_CASE(
    "the first N trials failing alike stop the run once, a success or another failure "
    "disarms it",
    "[engine][fail_fast]") {
  const std::string missing = "objective metric 'accuracy' was not reported (reported: acc)";
  SECTION("N alike") {
    FailFast ff(3, "rf", "accuracy");
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
    // An interrupted trial neither counts nor disarms.
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, "interrupted")));
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
    const auto said = ff.observe(finished(TrialState::kFail, missing));
    REQUIRE(said);
    CHECK_THAT(*said, Catch::StartsWith("the first 3 trials all failed the same way: ") &&
                          Catch::Contains("budget.fail_fast"));
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));  // said once
  }
  SECTION("a COMPLETE trial first") {
    FailFast ff(2, "rf", "accuracy");
    CHECK_FALSE(ff.observe(finished(TrialState::kComplete)));
    for (int i = 0; i < 5; ++i) CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
  }
  SECTION("a PRUNED trial in between") {
    FailFast ff(2, "rf", "accuracy");
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
    CHECK_FALSE(ff.observe(finished(TrialState::kPruned)));
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
  }
  SECTION("two kinds of failure") {
    FailFast ff(2, "rf", "accuracy");
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, "exited with status 1")));
    CHECK_FALSE(ff.observe(finished(TrialState::kFail, missing)));
  }
  SECTION("0 turns it off, 1 stops at the first failure") {
    FailFast off(0, "rf", "accuracy");
    for (int i = 0; i < 5; ++i) CHECK_FALSE(off.observe(finished(TrialState::kFail, missing)));
    FailFast one(1, "rf", "accuracy");
    const auto said = one.observe(finished(TrialState::kFail, missing));
    REQUIRE(said);
    CHECK_THAT(*said, Catch::StartsWith("the first trial failed: "));
  }
}

}  // namespace
}  // namespace hpo::testing
