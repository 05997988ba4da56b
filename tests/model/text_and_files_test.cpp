// Text cleaning (engine/model/text.h) and reading or creating files someone else may have
// prepared (engine/model/file_io.h).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine/model/file_io.h"
#include "engine/model/json_codec.h"
#include "engine/model/text.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;
const std::string kReplacement = "\xef\xbf\xbd";

TEST_CASE("UTF-8 is checked as JSON needs it and repaired byte by byte", "[model][text]") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // été € 😀
  for (const std::string bad :
       {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    INFO(bad.size());
    CHECK_FALSE(is_valid_utf8(bad));
    CHECK(is_valid_utf8(valid_utf8("a" + bad + "b")));
  }
  CHECK(valid_utf8("a\xff" "b") == "a" + kReplacement + "b");
  CHECK(valid_utf8("\xc3\xa9") == "\xc3\xa9");
}

TEST_CASE("clean text escapes every control character and keeps the rest", "[model][text]") {
  CHECK(clean_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
  CHECK(clean_text("a\tb\nc\rd\x7f") == "a b\\nc\\x0dd\\x7f");
  CHECK(clean_text("csi \xc2\x9b here") == "csi \\u009b here");
  CHECK(clean_text("caf\xc3\xa9 \xff") == "caf\xc3\xa9 " + kReplacement);
  CHECK(is_valid_utf8(clean_text(std::string("\x00\x01\xfe\xff", 4))));
}

TEST_CASE("regular files are read with a limit, FIFOs, devices and links are refused",
          "[model][files]") {
  TempDir dir("hpo-files");
  const fs::path file = write_file(dir / "a.json", "{}");
  CHECK(read_regular_file(file, 100, false).text == "{}");
  CHECK(read_regular_file(file, 1, false).error == "is larger than 1 bytes");
  const fs::path fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_regular_file(fifo, 100, false).error == "is a FIFO, not a regular file");
  CHECK(read_regular_file("/dev/zero", 100, true).error ==
        "is a character device, not a regular file");
  fs::create_symlink(file, dir / "link");
  CHECK(read_regular_file(dir / "link", 100, false).error == "is a symbolic link (refused)");
  CHECK(read_regular_file(dir / "link", 100, true).text == "{}");
  CHECK(read_regular_file(dir.path(), 100, false).error == "is a directory, not a regular file");
  CHECK_FALSE(read_regular_file(dir / "none", 100, false).ok());
}

TEST_CASE("the end of a log is read with the same refusals, whatever its size",
          "[model][files]") {
  TempDir dir("hpo-files");
  const fs::path small = write_file(dir / "small.log", "a\nb\n");
  FileText tail = read_regular_file_tail(small, 100, false);
  CHECK(tail.text == "a\nb\n");
  CHECK_FALSE(tail.from_middle);
  const fs::path big = write_file(dir / "big.log", std::string(1000, 'x') + "\nlast\n");
  tail = read_regular_file_tail(big, 10, false);
  REQUIRE(tail.ok());
  CHECK(tail.text == "xxxx\nlast\n");
  CHECK(tail.from_middle);
  const fs::path fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_regular_file_tail(fifo, 10, false).error == "is a FIFO, not a regular file");
  fs::create_symlink("/dev/zero", dir / "zero");
  CHECK(read_regular_file_tail(dir / "zero", 10, false).error == "is a symbolic link (refused)");
  CHECK(read_regular_file_tail(dir / "zero", 10, true).error ==
        "is a character device, not a regular file");
}

TEST_CASE("directories are made level by level, never through a link, only of this user",
          "[model][files]") {
  TempDir dir("hpo-files");
  const fs::path root = dir / "trials";
  CHECK_FALSE(make_owned_dirs(root, root / "3" / "checkpoint"));
  CHECK(fs::is_directory(root / "3" / "checkpoint"));
  CHECK_FALSE(make_owned_dirs(root, root / "3"));  // existing and ours: fine
  fs::create_directories(dir / "elsewhere");
  fs::create_symlink(dir / "elsewhere", root / "4");
  const auto linked = make_owned_dirs(root, root / "4" / "checkpoint");
  REQUIRE(linked);
  CHECK_THAT(*linked, Catch::Contains("is a symbolic link"));
  CHECK(fs::is_empty(dir / "elsewhere"));
  write_file(root / "5", "a file");
  CHECK(make_owned_dirs(root, root / "5"));
  if (::geteuid() == 0) {
    fs::create_directories(root / "6");
    REQUIRE(::chown((root / "6").c_str(), 65534, 65534) == 0);
    const auto foreign = make_owned_dirs(root, root / "6" / "checkpoint");
    REQUIRE(foreign);
    CHECK_THAT(*foreign, Catch::Contains("belongs to another user"));
  }
  CHECK(is_missing_or_empty_dir(root / "7"));
  CHECK(is_missing_or_empty_dir(root / "3" / "checkpoint"));
  CHECK_FALSE(is_missing_or_empty_dir(root / "3"));
  CHECK_FALSE(is_missing_or_empty_dir(root / "4"));  // a link is not an empty directory
}

TEST_CASE("JSON input is refused when it nests too deep or repeats a key", "[model][json]") {
  CHECK(parse_json(R"({"a": [1, {"b": 2}]})")["a"][1]["b"] == 2);
  CHECK_THROWS_WITH(parse_json(std::string(65, '[') + std::string(65, ']')),
                    "nested deeper than 64 levels");
  CHECK_NOTHROW(parse_json(std::string(64, '[') + std::string(64, ']')));
  CHECK_THROWS_WITH(parse_json(R"({"a": 1, "b": {"c": 1, "c": 2}})"), "duplicate key \"c\"");
  CHECK_NOTHROW(parse_json(R"([{"a": 1}, {"a": 2}])"));  // the same key in two objects
  // A number beyond a double is refused, not thrown as nlohmann's out_of_range (found by
  // result_file_fuzz: it escaped every reader).
  CHECK_THROWS_AS(parse_json(R"({"loss": 1e400})"), JsonRefused);
  CHECK_THROWS_WITH(parse_json(R"([-1e999])"), "number out of range: -1e999");
  CHECK_THROWS_AS(parse_json("{"), nlohmann::json::parse_error);
}

}  // namespace
}  // namespace hpo::testing
