// Trial directories belong to one trial of one study of one database. A directory that holds
// files the database does not know (an earlier study of the same name whose database was
// deleted, another database's study run from the same place) is never reused: a trainer would
// resume from another study's checkpoint and append to its logs. Two checks keep it so:
//   - before a study is created, its trials directory must be missing or empty (this one, by
//     `hpo run`, before anything is written);
//   - when a trial starts, its own directory must be missing or empty (the run loop, and the
//     threads executor when an objective first asks for it; engine/model/file_io.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hpo {

// nullopt when a new study may use `root` for its trial directories (it is missing or empty);
// else why not, with what to do about it.
std::optional<std::string> check_trials_root_for_new_study(const std::filesystem::path& root,
                                                           const std::string& study);

}  // namespace hpo
