// Error types of hpo. Exceptions are for failures that stop a command; expected outcomes
// (a failed trial, a lost claim, a missing row) are values. engine/cli/main.cpp is the only
// place that catches these and maps them to exit codes:
//   InputError    -> 2 (bad command line or study spec; carries every issue found)
//   StorageError  -> 1 (what went wrong, backend-neutral, and the backend's message)
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

// What went wrong in storage, whatever the backend.
enum class StorageErrc {
  kBusy,        // other writers held the database past the busy timeout
  kNotFound,    // a mutation named a study or trial that does not exist
  kExists,      // a study of that name exists already
  kMismatch,    // a value storage cannot hold (a non-finite parameter, invalid UTF-8)
  kMisuse,      // a call the contract forbids (finishing a trial as RUNNING)
  kCorrupt,     // stored data that cannot be read back
  kNotADatabase,  // the file is not an hpo database (not SQLite, or other tables)
  kVersion,     // the database was written by a newer hpo
  kCantOpen,    // the file cannot be opened or created
  kIo,          // a read or write of the file failed (a failing or full disk)
  kReadOnly,    // the file, or its directory, cannot be written
  kOther,       // anything else the backend reports
};

const char* to_string(StorageErrc code);  // "busy", "not found", ...

class StorageError : public Error {
 public:
  // `native_code` is the backend's own code (SQLite's extended result code), for diagnostics;
  // 0 when there is none.
  StorageError(StorageErrc code, const std::string& message, int native_code = 0)
      : Error(message), code_(code), native_code_(native_code) {}
  StorageErrc code() const { return code_; }
  int native_code() const { return native_code_; }

 private:
  StorageErrc code_;
  int native_code_;
};

class ExecutorError : public Error {
 public:
  using Error::Error;
};

}  // namespace hpo
