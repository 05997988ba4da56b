// hpo enqueue STUDY: add WAITING trials with given parameters; they run before sampled ones.
#include <cstdio>

#include "engine/cli/options.h"
#include "engine/report/text_safety.h"
#include "engine/factory.h"
#include "engine/study_core.h"
#include "hpo/errors.h"
#include "engine/study_manager.h"
#include "engine/model/file_io.h"
#include "engine/model/json_codec.h"
#include "engine/model/param_set_input.h"

namespace hpo::cli {
namespace {

constexpr std::size_t kMaxEnqueueFileBytes = 64 << 20;

constexpr const char* kEnqueueUsage = R"(usage: hpo enqueue STUDY (--params JSON | --file FILE) [--storage PATH]

Adds trials with the given parameters to STUDY as WAITING: the next `hpo run`/`hpo resume`
runs them before it asks the sampler (warm start). --params takes one JSON object,
e.g. '{"lr": 0.01, "optimizer": "adam"}'. --file takes a JSON file (one object or an array
of objects) or a CSV file (.csv: a header of parameter names, one trial per row, an empty
cell for a parameter that is inactive). Every set is checked against the study's search
space first: all are added, or none.)";

}  // namespace

int enqueue_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()
      ("study", po::value<std::string>()->required(), "study name")
      ("params", po::value<std::string>(), "one parameter set as a JSON object")
      ("file", po::value<std::string>(), "parameter sets: a JSON file (object or array) or a .csv file")
      ("storage", po::value<std::string>(), "results database; default $HPO_STORAGE, else ./hpo.db");
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kEnqueueUsage, options, pos);
  if (!vm) return 0;
  if (vm->count("params") == vm->count("file"))
    throw InputError("give exactly one of --params JSON or --file FILE");

  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  auto storage = open_storage(resolve_storage_path(cli_storage, nullptr), /*must_exist=*/true);
  const std::string name = (*vm)["study"].as<std::string>();
  auto study = storage->find_study(name);
  if (!study) throw InputError("no study named '" + name + "' in this database");
  const StudySpec spec = StudyCore::stored_spec(*study);

  std::vector<SpecIssue> issues;
  std::vector<ParamSet> sets;
  if (vm->count("params")) {
    sets = read_param_sets_json((*vm)["params"].as<std::string>(), "--params", issues);
  } else {
    const std::string path = (*vm)["file"].as<std::string>();
    const FileText file = read_regular_file(path, kMaxEnqueueFileBytes, /*follow_symlinks=*/true);
    if (!file.ok()) throw InputError("--file", "'" + path + "' " + file.error);
    if (path.size() > 4 && path.substr(path.size() - 4) == ".csv") {
      sets = read_param_sets_csv(file.text, path, spec.space, issues);
    } else {
      sets = read_param_sets_json(file.text, path, issues);
    }
  }
  for (std::size_t i = 0; i < sets.size(); ++i) {
    for (auto issue : spec.space.check(sets[i])) {
      if (sets.size() > 1) issue.path = "[" + std::to_string(i) + "]." + issue.path;
      issues.push_back(issue);
    }
  }
  if (sets.empty() && issues.empty()) issues.push_back({"", "no parameter sets given"});
  if (!issues.empty()) throw InputError(issues);

  for (const auto& params : sets) {
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    nt.params = params;
    const std::optional<Trial> t = storage->create_trial(study->id, nt);
    std::printf("enqueued trial #%d: %s\n", t->number, json_text(params_to_json(params)).c_str());
  }
  return 0;
}

}  // namespace hpo::cli
