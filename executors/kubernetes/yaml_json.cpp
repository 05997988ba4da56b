#include "executors/kubernetes/yaml_json.h"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

namespace hpo {
namespace {

using Json = nlohmann::ordered_json;

bool is_lower_equal(const std::string& s, std::string_view word) {
  if (s.size() != word.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  return true;
}

// A plain scalar read by the core schema.
Json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || is_lower_equal(s, "null")) return nullptr;
  if (is_lower_equal(s, "true")) return true;
  if (is_lower_equal(s, "false")) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  const bool intlike = s.find_first_not_of("+-0123456789") == std::string::npos &&
                       s.find_first_of("0123456789") != std::string::npos;
  if (intlike) {
    errno = 0;
    const long long v = std::strtoll(begin, &end, 10);
    if (errno == 0 && end == begin + s.size()) return v;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    errno = 0;
    const long long v = std::strtoll(begin + 2, &end, s[1] == 'x' ? 16 : 8);
    if (errno == 0 && end == begin + s.size()) return v;
  }
  if (s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("+-0123456789.eE") == std::string::npos) {
    errno = 0;
    const double v = std::strtod(begin, &end);
    if (errno == 0 && end == begin + s.size()) return v;
  }
  if (is_lower_equal(s, ".inf") || is_lower_equal(s, "+.inf"))
    return std::numeric_limits<double>::infinity();
  if (is_lower_equal(s, "-.inf")) return -std::numeric_limits<double>::infinity();
  return s;
}

Json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // "!" is yaml-cpp's tag for a quoted (non-plain) scalar.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : YAML::Dump(kv.first);
        out[key] = yaml_to_json(kv.second);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

nlohmann::ordered_json parse_yaml(std::string_view text) {
  try {
    return yaml_to_json(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("line " + std::to_string(e.mark.line + 1) + ", column " +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace hpo
