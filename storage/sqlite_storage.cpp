#include "storage/sqlite_storage.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <sqlite3.h>

#include "hpo/errors.h"
#include "storage/sqlite/statement.h"
#include "storage/storage_common.h"

namespace hpo {
namespace {

namespace common = storage_common;
using sqlite::Transaction;

// ---------------------------------------------------------------------------------------------
// Schema. Each migration brings the file from version `version - 1` to `version`; they run in
// order, inside one write transaction, and each ends by recording its version. Never edit a
// step once released: add the next one (and a fixture of the old version under
// tests/storage/fixtures).

struct Migration {
  int version;
  const char* sql;
};

// Version 1. Times are REAL Unix seconds; JSON columns hold compact JSON text; trial states
// are the strings of to_string(TrialState).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE schema_version (
  version INTEGER NOT NULL
);
INSERT INTO schema_version (version) VALUES (0);

CREATE TABLE studies (
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE,
  direction TEXT NOT NULL,
  metric    TEXT NOT NULL,
  spec      TEXT NOT NULL,
  created   REAL NOT NULL
);

CREATE TABLE study_user_attrs (
  study_id INTEGER NOT NULL REFERENCES studies (id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (study_id, key)
) WITHOUT ROWID;

CREATE TABLE trials (
  id        INTEGER PRIMARY KEY,
  study_id  INTEGER NOT NULL REFERENCES studies (id),
  number    INTEGER NOT NULL,
  state     TEXT NOT NULL,
  params    TEXT NOT NULL,
  value     REAL,
  metrics   TEXT NOT NULL DEFAULT '{}',
  started   REAL,
  finished  REAL,
  heartbeat REAL,
  reason    TEXT NOT NULL DEFAULT '',
  attempt   INTEGER NOT NULL DEFAULT 0,
  retry_of  INTEGER,
  trial_dir TEXT NOT NULL DEFAULT '',
  UNIQUE (study_id, number)
);
CREATE INDEX trials_by_state ON trials (study_id, state, number);

CREATE TABLE trial_intermediate_values (
  trial_id INTEGER NOT NULL REFERENCES trials (id),
  step     INTEGER NOT NULL,
  value    REAL,
  PRIMARY KEY (trial_id, step)
) WITHOUT ROWID;

CREATE TABLE trial_user_attrs (
  trial_id INTEGER NOT NULL REFERENCES trials (id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trial_id, key)
) WITHOUT ROWID;
)sql";

// Version 2: resume after crashes. A trial names the run that runs it (`owner`; '' for trials
// of version 1 files and for WAITING ones), and each run of a study holds a lease in `runs`
// (its heartbeat). The ALTER comes first so that a failure creating `runs` shows that the
// migration is one transaction.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE trials ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE runs (
  study_id  INTEGER NOT NULL REFERENCES studies (id),
  owner     TEXT NOT NULL,
  host      TEXT NOT NULL,
  pid       INTEGER NOT NULL,
  started   REAL NOT NULL,
  heartbeat REAL NOT NULL,
  PRIMARY KEY (study_id, owner)
) WITHOUT ROWID;
)sql";

// Version 3: what hpo kept in untyped attributes gets columns of its own. A study keeps one
// spec, the one it continues with (it was a column plus the attribute "hpo.spec" holding the
// last one run), its directory and the sampler seed; a trial keeps where it runs. The values of
// version 2 files move over, and the attributes are removed.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE studies ADD COLUMN spec_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN sampler_seed TEXT NOT NULL DEFAULT '0';
ALTER TABLE trials ADD COLUMN location TEXT NOT NULL DEFAULT '';

UPDATE studies SET spec = (SELECT value FROM study_user_attrs a
                           WHERE a.study_id = studies.id AND a.key = 'hpo.spec')
  WHERE EXISTS (SELECT 1 FROM study_user_attrs a
                WHERE a.study_id = studies.id AND a.key = 'hpo.spec');
UPDATE studies SET spec_dir = (SELECT value FROM study_user_attrs a
                               WHERE a.study_id = studies.id AND a.key = 'hpo.spec_dir')
  WHERE EXISTS (SELECT 1 FROM study_user_attrs a
                WHERE a.study_id = studies.id AND a.key = 'hpo.spec_dir');
UPDATE studies SET sampler_seed = (SELECT value FROM study_user_attrs a
                                   WHERE a.study_id = studies.id AND a.key = 'hpo.sampler_seed')
  WHERE EXISTS (SELECT 1 FROM study_user_attrs a
                WHERE a.study_id = studies.id AND a.key = 'hpo.sampler_seed');
UPDATE trials SET location = (SELECT value FROM trial_user_attrs a
                              WHERE a.trial_id = trials.id AND a.key = 'hpo.where')
  WHERE EXISTS (SELECT 1 FROM trial_user_attrs a
                WHERE a.trial_id = trials.id AND a.key = 'hpo.where');
DELETE FROM study_user_attrs WHERE key IN ('hpo.spec', 'hpo.spec_dir', 'hpo.sampler_seed');
DELETE FROM trial_user_attrs WHERE key = 'hpo.where';
)sql";

// Version 4: what ran for a trial (TrialLaunch as JSON text; '' when nothing was recorded, as
// for every trial of older files).
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE trials ADD COLUMN launch TEXT NOT NULL DEFAULT '';
)sql";

// Version 5: multi-objective studies and constraints. A COMPLETE trial keeps one value per
// objective (a JSON array, in the spec's order; '[]' for a single-objective study, whose value
// stays in `value`) and, with constraints, how far outside them it lies (NULL without).
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE trials ADD COLUMN objective_values TEXT NOT NULL DEFAULT '[]';
ALTER TABLE trials ADD COLUMN violation REAL;
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
};
static_assert(std::size(kMigrations) == SqliteStorage::kSchemaVersion,
              "every schema version needs its migration step");

// Indexes that only speed up reads: created at open when missing (IF NOT EXISTS, so that
// processes opening at once agree), with no schema version of their own, since a file without
// them (made by an older hpo) reads the same, only slower.
// trials_by_value: get_best_trials walks it in value order and stops at its LIMIT.
// trials_by_retry: get_retries reads the few re-runs of one trial (partial: most trials are
// no re-run).
constexpr const char* kReadIndexes =
    "CREATE INDEX IF NOT EXISTS trials_by_value ON trials (study_id, value, number);"
    "CREATE INDEX IF NOT EXISTS trials_by_retry ON trials (study_id, retry_of, number) "
    "WHERE retry_of IS NOT NULL;";
constexpr const char* kFindReadIndexes =
    "SELECT count(*) = 2 FROM sqlite_schema WHERE type = 'index' "
    "AND name IN ('trials_by_value', 'trials_by_retry')";

// ---------------------------------------------------------------------------------------------
// Statements. The pointers are the keys of the connection's statement cache.

constexpr const char* kListTables = "SELECT name FROM sqlite_schema WHERE type = 'table'";
constexpr const char* kReadVersion = "SELECT version FROM schema_version";
constexpr const char* kWriteVersion = "UPDATE schema_version SET version = ?1";
constexpr const char* kJournalModeWal = "PRAGMA journal_mode = WAL";

constexpr const char* kStudyExists = "SELECT 1 FROM studies WHERE name = ?1";
constexpr const char* kInsertStudy =
    "INSERT INTO studies (name, direction, metric, spec, created, spec_dir, sampler_seed) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
#define HPO_STUDY_COLUMNS "id, name, direction, metric, spec, created, spec_dir, sampler_seed"
constexpr const char* kSelectStudyByName =
    "SELECT " HPO_STUDY_COLUMNS " FROM studies WHERE name = ?1";
constexpr const char* kSelectStudies = "SELECT " HPO_STUDY_COLUMNS " FROM studies ORDER BY id";
#undef HPO_STUDY_COLUMNS
constexpr const char* kUpdateStudySpec = "UPDATE studies SET spec = ?2, spec_dir = ?3 WHERE id = ?1";
constexpr const char* kSelectStudyAttrs = "SELECT study_id, key, value FROM study_user_attrs";
constexpr const char* kSelectStudyAttrsOf =
    "SELECT study_id, key, value FROM study_user_attrs WHERE study_id = ?1";

// No row when the study does not exist; otherwise the number its next trial gets.
constexpr const char* kNextTrialNumber =
    "SELECT (SELECT IFNULL(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1) "
    "FROM studies WHERE id = ?1";
constexpr const char* kInsertTrial =
    "INSERT INTO trials (study_id, number, state, params, started, heartbeat, attempt, retry_of, "
    "trial_dir, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)";
// Served by the trials_by_state index (study_id, state, number): no table rows are read.
constexpr const char* kOldestWaiting =
    "SELECT id FROM trials WHERE study_id = ?1 AND state = ?2 ORDER BY number LIMIT 1";
constexpr const char* kStartTrial =
    "UPDATE trials SET state = ?2, started = ?3, heartbeat = ?3, owner = ?4 WHERE id = ?1";
constexpr const char* kSelectRequeueSource =
    "SELECT study_id, number, state, params, attempt, retry_of FROM trials WHERE id = ?1";
constexpr const char* kFailRunning =
    "UPDATE trials SET state = ?2, reason = ?3, finished = ?4 WHERE id = ?1 AND state = ?5";
constexpr const char* kUpsertIntermediate =
    "INSERT INTO trial_intermediate_values (trial_id, step, value) "
    "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM trials WHERE id = ?1 AND state = ?4) "
    "ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value";
constexpr const char* kFinishTrial =
    "UPDATE trials SET state = ?2, value = ?3, metrics = ?4, reason = ?5, finished = ?6, "
    "objective_values = ?9, violation = ?10 WHERE id = ?1 AND state IN (?7, ?8)";
constexpr const char* kHeartbeat =
    "UPDATE trials SET heartbeat = ?2 WHERE id = ?1 AND state = ?3 AND study_id = ?4";
constexpr const char* kUpsertRun =
    "INSERT INTO runs (study_id, owner, host, pid, started, heartbeat) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (study_id, owner) DO UPDATE SET "
    "host = excluded.host, pid = excluded.pid, heartbeat = excluded.heartbeat";
constexpr const char* kSelectRuns =
    "SELECT owner, host, pid, started, heartbeat FROM runs WHERE study_id = ?1 "
    "ORDER BY started, owner";
constexpr const char* kDeleteRun = "DELETE FROM runs WHERE study_id = ?1 AND owner = ?2";
// Trial counts without reading every row: numbers are dense, so max(number) + 1 is the total
// (one index seek), and WAITING, RUNNING, PRUNED and FAIL are short ranges of the
// trials_by_state index; COMPLETE is the rest. This runs before every trial launch, so it must
// not grow with the size of the study.
constexpr const char* kCountTrials =
    "SELECT (SELECT coalesce(max(number) + 1, 0) FROM trials WHERE study_id = ?1), "
    "(SELECT count(*) FROM trials WHERE study_id = ?1 AND state = ?2), "
    "(SELECT count(*) FROM trials WHERE study_id = ?1 AND state = ?3), "
    "(SELECT count(*) FROM trials WHERE study_id = ?1 AND state = ?4), "
    "(SELECT count(*) FROM trials WHERE study_id = ?1 AND state = ?5)";
constexpr const char* kAdoptTrial =
    "UPDATE trials SET owner = ?3, heartbeat = ?4 WHERE id = ?1 AND owner = ?2 AND state = ?5";
constexpr const char* kSetParams =
    "UPDATE trials SET params = ?2 WHERE id = ?1 AND state = ?3";
// delete_study, in this order (children first). A table added by a later schema version that
// refers to trials or studies joins this list; the contract test checks that nothing of a
// deleted study is left in any table.
constexpr const char* kDeleteStudyRows[] = {
    "DELETE FROM trial_intermediate_values WHERE trial_id IN "
    "(SELECT id FROM trials WHERE study_id = ?1)",
    "DELETE FROM trial_user_attrs WHERE trial_id IN (SELECT id FROM trials WHERE study_id = ?1)",
    "DELETE FROM trials WHERE study_id = ?1",
    "DELETE FROM runs WHERE study_id = ?1",
    "DELETE FROM study_user_attrs WHERE study_id = ?1",
};
constexpr const char* kDeleteStudy = "DELETE FROM studies WHERE id = ?1";
constexpr const char* kSetLocation =
    "UPDATE trials SET location = ?2 WHERE id = ?1 AND state = ?3";
