#include "executors/command_template.h"

namespace hpo {

ParsedTemplate parse_template(std::string_view text) {
  ParsedTemplate out;
  std::string literal;
  auto fail = [&](std::string why, std::string hint) {
    out.parts.clear();
    out.error = std::move(why);
    out.hint = std::move(hint);
    return out;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' || c == '}') {
      if (i + 1 < text.size() && text[i + 1] == c) {  // "{{" or "}}"
        literal.push_back(c);
        i += 2;
        continue;
      }
      if (c == '}') return fail("unmatched '}'", "(write '}}' for a literal brace)");
      const std::size_t close = text.find_first_of("{}", i + 1);
      if (close == std::string_view::npos || text[close] == '{')
        return fail("unmatched '{'", "(write '{{' for a literal brace)");
      if (close == i + 1) return fail("empty placeholder {}", "(write '{{}}' for literal braces)");
      if (!literal.empty()) out.parts.push_back({std::move(literal), false});
      literal.clear();
      out.parts.push_back({std::string(text.substr(i + 1, close - i - 1)), true});
      i = close + 1;
      continue;
    }
    literal.push_back(c);
    ++i;
  }
  if (!literal.empty()) out.parts.push_back({std::move(literal), false});
  return out;
}

std::vector<std::string> ParsedTemplate::placeholders() const {
  std::vector<std::string> names;
  for (const auto& part : parts)
    if (part.placeholder) names.push_back(part.text);
  return names;
}

std::optional<std::string> ParsedTemplate::substitute(const ParamSet& params) const {
  std::string out;
  for (const auto& part : parts) {
    if (!part.placeholder) {
      out += part.text;
      continue;
    }
    const auto it = params.find(part.text);
    if (it == params.end()) return std::nullopt;
    out += it->second.to_string();
  }
  return out;
}

}  // namespace hpo
