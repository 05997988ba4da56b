#include "engine/cli/study_access.h"

#include "engine/factory.h"
#include "engine/trials_root.h"
#include "hpo/errors.h"

namespace hpo::cli {

void add_storage_options(po::options_description& options) {
  // clang-format off
  options.add_options()
      ("storage", po::value<std::string>(),
       "results database (SQLite file); default: the --spec file's \"storage\", else "
       "$HPO_STORAGE, else ./hpo.db")
      ("spec", po::value<std::string>(),
       "a study spec: its \"storage\" is the database and its \"name\" the study");
  // clang-format on
}

StudyLocation locate(const po::variables_map& vm) {
  std::optional<std::filesystem::path> cli;
  if (vm.count("storage")) cli = vm["storage"].as<std::string>();
  StudyLocation location;
  if (vm.count("spec")) {
    const StudySpec spec = load_spec(vm["spec"].as<std::string>());
    location.storage = resolve_storage_path(cli, &spec);
    location.spec_study = spec.name;
  } else {
    location.storage = resolve_storage_path(cli, nullptr);
  }
  return location;
}

std::unique_ptr<Storage> open_results(const std::filesystem::path& path) {
  return open_storage(path, /*must_exist=*/true);
}

StudyRecord require_study(Storage& storage, const std::string& name,
                          const std::filesystem::path& path) {
  if (auto study = storage.find_study(name)) return *study;
  std::string known;
  for (const auto& s : storage.list_studies()) known += (known.empty() ? "" : ", ") + s.name;
  throw InputError("no study named '" + name + "' in " + path.string() +
                   " (studies: " + (known.empty() ? "none" : known) + ")");
}

std::string study_name(const std::optional<std::string>& given, const StudyLocation& location) {
  if (given) return *given;
  if (location.spec_study) return *location.spec_study;
  throw InputError("STUDY", "name a study, or give --spec FILE");
}

OpenedStudy open_study(const po::variables_map& vm, const std::optional<std::string>& given) {
  OpenedStudy opened;
  opened.location = locate(vm);
  const std::string name = study_name(given, opened.location);
  opened.storage = open_results(opened.location.storage);
  opened.study = require_study(*opened.storage, name, opened.location.storage);
  return opened;
}

SpecStudy open_spec_study(const StudySpec& spec, const std::filesystem::path& storage_path,
                          const OpenOptions& open) {
  preflight(spec);
  SpecStudy opened;
  opened.trials_root = spec.executor && spec.executor->trials_dir
                           ? *spec.executor->trials_dir
                           : storage_path.parent_path() / (spec.name + "-trials");
  const bool study_exists = std::filesystem::exists(storage_path) &&
                            open_storage(storage_path, /*must_exist=*/true)->find_study(spec.name);
  if (!study_exists) {
    if (auto problem = check_trials_root_for_new_study(opened.trials_root, spec.name))
      throw InputError("executor.trials_dir", *problem);
  }
  opened.storage = open_storage(storage_path, /*must_exist=*/false);
  opened.core = std::make_unique<StudyCore>(*opened.storage, spec, open);
  return opened;
}

std::optional<std::string> study_arg(const po::variables_map& vm) {
  if (vm.count("study")) return vm["study"].as<std::string>();
  return std::nullopt;
}

std::string check_format(const std::string& format, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (format == a) return format;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw InputError("--format", "must be one of " + list + ", got '" + format + "'");
}

}  // namespace hpo::cli
