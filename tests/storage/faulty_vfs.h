// FaultyVfs: a SQLite VFS that forwards everything to the default VFS (unix) and makes chosen
// writes to WAL files fail with SQLITE_IOERR_WRITE, as a full or failing disk would; the
// SQLite counterpart of leveldb's ErrorEnv. Open a SqliteStorage with
// SqliteOptions::vfs = FaultyVfs::name() to put it under control. Only WAL writes count: in WAL
// mode every committed change goes through them, so they are where a commit can fail.
// Thread-safe (atomics); the settings are process-wide.
#pragma once

namespace hpo::testing {

class FaultyVfs {
 public:
  // The VFS name, registering it with SQLite on first use.
  static const char* name();

  // The `n`th WAL write from now on fails (n >= 1); with `sticky`, every later one fails too
  // until disarm().
  static void fail_nth_wal_write(int n, bool sticky = false);
  static void disarm();
  // Writes failed so far (a counter that only grows).
  static int failures();
  // WAL writes attempted so far.
  static int wal_writes();
};

}  // namespace hpo::testing
