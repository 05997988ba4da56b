// hpo compare STUDY [STUDY...]: studies side by side (two samplers, two model families):
// trials by state, the best value and its trial, the best value within the first 10, 25, 50
// and 100 trials and overall, wall time, time per trial, and each parameter's value in the
// best trial. A study may live in another database: `other.db:study`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "engine/cli/study_access.h"
#include "engine/report/study_summary.h"
#include "engine/model/text.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_table.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kCompareUsage =
    R"(usage: hpo compare STUDY [STUDY...] [--format table|json] [--storage PATH | --spec FILE]

Compares studies side by side: trials by state, the best value and its trial, the best value
found within the first 10, 25, 50 and 100 trials (by trial number; "-" when the study has
fewer) and overall, wall time (first start to last finish), time per trial (mean duration, and
wall time per finished trial), and each parameter's value in the best trial. A '*' marks the
best study on a line when all share direction and metric.

STUDY is a study in the results database (--storage, else the --spec file's, else
$HPO_STORAGE, else ./hpo.db), or FILE:STUDY for a study in another database.)";

struct Source {
  std::filesystem::path path;
  std::string study;
};

Source parse_source(const std::string& arg, const std::filesystem::path& default_path) {
  const std::size_t colon = arg.rfind(':');
  if (colon == std::string::npos) return {default_path, arg};
  const std::string file = arg.substr(0, colon);
  const std::string study = arg.substr(colon + 1);
  if (file.empty() || study.empty())
    throw InputError("STUDY", "'" + arg + "': write FILE:STUDY, e.g. other.db:quickstart");
  if (!std::filesystem::exists(file))
    throw InputError("STUDY", "'" + arg + "': no results database at '" + file + "'");
  return {file, study};
}

std::string number_cell(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

std::string seconds_cell(const std::optional<double>& v) { return v ? format_seconds(*v) : "-"; }

}  // namespace

int compare_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("studies", po::value<std::vector<std::string>>(), "STUDY or FILE:STUDY, one or more")
      ("format", po::value<std::string>()->default_value("table"), "table | json");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("studies", -1);
  auto vm = parse_args(args, kCompareUsage, options, pos);
  if (!vm) return 0;
  const std::string format = check_format((*vm)["format"].as<std::string>(), {"table", "json"});
  const StudyLocation location = locate(*vm);
  std::vector<std::string> names;
  if (vm->count("studies")) names = (*vm)["studies"].as<std::vector<std::string>>();
  if (names.empty() && location.spec_study) names.push_back(*location.spec_study);
  if (names.empty()) throw InputError("STUDY", "name at least one study to compare");

  std::map<std::filesystem::path, std::unique_ptr<Storage>> storages;
  std::vector<StudySummary> summaries;
  for (const std::string& arg : names) {
    const Source source = parse_source(arg, location.storage);
    auto& storage = storages[source.path];
    if (!storage) storage = open_results(source.path);
    const StudyRecord record = require_study(*storage, source.study, source.path);
    StudySummary s = summarize(record, storage->get_trials(record.id));
    s.storage = source.path.string();
    summaries.push_back(std::move(s));
  }

  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : summaries) out.push_back(to_json(s));
    std::cout << json_text(out, 2) << "\n";
    return 0;
  }

  // Which study is best on a line: only meaningful when all optimize the same thing.
  const bool comparable =
      summaries.size() > 1 &&
      std::all_of(summaries.begin(), summaries.end(), [&](const StudySummary& s) {
        return s.direction == summaries[0].direction && s.metric == summaries[0].metric;
      });
  auto mark_best = [&](std::vector<std::string>& row, const std::vector<std::optional<double>>& v) {
    if (!comparable) return;
    std::optional<double> best;
    for (const auto& x : v)
      if (x && (!best || is_better(summaries[0].direction, *x, *best))) best = x;
    if (!best) return;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i] && *v[i] == *best) row[i + 1] += " *";
  };

  std::vector<std::vector<std::string>> rows;
  auto add = [&](const std::string& label, auto cell) {
    std::vector<std::string> row{label};
    for (const auto& s : summaries) row.push_back(cell(s));
    rows.push_back(std::move(row));
    return rows.size() - 1;
  };
  add("", [](const StudySummary& s) { return clean_text(s.name); });
  if (storages.size() > 1)
    add("storage", [](const StudySummary& s) { return clean_text(s.storage); });
  add("sampler", [](const StudySummary& s) { return s.sampler; });
  add("objective", [](const StudySummary& s) {
    return std::string(to_string(s.direction)) + " " + clean_text(s.metric);
  });
  add("trials", [](const StudySummary& s) {
    return std::to_string(s.counts.total()) +
           (s.budget > 0 ? " (budget " + std::to_string(s.budget) + ")" : "");
  });
  add("  COMPLETE", [](const StudySummary& s) { return std::to_string(s.counts.complete); });
  add("  PRUNED", [](const StudySummary& s) { return std::to_string(s.counts.pruned); });
  add("  FAIL", [](const StudySummary& s) { return std::to_string(s.counts.fail); });
  if (std::any_of(summaries.begin(), summaries.end(),
                  [](const StudySummary& s) { return s.counts.running + s.counts.waiting > 0; })) {
    add("  RUNNING", [](const StudySummary& s) { return std::to_string(s.counts.running); });
    add("  WAITING", [](const StudySummary& s) { return std::to_string(s.counts.waiting); });
  }
  {
    const std::size_t r = add("best value", [](const StudySummary& s) {
      return s.best_number
                 ? number_cell(s.best_value) + " (#" + std::to_string(*s.best_number) + ")"
                 : std::string("-");
    });
    std::vector<std::optional<double>> v;
    for (const auto& s : summaries) v.push_back(s.best_value);
    mark_best(rows[r], v);
  }
  const std::size_t budgets = summaries[0].best_at.size();
  for (std::size_t k = 0; k < budgets; ++k) {
    const int n = summaries[0].best_at[k].first;
    const std::string label = n == 0 ? "best, all trials" : "best of first " + std::to_string(n);
    if (n == 0) continue;  // the same as "best value"
    const std::size_t r =
        add(label, [k](const StudySummary& s) { return number_cell(s.best_at[k].second); });
    std::vector<std::optional<double>> v;
    for (const auto& s : summaries) v.push_back(s.best_at[k].second);
    mark_best(rows[r], v);
  }
  add("wall time", [](const StudySummary& s) { return seconds_cell(s.wall_time_s); });
  add("time per trial", [](const StudySummary& s) {
    return seconds_cell(s.mean_trial_s) + " mean, " + seconds_cell(s.wall_per_trial_s) + " wall";
  });
  std::set<std::string> params;
  for (const auto& s : summaries)
    for (const auto& [name, v] : s.best_params) params.insert(name);
  for (const std::string& p : params) {
    add("best " + p, [&p](const StudySummary& s) {
      auto it = s.best_params.find(p);
      if (it == s.best_params.end()) return std::string("-");
      if (it->second.is_double()) return number_cell(it->second.as_double());
      return clean_text(it->second.to_string());
    });
  }
  std::fputs(render_table(rows).c_str(), stdout);
  return 0;
}

}  // namespace hpo::cli
