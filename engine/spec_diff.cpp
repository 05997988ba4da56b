#include "engine/spec_diff.h"
#include "engine/model/json_codec.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace hpo {
namespace {

// "/space/lr/high" (a JSON pointer) -> "space.lr.high".
std::string dotted(const std::string& pointer) {
  std::string out;
  for (char c : pointer) out += c == '/' ? '.' : c;
  if (!out.empty() && out[0] == '.') out.erase(0, 1);
  return out;
}

}  // namespace

std::vector<std::string> study_differences(const StudySpec& stored, const StudySpec& now) {
  std::vector<std::string> out;
  if (stored.direction != now.direction)
    out.push_back(std::string("direction: stored ") + to_string(stored.direction) + ", now " +
                  to_string(now.direction));
  if (stored.metric != now.metric)
    out.push_back("objective.metric: stored \"" + stored.metric + "\", now \"" + now.metric + "\"");
  auto objectives_text = [](const StudySpec& spec) {
    std::string out;
    for (const ObjectiveSpec& o : spec.objectives)
      out += (out.empty() ? "" : ", ") + o.metric + " (" + to_string(o.direction) + ")";
    return out;
  };
  if (stored.objectives.size() > 1 || now.objectives.size() > 1) {
    if (objectives_text(stored) != objectives_text(now))
      out.push_back("objectives: stored " + objectives_text(stored) + ", now " +
                    objectives_text(now));
  }
  // The stored intermediate values are of the judged metric: another would mix two curves.
  if (stored.judged_metric() != now.judged_metric() &&
      !(stored.intermediate_metric.empty() && now.intermediate_metric.empty()))
    out.push_back("objective.intermediate_metric: stored \"" + stored.judged_metric() +
                  "\", now \"" + now.judged_metric() + "\"");
  // Values judged by another rule would not compare with the stored ones.
  if (stored.strategy != now.strategy)
    out.push_back(std::string("objective.strategy: stored \"") + to_string(stored.strategy) +
                  "\", now \"" + to_string(now.strategy) + "\"");
  const nlohmann::json a = {{"space", to_json(stored.space)}};
  const nlohmann::json b = {{"space", to_json(now.space)}};
  for (const auto& op : nlohmann::json::diff(a, b)) {
    const std::string path = op["path"].get<std::string>();
    const std::string kind = op["op"].get<std::string>();
    const nlohmann::json::json_pointer ptr(path);
    if (kind == "add") {
      out.push_back(dotted(path) + ": added " + op["value"].dump());
    } else if (kind == "remove") {
      out.push_back(dotted(path) + ": removed (was " + a.at(ptr).dump() + ")");
    } else {
      out.push_back(dotted(path) + ": stored " + a.at(ptr).dump() + ", now " +
                    op["value"].dump());
    }
  }
  return out;
}

std::string difference_subjects(const std::vector<std::string>& differences) {
  std::vector<std::string> subjects;
  auto add = [&](const std::string& s) {
    if (std::find(subjects.begin(), subjects.end(), s) == subjects.end()) subjects.push_back(s);
  };
  for (const auto& d : differences) {
    if (d.rfind("space", 0) == 0) add("search space");
    else if (d.rfind("direction", 0) == 0) add("direction");
    else if (d.rfind("objective.metric", 0) == 0) add("metric");
    else if (d.rfind("objective.intermediate_metric", 0) == 0) add("intermediate metric");
    else if (d.rfind("objective.strategy", 0) == 0) add("value strategy");
  }
  std::string out;
  for (std::size_t i = 0; i < subjects.size(); ++i)
    out += (i == 0 ? "" : i + 1 == subjects.size() ? " and " : ", ") + subjects[i];
  return out.empty() ? "spec" : out;
}

}  // namespace hpo
