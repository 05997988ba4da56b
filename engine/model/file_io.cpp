#include "engine/model/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace hpo {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string limit_text(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Opens `path` for reading without blocking, refusing anything but a regular file; sets
// `error` and returns -1 when it cannot be used. The descriptor is blocking again on return (a
// regular file never blocks for long).
int open_regular(const std::filesystem::path& path, bool follow_symlinks, std::string& error,
                 struct stat& st) {
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  if (!follow_symlinks) flags |= O_NOFOLLOW;
  Fd file{::open(path.c_str(), flags)};
  if (file.fd < 0) {
    const int err = errno;
    error = err == ELOOP && !follow_symlinks
                ? "is a symbolic link (refused)"
                : std::string("cannot be opened: ") + std::strerror(err);
    return -1;
  }
  if (::fstat(file.fd, &st) != 0) {
    error = std::string("cannot be read: ") + std::strerror(errno);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "is " + kind_of(st.st_mode) + ", not a regular file";
    return -1;
  }
  ::fcntl(file.fd, F_SETFL, ::fcntl(file.fd, F_GETFL) & ~O_NONBLOCK);
  const int fd = file.fd;
  file.fd = -1;
  return fd;
}

// Appends what is left of `fd` to out.text, at most `max_bytes` in all. Sets out.error (and
// clears the text) on a read error, and when there is more unless `cut` (then it stops there).
void read_rest(int fd, std::size_t max_bytes, bool cut, FileText& out) {
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = std::string("cannot be read: ") + std::strerror(errno);
      out.text.clear();
      return;
    }
    if (n == 0) return;
    if (out.text.size() + static_cast<std::size_t>(n) > max_bytes) {
      if (cut) {
        out.text.append(buf, max_bytes - out.text.size());
        return;
      }
      out.error = "is larger than " + limit_text(max_bytes);
      out.text.clear();
      return;
    }
    out.text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

FileText read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                           bool follow_symlinks) {
  FileText out;
  struct stat st {};
  Fd file{open_regular(path, follow_symlinks, out.error, st)};
  if (file.fd >= 0) read_rest(file.fd, max_bytes, /*cut=*/false, out);
  return out;
}

FileText read_regular_file_tail(const std::filesystem::path& path, std::size_t max_bytes,
                                bool follow_symlinks) {
  FileText out;
  struct stat st {};
  Fd file{open_regular(path, follow_symlinks, out.error, st)};
  if (file.fd < 0) return out;
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > max_bytes) {
    if (::lseek(file.fd, static_cast<off_t>(size - max_bytes), SEEK_SET) < 0) {
      out.error = std::string("cannot be read: ") + std::strerror(errno);
      return out;
    }
    out.from_middle = true;
  }
  // The file may grow while it is read (a running trial's log): what came after the size
  // seen above is left out rather than refused.
  read_rest(file.fd, max_bytes, /*cut=*/true, out);
  return out;
}

std::optional<std::string> make_owned_dirs(const std::filesystem::path& root,
                                           const std::filesystem::path& dir) {
  // A directory outside `root` is checked on its own (its parents are the user's business).
  std::filesystem::path top = root;
  std::filesystem::path below = dir.lexically_relative(root);
  if (below.empty() || *below.begin() == "..") {
    top = dir;
    below.clear();
  }
  std::error_code ec;
  if (top.has_parent_path()) std::filesystem::create_directories(top.parent_path(), ec);
  // Walk from the top down: each level is made by mkdir (which never follows a link for its
  // last component) or, when it exists, checked with lstat.
  std::filesystem::path current = top;
  std::vector<std::filesystem::path> levels = {top};
  if (!below.empty() && below != ".")
    for (const auto& part : below) levels.push_back(current /= part);
  for (const auto& level : levels) {
    if (::mkdir(level.c_str(), 0755) == 0) continue;
    if (errno != EEXIST)
      return "cannot create directory '" + level.string() + "': " + std::strerror(errno);
    struct stat st {};
    if (::lstat(level.c_str(), &st) != 0)
      return "cannot look at '" + level.string() + "': " + std::strerror(errno);
    if (S_ISLNK(st.st_mode))
      return "'" + level.string() + "' is a symbolic link; hpo does not write through links";
    if (!S_ISDIR(st.st_mode)) return "'" + level.string() + "' exists and is not a directory";
    if (st.st_uid != ::geteuid())
      return "directory '" + level.string() + "' belongs to another user (uid " +
             std::to_string(st.st_uid) + ")";
  }
  return std::nullopt;
}

bool is_missing_or_empty_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(dir, ec);
  if (!std::filesystem::exists(st)) return true;
  if (!std::filesystem::is_directory(st)) return false;
  return std::filesystem::is_empty(dir, ec) && !ec;
}

}  // namespace hpo
