// The spec data files: every tests/data/specs/bad/NN-name.json must be rejected with the
// messages its .expect file lists (format: tests/data/specs/README.md), and every
// tests/data/specs/good/*.json must be accepted. The folders are the single source of cases;
// the integration tests run the real `hpo validate` over the same files.
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/factory.h"
#include "hpo/errors.h"
#include "engine/model/study_spec.h"
#include "tests/support/temp_dir.h"

namespace hpo {
namespace {

namespace fs = std::filesystem;

const fs::path kSpecDir = HPO_SPEC_DATA_DIR;

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ext) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Expectation {
  std::string exit_code;
  std::vector<std::string> substrings;
};

Expectation read_expect(const fs::path& path) {
  std::istringstream in(testing::read_file(path));
  Expectation e;
  std::getline(in, e.exit_code);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) e.substrings.push_back(line);
  return e;
}

TEST_CASE("every bad spec file is rejected with the messages its .expect file lists",
          "[engine][spec]") {
  const auto specs = files_with_extension(kSpecDir / "bad", ".json");
  REQUIRE(specs.size() >= 30);
  for (const auto& spec : specs) {
    INFO("spec file: " << spec.filename().string());
    const fs::path expect_path = fs::path(spec).replace_extension(".expect");
    REQUIRE(fs::exists(expect_path));
    const Expectation expect = read_expect(expect_path);
    CHECK(expect.exit_code == "2");  // every spec problem is an InputError
    REQUIRE_FALSE(expect.substrings.empty());

    std::string message;
    std::size_t issue_count = 0;
    try {
      load_spec(spec);
      FAIL("the spec was accepted");
    } catch (const InputError& e) {
      message = e.what();
      issue_count = e.issues().size();
    }
    INFO("message:\n" << message);
    CHECK(issue_count >= 1);
    for (const auto& needle : expect.substrings) {
      INFO("expected substring: " << needle);
      CHECK(message.find(needle) != std::string::npos);
    }
  }
}

TEST_CASE("every .expect file has its spec beside it", "[engine][spec]") {
  for (const auto& expect : files_with_extension(kSpecDir / "bad", ".expect")) {
    INFO(expect.filename().string());
    CHECK(fs::exists(fs::path(expect).replace_extension(".json")));
  }
}

TEST_CASE("every good spec file is accepted", "[engine][spec]") {
  const auto specs = files_with_extension(kSpecDir / "good", ".json");
  REQUIRE(specs.size() >= 5);
  for (const auto& spec : specs) {
    INFO("spec file: " << spec.filename().string());
    try {
      const StudySpec parsed = load_spec(spec);
      CHECK_FALSE(parsed.name.empty());
      CHECK_FALSE(parsed.space.empty());
      CHECK(parsed.base_dir == kSpecDir / "good");
    } catch (const InputError& e) {
      FAIL("rejected: " << e.what());
    }
  }
}

}  // namespace
}  // namespace hpo
