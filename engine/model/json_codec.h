// JSON forms of the public value types (include/hpo/): what the spec, storage and the CLI
// read and write. Kept out of the public headers, which include only std and each other, so
// that an embedder never sees nlohmann::json. Stateless functions; thread-safe.
#pragma once

#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hpo/distribution.h"
#include "hpo/param_value.h"
#include "hpo/search_space.h"

namespace hpo {

// How deep a JSON document hpo reads (a spec, enqueue input, a result file) may nest. Deeper
// ones are refused: nothing of hpo's needs more, and parsing them costs memory without bound.
inline constexpr int kMaxJsonDepth = 64;

// Thrown by parse_json for a document it refuses although its syntax is fine.
class JsonRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// nlohmann::json::parse(text), refusing documents nested deeper than `max_depth` levels and
// objects that repeat a key (nlohmann would keep the last one silently) and numbers beyond a
// double: throws JsonRefused ("nested deeper than 64 levels", "duplicate key \"lr\"", "number
// out of range: 1e400"). A syntax error throws nlohmann::json::parse_error, as parse does.
nlohmann::json parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

// A parameter value as JSON: a number, string or boolean.
nlohmann::json to_json(const ParamValue& value);
// Numbers that are integral in JSON become int64, others double. Objects, arrays and null are
// rejected with std::invalid_argument.
ParamValue param_from_json(const nlohmann::json& j);

// {"name": value, ...}.
nlohmann::json params_to_json(const ParamSet& params);
// REQUIRES: j is an object whose values are scalars; throws std::invalid_argument otherwise.
ParamSet params_from_json(const nlohmann::json& j);

// Spec form: {"type": "float", "low": .., "high": .., "log": .., "step": ..} or
// {"type": "categorical", "choices": [...]}.
nlohmann::json to_json(const Distribution& distribution);

// The spec's "space" object (with "when" entries).
nlohmann::json to_json(const SearchSpace& space);

}  // namespace hpo
