// Text that comes from trials (failure reasons, metric names, log lines) may be invalid UTF-8 or
// hold control characters. engine/model/text.h cleans it for storage and terminals
// (valid_utf8, clean_text); these helpers make it safe for the outputs of the report: JSON
// (which must be valid UTF-8) and HTML (where "</script>" would end a script element).
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hpo {

// `j` serialized; invalid UTF-8 in strings is replaced (never throws on it). indent < 0: one
// line.
std::string json_text(const nlohmann::json& j, int indent = -1);
// The same for an ordered_json (keys in insertion order).
std::string ordered_json_text(const nlohmann::ordered_json& j, int indent = -1);

// json_text(j) safe to place inside an HTML <script> element: '<', '>' and '&' become \u003c,
// \u003e and \u0026, and U+2028/U+2029 are escaped too.
std::string json_for_script(const nlohmann::json& j);

// `text` with &, <, >, " and ' escaped, after valid_utf8.
std::string html_escape(std::string_view text);

}  // namespace hpo
