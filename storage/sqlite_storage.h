// SqliteStorage: the default Storage, one SQLite file per study set (next to the spec unless
// --storage says otherwise). Several processes may share a file: every mutation is one
// BEGIN IMMEDIATE transaction, so writers queue instead of colliding, and trial numbers are
// assigned inside it. A busy database is waited for (SQLite busy timeout) and a transaction
// that still meets SQLITE_BUSY/SQLITE_LOCKED is run again with backoff until
// SqliteOptions::busy_timeout has passed; only then does "database is locked" surface.
//
// The file is in WAL mode. It carries a schema version (table schema_version); opening an
// older file migrates it in one transaction, opening a newer one, or a file that is not an hpo
// database, fails without touching the file.
//
// Thread-safe: one connection per object, guarded by a mutex (open more objects for parallel
// writers; they coordinate through SQLite's file locks like separate processes do).
// Every failure is a StorageError with its StorageErrc, the extended SQLite result code as its
// native code, and a message naming the file and the operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hpo {

// How hard SQLite works to make a commit survive a crash (PRAGMA synchronous, in WAL mode).
enum class SqliteSync {
  kNormal,  // no fsync per commit: survives a crash of the process, not of the machine
  kFull,    // fsync per commit: survives a power loss too, at the cost of a disk flush each
};

// Options of SqliteStorage. Not part of the study spec: they come from the command line or
// from code.
struct SqliteOptions {
  // How long a call may wait for other connections' locks, in total (SQLite's busy handler
  // plus whole-transaction retries), before it fails with SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{10000};
  // PRAGMA synchronous for the WAL journal.
  SqliteSync synchronous = SqliteSync::kNormal;
  // Create the file when it does not exist; otherwise a missing file is a StorageError.
  bool create_if_missing = true;
  // Name of a registered SQLite VFS to open the file with; empty: SQLite's default. Tests use
  // a VFS that injects I/O errors.
  std::string vfs;
};

class SqliteStorage final : public Storage {
 public:
  // The schema version this build writes; files at a lower version are migrated on open.
  static constexpr int kSchemaVersion = 5;

  // Opens (or creates) the database at `file` and migrates it to kSchemaVersion. Throws
  // StorageError when the file cannot be opened or created (kCantOpen), is not an hpo database
  // (kNotADatabase: a file that is not SQLite, or a SQLite file with other tables), or has a
  // schema version newer than kSchemaVersion (kVersion). A file that is refused is left
  // unchanged.
  explicit SqliteStorage(const std::filesystem::path& file, SqliteOptions options = {});
  ~SqliteStorage() override;

  const std::filesystem::path& path() const;

  // The contract of each method is in storage/storage.h. Failures name the file and the
  // operation, and carry SQLite's extended result code as their native code.
  StudyRecord create_study(const NewStudy& study) override;
  std::optional<StudyRecord> find_study(const std::string& name) override;
  std::vector<StudyRecord> list_studies() override;
  void update_study_spec(std::int64_t study_id, const nlohmann::json& spec,
                         const std::string& spec_dir) override;
  bool delete_study(std::int64_t study_id) override;

  std::optional<Trial> create_trial(std::int64_t study_id, const NewTrial& trial,
                                    std::optional<int> limit = std::nullopt) override;
  std::optional<Trial> claim_waiting_trial(std::int64_t study_id, const std::string& owner,
                                           std::optional<int> limit = std::nullopt) override;
  std::optional<Trial> adopt_trial(std::int64_t trial_id, const std::string& from_owner,
                                   const std::string& to_owner) override;
  bool set_trial_location(std::int64_t trial_id, const std::string& location) override;
  bool set_trial_launch(std::int64_t trial_id, const TrialLaunch& launch) override;
  bool set_trial_params(std::int64_t trial_id, const ParamSet& params) override;
  bool report_intermediate(std::int64_t trial_id, std::int64_t step, double value) override;
  using TrialJournal::finish_trial;
  bool finish_trial(std::int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::map<std::string, double>& metrics, const std::string& reason,
                    const TrialScores& scores) override;
  std::optional<Trial> fail_and_requeue(std::int64_t trial_id, const std::string& reason,
                                        const std::string& trial_dir_pattern) override;

  TrialCounts count_trials(std::int64_t study_id) override;
  std::vector<Trial> get_trials(std::int64_t study_id,
                                std::optional<TrialState> state = std::nullopt,
                                int from_number = 0,
                                TrialDetail detail = TrialDetail::kFull) override;
  std::optional<Trial> get_trial(std::int64_t trial_id) override;
  std::optional<Trial> find_trial(std::int64_t study_id, int number) override;
  std::vector<Trial> get_retries(std::int64_t study_id, int number) override;
  std::optional<std::int64_t> get_last_step(std::int64_t study_id, TrialState state) override;
  std::vector<std::pair<int, double>> get_step_values(std::int64_t study_id, std::int64_t step,
                                                      TrialState state, StepMatch match) override;
  std::vector<Trial> get_best_trials(std::int64_t study_id, Direction direction,
                                     std::optional<TrialState> state, int limit) override;

  void heartbeat(std::int64_t study_id, const RunRecord& run,
                 const std::vector<std::int64_t>& trial_ids) override;
  std::vector<RunRecord> list_runs(std::int64_t study_id) override;
  void end_run(std::int64_t study_id, const std::string& owner) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpo
