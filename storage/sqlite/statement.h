// Small RAII wrappers over the SQLite C API, used by SqliteStorage and by the Optuna export
// (engine/report/optuna_export.cpp), which writes a SQLite file of its own (not part of the public
// storage API):
//   DbHandle     an open sqlite3 connection, closed by its deleter;
//   Statement    one prepared statement with bind / step / column helpers;
//   Database     a connection plus a cache of prepared statements (each SQL text is prepared
//                once and reused, which is most of what makes small transactions fast);
//   Transaction  BEGIN [IMMEDIATE] ... COMMIT, rolled back by its destructor unless committed.
// Every failure throws hpo::StorageError with the StorageErrc that SQLite's result code maps to
// (errc_of), the extended SQLite code as its native code, and SQLite's own message; callers add
// the file name and the operation (see SqliteStorage).
// Thread-compatible: one Database is used by one thread at a time (SqliteStorage holds a mutex
// around every use). sqlite3.h stays out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hpo/errors.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hpo::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const;
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};

// The backend-neutral kind of an (extended) SQLite result code: SQLITE_BUSY and SQLITE_LOCKED
// are kBusy (another connection holds a lock; running the whole transaction again later is the
// cure), SQLITE_IOERR_* and SQLITE_FULL kIo, and so on.
StorageErrc errc_of(int code);

// StorageError(errc_of(code), "<message> (SQLite error <code>)", code).
StorageError error_of(int code, const std::string& message);

// Throws error_of(code, <sqlite message>). `db` may be null; then the message comes from
// sqlite3_errstr(code).
[[noreturn]] void throw_error(sqlite3* db, int code);

class Statement {
 public:
  // Prepares `sql` (one statement). Throws StorageError on a syntax error.
  Statement(sqlite3* db, std::string_view sql);

  // Binding: indexes start at 1. Strings are copied by SQLite (SQLITE_TRANSIENT).
  void bind(int index, std::int64_t value);
  void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
  void bind(int index, double value);  // NaN is stored as NULL (SQLite's own rule)
  void bind(int index, std::string_view value);
  void bind(int index, const std::string& value) { bind(index, std::string_view(value)); }
  void bind(int index, const char* value) { bind(index, std::string_view(value)); }
  void bind(int index, std::nullopt_t);  // NULL
  template <typename T>
  void bind(int index, const std::optional<T>& value) {
    if (value) {
      bind(index, *value);
    } else {
      bind(index, std::nullopt);
    }
  }
  // Binds args to parameters 1, 2, ... in order.
  template <typename... Args>
  void bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
  }

  // Runs the statement one step: true when a row is available, false when done. Throws
  // StorageError on failure (the statement must then be reset before reuse).
  bool step();
  // Runs a statement that returns no rows (or whose rows are not needed) to completion.
  void run();

  // Columns of the current row; indexes start at 0.
  bool is_null(int column) const;
  bool is_text(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::optional<double> optional_real(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;

  // Rows changed by the last completed INSERT/UPDATE/DELETE on this connection.
  int changes() const;
  std::int64_t last_insert_rowid() const;

  // Makes the statement ready to run again and clears its bindings. Never throws.
  void reset() noexcept;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
};

// A statement borrowed from a Database's cache; resets it (releasing any read snapshot it
// holds) when it goes out of scope.
class CachedStatement {
 public:
  explicit CachedStatement(Statement& statement) : statement_(&statement) {}
  ~CachedStatement() { statement_->reset(); }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;

  Statement* operator->() const { return statement_; }
  Statement& operator*() const { return *statement_; }

 private:
  Statement* statement_;
};

class Database {
 public:
  // Opens (and with `create`, creates) the database file with sqlite3_open_v2, extended result
  // codes on. `vfs` empty means SQLite's default VFS. Throws StorageError.
  Database(const std::string& file, bool create, const std::string& vfs);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* get() const { return db_.get(); }

  // The prepared statement for `sql`, prepared on first use. `sql` must outlive the Database
  // (use string literals): it is the cache key.
  CachedStatement cached(const char* sql);
  // Runs one or more statements without results (DDL, PRAGMA): sqlite3_exec.
  void exec(const char* sql);
  // True while a transaction is open on this connection.
  bool in_transaction() const;

 private:
  DbHandle db_;
  // Statements must be finalized before the connection closes: declared after db_.
  std::unordered_map<const char*, std::unique_ptr<Statement>> cache_;
};

// A transaction on `db`. kImmediate takes the write lock at BEGIN, so that concurrent writers
// (other connections, other processes) queue at BEGIN instead of failing at their first write;
// kDeferred is for reads (a consistent snapshot). The destructor rolls back unless commit()
// succeeded.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  Transaction(Database& db, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Commits; throws StorageError when COMMIT fails (the destructor then rolls back).
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace hpo::sqlite
