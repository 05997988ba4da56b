#include "engine/report/output_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "hpo/errors.h"

namespace hpo {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void exists_error(const std::string& option, const fs::path& target) {
  throw InputError(option, "'" + target.string() +
                               "' exists; give --force to overwrite it, or choose another file");
}

}  // namespace

OutputFile::OutputFile(fs::path target, bool overwrite, std::string option)
    : target_(std::move(target)), overwrite_(overwrite), option_(std::move(option)) {
  if (target_.empty()) throw InputError(option_, "needs a file name");
  const fs::path dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(option_, "directory '" + dir.string() + "' does not exist");
  if (fs::is_directory(target_, ec))
    throw InputError(option_, "'" + target_.string() + "' is a directory");
  if (!overwrite_ && fs::exists(fs::symlink_status(target_, ec))) exists_error(option_, target_);
  std::random_device rd;
  temp_ = dir / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(rd() % 1000000));
}

OutputFile::~OutputFile() {
  if (committed_) return;
  std::error_code ec;
  fs::remove(temp_, ec);
  fs::remove(temp_.string() + "-journal", ec);
}

void OutputFile::write(const std::string& content) {
  std::ofstream out(temp_, std::ios::binary | std::ios::trunc);
  out << content;
  out.flush();
  if (!out) throw Error("cannot write '" + temp_.string() + "': " + std::strerror(errno));
}

void OutputFile::commit() {
  if (overwrite_) {
    std::error_code ec;
    fs::rename(temp_, target_, ec);
    if (ec) throw Error("cannot write '" + target_.string() + "': " + ec.message());
  } else {
    if (::link(temp_.c_str(), target_.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) exists_error(option_, target_);
      if (err == EPERM || err == EOPNOTSUPP) {
        // A file system without hard links: check, then rename (a narrow race remains).
        std::error_code ec;
        if (fs::exists(fs::symlink_status(target_, ec))) exists_error(option_, target_);
        fs::rename(temp_, target_, ec);
        if (ec) throw Error("cannot write '" + target_.string() + "': " + ec.message());
        committed_ = true;
        return;
      }
      throw Error("cannot write '" + target_.string() + "': " + std::strerror(err));
    }
    std::error_code ec;
    fs::remove(temp_, ec);
  }
  committed_ = true;
}

}  // namespace hpo
