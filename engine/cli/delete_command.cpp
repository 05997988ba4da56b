// hpo delete STUDY: remove a study from the results database, and with --with-trials its trial
// directories.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <system_error>

#include "engine/cli/commands.h"
#include "engine/cli/study_access.h"
#include "engine/model/text.h"
#include "engine/study_core.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDeleteUsage =
    R"(usage: hpo delete STUDY [--yes] [--with-trials] [--storage PATH | --spec FILE]

Removes STUDY from the results database: the study, its trials with their values,
intermediate values and reasons, and its runs' leases, in one transaction. Other studies are
untouched. On a terminal it asks first; --yes deletes without asking (and is needed when
stdin is not a terminal). Stop the runs of the study first.

--with-trials also removes the study's trial directories (logs, checkpoints, result files)
under its trials directory (executor.trials_dir, else <database dir>/<study>-trials), and that
directory once it is empty. Without it they stay, and a new study of the same name cannot run
there until they are moved away.)";

// Where the study's trial directories go (as `hpo run` chose it).
fs::path trials_root_of(const StudyRecord& study, const fs::path& storage_path) {
  try {
    const StudySpec spec = StudyCore::stored_spec(study);
    if (spec.executor && spec.executor->trials_dir) return *spec.executor->trials_dir;
  } catch (const InputError&) {
    // A spec this hpo cannot read: the default place.
  }
  return storage_path.parent_path() / (study.name + "-trials");
}

// True when `path` is `root` itself or lies below it (lexically: hpo made both).
bool is_under(const fs::path& path, const fs::path& root) {
  const fs::path rel = path.lexically_normal().lexically_relative(root.lexically_normal());
  return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

std::string counts_text(const TrialCounts& c) {
  std::string out = std::to_string(c.total()) + " trial" + (c.total() == 1 ? "" : "s");
  std::string parts;
  auto part = [&](int n, const char* state) {
    if (n > 0) parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + state;
  };
  part(c.complete, "COMPLETE");
  part(c.pruned, "PRUNED");
  part(c.fail, "FAIL");
  part(c.running, "RUNNING");
  part(c.waiting, "WAITING");
  return parts.empty() ? out : out + ": " + parts;
}

}  // namespace

int delete_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("yes,y", po::bool_switch(), "delete without asking")
      ("with-trials", po::bool_switch(), "also remove the study's trial directories");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kDeleteUsage, options, pos);
  if (!vm) return 0;
  const bool yes = (*vm)["yes"].as<bool>();
  const bool with_trials = (*vm)["with-trials"].as<bool>();

  OpenedStudy opened = open_study(*vm, study_arg(*vm));
  Storage& storage = *opened.storage;
  const StudyRecord& study = opened.study;
  const fs::path storage_path = fs::absolute(opened.location.storage);
  const std::string name = clean_text(study.name);
  const TrialCounts counts = storage.count_trials(study.id);
  const fs::path root = fs::absolute(trials_root_of(study, storage_path));

  if (!yes) {
    if (::isatty(STDIN_FILENO) != 1)
      throw InputError("--yes",
                       "stdin is not a terminal, so hpo cannot ask: nothing was "
                       "deleted; add --yes to delete study '" +
                           name + "' without asking");
    std::fprintf(stderr, "delete study '%s' (%s) from %s%s? [y/N] ", name.c_str(),
                 counts_text(counts).c_str(), storage_path.c_str(),
                 with_trials ? (" and its trial directories under " + root.string()).c_str() : "");
    std::fflush(stderr);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::fprintf(stderr, "nothing deleted\n");
      return 1;
    }
  }
  if (counts.running > 0)
    std::fprintf(stderr,
                 "hpo delete: warning: %d trial(s) of '%s' were RUNNING; a run still going "
                 "fails to record them\n",
                 counts.running, name.c_str());

  const std::vector<Trial> trials = storage.get_trials(study.id);
  if (!storage.delete_study(study.id))
    throw InputError("no study named '" + name + "' in " + storage_path.string() +
                     " (deleted meanwhile)");
  std::printf("deleted study '%s' (%s) from %s\n", name.c_str(), counts_text(counts).c_str(),
              storage_path.c_str());

  if (!with_trials) {
    std::error_code ec;
    if (fs::is_directory(root, ec) && !fs::is_empty(root, ec))
      std::printf(
          "its trial directories stay in %s (move them away before a new study named "
          "'%s' runs there)\n",
          root.c_str(), name.c_str());
    return 0;
  }
  int removed = 0;
  std::string failures;
  for (const Trial& t : trials) {
    // A trial without a recorded directory (an enqueued one) ran where the run put it.
    const fs::path dir =
        t.trial_dir.empty() ? root / std::to_string(t.number) : fs::absolute(t.trial_dir);
    // Only what hpo made for this study: never a path the database names elsewhere.
    if (!is_under(dir, root)) continue;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(dir, ec))) continue;
    fs::remove_all(dir, ec);
    if (ec) {
      failures += "\n  " + dir.string() + ": " + ec.message();
    } else {
      ++removed;
    }
  }
  std::error_code ec;
  if (fs::is_directory(root, ec) && fs::is_empty(root, ec)) fs::remove(root, ec);
  std::printf("removed %d trial director%s under %s\n", removed, removed == 1 ? "y" : "ies",
              root.c_str());
  if (!failures.empty()) {
    std::fprintf(stderr, "hpo delete: error: could not remove:%s\n", failures.c_str());
    return 1;
  }
  return 0;
}

}  // namespace hpo::cli
