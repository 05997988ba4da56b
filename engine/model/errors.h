// Error types of hpo. Exceptions are for failures that stop a command; expected outcomes
// (a failed trial, a lost claim, a missing row) are values. engine/cli/main.cpp is the only
// place that catches these and maps them to exit codes:
//   InputError    -> 2 (bad command line or study spec; carries every issue found)
//   StorageError  -> 1 (SQLite code and message)
//   ExecutorError -> 1 (a process cannot be spawned, an API is unreachable)
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace hpo {

// One problem found in user input. `path` is a JSON path such as "space.lr.low" (empty for
// problems that concern the whole document or the command line).
struct SpecIssue {
  std::string path;
  std::string message;

  // "space.lr.low: must be > 0 when log is true", or just the message when path is empty.
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InputError : public Error {
 public:
  explicit InputError(std::vector<SpecIssue> issues);
  explicit InputError(const std::string& message);
  InputError(const std::string& path, const std::string& message);

  const std::vector<SpecIssue>& issues() const { return issues_; }

 private:
  std::vector<SpecIssue> issues_;
};

class StorageError : public Error {
 public:
  StorageError(int sqlite_code, const std::string& message)
      : Error(message), code_(sqlite_code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class ExecutorError : public Error {
 public:
  using Error::Error;
};

}  // namespace hpo
