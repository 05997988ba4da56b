// The read-only commands on a seeded results database: trials with filters, show, status (and
// --watch while another process writes), best with --spec, compare across databases, export.
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>

#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/integration/seeded_study.h"
#include "tests/support/temp_dir.h"

namespace bp = boost::process;
namespace fs = std::filesystem;
using hpo::testing::add_complete_trial;
using hpo::testing::read_file;
using hpo::testing::run_hpo;
using hpo::testing::seed_study;
using hpo::testing::TempDir;
using hpo::testing::wait_for;
using hpo::testing::write_file;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The CSV header's cells.
std::vector<std::string> header_of(const std::string& csv) {
  std::vector<std::string> out;
  std::istringstream in(csv.substr(0, csv.find('\n')));
  for (std::string cell; std::getline(in, cell, ',');) out.push_back(cell);
  return out;
}

}  // namespace

TEST_CASE("hpo trials filters by state and where-expressions, sorts, limits and picks columns",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "s");

  auto all = json::parse(run_hpo({"trials", "s", "--format", "json"}, dir.path()).out);
  REQUIRE(all.size() == 29);
  // Intermediate values are numbers in step order, with the best beside the final value.
  REQUIRE(all[0]["intermediate"].size() == 5);
  CHECK(all[0]["intermediate"][0]["step"] == 1);
  CHECK(all[0]["intermediate"][4]["step"] == 5);
  CHECK(all[0]["best_intermediate"]["step"] == 5);
  CHECK(all[0]["metrics"].contains("acc"));

  auto momentum = run_hpo({"trials", "s", "--where", "opt = momentum", "--where", "x > -1",
                           "--state", "COMPLETE", "--format", "json"},
                          dir.path());
  REQUIRE(momentum.exit_code == 0);
  const auto kept = json::parse(momentum.out);
  CHECK_FALSE(kept.empty());
  int expected = 0;
  for (const auto& t : all)
    if (t["state"] == "COMPLETE" && t["params"]["opt"] == "momentum" &&
        t["params"]["x"].get<double>() > -1)
      ++expected;
  CHECK(kept.size() == static_cast<std::size_t>(expected));
  for (const auto& t : kept) CHECK(t["params"].contains("m"));

  // A conditional parameter absent from a trial never matches.
  auto with_m = json::parse(
      run_hpo({"trials", "s", "--where", "m >= 0", "--format", "json"}, dir.path()).out);
  for (const auto& t : with_m) CHECK(t["params"]["opt"] == "momentum");

  auto sorted = json::parse(run_hpo({"trials", "s", "--sort", "value", "--limit", "3", "--format",
                                     "json", "--columns", "number,value"},
                                    dir.path())
                                .out);
  REQUIRE(sorted.size() == 3);
  CHECK(sorted[0].size() == 2);
  CHECK(sorted[0]["value"].get<double>() <= sorted[1]["value"].get<double>());
  // --sort value --limit N reads the best N from storage's value index: the same trials, in
  // the same order, as sorting them all, with or without a state, and when fewer than N trials
  // have a value (the valueless ones follow in number order).
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, {"--state", "COMPLETE"}, {"--state", "PRUNED"}}) {
    std::vector<std::string> full_args = {"trials", "s", "--sort", "value", "--format", "json"};
    full_args.insert(full_args.end(), extra.begin(), extra.end());
    const auto full = json::parse(run_hpo(full_args, dir.path()).out);
    for (std::size_t n : {std::size_t{1}, std::size_t{4}, full.size(), full.size() + 3}) {
      std::vector<std::string> args = full_args;
      args.insert(args.end(), {"--limit", std::to_string(n)});
      const auto bounded = json::parse(run_hpo(args, dir.path()).out);
      INFO("limit " << n);
      REQUIRE(bounded.size() == std::min(n, full.size()));
      for (std::size_t i = 0; i < bounded.size(); ++i) CHECK(bounded[i] == full[i]);
    }
  }

  auto table =
      run_hpo({"trials", "s", "--columns", "number,x,acc,state", "--sort", "duration"}, dir.path());
  REQUIRE(table.exit_code == 0);
  CHECK(lines_of(table.out)[0].find("#  ") == 0);
  CHECK(table.out.find("acc") != std::string::npos);
  // The FAIL reason is not valid UTF-8 and holds an escape sequence: shown escaped.
  auto failed = run_hpo({"trials", "s", "--state", "fail"}, dir.path());
  CHECK(failed.out.find('\x1b') == std::string::npos);
  CHECK(failed.out.find("\\x1b[31mred") != std::string::npos);

  auto csv = run_hpo({"trials", "s", "--format", "csv"}, dir.path());
  const auto header = header_of(csv.out);
  for (const char* col : {"params_x", "params_m", "metrics_acc", "intermediate_1", "intermediate_5",
                          "best_intermediate"})
    CHECK(std::find(header.begin(), header.end(), col) != header.end());
}

