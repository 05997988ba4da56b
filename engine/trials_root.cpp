#include "engine/trials_root.h"

#include "engine/model/file_io.h"

namespace hpo {

std::optional<std::string> check_trials_root_for_new_study(const std::filesystem::path& root,
                                                           const std::string& study) {
  if (is_missing_or_empty_dir(root)) return std::nullopt;
  return "trials directory '" + root.string() + "' already holds files, but study '" + study +
         "' is new in this database: they belong to another study (or to one whose database "
         "was deleted), and its checkpoints and logs must not be mixed with this one's (move "
         "the directory away, or set executor.trials_dir to another one)";
}

}  // namespace hpo
