// What a trial program, a spec or a neighbour may do to `hpo run`, tried as an attacker and a
// careless user would (issue "hardening"): each case is a repro of something that once hung hpo,
// exhausted it, wrote where it must not, or mixed two studies, and checks what must happen now.
// The trials here are small shell scripts (the test's own choice; hpo itself never uses a shell).
#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"
#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::stored_trials;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

// A study whose one trial runs `script` with /bin/sh.
std::string shell_spec(const std::string& name, const std::string& script,
                       const std::string& extra = "{}") {
  nlohmann::json spec = {
      {"name", name},
      {"direction", "minimize"},
      {"objective", {{"metric", "loss"}}},
      {"space", {{"x", {{"type", "float"}, {"low", 0}, {"high", 1}}}}},
      {"budget", {{"trials", 1}, {"max_failed_trials", 1}}},
      {"executor", {{"command", {"/bin/sh", "-c", script, "trial", "{x}"}}, {"timeout", "30s"}}}};
  spec.merge_patch(nlohmann::json::parse(extra));
  return spec.dump(2);
}

std::string only_reason(const fs::path& db, const std::string& study) {
  const auto trials = stored_trials(db, study);
  REQUIRE(trials.size() == 1);
  CHECK(trials[0].state == hpo::TrialState::kFail);
  return trials[0].reason;
}

// Processes of this user whose environment names a trial directory under `root`.
int processes_of_trials_under(const fs::path& root) {
  const std::string prefix = "HPO_TRIAL_DIR=" + root.string();
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    if (line[line.rfind(')') + 2] == 'Z') continue;  // a zombie holds nothing
    std::ifstream env(entry.path() / "environ", std::ios::binary);
    for (std::string var; std::getline(env, var, '\0');)
      if (var.rfind(prefix, 0) == 0) {
        ++n;
        break;
      }
  }
  return n;
}

}  // namespace

TEST_CASE("a result file that is a FIFO, a link to /dev/zero, huge, a directory or out of range "
          "fails its trial",
          "[integration][hardening]") {
  TempDir dir;
  struct Case {
    const char* study;
    const char* script;
    const char* reason;
  };
  const Case cases[] = {
      {"fifo", "mkfifo \"$HPO_RESULT_FILE\"; echo loss=1", "is a FIFO, not a regular file"},
      {"zero", "ln -s /dev/zero \"$HPO_RESULT_FILE\"; echo loss=1", "is a symbolic link (refused)"},
      {"huge", "head -c 17000000 /dev/zero > \"$HPO_RESULT_FILE\"; echo loss=1",
       "is larger than 16 MiB"},
      {"folder", "mkdir \"$HPO_RESULT_FILE\"; echo loss=1", "is a directory, not a regular file"},
      // Found by tests/fuzz/result_file_fuzz: this stopped hpo with an internal error and left
      // the trial RUNNING. ({{ }} are literal braces in a command.)
      {"overflow", "printf '{{\"loss\": 1e400}}' > \"$HPO_RESULT_FILE\"",
       "is not a metrics object (number out of range: 1e400)"},
  };
  for (const auto& c : cases) {
    INFO(c.study);
    write_file(dir / "study.json", shell_spec(c.study, c.script));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_hpo({"run", "study.json", "--progress", "plain"}, dir.path());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));  // no hang
    INFO(r.err);
    CHECK(r.exit_code == 1);  // max_failed_trials reached
    const std::string reason = only_reason(dir / "hpo.db", c.study);
    CHECK(reason.find(std::string("HPO_RESULT_FILE ")) != std::string::npos);
    CHECK(reason.find(c.reason) != std::string::npos);
  }
}

