// Test helpers for tests/storage: one fixture per Storage implementation (for
// TEMPLATE_TEST_CASE), a canonical text form of stored records (so that a mismatch prints as
// a readable diff), and a tiny raw SQLite connection for looking at or tampering with files
// behind SqliteStorage's back.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/memory_storage.h"
#include "storage/sqlite_storage.h"
#include "storage/storage.h"
#include "tests/support/temp_dir.h"

struct sqlite3;

namespace hpo::testing {

class MemoryStorageFixture {
 public:
  static constexpr const char* kName = "memory";
  Storage& storage() { return storage_; }
  // Another handle on the same data: memory has one object, so it is that object again.
  Storage& another_connection() { return storage_; }
  // Memory has nothing to reopen; the same object keeps serving.
  void reopen() {}

 private:
  MemoryStorage storage_;
};

class SqliteStorageFixture {
 public:
  static constexpr const char* kName = "sqlite";
  explicit SqliteStorageFixture(SqliteOptions options = {});
  Storage& storage() { return *storage_; }
  SqliteStorage& sqlite() { return *storage_; }
  // A second SqliteStorage (its own connection) on the same file, opened on first use; it
  // coordinates with storage() through SQLite's file locks, as another process would.
  Storage& another_connection();
  // Closes the connection and opens the file again: what follows reads from disk.
  void reopen();
  // Closes the connection (storage() must not be used until reopen()).
  void close() { storage_.reset(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
  SqliteOptions options_;
  std::unique_ptr<SqliteStorage> storage_;
  std::unique_ptr<SqliteStorage> other_;
};

// How describe() writes times: kPresence writes only whether a time is set (two storages read
// different clocks), kExact writes the stored Unix seconds.
enum class Times { kPresence, kExact };

// Canonical, complete text form of a record: every field, parameters with their kind
// ("double:0.1", "int:3"), doubles in shortest round-trip form (NaN as "nan").
std::string describe(const Trial& trial, Times times = Times::kPresence);
std::string describe(const std::vector<Trial>& trials, Times times = Times::kPresence);
std::string describe(const StudyRecord& study, Times times = Times::kPresence);
std::string describe(const std::vector<StudyRecord>& studies, Times times = Times::kPresence);
std::string describe(const RunRecord& run, Times times = Times::kPresence);
std::string describe(const std::vector<RunRecord>& runs, Times times = Times::kPresence);
std::string describe(const TrialCounts& counts);
// Every study with its runs and all its trials.
std::string describe_all(Storage& storage, Times times = Times::kPresence);

// "" when `actual` equals `expected`; otherwise the first line where they differ, both ways.
std::string first_difference(const std::string& actual, const std::string& expected);

// A raw SQLite connection (no hpo code involved). Throws std::runtime_error on failure.
class RawSqlite {
 public:
  explicit RawSqlite(const std::filesystem::path& file);
  ~RawSqlite();
  RawSqlite(const RawSqlite&) = delete;
  RawSqlite& operator=(const RawSqlite&) = delete;

  void exec(const std::string& sql);
  // The first column of the first row as text ("" for NULL or no row).
  std::string query(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

// A study created with the fields most cases do not care about filled in (spec_dir
// "/specs/<name>", the seed given).
StudyRecord make_study(StudyCatalog& storage, const std::string& name,
                       Direction direction = Direction::kMinimize,
                       const std::string& metric = "loss",
                       const nlohmann::json& spec = nlohmann::json(),
                       std::uint64_t sampler_seed = 0);

// create_trial without a limit or a sampler, which always creates the trial.
Trial add_trial(TrialJournal& storage, std::int64_t study_id, const NewTrial& trial);

// A study spec document of the usual shape.
nlohmann::json sample_spec(const std::string& name);

}  // namespace hpo::testing
