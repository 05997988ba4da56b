// TempDir: a fresh directory under the system temp dir, removed with everything in it when
// the object goes out of scope (set HPO_KEEP_TEST_DIRS=1 to keep it for debugging).
#pragma once

#include <filesystem>
#include <string>

namespace hpo::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hpo-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `text` to `path` (creating parent directories) and returns the path.
std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text);
// The whole content of a file; empty when it does not exist.
std::string read_file(const std::filesystem::path& path);

}  // namespace hpo::testing
