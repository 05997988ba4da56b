// The one grammar of parameter placeholders in the strings a trial is built from (a
// subprocess command's elements, and the string values of a Kubernetes Job template):
//   {name}      the value of parameter `name` (ParamValue::to_string: "0.001", "42", "rbf")
//   {{  }}      a literal brace
// A lone '{' or '}', or an empty "{}", is an error. The spec checker (to report an unknown
// name or a broken brace with its JSON path) and the executors (to substitute) both parse
// through here, so what passes validation is exactly what runs. Value types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpo/param_value.h"

namespace hpo {

struct TemplatePart {
  std::string text;           // literal text (braces unescaped), or the parameter's name
  bool placeholder = false;   // true: `text` names a parameter
};

struct ParsedTemplate {
  std::vector<TemplatePart> parts;
  // Empty on success; else what is wrong, e.g. "unmatched '{'", and `hint` how to write it
  // right, e.g. "(write '{{' for a literal brace)". Then `parts` is empty.
  std::string error;
  std::string hint;

  bool ok() const { return error.empty(); }
  // The parameter names the template uses, in order (with repeats).
  std::vector<std::string> placeholders() const;
  // The text with every placeholder replaced by its parameter's value; nullopt when a named
  // parameter is absent from `params` (an inactive conditional parameter).
  // REQUIRES: ok().
  std::optional<std::string> substitute(const ParamSet& params) const;
};

ParsedTemplate parse_template(std::string_view text);

}  // namespace hpo
