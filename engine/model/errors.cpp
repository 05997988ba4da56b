#include "hpo/errors.h"

namespace hpo {
namespace {

std::string join_issues(const std::vector<SpecIssue>& issues) {
  std::string out;
  for (const auto& issue : issues) {
    if (!out.empty()) out += "\n";
    out += issue.to_string();
  }
  return out;
}

}  // namespace

const char* to_string(StorageErrc code) {
  switch (code) {
    case StorageErrc::kBusy: return "busy";
    case StorageErrc::kNotFound: return "not found";
    case StorageErrc::kExists: return "exists";
    case StorageErrc::kMismatch: return "mismatch";
    case StorageErrc::kMisuse: return "misuse";
    case StorageErrc::kCorrupt: return "corrupt";
    case StorageErrc::kNotADatabase: return "not a database";
    case StorageErrc::kVersion: return "version";
    case StorageErrc::kCantOpen: return "cannot open";
    case StorageErrc::kIo: return "I/O error";
    case StorageErrc::kReadOnly: return "read-only";
    case StorageErrc::kOther: return "other";
  }
  return "other";
}

InputError::InputError(std::vector<SpecIssue> issues)
    : Error(join_issues(issues)), issues_(std::move(issues)) {}

InputError::InputError(const std::string& message)
    : Error(message), issues_{SpecIssue{"", message}} {}

InputError::InputError(const std::string& path, const std::string& message)
    : InputError(std::vector<SpecIssue>{SpecIssue{path, message}}) {}

}  // namespace hpo
