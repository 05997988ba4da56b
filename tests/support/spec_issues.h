// Checking the issues a spec produced, for the spec tests of tests/model and tests/engine.
// Header-only.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "hpo/errors.h"

namespace hpo::testing {

// True when `issues` holds one at `path` whose message contains `part`.
inline bool has_issue(const std::vector<SpecIssue>& issues, const std::string& path,
                      const std::string& part) {
  return std::any_of(issues.begin(), issues.end(), [&](const SpecIssue& i) {
    return i.path == path && i.message.find(part) != std::string::npos;
  });
}

}  // namespace hpo::testing