TEST_CASE("a trials directory prepared by someone else is refused and nothing is written there",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("trap", "ok", R"({"budget": {"trials": 2}})"));
  // Another user's trick: the first trial's log is a link to one of our files.
  const fs::path victim = write_file(dir / "victim.txt", "precious\n");
  fs::create_directories(dir / "trap-trials" / "0");
  fs::create_symlink(victim, dir / "trap-trials" / "0" / "stdout.log");
  auto r = run_hpo({"run", "study.json"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("already holds files") != std::string::npos);
  CHECK(hpo::testing::read_file(victim) == "precious\n");
  CHECK_FALSE(fs::exists(dir / "hpo.db"));

  if (::geteuid() == 0) {
    // An empty trials directory owned by another user: hpo does not create trials in it.
    fs::remove_all(dir / "trap-trials");
    fs::create_directories(dir / "trap-trials");
    REQUIRE(::chown((dir / "trap-trials").c_str(), 65534, 65534) == 0);
    r = run_hpo({"run", "study.json"}, dir.path());
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("belongs to another user") != std::string::npos);
    CHECK(fs::is_empty(dir / "trap-trials"));
  }
}

TEST_CASE("a deleted database's trial directories are not reused by a new study of that name",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("again", "ok", R"({"budget": {"trials": 2}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  fs::remove(dir / "hpo.db");
  auto r = run_hpo({"run", "study.json"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("already holds files") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "hpo.db"));
  // The same study continued from its own database is fine.
  fs::remove_all(dir / "again-trials");
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  REQUIRE(run_hpo({"run", "study.json", "--trials", "3"}, dir.path()).exit_code == 0);
  CHECK(stored_trials(dir / "hpo.db", "again").size() == 3);
}

TEST_CASE("processes that leave the trial's process group are killed with the trial",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json",
             shell_spec("escape", "setsid sleep 300 & sleep 300 & echo loss=$1", R"({"executor":
               {"timeout": "30s"}})"));
  auto r = run_hpo({"run", "study.json"}, dir.path());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(processes_of_trials_under(dir / "escape-trials") == 0);
}

TEST_CASE("several runs of one seeded study started together never run a parameter set twice",
          "[integration][hardening]") {
  namespace bp = boost::process;
  TempDir dir;
  write_file(dir / "study.json", objective_spec("together", "ok",
                                                R"({"budget": {"trials": 24}, "parallelism": 2})"));
  // The first run creates the study; the others join it at once.
  REQUIRE(run_hpo({"run", "study.json", "--trials", "1"}, dir.path()).exit_code == 0);
  std::vector<bp::child> runs;
  for (int i = 0; i < 3; ++i)
    runs.emplace_back(std::string(HPO_BIN), bp::args({"run", "study.json", "--progress", "none"}),
                      bp::start_dir(dir.path().string()),
                      bp::std_out > (dir / ("out" + std::to_string(i))).string(),
                      bp::std_err > bp::null, bp::std_in < bp::null);
  int complete_by_runs = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    runs[i].wait();
    CHECK(runs[i].exit_code() == 0);
    // Each run's summary says the study's count and, when other runs shared the work, its own.
    const std::string out = hpo::testing::read_file(dir / ("out" + std::to_string(i)));
    INFO(out);
    CHECK(out.find("study together: 24 COMPLETE") != std::string::npos);
    const auto mine = out.find("this run: ");
    complete_by_runs += mine == std::string::npos ? 24 : std::stoi(out.substr(mine + 10));
  }
  CHECK(complete_by_runs == 23);  // the first run made one
  const auto trials = stored_trials(dir / "hpo.db", "together");
  std::set<std::string> distinct;
  int complete = 0;
  for (const auto& t : trials) {
    distinct.insert(hpo::params_to_json(t.params).dump());
    complete += t.state == hpo::TrialState::kComplete;
  }
  CHECK(complete == 24);
  CHECK(distinct.size() == trials.size());
}