constexpr const char* kSetLaunch = "UPDATE trials SET launch = ?2 WHERE id = ?1 AND state = ?3";

#define HPO_TRIAL_COLUMNS                                                                       \
  "t.id, t.number, t.state, t.params, t.value, t.metrics, t.started, t.finished, t.heartbeat, " \
  "t.reason, t.attempt, t.retry_of, t.trial_dir, t.owner, t.location, t.launch, "             \
  "t.objective_values, t.violation"
constexpr const char* kSelectTrial = "SELECT " HPO_TRIAL_COLUMNS " FROM trials t WHERE t.id = ?1";
// Served by the UNIQUE (study_id, number) index.
constexpr const char* kSelectTrialIdByNumber =
    "SELECT id FROM trials WHERE study_id = ?1 AND number = ?2";
// The step queries' value column: SQL NULL when the trial has no report for the step (the row
// is skipped), the text 'NaN' for a NaN value (stored as NULL), the value otherwise.
//
// Walks trials_by_state (study_id, state, number) and seeks each trial's value at the step in
// the primary key of trial_intermediate_values: one seek per trial in the state.
constexpr const char* kSelectStepValues =
    "SELECT t.number, ifnull(v.value, 'NaN') FROM trials t JOIN trial_intermediate_values v "
    "ON v.trial_id = t.id AND v.step = ?3 WHERE t.study_id = ?1 AND t.state = ?2 "
    "ORDER BY t.number";
// StepMatch::kFirstFrom: the first report at or after ?3, one seek of the primary key
// (trial_id, step) per trial: a subquery that returns the value itself. Joining on the step
// that a min() subquery found instead would seek twice per trial (~30% slower at 100,000
// trials).
constexpr const char* kSelectStepValuesFrom =
    "SELECT t.number, (SELECT ifnull(value, 'NaN') FROM trial_intermediate_values "
    "WHERE trial_id = t.id AND step >= ?3 ORDER BY step LIMIT 1) "
    "FROM trials t WHERE t.study_id = ?1 AND t.state = ?2 ORDER BY t.number";
// One seek per trial for its last step (max() over the primary key's tail).
constexpr const char* kSelectLastStep =
    "SELECT max((SELECT max(step) FROM trial_intermediate_values WHERE trial_id = t.id)) "
    "FROM trials t WHERE t.study_id = ?1 AND t.state = ?2";
// Served by trials_by_retry.
constexpr const char* kSelectRetryIds =
    "SELECT id FROM trials WHERE study_id = ?1 AND retry_of = ?2 ORDER BY number";
constexpr const char* kSelectTrials =
    "SELECT " HPO_TRIAL_COLUMNS
    " FROM trials t WHERE t.study_id = ?1 AND (?2 IS NULL OR t.state = ?2) AND t.number >= ?3 "
    "ORDER BY t.number";
// Served by trials_by_value: reads `limit` rows (plus ties of the last value for the number
// order when descending), not the study.
constexpr const char* kSelectBestAscending =
    "SELECT " HPO_TRIAL_COLUMNS
    " FROM trials t WHERE t.study_id = ?1 AND t.value IS NOT NULL AND (?2 IS NULL OR t.state = ?2) "
    "ORDER BY t.value, t.number LIMIT ?3";
constexpr const char* kSelectBestDescending =
    "SELECT " HPO_TRIAL_COLUMNS
    " FROM trials t WHERE t.study_id = ?1 AND t.value IS NOT NULL AND (?2 IS NULL OR t.state = ?2) "
    "ORDER BY t.value DESC, t.number LIMIT ?3";
#undef HPO_TRIAL_COLUMNS
constexpr const char* kSelectIntermediateOf =
    "SELECT trial_id, step, value FROM trial_intermediate_values WHERE trial_id = ?1";
constexpr const char* kSelectLastIntermediateOf =
    "SELECT step, value FROM trial_intermediate_values WHERE trial_id = ?1 "
    "ORDER BY step DESC LIMIT 1";
constexpr const char* kSelectIntermediateOfStudy =
    "SELECT v.trial_id, v.step, v.value FROM trial_intermediate_values v "
    "JOIN trials t ON t.id = v.trial_id WHERE t.study_id = ?1 AND (?2 IS NULL OR t.state = ?2) "
    "AND t.number >= ?3";
constexpr const char* kSelectTrialAttrsOf =
    "SELECT trial_id, key, value FROM trial_user_attrs WHERE trial_id = ?1";
constexpr const char* kSelectTrialAttrsOfStudy =
    "SELECT a.trial_id, a.key, a.value FROM trial_user_attrs a "
    "JOIN trials t ON t.id = a.trial_id WHERE t.study_id = ?1 AND (?2 IS NULL OR t.state = ?2) "
    "AND t.number >= ?3";

// ---------------------------------------------------------------------------------------------
// Rows.

StudyRecord read_study(const sqlite::Statement& row) {
  StudyRecord study;
  study.id = row.int64(0);
  study.name = row.text(1);
  const std::string direction = row.text(2);
  const auto parsed = parse_direction(direction);
  if (!parsed)
    throw StorageError(StorageErrc::kCorrupt,
                       "study '" + study.name + "' has the unknown direction '" + direction + "'");
  study.direction = *parsed;
  study.metric = row.text(3);
  study.spec = common::decode_spec(row.text(4));
  study.created = from_unix_seconds(row.real(5));
  study.spec_dir = row.text(6);
  study.sampler_seed = common::decode_seed(row.text(7), study.name);
  return study;
}

std::optional<TimePoint> read_time(const sqlite::Statement& row, int column) {
  const auto seconds = row.optional_real(column);
  if (!seconds) return std::nullopt;
  return from_unix_seconds(*seconds);
}

TrialState read_state(const std::string& state, const char* what, std::int64_t id) {
  const auto parsed = parse_trial_state(state);
  if (!parsed)
    throw StorageError(StorageErrc::kCorrupt, std::string(what) + " " + std::to_string(id) +
                                                  " has the unknown state '" + state + "'");
  return *parsed;
}

