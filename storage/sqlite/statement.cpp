#include "storage/sqlite/statement.h"

#include <cmath>

#include <sqlite3.h>

#include "hpo/errors.h"

namespace hpo::sqlite {

void DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void StatementFinalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

StorageErrc errc_of(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StorageErrc::kBusy;
    case SQLITE_CORRUPT: return StorageErrc::kCorrupt;
    case SQLITE_NOTADB: return StorageErrc::kNotADatabase;
    case SQLITE_CANTOPEN: return StorageErrc::kCantOpen;
    case SQLITE_IOERR:
    case SQLITE_FULL: return StorageErrc::kIo;
    case SQLITE_READONLY:
    case SQLITE_PERM: return StorageErrc::kReadOnly;
    case SQLITE_MISUSE: return StorageErrc::kMisuse;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return StorageErrc::kMismatch;
    default: return StorageErrc::kOther;
  }
}

StorageError error_of(int code, const std::string& message) {
  return StorageError(errc_of(code), message + " (SQLite error " + std::to_string(code) + ")",
                      code);
}

void throw_error(sqlite3* db, int code) {
  // sqlite3_errmsg is specific ("UNIQUE constraint failed: studies.name") but only describes
  // the connection's most recent failure; fall back to the generic text for the code.
  std::string message = db != nullptr && sqlite3_extended_errcode(db) == code
                            ? sqlite3_errmsg(db)
                            : sqlite3_errstr(code);
  throw error_of(code, message);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_error(db, rc);
  stmt_.reset(stmt);
}

void Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK) throw_error(db_, rc);
}

void Statement::bind(int index, double value) {
  const int rc = std::isnan(value) ? sqlite3_bind_null(stmt_.get(), index)
                                   : sqlite3_bind_double(stmt_.get(), index, value);
  if (rc != SQLITE_OK) throw_error(db_, rc);
}

void Statement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_error(db_, rc);
}

void Statement::bind(int index, std::nullopt_t) {
  const int rc = sqlite3_bind_null(stmt_.get(), index);
  if (rc != SQLITE_OK) throw_error(db_, rc);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_error(db_, rc);
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

bool Statement::is_text(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_TEXT;
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

double Statement::real(int column) const { return sqlite3_column_double(stmt_.get(), column); }

std::optional<double> Statement::optional_real(int column) const {
  if (is_null(column)) return std::nullopt;
  return real(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_.get(), column);
  if (data == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

int Statement::changes() const { return sqlite3_changes(db_); }

std::int64_t Statement::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

void Statement::reset() noexcept {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

Database::Database(const std::string& file, bool create, const std::string& vfs) {
  // NOMUTEX: the connection is only ever used under SqliteStorage's own mutex, so SQLite's
  // per-call locking would be pure overhead.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  db_.reset(db);  // sqlite3_open_v2 allocates a handle even on failure; it must be closed
  if (rc != SQLITE_OK) throw_error(db, rc);
  sqlite3_extended_result_codes(db, 1);
}

Database::~Database() {
  cache_.clear();  // finalize before close, so that sqlite3_close_v2 releases everything now
}

CachedStatement Database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end())
    it = cache_.emplace(sql, std::make_unique<Statement>(db_.get(), sql)).first;
  return CachedStatement(*it->second);
}

void Database::exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return;
  std::string message = error != nullptr ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  throw error_of(rc, message);
}

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

Transaction::Transaction(Database& db, Mode mode) : db_(db) {
  auto begin = db_.cached(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
  begin->run();
}

Transaction::~Transaction() {
  // SQLite may already have rolled back by itself (after an I/O error or SQLITE_FULL during
  // COMMIT); a ROLLBACK then would only fail with "no transaction is active".
  if (done_ || !db_.in_transaction()) return;
  try {
    auto rollback = db_.cached("ROLLBACK");
    rollback->run();
  } catch (...) {
    // Nothing more can be done in a destructor; SQLite rolls back when the connection closes.
  }
}

void Transaction::commit() {
  auto commit = db_.cached("COMMIT");
  commit->run();
  done_ = true;
}

}  // namespace hpo::sqlite