TEST_CASE("hpo trials explains a bad filter, sort, column or state with exit 2",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "s", {.complete = 3, .extras = false});
  auto bad_op = run_hpo({"trials", "s", "--where", "x => 3"}, dir.path());
  CHECK(bad_op.exit_code == 2);
  CHECK(bad_op.err.find("--where: 'x => 3': expected one of =, !=, <, <=, >, >= after 'x'") !=
        std::string::npos);
  auto unknown = run_hpo({"trials", "s", "--where", "lrr < 0.1"}, dir.path());
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("did you mean \"lr\"") != std::string::npos);
  // A value the parameter can never hold is a mistake, not an empty list.
  auto word = run_hpo({"trials", "s", "--where", "lr < abc"}, dir.path());
  CHECK(word.exit_code == 2);
  CHECK(word.err.find("'lr' is a float parameter; compare it with a number") != std::string::npos);
  auto typo = run_hpo({"trials", "s", "--where", "opt = momentun"}, dir.path());
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("'momentun' is not a choice of 'opt' (did you mean \"momentum\"?) "
                      "(choices: sgd, momentum)") != std::string::npos);
  CHECK(run_hpo({"trials", "s", "--sort", "speed"}, dir.path()).exit_code == 2);
  auto col = run_hpo({"trials", "s", "--columns", "number,valeu"}, dir.path());
  CHECK(col.exit_code == 2);
  CHECK(col.err.find("unknown column 'valeu' (did you mean \"value\"?)") != std::string::npos);
}

TEST_CASE("hpo show prints a trial's values, curve, attempts, logs and stderr tail",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "s", {.complete = 4});
  auto shown = run_hpo({"show", "s", "2"}, dir.path());
  REQUIRE(shown.exit_code == 0);
  for (const char* text : {"trial:     #2  COMPLETE", "best intermediate", "intermediate (5 steps",
                           "location:  pgid:1002@test",
                           "params:", "  batch = ", "metrics:", "stdout.log (9 bytes)", "command:"})
    CHECK(shown.out.find(text) != std::string::npos);
  CHECK(shown.out.find("▁") != std::string::npos);

  // The FAIL trial (#4): its reason and the last lines of its stderr.log, escaped.
  auto failed = run_hpo({"show", "s", "4", "--lines", "2"}, dir.path());
  REQUIRE(failed.exit_code == 0);
  CHECK(failed.out.find("reason:    exit status 3") != std::string::npos);
  CHECK(failed.out.find("stderr.log, last 2 lines:") != std::string::npos);
  CHECK(failed.out.find("  | ValueError: exploded \xEF\xBF\xBD\\x1b[31mred") != std::string::npos);
  CHECK(failed.out.find("Traceback") == std::string::npos);

  // The retried trial: #6 FAIL interrupted, #7 its WAITING retry.
  auto retry = json::parse(run_hpo({"show", "s", "7", "--format", "json"}, dir.path()).out);
  CHECK(retry["retry_of"] == 6);
  CHECK(retry["attempt"] == 1);
  REQUIRE(retry["attempts"].size() == 2);
  CHECK(retry["attempts"][0]["reason"] == "interrupted");
  auto lineage = run_hpo({"show", "s", "6"}, dir.path());
  CHECK(lineage.out.find("attempts:  #6 FAIL -> #7 WAITING") != std::string::npos);

  auto missing = run_hpo({"show", "s", "99"}, dir.path());
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no trial #99 (trials #0 to #8)") != std::string::npos);
  CHECK(run_hpo({"show", "s", "x"}, dir.path()).exit_code == 2);
}

