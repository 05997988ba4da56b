// YAML documents as JSON values: the Kubernetes executor reads kubeconfig files and Job
// templates that people write in YAML (or JSON, which is YAML too) and works on them as
// nlohmann::json. Scalars follow the YAML 1.2 core schema, as Kubernetes reads them: a quoted
// scalar is always a string; a plain one is null (~, null, empty), a boolean (true/false, any
// case), an integer, a float, or else a string.
//
// Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hpo {

// The first document of `text`. Throws std::invalid_argument with "line L, column C: what"
// when it is not valid YAML (1-based positions).
nlohmann::ordered_json parse_yaml(std::string_view text);

}  // namespace hpo
