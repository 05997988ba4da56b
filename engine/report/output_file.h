// OutputFile: a file that a command writes whole or not at all. The content goes to a
// temporary file beside the target; commit() moves it into place, refusing (without --force)
// to replace a file that exists, also one created meanwhile: the no-replace move is a
// link(2), which fails when the name is taken. A destroyed, uncommitted OutputFile removes its
// temporary file. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>

namespace hpo {

class OutputFile {
 public:
  // Checks that `target` can be written: its directory exists, and the file does not unless
  // `overwrite`. Throws InputError on the path `option` ("-o") otherwise.
  OutputFile(std::filesystem::path target, bool overwrite, std::string option = "-o");
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Where to write the content (a fresh name in the target's directory; not created yet).
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }

  // Writes `content` to the temporary file. Throws Error when the write fails.
  void write(const std::string& content);

  // Moves the temporary file to the target. Throws InputError when the target appeared
  // meanwhile (and overwriting was not allowed), Error on other failures.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool overwrite_;
  std::string option_;
  bool committed_ = false;
};

}  // namespace hpo