TEST_CASE("status, trials, best and show find the database and study through --spec",
          "[integration][results]") {
  TempDir dir;
  fs::create_directories(dir / "results");
  seed_study(dir / "results" / "r.db", "specced", {.complete = 5, .extras = false});
  write_file(dir / "study.json",
             R"({"name": "specced", "direction": "minimize", "objective": {"metric": "loss"},
                 "space": {"x": {"type": "float", "low": -5, "high": 5}},
                 "storage": "results/r.db",
                 "executor": {"kind": "subprocess", "command": ["/bin/true"]}})");
  auto status = run_hpo({"status", "--spec", "study.json"}, dir.path());
  REQUIRE(status.exit_code == 0);
  CHECK(status.out.find("specced") != std::string::npos);
  CHECK(status.out.find("tpe (seed 42)") != std::string::npos);
  CHECK(status.out.find("5/40 (12%)") != std::string::npos);
  CHECK(run_hpo({"trials", "--spec", "study.json"}, dir.path()).exit_code == 0);
  CHECK(run_hpo({"best", "--spec", "study.json"}, dir.path()).out.find("trial:") !=
        std::string::npos);
  CHECK(run_hpo({"show", "--spec", "study.json", "1"}, dir.path()).exit_code == 0);
  auto nothing = run_hpo({"trials"}, dir.path());
  CHECK(nothing.exit_code == 2);
  CHECK(nothing.err.find("name a study, or give --spec FILE") != std::string::npos);
}

TEST_CASE("hpo status --watch redraws while another process adds trials",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "w", {.complete = 2, .extras = false});
  const auto out = dir / "watch.out";
  bp::child watch(std::string(HPO_BIN), bp::args({"status", "--watch", "--interval", "0.1"}),
                  bp::std_out > out.string(), bp::std_err > bp::null, bp::std_in < bp::null,
                  bp::start_dir(dir.path().string()));
  REQUIRE(wait_for([&] { return read_file(out).find("2/40 (5%)") != std::string::npos; }));
  add_complete_trial(dir / "hpo.db", "w", 1.0);  // the best possible x
  CHECK(wait_for([&] { return read_file(out).find("3/40 (7%)") != std::string::npos; }));
  const std::string text = read_file(out);
  CHECK(text.find("--- ") != std::string::npos);  // not a terminal: snapshots one after another
  CHECK(std::regex_search(
      text, std::regex("w +minimize loss +tpe \\(seed 42\\) +3/40 \\(7%\\) +3 +3 .* #2")));
  ::kill(watch.id(), SIGINT);
  watch.wait();
  CHECK(watch.exit_code() == 0);
}