// A trial row; with kHistory, a finished trial's metrics and launch are left undecoded (see
// keep_history_detail).
Trial read_trial(const sqlite::Statement& row, TrialDetail detail = TrialDetail::kFull) {
  Trial trial;
  trial.id = row.int64(0);
  trial.number = static_cast<int>(row.int64(1));
  trial.state = read_state(row.text(2), "trial", trial.id);
  trial.params = common::decode_params(row.text(3));
  trial.value = row.optional_real(4);
  const bool whole = detail == TrialDetail::kFull || !is_finished(trial.state);
  if (whole) trial.metrics = common::decode_metrics(row.text(5));
  trial.started = read_time(row, 6);
  trial.finished = read_time(row, 7);
  trial.heartbeat = read_time(row, 8);
  trial.reason = row.text(9);
  trial.attempt = static_cast<int>(row.int64(10));
  if (const auto retry_of = row.optional_int64(11)) trial.retry_of = static_cast<int>(*retry_of);
  trial.trial_dir = row.text(12);
  trial.owner = row.text(13);
  trial.location = row.text(14);
  if (whole) trial.launch = common::decode_launch(row.text(15));
  trial.values = common::decode_values(row.text(16));
  trial.violation = row.optional_real(17);
  return trial;
}

RunRecord read_run(const sqlite::Statement& row) {
  RunRecord run;
  run.owner = row.text(0);
  run.host = row.text(1);
  run.pid = static_cast<int>(row.int64(2));
  run.started = from_unix_seconds(row.real(3));
  run.heartbeat = from_unix_seconds(row.real(4));
  return run;
}

// An intermediate value as read back: SQLite stores NaN as NULL.
double read_intermediate(const sqlite::Statement& row, int column) {
  return row.optional_real(column).value_or(std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

// =============================================================================================

class SqliteStorage::Impl {
 public:
  Impl(const std::filesystem::path& file, SqliteOptions options);

  // Runs fn (which opens and commits its own transaction) and runs it again, with randomized
  // exponential backoff, while it fails with SQLITE_BUSY/SQLITE_LOCKED and the busy timeout
  // has not passed. Every StorageError leaving here names the file and `operation`.
  // REQUIRES: mu_ held (or the constructor running).
  template <typename Fn>
  auto retrying(const char* operation, Fn&& fn) -> decltype(fn());

  // Runs fn inside one write (BEGIN IMMEDIATE) transaction, retrying as above.
  template <typename Fn>
  auto write(const char* operation, Fn&& fn) -> decltype(fn()) {
    return retrying(operation, [&] {
      Transaction txn(db(), Transaction::Mode::kImmediate);
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        txn.commit();
      } else {
        auto result = fn();
        txn.commit();
        return result;
      }
    });
  }
  // Runs fn inside one read transaction (one consistent snapshot), retrying as above.
  template <typename Fn>
  auto read(const char* operation, Fn&& fn) -> decltype(fn()) {
    return retrying(operation, [&] {
      Transaction txn(db(), Transaction::Mode::kDeferred);
      auto result = fn();
      txn.commit();
      return result;
    });
  }

  sqlite::Database& db() { return *db_; }

  // Within a transaction: the schema version; nullopt for an empty database (no tables at
  // all). Throws StorageError when the file is not an hpo database.
  std::optional<int> read_version();
  // Within a transaction: the trial with its intermediate values and attributes.
  std::optional<Trial> load_trial(std::int64_t trial_id);
  // The trials with these ids, in this order (an id that vanished is left out).
  std::vector<Trial> load_trials(const std::vector<std::int64_t>& ids);
  // Within a transaction: the study's trials (as get_trials).
  std::vector<Trial> load_trials(std::int64_t study_id, std::optional<TrialState> state,
                                 int from_number, TrialDetail detail = TrialDetail::kFull);

  const std::filesystem::path path_;
  const std::string name_;  // path_ as text, for SQLite and messages
  const SqliteOptions options_;

  std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;  // GUARDED_BY(mu_)
  std::minstd_rand jitter_;               // GUARDED_BY(mu_)
};

template <typename Fn>
auto SqliteStorage::Impl::retrying(const char* operation, Fn&& fn) -> decltype(fn()) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + options_.busy_timeout;
  for (int attempt = 0;; ++attempt) {
    try {
      return fn();
    } catch (const StorageError& e) {
      const auto now = steady_clock::now();
      if (e.code() != StorageErrc::kBusy || now >= deadline)
        throw StorageError(e.code(), name_ + ": cannot " + operation + ": " + e.what(),
                           e.native_code());
      // The transaction has been rolled back (its guard is gone), so other connections can
      // make progress while this one sleeps.
      const auto cap = std::chrono::microseconds(1000 << std::min(attempt, 6));
      std::uniform_int_distribution<long> pick(cap.count() / 2, cap.count());
      const auto pause = std::min<steady_clock::duration>(std::chrono::microseconds(pick(jitter_)),
                                                          deadline - now);
      std::this_thread::sleep_for(pause);
    }
  }
}

