// hpo enqueue STUDY: add WAITING trials with given parameters; they run before sampled ones.
#include <cstdio>

#include "engine/cli/options.h"
#include "engine/cli/study_access.h"
#include "engine/model/text.h"
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

constexpr const char* kEnqueueUsage =
    R"(usage: hpo enqueue [STUDY] (--params JSON | --file FILE) [--storage PATH | --spec FILE]

Adds trials with the given parameters to STUDY as WAITING: the next `hpo run`/`hpo resume`
runs them before it asks the sampler (warm start). --params takes one JSON object,
e.g. '{"lr": 0.01, "optimizer": "adam"}'. --file takes a JSON file (one object or an array
of objects) or a CSV file (.csv: a header of parameter names, one trial per row, an empty
cell for a parameter left to the sampler).

A set may name only some parameters (as Optuna's enqueue_trial): the sampler chooses the
others when the trial starts. A conditional parameter is given with its parents. Every set is
checked against the study's search space first: all are added, or none.

With --spec FILE the database is the spec's "storage" and STUDY its "name"; a study that does
not exist yet is created from the spec, as `hpo run` would create it, so trials can be queued
before the first run.)";

// How many parameters active under `params` it leaves to the sampler (at least; the sampler's
// choices may activate more).
std::size_t count_missing(const SearchSpace& space, const ParamSet& params) {
  std::size_t n = 0;
  for (const auto& p : space.parameters())
    if (!params.count(p.name) && SearchSpace::is_active(p, params)) ++n;
  return n;
}

}  // namespace

int enqueue_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("params", po::value<std::string>(), "one parameter set as a JSON object")
      ("file", po::value<std::string>(), "parameter sets: a JSON file (object or array) or a .csv file");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kEnqueueUsage, options, pos);
  if (!vm) return 0;
  if (vm->count("params") == vm->count("file"))
    throw InputError("give exactly one of --params JSON or --file FILE");

  // The study: the stored one (its space is the truth), else the --spec file's, created below.
  std::optional<StudySpec> file_spec;
  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  if (vm->count("spec")) file_spec = load_spec((*vm)["spec"].as<std::string>());
  const std::filesystem::path storage_path = std::filesystem::absolute(
      resolve_storage_path(cli_storage, file_spec ? &*file_spec : nullptr));
  const std::string name = study_arg(*vm).value_or(file_spec ? file_spec->name : "");
  if (name.empty()) throw InputError("STUDY", "name a study, or give --spec FILE");
  if (file_spec && name != file_spec->name)
    throw InputError("STUDY",
                     "'" + name + "' is not the study of --spec (\"" + file_spec->name + "\")");
  std::unique_ptr<Storage> storage;
  std::optional<StudyRecord> study;
  if (!file_spec || std::filesystem::exists(storage_path)) {
    storage = open_storage(storage_path, /*must_exist=*/true);
    study = storage->find_study(name);
    if (!study && !file_spec)
      study = require_study(*storage, name, storage_path);  // throws, listing the studies
  }
  const StudySpec spec = study ? StudyCore::stored_spec(*study) : *file_spec;

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
    for (auto issue : spec.space.check_partial(sets[i])) {
      if (sets.size() > 1) issue.path = "[" + std::to_string(i) + "]." + issue.path;
      issues.push_back(issue);
    }
  }
  if (sets.empty() && issues.empty()) issues.push_back({"", "no parameter sets given"});
  if (!issues.empty()) throw InputError(issues);

  if (!study) {
    // Nothing is written before every set passed. Created as `hpo run` creates it.
    storage.reset();
    OpenOptions open;
    open.mode = OpenMode::kCreate;
    SpecStudy created = open_spec_study(spec, storage_path, open);
    study = created.core->record();
    storage = std::move(created.storage);
    std::printf("created study '%s' in %s\n", clean_text(name).c_str(), storage_path.c_str());
  }
  for (const auto& params : sets) {
    NewTrial nt;
    nt.state = TrialState::kWaiting;
    nt.params = params;
    const std::optional<Trial> t = storage->create_trial(study->id, nt);
    const std::size_t missing = count_missing(spec.space, params);
    const std::string more =
        missing == 0 ? ""
                     : " (the sampler chooses " + std::to_string(missing) + " more when it starts)";
    std::printf("enqueued trial #%d: %s%s\n", t->number, json_text(params_to_json(params)).c_str(),
                more.c_str());
  }
  return 0;
}

}  // namespace hpo::cli