TEST_CASE("text that is not UTF-8, or that holds terminal escapes, is stored and shown safely",
          "[integration][hardening]") {
  TempDir dir;
  // A database in a directory whose name is not UTF-8, a reason with an escape sequence and
  // bytes that are not UTF-8.
  const fs::path odd = dir / "db\xff";
  fs::create_directories(odd);
  write_file(odd / "study.json",
             shell_spec("odd", "printf '\\033[31mred \\377 alert\\n' >&2; exit 3"));
  auto r = run_hpo({"run", "study.json"}, odd);
  CHECK(r.exit_code == 1);
  auto json = run_hpo({"trials", "odd", "--format", "json", "--storage", "hpo.db"}, odd);
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  const auto doc = nlohmann::json::parse(json.out);  // valid JSON, valid UTF-8
  REQUIRE(doc.size() == 1);
  const std::string reason = doc[0]["reason"].get<std::string>();
  CHECK(reason.find("\\x1b[31mred") != std::string::npos);
  CHECK(reason.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD for the stray byte
  auto table = run_hpo({"trials", "odd", "--storage", "hpo.db"}, odd);
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find('\x1b') == std::string::npos);
  auto best = run_hpo({"best", "odd", "--format", "json", "--storage", "hpo.db"}, odd);
  CHECK(best.exit_code != 0);  // no COMPLETE trial, said plainly
  CHECK(best.err.find("internal error") == std::string::npos);
}