SqliteStorage::Impl::Impl(const std::filesystem::path& file, SqliteOptions options)
    : path_(file),
      name_(file.string()),
      options_(std::move(options)),
      jitter_(static_cast<std::uint_fast32_t>(
          std::hash<std::thread::id>()(std::this_thread::get_id()) ^
          static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count()))) {
  std::error_code ec;
  if (!options_.create_if_missing && !std::filesystem::exists(path_, ec))
    throw StorageError(StorageErrc::kCantOpen, name_ + ": cannot open: the file does not exist",
                       SQLITE_CANTOPEN);
  try {
    db_ = std::make_unique<sqlite::Database>(name_, options_.create_if_missing, options_.vfs);
  } catch (const StorageError& e) {
    throw StorageError(e.code(), name_ + ": cannot open: " + e.what(), e.native_code());
  }
  sqlite3_busy_timeout(db().get(), static_cast<int>(options_.busy_timeout.count()));

  // Look before changing anything: a file that is not ours must stay exactly as it was.
  const std::optional<int> found = read("open", [&] { return read_version(); });
  if (found && *found > SqliteStorage::kSchemaVersion)
    throw StorageError(StorageErrc::kVersion,
                       name_ + ": cannot open: the database has schema version " +
                           std::to_string(*found) + ", newer than version " +
                           std::to_string(SqliteStorage::kSchemaVersion) +
                           ", the newest this build of hpo knows; use a newer hpo");

  retrying("open", [&] {
    db().exec("PRAGMA foreign_keys = ON");
    auto mode = db().cached(kJournalModeWal);
    const std::string result = mode->step() ? mode->text(0) : std::string();
    if (result != "wal")
      throw StorageError(StorageErrc::kCantOpen,
                         "cannot use WAL mode (journal mode is '" + result + "')");
    db().exec(options_.synchronous == SqliteSync::kFull ? "PRAGMA synchronous = FULL"
                                                        : "PRAGMA synchronous = NORMAL");
  });

  if (found.value_or(0) < SqliteStorage::kSchemaVersion) {
    write("migrate the schema", [&] {
      // Another process may have migrated (or created) the file since the look above.
      const int version = read_version().value_or(0);
      if (version > SqliteStorage::kSchemaVersion)
        throw StorageError(StorageErrc::kVersion, "the database has schema version " +
                                                std::to_string(version) + ", newer than " +
                                                std::to_string(SqliteStorage::kSchemaVersion));
      for (const Migration& step : kMigrations) {
        if (step.version <= version) continue;
        db().exec(step.sql);
        auto update = db().cached(kWriteVersion);
        update->bind_all(step.version);
        update->run();
      }
    });
  }
  const bool indexed = read("open", [&] {
    auto find = db().cached(kFindReadIndexes);
    return find->step() && find->int64(0) != 0;
  });
  if (!indexed) write("create indexes", [&] { db().exec(kReadIndexes); });
}

std::optional<int> SqliteStorage::Impl::read_version() {
  std::vector<std::string> tables;
  bool has_version_table = false;
  try {
    auto list = db().cached(kListTables);
    while (list->step()) {
      std::string table = list->text(0);
      if (table == "schema_version") {
        has_version_table = true;
      } else if (table.rfind("sqlite_", 0) != 0) {
        tables.push_back(std::move(table));
      }
    }
  } catch (const StorageError& e) {
    if (e.code() != StorageErrc::kNotADatabase) throw;
    throw StorageError(
        e.code(), std::string("not an hpo database (not even a SQLite file: ") + e.what() + ")",
        e.native_code());
  }
  if (!has_version_table) {
    if (tables.empty()) return std::nullopt;
    std::string names;
    for (std::size_t i = 0; i < tables.size() && i < 5; ++i)
      names += (i == 0 ? "" : ", ") + tables[i];
    if (tables.size() > 5) names += ", ...";
    throw StorageError(StorageErrc::kNotADatabase,
                       "not an hpo database (a SQLite file with other tables: " + names + ")");
  }
  auto version = db().cached(kReadVersion);
  if (!version->step())
    throw StorageError(StorageErrc::kCorrupt,
                       "not an hpo database (its schema_version table is empty)");
  return static_cast<int>(version->int64(0));
}

std::vector<Trial> SqliteStorage::Impl::load_trials(const std::vector<std::int64_t>& ids) {
  std::vector<Trial> out;
  out.reserve(ids.size());
  for (std::int64_t id : ids)
    if (auto t = load_trial(id)) out.push_back(std::move(*t));
  return out;
}

std::optional<Trial> SqliteStorage::Impl::load_trial(std::int64_t trial_id) {
  std::optional<Trial> trial;
  {
    auto select = db().cached(kSelectTrial);
    select->bind_all(trial_id);
    if (!select->step()) return std::nullopt;
    trial = read_trial(*select);
  }
  auto values = db().cached(kSelectIntermediateOf);
  values->bind_all(trial_id);
  while (values->step()) trial->intermediate[values->int64(1)] = read_intermediate(*values, 2);
  auto attrs = db().cached(kSelectTrialAttrsOf);
  attrs->bind_all(trial_id);
  while (attrs->step()) trial->user_attrs[attrs->text(1)] = attrs->text(2);
  return trial;
}

std::vector<Trial> SqliteStorage::Impl::load_trials(std::int64_t study_id,
                                                    std::optional<TrialState> state,
                                                    int from_number, TrialDetail detail) {
  std::optional<std::string> state_text;
  if (state) state_text = to_string(*state);
  std::vector<Trial> trials;
  if (detail == TrialDetail::kHistory) {
    // Finished trials without what keep_history_detail() drops (their metrics and launch are
    // not even decoded); the few unfinished ones whole, a PRUNED one's last value by one seek:
    // nothing here reads the study's intermediate values as a whole.
    {
      auto select = db().cached(kSelectTrials);
      select->bind_all(study_id, state_text, from_number);
      while (select->step()) trials.push_back(read_trial(*select, TrialDetail::kHistory));
    }
    for (Trial& t : trials) {
      if (t.state == TrialState::kPruned) {
        auto last = db().cached(kSelectLastIntermediateOf);
        last->bind_all(t.id);
        if (last->step()) t.intermediate.emplace(last->int64(0), read_intermediate(*last, 1));
      } else if (!is_finished(t.state)) {
        auto values = db().cached(kSelectIntermediateOf);
        values->bind_all(t.id);
        while (values->step()) t.intermediate[values->int64(1)] = read_intermediate(*values, 2);
        auto attrs = db().cached(kSelectTrialAttrsOf);
        attrs->bind_all(t.id);
        while (attrs->step()) t.user_attrs[attrs->text(1)] = attrs->text(2);
      }
    }
    return trials;
  }
  std::unordered_map<std::int64_t, std::size_t> index;
  {
    auto select = db().cached(kSelectTrials);
    select->bind_all(study_id, state_text, from_number);
    while (select->step()) {
      trials.push_back(read_trial(*select));
      index.emplace(trials.back().id, trials.size() - 1);
    }
  }
  if (trials.empty()) return trials;
  {
    auto values = db().cached(kSelectIntermediateOfStudy);
    values->bind_all(study_id, state_text, from_number);
    while (values->step()) {
      auto it = index.find(values->int64(0));
      if (it != index.end())
        trials[it->second].intermediate[values->int64(1)] = read_intermediate(*values, 2);
    }
  }
  auto attrs = db().cached(kSelectTrialAttrsOfStudy);
  attrs->bind_all(study_id, state_text, from_number);
  while (attrs->step()) {
    auto it = index.find(attrs->int64(0));
    if (it != index.end()) trials[it->second].user_attrs[attrs->text(1)] = attrs->text(2);
  }
  return trials;
}

