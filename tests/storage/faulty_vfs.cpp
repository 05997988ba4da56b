#include "tests/storage/faulty_vfs.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <sqlite3.h>

namespace hpo::testing {
namespace {

constexpr const char* kName = "hpo-faulty";

std::atomic<int> countdown{0};  // > 0: that many WAL writes to go until the failing one
std::atomic<bool> sticky{false};
std::atomic<bool> failing{false};  // sticky failure in progress
std::atomic<int> failure_count{0};
std::atomic<int> wal_write_count{0};

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs faulty_vfs;

// Our file object; the real VFS's file object lives right behind it (szOsFile covers both).
struct FaultyFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool is_wal;
};

sqlite3_file* real_of(sqlite3_file* file) { return reinterpret_cast<FaultyFile*>(file)->real; }

bool should_fail() {
  if (failing.load()) return true;
  int n = countdown.load();
  while (n > 0 && !countdown.compare_exchange_weak(n, n - 1)) {
  }
  if (n != 1) return false;
  if (sticky.load()) failing = true;
  return true;
}

int x_close(sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); }
int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, amount, offset);
}
int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (reinterpret_cast<FaultyFile*>(f)->is_wal) {
    ++wal_write_count;
    if (should_fail()) {
      ++failure_count;
      return SQLITE_IOERR_WRITE;
    }
  }
  return real_of(f)->pMethods->xWrite(real_of(f), buf, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int x_sync(sqlite3_file* f, int flags) { return real_of(f)->pMethods->xSync(real_of(f), flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int x_lock(sqlite3_file* f, int lock) { return real_of(f)->pMethods->xLock(real_of(f), lock); }
int x_unlock(sqlite3_file* f, int lock) { return real_of(f)->pMethods->xUnlock(real_of(f), lock); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<FaultyFile*>(file);
  f->base.pMethods = nullptr;  // SQLite calls no method on a file whose open failed
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  // The unix VFS only implements version 3 of the I/O methods; the forwarders rely on that.
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void x_dl_error(sqlite3_vfs*, int size, char* out) { real_vfs->xDlError(real_vfs, size, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int x_randomness(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xRandomness(real_vfs, size, out);
}
int x_sleep(sqlite3_vfs*, int microseconds) { return real_vfs->xSleep(real_vfs, microseconds); }
int x_current_time(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xGetLastError(real_vfs, size, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

void register_vfs() {
  real_vfs = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr || real_vfs->iVersion < 2)
    throw std::runtime_error("no usable default SQLite VFS to wrap");
  std::memset(&faulty_vfs, 0, sizeof faulty_vfs);
  faulty_vfs.iVersion = 2;
  faulty_vfs.szOsFile = static_cast<int>(sizeof(FaultyFile)) + real_vfs->szOsFile;
  faulty_vfs.mxPathname = real_vfs->mxPathname;
  faulty_vfs.zName = kName;
  faulty_vfs.xOpen = x_open;
  faulty_vfs.xDelete = x_delete;
  faulty_vfs.xAccess = x_access;
  faulty_vfs.xFullPathname = x_full_pathname;
  faulty_vfs.xDlOpen = x_dl_open;
  faulty_vfs.xDlError = x_dl_error;
  faulty_vfs.xDlSym = x_dl_sym;
  faulty_vfs.xDlClose = x_dl_close;
  faulty_vfs.xRandomness = x_randomness;
  faulty_vfs.xSleep = x_sleep;
  faulty_vfs.xCurrentTime = x_current_time;
  faulty_vfs.xGetLastError = x_get_last_error;
  faulty_vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&faulty_vfs, /*makeDflt=*/0) != SQLITE_OK)
    throw std::runtime_error("cannot register the faulty SQLite VFS");
}

}  // namespace

const char* FaultyVfs::name() {
  static std::once_flag once;
  std::call_once(once, register_vfs);
  return kName;
}

void FaultyVfs::fail_nth_wal_write(int n, bool stick) {
  failing = false;
  sticky = stick;
  countdown = n;
}

void FaultyVfs::disarm() {
  countdown = 0;
  sticky = false;
  failing = false;
}

int FaultyVfs::failures() { return failure_count.load(); }

int FaultyVfs::wal_writes() { return wal_write_count.load(); }

}  // namespace hpo::testing
