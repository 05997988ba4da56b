#include "engine/model/errors.h"

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

InputError::InputError(std::vector<SpecIssue> issues)
    : Error(join_issues(issues)), issues_(std::move(issues)) {}

InputError::InputError(const std::string& message)
    : Error(message), issues_{SpecIssue{"", message}} {}

InputError::InputError(const std::string& path, const std::string& message)
    : InputError(std::vector<SpecIssue>{SpecIssue{path, message}}) {}

}  // namespace hpo