// =============================================================================================

SqliteStorage::SqliteStorage(const std::filesystem::path& file, SqliteOptions options)
    : impl_(std::make_unique<Impl>(file, std::move(options))) {}

SqliteStorage::~SqliteStorage() = default;

const std::filesystem::path& SqliteStorage::path() const { return impl_->path_; }

StudyRecord SqliteStorage::create_study(const NewStudy& study) {
  const std::string spec_text = common::encode_spec(study.spec);
  StudyRecord created = common::record_of(study);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("create a study", [&] {
    {
      auto exists = impl_->db().cached(kStudyExists);
      exists->bind_all(study.name);
      if (exists->step()) common::throw_duplicate_study(study.name);
    }
    const double now = common::now_seconds();
    auto insert = impl_->db().cached(kInsertStudy);
    insert->bind_all(study.name, to_string(study.direction), study.metric, spec_text, now,
                     study.spec_dir, common::encode_seed(study.sampler_seed));
    insert->run();
    created.id = insert->last_insert_rowid();
    created.created = from_unix_seconds(now);
    return created;
  });
}

void SqliteStorage::update_study_spec(std::int64_t study_id, const nlohmann::json& spec,
                                      const std::string& spec_dir) {
  const std::string spec_text = common::encode_spec(spec);
  std::lock_guard lock(impl_->mu_);
  impl_->write("record the spec of a study", [&] {
    auto update = impl_->db().cached(kUpdateStudySpec);
    update->bind_all(study_id, spec_text, spec_dir);
    update->run();
    if (update->changes() == 0) common::throw_no_study(study_id);
  });
}

bool SqliteStorage::delete_study(std::int64_t study_id) {
  std::lock_guard lock(impl_->mu_);
  return impl_->write("delete a study", [&] {
    for (const char* sql : kDeleteStudyRows) {
      auto remove = impl_->db().cached(sql);
      remove->bind_all(study_id);
      remove->run();
    }
    auto remove = impl_->db().cached(kDeleteStudy);
    remove->bind_all(study_id);
    remove->run();
    return remove->changes() > 0;
  });
}

std::optional<StudyRecord> SqliteStorage::find_study(const std::string& name) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("find a study", [&]() -> std::optional<StudyRecord> {
    std::optional<StudyRecord> study;
    {
      auto select = impl_->db().cached(kSelectStudyByName);
      select->bind_all(name);
      if (!select->step()) return std::nullopt;
      study = read_study(*select);
    }
    auto attrs = impl_->db().cached(kSelectStudyAttrsOf);
    attrs->bind_all(study->id);
    while (attrs->step()) study->user_attrs[attrs->text(1)] = attrs->text(2);
    return study;
  });
}

std::vector<StudyRecord> SqliteStorage::list_studies() {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("list studies", [&] {
    std::vector<StudyRecord> studies;
    {
      auto select = impl_->db().cached(kSelectStudies);
      while (select->step()) studies.push_back(read_study(*select));
    }
    auto attrs = impl_->db().cached(kSelectStudyAttrs);
    while (attrs->step()) {
      // Ids are ascending, so the study is found by binary search.
      const std::int64_t id = attrs->int64(0);
      auto it = std::lower_bound(studies.begin(), studies.end(), id,
                                 [](const StudyRecord& s, std::int64_t v) { return s.id < v; });
      if (it != studies.end() && it->id == id) it->user_attrs[attrs->text(1)] = attrs->text(2);
    }
    return studies;
  });
}

namespace {

// Trial counts by state, inside the caller's transaction (see kCountTrials).
TrialCounts read_counts(sqlite::Database& db, std::int64_t study_id) {
  auto select = db.cached(kCountTrials);
  select->bind_all(study_id, to_string(TrialState::kWaiting), to_string(TrialState::kRunning),
                   to_string(TrialState::kPruned), to_string(TrialState::kFail));
  TrialCounts counts;
  if (!select->step()) return counts;
  const int total = static_cast<int>(select->int64(0));
  counts.waiting = static_cast<int>(select->int64(1));
  counts.running = static_cast<int>(select->int64(2));
  counts.pruned = static_cast<int>(select->int64(3));
  counts.fail = static_cast<int>(select->int64(4));
  counts.complete = total - counts.waiting - counts.running - counts.pruned - counts.fail;
  return counts;
}

// COMPLETE + PRUNED (+ RUNNING, + WAITING) trials of a study, inside the caller's transaction.
int count_in(sqlite::Database& db, std::int64_t study_id, bool with_running, bool with_waiting) {
  const TrialCounts c = read_counts(db, study_id);
  return c.complete + c.pruned + (with_running ? c.running : 0) + (with_waiting ? c.waiting : 0);
}

}  // namespace

std::optional<Trial> SqliteStorage::create_trial(std::int64_t study_id, const NewTrial& trial,
                                                 std::optional<int> limit) {
  common::check_new_trial_state(trial.state);
  std::optional<std::string> given_params;
  if (!trial.sample) given_params = common::encode_params(trial.params);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("create a trial", [&]() -> std::optional<Trial> {
    if (limit && count_in(impl_->db(), study_id, true, true) >= *limit) return std::nullopt;
    Trial created;
    {
      auto next = impl_->db().cached(kNextTrialNumber);
      next->bind_all(study_id);
      if (!next->step()) common::throw_no_study(study_id);
      created.number = static_cast<int>(next->int64(0));
    }
    std::string params_text;
    if (trial.sample) {
      std::optional<ParamSet> chosen =
          trial.sample(created.number, impl_->load_trials(study_id, std::nullopt,
                                                          trial.known_trials));
      if (!chosen) return std::nullopt;
      params_text = common::encode_params(*chosen);
      created.params = std::move(*chosen);
    } else {
      params_text = *given_params;
      created.params = trial.params;
    }
    std::optional<double> started;
    if (trial.state == TrialState::kRunning) started = common::now_seconds();
    created.state = trial.state;
    created.attempt = trial.attempt;
    created.retry_of = trial.retry_of;
    created.trial_dir = common::substitute_number(trial.trial_dir, created.number);
    created.owner = trial.owner;
    if (started) {
      created.started = from_unix_seconds(*started);
      created.heartbeat = created.started;
    }
    auto insert = impl_->db().cached(kInsertTrial);
    insert->bind_all(study_id, created.number, to_string(trial.state), params_text, started,
                     trial.attempt, trial.retry_of, created.trial_dir, trial.owner);
    insert->run();
    created.id = insert->last_insert_rowid();
    return created;
  });
}