TEST_CASE("hpo compare puts studies side by side, also from another database",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "tpe-study",
             {.complete = 30, .extras = false, .sampler = "tpe", .seed = 1});
  seed_study(dir / "other.db", "random-study",
             {.complete = 12, .extras = true, .sampler = "random", .seed = 2});
  auto r = run_hpo({"compare", "tpe-study", "other.db:random-study"}, dir.path());
  REQUIRE(r.exit_code == 0);
  const auto rows = lines_of(r.out);
  auto row = [&](const std::string& label) {
    for (const auto& l : rows)
      if (l.rfind(label, 0) == 0) return l;
    return std::string();
  };
  CHECK(row("sampler").find("tpe (seed 42)") != std::string::npos);
  CHECK(row("sampler").find("random (seed 42)") != std::string::npos);
  CHECK(row("storage").find("other.db") != std::string::npos);
  CHECK(row("  FAIL").find("2") != std::string::npos);
  CHECK(row("best value").find("*") != std::string::npos);
  CHECK(std::regex_search(row("best of first 25"), std::regex("[0-9.]+ .*-")));  // 17 < 25 trials
  CHECK_FALSE(row("best lr").empty());
  CHECK_FALSE(row("wall time").empty());
  CHECK_FALSE(row("time per trial").empty());

  auto j = json::parse(
      run_hpo({"compare", "tpe-study", "other.db:random-study", "--format", "json"}, dir.path())
          .out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["counts"]["COMPLETE"] == 30);
  CHECK(j[1]["counts"]["total"] == 17);
  CHECK(j[0]["best_at"]["25"].is_number());
  CHECK(j[1]["best_at"]["25"].is_null());
  CHECK(j[0]["best"]["params"].contains("x"));

  auto missing = run_hpo({"compare", "tpe-study", "nowhere.db:x"}, dir.path());
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no results database at 'nowhere.db'") != std::string::npos);
}

TEST_CASE("hpo export writes CSV and JSON tables and never overwrites without --force",
          "[integration][results]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "e", {.complete = 6});
  auto csv = run_hpo({"export", "e", "--format", "csv", "-o", "e.csv"}, dir.path());
  REQUIRE(csv.exit_code == 0);
  const std::string text = read_file(dir / "e.csv");
  CHECK(std::count(text.begin(), text.end(), '\n') >=
        12);  // header + 11 trials (one reason has no newline)
  CHECK(header_of(text)[0] == "number");
  auto json_out = run_hpo({"export", "e", "--format", "json", "-o", "e.json"}, dir.path());
  REQUIRE(json_out.exit_code == 0);
  const auto records = nlohmann::ordered_json::parse(read_file(dir / "e.json"));
  REQUIRE(records.size() == 11);
  CHECK(records[0].begin().key() == "number");  // columns in table order
  CHECK(records[0]["params_x"].is_number());
  CHECK(records[6]["value"].is_null());  // FAIL

  write_file(dir / "e.csv", "keep me");
  auto refused = run_hpo({"export", "e", "--format", "csv", "-o", "e.csv"}, dir.path());
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("'e.csv' exists; give --force") != std::string::npos);
  CHECK(read_file(dir / "e.csv") == "keep me");
  CHECK(
      run_hpo({"export", "e", "--format", "csv", "-o", "e.csv", "--force"}, dir.path()).exit_code ==
      0);
  CHECK(read_file(dir / "e.csv") != "keep me");
  CHECK(run_hpo({"export", "e", "--format", "xml", "-o", "e.xml"}, dir.path()).exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "e.xml"));
  auto to_stdout = run_hpo({"export", "e", "--format", "csv", "-o", "-"}, dir.path());
  CHECK(to_stdout.out.rfind("number,state,value", 0) == 0);

  // pandas reads both as they are, to the same frame.
  if (std::system("/usr/bin/python3 -c 'import pandas' 2>/dev/null") != 0) {
    WARN("python3-pandas is not installed: skipping the pandas check");
    return;
  }
  write_file(dir / "check.py", R"(
import pandas as pd, sys
c = pd.read_csv("e.csv"); j = pd.read_json("e.json")
assert list(c.columns) == list(j.columns), (list(c.columns), list(j.columns))
assert c.shape == (11, len(c.columns)), c.shape
for col in ["value", "params_x", "params_m", "intermediate_1", "metrics_acc"]:
    assert c[col].dtype == "float64", (col, c[col].dtype)
assert c["params_m"].isna().any() and c["params_m"].notna().any()
assert (c["number"] == j["number"]).all()
print("pandas ok", c.shape)
)");
  bp::ipstream out;
  bp::child py("/usr/bin/python3", bp::args({"check.py"}), bp::start_dir(dir.path().string()),
               bp::std_out > out, bp::std_err > bp::null);
  std::string line;
  std::getline(out, line);
  py.wait();
  CHECK(py.exit_code() == 0);
  CHECK(line.rfind("pandas ok", 0) == 0);
}
