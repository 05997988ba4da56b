// Reading and creating files that someone else may have prepared: a spec or enqueue file a user
// names, a result file a trial wrote, trial directories in a shared place. None of these may
// hang hpo, make it read without end, or make it write where it must not:
//   - files are opened without blocking and without following a symbolic link, and refused
//     unless they are regular files (a FIFO would block, /dev/zero would never end);
//   - reads stop at a limit, whatever the file's size claims;
//   - directories are created one level at a time with mkdir, never through a symbolic link,
//     and an existing one must be a directory owned by this user.
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace hpo {

struct FileText {
  std::string text;   // the content, when error is empty
  std::string error;  // why it cannot be read: "is a FIFO, not a regular file", ...
  bool from_middle = false;  // read_regular_file_tail: the text starts inside the file
  bool ok() const { return error.empty(); }
};

// Reads `path` whole, refusing anything but a regular file of at most `max_bytes`.
// `follow_symlinks` lets a user's own spec file be a link; files in trial directories are read
// with it false. Never blocks on a FIFO or a device.
FileText read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                           bool follow_symlinks);

// The last `max_bytes` of `path` at most (a log's end), with the same refusals as
// read_regular_file; a larger file is not an error. Never blocks, never reads without end.
FileText read_regular_file_tail(const std::filesystem::path& path, std::size_t max_bytes,
                                bool follow_symlinks);

// Creates `dir` and any missing parents below `root` (inclusive) with mkdir, never following a
// symbolic link, and checks that each of them that already existed is a directory owned by
// this user. Returns an error message, or nullopt on success. Parents above `root` are created
// as `create_directories` would, but not checked. A `dir` outside `root` is made and checked
// alone.
std::optional<std::string> make_owned_dirs(const std::filesystem::path& root,
                                           const std::filesystem::path& dir);

// True when `dir` does not exist, or is an empty directory (not a link to one). A trial's own
// directory must be, when the trial starts: the database knows nothing of files already there.
bool is_missing_or_empty_dir(const std::filesystem::path& dir);

}  // namespace hpo