std::optional<Trial> SqliteStorage::claim_waiting_trial(std::int64_t study_id,
                                                        const std::string& owner,
                                                        std::optional<int> limit) {
  const std::string waiting = to_string(TrialState::kWaiting);
  std::lock_guard lock(impl_->mu_);
  // Called before every trial launch, and almost always with nothing waiting: look with a
  // plain read (a WAL snapshot, no lock that blocks writers) before taking the write lock.
  const bool seen = impl_->retrying("claim a waiting trial", [&] {
    auto oldest = impl_->db().cached(kOldestWaiting);
    oldest->bind_all(study_id, waiting);
    return oldest->step();
  });
  if (!seen) return std::nullopt;
  return impl_->write("claim a waiting trial", [&]() -> std::optional<Trial> {
    // Another connection may have claimed it since the look: look again under the lock.
    if (limit && count_in(impl_->db(), study_id, true, false) >= *limit) return std::nullopt;
    std::int64_t id = 0;
    {
      auto oldest = impl_->db().cached(kOldestWaiting);
      oldest->bind_all(study_id, waiting);
      if (!oldest->step()) return std::nullopt;
      id = oldest->int64(0);
    }
    {
      auto start = impl_->db().cached(kStartTrial);
      start->bind_all(id, to_string(TrialState::kRunning), common::now_seconds(), owner);
      start->run();
    }
    return impl_->load_trial(id);
  });
}

std::optional<Trial> SqliteStorage::adopt_trial(std::int64_t trial_id,
                                                const std::string& from_owner,
                                                const std::string& to_owner) {
  std::lock_guard lock(impl_->mu_);
  return impl_->write("take over a trial", [&]() -> std::optional<Trial> {
    auto adopt = impl_->db().cached(kAdoptTrial);
    adopt->bind_all(trial_id, from_owner, to_owner, common::now_seconds(),
                    to_string(TrialState::kRunning));
    adopt->run();
    if (adopt->changes() == 0) return std::nullopt;
    return impl_->load_trial(trial_id);
  });
}

bool SqliteStorage::set_trial_location(std::int64_t trial_id, const std::string& location) {
  std::lock_guard lock(impl_->mu_);
  return impl_->write("record where a trial runs", [&] {
    auto update = impl_->db().cached(kSetLocation);
    update->bind_all(trial_id, location, to_string(TrialState::kRunning));
    update->run();
    return update->changes() > 0;
  });
}

bool SqliteStorage::set_trial_launch(std::int64_t trial_id, const TrialLaunch& launch) {
  const std::string text = common::encode_launch(launch);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("record what a trial runs", [&] {
    auto update = impl_->db().cached(kSetLaunch);
    update->bind_all(trial_id, text, to_string(TrialState::kRunning));
    update->run();
    return update->changes() > 0;
  });
}

bool SqliteStorage::set_trial_params(std::int64_t trial_id, const ParamSet& params) {
  const std::string params_text = common::encode_params(params);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("complete the parameters of a trial", [&] {
    auto update = impl_->db().cached(kSetParams);
    update->bind_all(trial_id, params_text, to_string(TrialState::kRunning));
    update->run();
    return update->changes() > 0;
  });
}

std::optional<Trial> SqliteStorage::fail_and_requeue(std::int64_t trial_id,
                                                     const std::string& reason,
                                                     const std::string& trial_dir_pattern) {
  const std::string running = to_string(TrialState::kRunning);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("fail and re-queue a trial", [&]() -> std::optional<Trial> {
    std::int64_t study_id = 0;
    Trial requeued;
    std::string params;
    {
      auto source = impl_->db().cached(kSelectRequeueSource);
      source->bind_all(trial_id);
      if (!source->step()) return std::nullopt;
      if (read_state(source->text(2), "trial", trial_id) != TrialState::kRunning)
        return std::nullopt;
      study_id = source->int64(0);
      const int number = static_cast<int>(source->int64(1));
      params = source->text(3);
      requeued.attempt = static_cast<int>(source->int64(4)) + 1;
      const auto retry_of = source->optional_int64(5);
      requeued.retry_of = retry_of ? static_cast<int>(*retry_of) : number;
    }
    {
      auto fail = impl_->db().cached(kFailRunning);
      fail->bind_all(trial_id, to_string(TrialState::kFail), reason, common::now_seconds(),
                     running);
      fail->run();
    }
    {
      auto next = impl_->db().cached(kNextTrialNumber);
      next->bind_all(study_id);
      if (!next->step()) common::throw_no_study(study_id);
      requeued.number = static_cast<int>(next->int64(0));
    }
    requeued.state = TrialState::kWaiting;
    requeued.params = common::decode_params(params);
    requeued.trial_dir = common::substitute_number(trial_dir_pattern, requeued.number);
    auto insert = impl_->db().cached(kInsertTrial);
    insert->bind_all(study_id, requeued.number, to_string(TrialState::kWaiting), params,
                     std::nullopt, requeued.attempt, requeued.retry_of, requeued.trial_dir,
                     std::string());
    insert->run();
    requeued.id = insert->last_insert_rowid();
    return requeued;
  });
}

