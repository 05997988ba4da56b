// How the read-only subcommands (status, trials, best, show, compare, export, report,
// dashboard) find their results database and study:
//   database: --storage PATH > the "storage" of --spec FILE > $HPO_STORAGE > ./hpo.db;
//   study:    the STUDY argument > the "name" of --spec FILE.
// They never create a database: a missing file is an InputError. The commands that write (run,
// enqueue --spec) open or create the study a spec describes through open_spec_study().
#pragma once

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "engine/cli/options.h"
#include "engine/model/study_spec.h"
#include "engine/study_core.h"
#include "storage/storage.h"

namespace hpo::cli {

// Adds --storage PATH and --spec FILE.
void add_storage_options(po::options_description& options);

// The database the options name (see above), and the study name --spec gives, if any.
struct StudyLocation {
  std::filesystem::path storage;
  std::optional<std::string> spec_study;
};
StudyLocation locate(const po::variables_map& vm);

// Opens the database at `path`; InputError when it does not exist.
std::unique_ptr<Storage> open_results(const std::filesystem::path& path);

// The study named `name` in `storage`; InputError listing the studies there when none is.
StudyRecord require_study(Storage& storage, const std::string& name,
                          const std::filesystem::path& path);

// The STUDY argument `given`, else the spec's name; InputError when neither is there.
std::string study_name(const std::optional<std::string>& given, const StudyLocation& location);

// What a command that reads one study works with: the database it opened and the study there.
struct OpenedStudy {
  StudyLocation location;
  std::unique_ptr<Storage> storage;
  StudyRecord study;
};

// Locates the database (see above), opens it and finds the study `given` names (else the
// --spec file's): the InputErrors of locate(), study_name(), open_results() and require_study().
OpenedStudy open_study(const po::variables_map& vm, const std::optional<std::string>& given);

// A study opened for writing from its spec, created (with its database) when it does not exist.
struct SpecStudy {
  std::unique_ptr<Storage> storage;
  std::unique_ptr<StudyCore> core;
  // Where its trial directories go: executor.trials_dir, else "<database dir>/<study>-trials".
  std::filesystem::path trials_root;
};
// The one way `hpo run` and `hpo enqueue --spec` open a study: the executor's preflight first
// (a study that cannot run writes nothing), then, for a study that does not exist yet, its
// trials directory must be missing or empty (engine/trials_root.h), then the database is
// opened (created when missing) and the study opened as `open` says. InputErrors of each step.
SpecStudy open_spec_study(const StudySpec& spec, const std::filesystem::path& storage_path,
                          const OpenOptions& open);

// The "study" positional option, when given.
std::optional<std::string> study_arg(const po::variables_map& vm);

// `format` when it is one of `allowed`; InputError on the path "--format" otherwise.
std::string check_format(const std::string& format, std::initializer_list<const char*> allowed);

}  // namespace hpo::cli