TEST_CASE("command-line limits: parallelism as the spec's, stale-after over several heartbeats",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("limits"));
  auto r = run_hpo({"run", "study.json", "--parallelism", "100000"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--parallelism: must be between 1 and 1024, got 100000") != std::string::npos);
  r = run_hpo({"run", "study.json", "--heartbeat", "2s", "--stale-after", "3s"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--stale-after: must be at least 3 heartbeats") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "hpo.db"));
}

TEST_CASE("a resource limit hit by every trial stops the run at exactly max_failed_trials",
          "[integration][hardening]") {
  namespace bp = boost::process;
  TempDir dir;
  write_file(dir / "study.json",
             objective_spec("starved", "ok",
                            R"({"budget": {"trials": 50, "max_failed_trials": 3,
                                           "fail_fast": 0},
                                "parallelism": 8})"));
  // Few open files: spawns fail for lack of descriptors. How few depends on what the process
  // inherits, so lower the limit until trials fail but hpo itself still starts. (The shell only
  // sets the limit; hpo runs under it.)
  bool seen = false;
  for (int limit = 12; limit <= 24 && !seen; ++limit) {
    fs::remove_all(dir / "starved-trials");
    fs::remove(dir / "hpo.db");
    bp::child child("/bin/sh",
                    bp::args({"-c", "ulimit -n " + std::to_string(limit) +
                                        " && exec \"$0\" run study.json",
                              std::string(HPO_BIN)}),
                    bp::start_dir(dir.path().string()), bp::std_out > bp::null,
                    bp::std_err > (dir / "err").string(), bp::std_in < bp::null);
    child.wait();
    const std::string err = hpo::testing::read_file(dir / "err");
    if (err.find("max_failed_trials") == std::string::npos) {
      // Too few for hpo to start: it says why, plainly, and exits 1.
      if (child.exit_code() != 0) {
        CHECK(err.find("internal error") == std::string::npos);
        CHECK(err.find("Too many open files") != std::string::npos);
      }
      continue;
    }
    seen = true;
    INFO("ulimit -n " << limit << ": " << err);
    CHECK(child.exit_code() == 1);
    int failed = 0;
    for (const auto& t : stored_trials(dir / "hpo.db", "starved"))
      failed += t.state == hpo::TrialState::kFail;
    CHECK(failed == 3);
    CHECK(err.find("max_failed_trials (3) reached") != std::string::npos);
    CHECK(err.find("a resource limit was hit") != std::string::npos);
  }
  CHECK(seen);
}

TEST_CASE("hpo enqueue refuses duplicate keys, unclosed quotes and too-deep JSON, a BOM is fine",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("queue", "ok", R"({"budget": {"trials": 1}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  auto r = run_hpo({"enqueue", "queue", "--params", R"({"x": 1, "y": 2, "x": 3})"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("duplicate key \"x\"") != std::string::npos);
  r = run_hpo({"enqueue", "queue", "--params", std::string(200, '[') + std::string(200, ']')},
              dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nested deeper than 64 levels") != std::string::npos);
  r = run_hpo({"enqueue", "queue", "--params", R"({"x": 1e400})"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--params: is refused: number out of range: 1e400") != std::string::npos);
  write_file(dir / "bom.csv", "\xef\xbb\xbfx,y\n0.5,1.5\n");
  r = run_hpo({"enqueue", "queue", "--file", "bom.csv"}, dir.path());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  write_file(dir / "open.csv", "x,y\n\"0.5,1.5\n");
  r = run_hpo({"enqueue", "queue", "--file", "open.csv"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("open.csv:2: has a quoted cell that is not closed") != std::string::npos);
  // A typo in the header is one error, not one per row after it.
  write_file(dir / "typo.csv", "xx,y\n0.5,1.5\n0.1,0.2\n");
  r = run_hpo({"enqueue", "queue", "--file", "typo.csv"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown parameter \"xx\" (did you mean \"x\"?)") != std::string::npos);
  CHECK(r.err.find("typo.csv:2") == std::string::npos);
  CHECK(stored_trials(dir / "hpo.db", "queue").size() == 2);  // the first run's, and the BOM's
}

TEST_CASE("hpo validate never loads a plugin library, hpo run does", "[integration][hardening]") {
  TempDir dir;
  const fs::path plugin =
      fs::path(HPO_BUILD_DIR) / "tests" / "executors" / "libhpo_test_plugin.so";
  REQUIRE(fs::exists(plugin));
  const fs::path mark = dir / "loaded";
  const std::map<std::string, std::string> env = {{"HPO_TEST_PLUGIN_LOAD_MARK", mark.string()}};
  nlohmann::json spec = {
      {"name", "plugin"},
      {"direction", "minimize"},
      {"objective", {{"metric", "loss"}}},
      {"space", {{"script", {{"type", "categorical"}, {"choices", {"out\nloss=1\nexit\n0"}}}}}},
      {"budget", {{"trials", 1}}},
      {"executor",
       {{"kind", "threads"}, {"library", plugin.string()}, {"symbol", "script_objective"}}}};
  write_file(dir / "study.json", spec.dump(2));
  auto r = run_hpo({"validate", "study.json"}, dir.path(), env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(fs::exists(mark));  // the library's initialisers did not run
  // A library that is not a regular file is refused by validate, still without loading it.
  spec["executor"]["library"] = dir.path().string();
  write_file(dir / "folder.json", spec.dump(2));
  r = run_hpo({"validate", "folder.json"}, dir.path(), env);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("executor.library: '" + dir.path().string() + "' is not a regular file") !=
        std::string::npos);
  r = run_hpo({"run", "study.json"}, dir.path(), env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(mark));  // loading waits for the run
}

TEST_CASE("a run stopped by SIGSTOP is paused, not dead: a second run leaves its trial alone",
          "[integration][hardening]") {
  namespace bp = boost::process;
  TempDir dir;
  // Trials of 2 s; heartbeats every second, stale after 3: the pause below lasts longer.
  write_file(dir / "study.json", shell_spec("paused", "sleep 2; echo loss=$1",
                                            R"({"budget": {"trials": 4, "max_failed_trials": 4},
                                                "sampler": {"name": "random", "seed": 3}})"));
  const std::vector<std::string> flags = {"--heartbeat", "1s", "--stale-after", "3s",
                                          "--progress", "plain"};
  std::vector<std::string> args = {"run", "study.json"};
  args.insert(args.end(), flags.begin(), flags.end());
  bp::child first(std::string(HPO_BIN), bp::args(args), bp::start_dir(dir.path().string()),
                  bp::std_out > bp::null, bp::std_err > (dir / "first.err").string(),
                  bp::std_in < bp::null);
  REQUIRE(hpo::testing::wait_for(
      [&] { return hpo::testing::running_and_started(dir / "hpo.db", "paused") == 1; }));
  REQUIRE(::kill(first.id(), SIGSTOP) == 0);  // as Ctrl-Z does
  bp::child second(std::string(HPO_BIN), bp::args(args), bp::start_dir(dir.path().string()),
                   bp::std_out > bp::null, bp::std_err > (dir / "second.err").string(),
                   bp::std_in < bp::null);
  // The second run finishes three trials of 2 s while the first stays stopped: a pause of
  // 6 s or more, twice the 3 s after which a lease on another host would count as stale.
  const bool three_done = hpo::testing::wait_for(
      [&] {
        int complete = 0;
        for (const auto& t : stored_trials(dir / "hpo.db", "paused"))
          complete += t.state == hpo::TrialState::kComplete;
        return complete >= 3;
      },
      std::chrono::seconds(40));
  REQUIRE(::kill(first.id(), SIGCONT) == 0);
  first.wait();
  second.wait();
  REQUIRE(three_done);
  const std::string second_err = hpo::testing::read_file(dir / "second.err");
  INFO("second: " << second_err);
  INFO("first: " << hpo::testing::read_file(dir / "first.err"));
  CHECK(second.exit_code() == 0);
  CHECK(first.exit_code() == 0);
  CHECK(second_err.find("re-queued") == std::string::npos);
  const auto trials = stored_trials(dir / "hpo.db", "paused");
  CHECK(trials.size() == 4);
  for (const auto& t : trials) {
    INFO("trial " << t.number << ": " << t.reason);
    CHECK(t.state == hpo::TrialState::kComplete);
    CHECK(t.attempt == 0);
  }
}

TEST_CASE("hpo show reads a trial's logs only when they are regular files, and only their end",
          "[integration][hardening]") {
  TempDir dir;
  // Trial 0 leaves a FIFO for stderr.log (opening it would block), trial 1 a link to
  // /dev/zero (it never ends), trial 2 a log of 1 MB without a line break and a last line.
  write_file(dir / "study.json",
             shell_spec("logs",
                        "cd \"$HPO_TRIAL_DIR\" && rm stderr.log && case $HPO_TRIAL_NUMBER in "
                        "0) mkfifo stderr.log;; 1) ln -s /dev/zero stderr.log;; "
                        "*) head -c 1000000 /dev/zero | tr '\\0' x > stderr.log; "
                        "printf '\\nthe end\\n' >> stderr.log;; esac; echo loss=$1",
                        R"({"budget": {"trials": 3}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  for (const char* number : {"0", "1"}) {
    INFO("trial " << number);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_hpo({"show", "logs", number}, dir.path());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));  // no hang
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("stderr.log (not a regular file: not read)") != std::string::npos);
    CHECK(r.out.find("last") == std::string::npos);
    r = run_hpo({"show", "logs", number, "--format", "json"}, dir.path());
    CHECK(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["stderr_tail"].empty());
  }
  auto r = run_hpo({"show", "logs", "2"}, dir.path());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("stderr.log, last 1 lines:\n  | the end\n") != std::string::npos);
}

TEST_CASE("infinite metrics are said as Infinity in JSON output, never as null",
          "[integration][hardening]") {
  TempDir dir;
  write_file(dir / "study.json",
             shell_spec("inf", "echo loss=$1 up=inf down=-inf", R"({"budget": {"trials": 1}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  for (const char* command : {"trials", "best"}) {
    auto r = run_hpo({command, "inf", "--format", "json"}, dir.path());
    INFO(command << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out);
    const nlohmann::json& trial = doc.is_array() ? doc.at(0) : doc;
    CHECK(trial["metrics"]["up"] == "Infinity");
    CHECK(trial["metrics"]["down"] == "-Infinity");
    CHECK(trial["value"].is_number());
  }
}

TEST_CASE("hpo validate refuses /dev/zero and a FIFO at once", "[integration][hardening]") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo.json").c_str(), 0600) == 0);
  for (const std::string spec : {std::string("/dev/zero"), (dir / "fifo.json").string()}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_hpo({"validate", spec}, dir.path());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));  // no hang
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("not a regular file") != std::string::npos);
  }
}