bool SqliteStorage::report_intermediate(std::int64_t trial_id, std::int64_t step, double value) {
  std::lock_guard lock(impl_->mu_);
  return impl_->write("report an intermediate value", [&] {
    auto upsert = impl_->db().cached(kUpsertIntermediate);
    upsert->bind_all(trial_id, step, value, to_string(TrialState::kRunning));
    upsert->run();
    return upsert->changes() > 0;
  });
}

bool SqliteStorage::finish_trial(std::int64_t trial_id, TrialState state,
                                 std::optional<double> value,
                                 const std::map<std::string, double>& metrics,
                                 const std::string& reason, const TrialScores& scores) {
  common::check_final_state(state);
  const std::string metrics_text = common::encode_metrics(metrics);
  const std::string values_text = common::encode_values(scores.values);
  std::lock_guard lock(impl_->mu_);
  return impl_->write("finish a trial", [&] {
    auto update = impl_->db().cached(kFinishTrial);
    update->bind_all(trial_id, to_string(state), common::stored_value(value), metrics_text, reason,
                     common::now_seconds(), to_string(TrialState::kRunning),
                     to_string(TrialState::kWaiting), values_text,
                     common::stored_value(scores.violation));
    update->run();
    return update->changes() > 0;
  });
}

void SqliteStorage::heartbeat(std::int64_t study_id, const RunRecord& run,
                              const std::vector<std::int64_t>& trial_ids) {
  const std::string running = to_string(TrialState::kRunning);
  std::lock_guard lock(impl_->mu_);
  impl_->write("record heartbeats", [&] {
    const double now = common::now_seconds();
    {
      auto upsert = impl_->db().cached(kUpsertRun);
      upsert->bind_all(study_id, run.owner, run.host, run.pid, now);
      try {
        upsert->run();
      } catch (const StorageError& e) {
        if (e.native_code() == SQLITE_CONSTRAINT_FOREIGNKEY) common::throw_no_study(study_id);
        throw;
      }
    }
    auto update = impl_->db().cached(kHeartbeat);
    for (std::int64_t id : trial_ids) {
      update->bind_all(id, now, running, study_id);
      update->run();
      update->reset();
    }
  });
}

std::vector<RunRecord> SqliteStorage::list_runs(std::int64_t study_id) {
  std::lock_guard lock(impl_->mu_);
  return impl_->retrying("list runs", [&] {
    std::vector<RunRecord> runs;
    auto select = impl_->db().cached(kSelectRuns);
    select->bind_all(study_id);
    while (select->step()) runs.push_back(read_run(*select));
    return runs;
  });
}

void SqliteStorage::end_run(std::int64_t study_id, const std::string& owner) {
  std::lock_guard lock(impl_->mu_);
  impl_->write("end a run", [&] {
    auto remove = impl_->db().cached(kDeleteRun);
    remove->bind_all(study_id, owner);
    remove->run();
  });
}

TrialCounts SqliteStorage::count_trials(std::int64_t study_id) {
  std::lock_guard lock(impl_->mu_);
  return impl_->retrying("count trials", [&] { return read_counts(impl_->db(), study_id); });
}

std::vector<Trial> SqliteStorage::get_trials(std::int64_t study_id,
                                             std::optional<TrialState> state, int from_number,
                                             TrialDetail detail) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read trials",
                     [&] { return impl_->load_trials(study_id, state, from_number, detail); });
}

std::vector<Trial> SqliteStorage::get_best_trials(std::int64_t study_id, Direction direction,
                                                  std::optional<TrialState> state, int limit) {
  std::lock_guard lock(impl_->mu_);
  if (limit <= 0) return {};
  std::optional<std::string> state_text;
  if (state) state_text = to_string(*state);
  return impl_->read("read the best trials", [&] {
    std::vector<std::int64_t> ids;
    {
      auto select = impl_->db().cached(direction == Direction::kMaximize ? kSelectBestDescending
                                                                         : kSelectBestAscending);
      select->bind_all(study_id, state_text, limit);
      while (select->step()) ids.push_back(select->int64(0));
    }
    return impl_->load_trials(ids);
  });
}

std::optional<Trial> SqliteStorage::find_trial(std::int64_t study_id, int number) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read a trial", [&]() -> std::optional<Trial> {
    std::int64_t id = 0;
    {
      auto select = impl_->db().cached(kSelectTrialIdByNumber);
      select->bind_all(study_id, number);
      if (!select->step()) return std::nullopt;
      id = select->int64(0);
    }
    return impl_->load_trial(id);
  });
}

std::vector<std::pair<int, double>> SqliteStorage::get_step_values(std::int64_t study_id,
                                                                 std::int64_t step,
                                                                 TrialState state,
                                                                 StepMatch match) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read the values at a step", [&] {
    std::vector<std::pair<int, double>> out;
    auto select = impl_->db().cached(match == StepMatch::kExactly ? kSelectStepValues
                                                                  : kSelectStepValuesFrom);
    select->bind_all(study_id, to_string(state), step);
    while (select->step()) {
      if (select->is_null(1)) continue;  // no report for the step (see kSelectStepValues)
      out.emplace_back(static_cast<int>(select->int64(0)),
                       select->is_text(1) ? std::numeric_limits<double>::quiet_NaN()
                                          : select->real(1));
    }
    return out;
  });
}

std::optional<std::int64_t> SqliteStorage::get_last_step(std::int64_t study_id, TrialState state) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read the last step", [&] {
    std::optional<std::int64_t> last;
    auto select = impl_->db().cached(kSelectLastStep);
    select->bind_all(study_id, to_string(state));
    if (select->step() && !select->is_null(0)) last = select->int64(0);
    return last;
  });
}

std::vector<Trial> SqliteStorage::get_retries(std::int64_t study_id, int number) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read the re-runs of a trial", [&] {
    std::vector<std::int64_t> ids;
    {
      auto select = impl_->db().cached(kSelectRetryIds);
      select->bind_all(study_id, number);
      while (select->step()) ids.push_back(select->int64(0));
    }
    return impl_->load_trials(ids);
  });
}

std::optional<Trial> SqliteStorage::get_trial(std::int64_t trial_id) {
  std::lock_guard lock(impl_->mu_);
  return impl_->read("read a trial", [&] { return impl_->load_trial(trial_id); });
}

}  // namespace hpo
