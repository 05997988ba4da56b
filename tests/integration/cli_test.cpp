// The `hpo` command line as a user meets it: help, validate, exit codes, and the promise that
// a bad spec creates or changes no file.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/hpo_runner.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using hpo::testing::objective_spec;
using hpo::testing::run_hpo;
using hpo::testing::TempDir;
using hpo::testing::write_file;

namespace {

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("hpo --help lists every command and hpo CMD --help explains its options", "[integration][cli]") {
  TempDir dir;
  auto top = run_hpo({"--help"}, dir.path());
  CHECK(top.exit_code == 0);
  for (const char* cmd : {"run", "validate", "status", "trials", "best"})
    CHECK(top.out.find(std::string("  ") + cmd) != std::string::npos);

  auto run = run_hpo({"run", "--help"}, dir.path());
  CHECK(run.exit_code == 0);
  for (const char* opt : {"--storage", "--trials", "--parallelism", "--progress"})
    CHECK(run.out.find(opt) != std::string::npos);
  auto trials = run_hpo({"trials", "--help"}, dir.path());
  CHECK(trials.exit_code == 0);
  for (const char* opt : {"--state", "--sort", "--limit", "--format", "--storage"})
    CHECK(trials.out.find(opt) != std::string::npos);
  CHECK(files_under(dir.path()).empty());
}

TEST_CASE("hpo exits 2 on usage errors", "[integration][cli]") {
  TempDir dir;
  CHECK(run_hpo({}, dir.path()).exit_code == 2);
  auto unknown = run_hpo({"frobnicate"}, dir.path());
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);
  auto missing = run_hpo({"run"}, dir.path());
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("spec") != std::string::npos);
  auto bad_opt = run_hpo({"trials", "s", "--bogus"}, dir.path());
  CHECK(bad_opt.exit_code == 2);
  CHECK(files_under(dir.path()).empty());
}

TEST_CASE("hpo validate accepts a good spec and touches nothing", "[integration][cli]") {
  TempDir dir;
  write_file(dir / "study.json", objective_spec("good"));
  auto before = files_under(dir.path());
  auto r = run_hpo({"validate", "study.json"}, dir.path());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok") != std::string::npos);
  CHECK(files_under(dir.path()) == before);
}

TEST_CASE("hpo validate rejects every bad spec with its JSON path, exit 2, and no file written", "[integration][cli]") {
  // The same data files as the parser's unit test: tests/data/specs/bad/NN-name.json with
  // NN-name.expect beside it (line 1: exit code; then substrings of the error output).
  const fs::path bad_dir = fs::path(HPO_SPECS_DIR) / "bad";
  REQUIRE(fs::is_directory(bad_dir));
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(bad_dir)) {
    if (entry.path().extension() != ".json") continue;
    fs::path expect_path = entry.path();
    expect_path.replace_extension(".expect");
    std::ifstream expect(expect_path);
    REQUIRE(expect.good());
    std::string line;
    std::getline(expect, line);
    const int expected_code = std::stoi(line);
    TempDir dir;
    // The spec and the files it names (a Job template: NN-name.yaml).
    std::size_t copied = 0;
    for (const auto& file : fs::directory_iterator(bad_dir)) {
      if (file.path().stem() != entry.path().stem() || file.path().extension() == ".expect")
        continue;
      fs::copy_file(file.path(), dir / file.path().filename().string());
      ++copied;
    }
    auto r = run_hpo({"validate", entry.path().filename().string()}, dir.path());
    INFO(entry.path().filename().string() << "\nstderr: " << r.err);
    CHECK(r.exit_code == expected_code);
    while (std::getline(expect, line)) {
      if (line.empty()) continue;
      CHECK(r.err.find(line) != std::string::npos);
    }
    // Running it must not create a database or a trial directory either.
    auto run = run_hpo({"run", entry.path().filename().string()}, dir.path());
    CHECK(run.exit_code == expected_code);
    CHECK(files_under(dir.path()).size() == copied);
    ++checked;
  }
  CHECK(checked >= 25);
}

TEST_CASE("hpo validate on a missing file says so", "[integration][cli]") {
  TempDir dir;
  auto r = run_hpo({"validate", "nope.json"}, dir.path());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nope.json") != std::string::npos);
}

TEST_CASE("read-only commands never create a database", "[integration][cli]") {
  TempDir dir;
  for (auto args : std::vector<std::vector<std::string>>{
           {"status"}, {"trials", "x"}, {"best", "x"}, {"status", "--storage", "other.db"}}) {
    auto r = run_hpo(args, dir.path());
    INFO(args[0]);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no results database") != std::string::npos);
  }
  CHECK(files_under(dir.path()).empty());
}
