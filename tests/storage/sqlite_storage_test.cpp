// SqliteStorage beyond the shared contract: the file on disk (schema versions, checked-in
// fixtures, refusing files that are not ours), reopening, error messages, and rollback of a
// mutation that fails halfway.

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "hpo/errors.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = HPO_STORAGE_FIXTURES_DIR;
// The schema version this build writes, as schema_version holds it, and the checked-in fixture
// at that version (what a migrated file must look like).
const std::string kCurrentVersion = std::to_string(SqliteStorage::kSchemaVersion);
const std::string kCurrentFixture = "v" + kCurrentVersion;

// Files next to `db` (the -wal, -shm and -journal files SQLite would create).
std::vector<std::string> siblings(const fs::path& db) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(db.parent_path()))
    if (entry.path() != db) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Opening `file` must fail with a StorageError of kind `expected` whose message contains every
// string in `parts`.
void require_refused(const fs::path& file, StorageErrc expected,
                     const std::vector<std::string>& parts) {
  try {
    SqliteStorage storage(file);
    FAIL("opening " << file << " succeeded");
  } catch (const StorageError& e) {
    INFO(e.what());
    CHECK(e.code() == expected);
    CHECK_THAT(e.what(), Catch::Contains(file.string()));
    for (const auto& part : parts) CHECK_THAT(e.what(), Catch::Contains(part));
  }
}

// A fresh file loaded from a checked-in fixture (tests/storage/fixtures/<name>.sql).
fs::path load_fixture(const TempDir& dir, const std::string& name) {
  const fs::path db = dir / (name + ".db");
  RawSqlite raw(db);
  raw.exec(read_file(kFixtures / (name + ".sql")));
  return db;
}

// Every table, index and trigger of a file with its SQL, one per line, by name.
// The schema, without the indexes that only speed up reads (made at open, whatever the
// version: see "a database without the read indexes gets them at open").
std::string schema_of(const fs::path& db) {
  RawSqlite raw(db);
  return raw.query(
      "SELECT group_concat(type || ' ' || name || ': ' || ifnull(sql, ''), char(10)) "
      "FROM (SELECT * FROM sqlite_schema "
      "WHERE name NOT IN ('trials_by_value', 'trials_by_retry') ORDER BY name)");
}

// The rows of every version 1 table, version 1 columns only, as SQL literals: what a
// migration must keep exactly.
std::string v1_rows(const fs::path& db) {
  static const char* kTables[][2] = {
      {"studies", "id, name, direction, metric, spec, created"},
      {"study_user_attrs", "study_id, key, value"},
      {"trials",
       "id, study_id, number, state, params, value, metrics, started, finished, heartbeat, "
       "reason, attempt, retry_of, trial_dir"},
      {"trial_intermediate_values", "trial_id, step, value"},
      {"trial_user_attrs", "trial_id, key, value"},
  };
  RawSqlite raw(db);
  std::string out;
  for (const auto& [table, columns] : kTables) {
    std::string quoted;
    for (std::string rest = columns; !rest.empty();) {
      const auto comma = rest.find(", ");
      const std::string column = rest.substr(0, comma);
      quoted += (quoted.empty() ? "" : " || ',' || ") + std::string("quote(") + column + ")";
      rest = comma == std::string::npos ? "" : rest.substr(comma + 2);
    }
    out += std::string(table) + ":\n" +
           raw.query("SELECT group_concat(r, char(10)) FROM (SELECT " + quoted + " AS r FROM " +
                     table + " ORDER BY " + columns + ")") +
           "\n";
  }
  return out;
}

// Fills a storage with one of everything.
void populate(Storage& s) {
  const auto a = make_study(s, "a", Direction::kMaximize, "acc", sample_spec("a"));
  const auto b = make_study(s, "b", Direction::kMinimize, "loss", nlohmann::json::object());
  s.update_study_spec(a.id, sample_spec("a2"), "/elsewhere");
  NewTrial nt;
  nt.params = {
      {"lr", 1e-300}, {"layers", std::int64_t{1} << 60}, {"act", "ŕeLU \"x\""}, {"bn", true}};
  nt.trial_dir = "/runs/{number}";
  const Trial t0 = add_trial(s, a.id, nt);
  s.report_intermediate(t0.id, 0, 0.5);
  s.report_intermediate(t0.id, 1, 0.75);
  s.finish_trial(t0.id, TrialState::kComplete, 0.75, {{"acc", 0.75}, {"loss", 0.2}}, "");
  const Trial t1 = add_trial(s, a.id, nt);
  s.set_trial_location(t1.id, "pgid:7@n1");
  s.finish_trial(t1.id, TrialState::kFail, std::nullopt, {}, "signal 9");
  nt.retry_of = 1;
  nt.attempt = 1;
  nt.owner = "host-a:1:x";
  const Trial t2 = add_trial(s, a.id, nt);
  s.heartbeat(a.id, RunRecord{"host-a:1:x", "host-a", 1, {}, {}}, {t2.id});
  nt.state = TrialState::kWaiting;
  nt.owner.clear();
  add_trial(s, a.id, nt);
  add_trial(s, b.id, nt);
}

}  // namespace

TEST_CASE("a SQLite database keeps every field exactly across closing and reopening",
          "[storage][sqlite]") {
  const auto sync = GENERATE(SqliteSync::kNormal, SqliteSync::kFull);
  SqliteOptions options;
  options.synchronous = sync;
  SqliteStorageFixture f(options);
  populate(f.storage());
  const std::string before = describe_all(f.storage(), Times::kExact);
  f.reopen();
  CHECK(describe_all(f.storage(), Times::kExact) == before);
  // The connection is gone: SQLite checkpointed and removed its WAL and shared-memory files.
  f.reopen();
  CHECK(describe_all(f.storage(), Times::kExact) == before);
}

TEST_CASE("a new database is in WAL mode, at the current schema version and consistent",
          "[storage][sqlite]") {
  SqliteStorageFixture f;
  populate(f.storage());
  RawSqlite raw(f.path());
  CHECK(raw.query("PRAGMA journal_mode") == "wal");
  CHECK(raw.query("SELECT version FROM schema_version") == kCurrentVersion);
  CHECK(raw.query("SELECT count(*) FROM schema_version") == "1");
  CHECK(raw.query("PRAGMA integrity_check") == "ok");
  CHECK(raw.query("PRAGMA foreign_key_check") == "");
  // States are stored as their names, times as REAL seconds, parameters as JSON.
  CHECK(raw.query("SELECT group_concat(state, ',') FROM (SELECT state FROM trials ORDER BY id)") ==
        "COMPLETE,FAIL,RUNNING,WAITING,WAITING");
  CHECK(raw.query("SELECT typeof(started) FROM trials WHERE id = 1") == "real");
  CHECK(raw.query("SELECT json_extract(params, '$.act') FROM trials WHERE id = 1") == "ŕeLU \"x\"");
  CHECK(raw.query("SELECT trial_dir FROM trials WHERE id = 2") == "/runs/1");
  CHECK(raw.query("SELECT group_concat(owner, ',') FROM (SELECT owner FROM trials ORDER BY id)") ==
        ",,host-a:1:x,,");
  CHECK(raw.query("SELECT owner || ' ' || host || ' ' || pid FROM runs") == "host-a:1:x host-a 1");
  // Typed columns, no internal attributes: the spec once, its directory, the seed, locations.
  CHECK(raw.query("SELECT spec_dir FROM studies WHERE name = 'a'") == "/elsewhere");
  CHECK(raw.query("SELECT json_extract(spec, '$.name') FROM studies WHERE name = 'a'") == "a2");
  CHECK(raw.query("SELECT location FROM trials WHERE id = 2") == "pgid:7@n1");
  CHECK(raw.query("SELECT count(*) FROM study_user_attrs") == "0");
  CHECK(raw.query("SELECT count(*) FROM trial_user_attrs") == "0");
}

TEST_CASE("the checked-in v1 database is migrated to the current version with every row kept",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v1");
  const std::string rows_before = v1_rows(db);
  REQUIRE(rows_before.find("svm-trials") != std::string::npos);  // the dump sees the rows
  CHECK(RawSqlite(db).query("SELECT version FROM schema_version") == "1");
  SqliteStorage storage(db);

  // On disk: the current version, every version 1 row unchanged, the new columns at their
  // defaults, no runs, and the same schema as a new file (and as the checked-in fixture of the current version).
  {
    RawSqlite raw(db);
    CHECK(raw.query("SELECT group_concat(version) FROM schema_version") == kCurrentVersion);
    CHECK(raw.query("PRAGMA integrity_check") == "ok");
    CHECK(raw.query("PRAGMA foreign_key_check") == "");
    CHECK(raw.query("SELECT count(*) FROM trials WHERE owner = ''") == "5");
    CHECK(raw.query("SELECT count(*) FROM runs") == "0");
  }
  CHECK(first_difference(v1_rows(db), rows_before) == "");
  SqliteStorageFixture fresh;
  CHECK(first_difference(schema_of(db), schema_of(fresh.path())) == "");
  CHECK(first_difference(schema_of(db), schema_of(load_fixture(dir, kCurrentFixture))) == "");

  const auto studies = storage.list_studies();
  REQUIRE(studies.size() == 2);
  const StudyRecord& svm = studies[0];
  CHECK(svm.id == 1);
  CHECK(svm.spec_dir.empty());  // version 1 did not record it
  CHECK(svm.sampler_seed == 0);
  CHECK(svm.name == "svm");
  CHECK(svm.direction == Direction::kMaximize);
  CHECK(svm.metric == "accuracy");
  CHECK(svm.spec.at("space").at("C").at("high") == 1000);
  CHECK(svm.spec.at("budget").at("trials") == 4);
  CHECK(to_unix_seconds(svm.created) == Approx(1767225600.0).epsilon(0).margin(1e-6));
  CHECK(svm.user_attrs == std::map<std::string, std::string>{{"owner", "alice"}});
  CHECK(studies[1].name == "empty-study");
  CHECK(studies[1].direction == Direction::kMinimize);
  CHECK(storage.get_trials(studies[1].id).empty());

  const auto trials = storage.get_trials(svm.id);
  REQUIRE(trials.size() == 5);
  std::vector<TrialState> states;
  for (const auto& t : trials) states.push_back(t.state);
  CHECK(states == std::vector<TrialState>{TrialState::kComplete, TrialState::kPruned,
                                          TrialState::kFail, TrialState::kRunning,
                                          TrialState::kWaiting});
  const Trial& best = trials[0];
  CHECK(best.number == 0);
  CHECK(best.params.at("C").is_double());
  CHECK(best.params.at("C").as_double() == 0.5);
  CHECK(best.params.at("kernel").as_string() == "rbf");
  CHECK(best.value == 0.875);
  CHECK(best.metrics == std::map<std::string, double>{{"accuracy", 0.875}, {"loss", 0.31}});
  CHECK(best.intermediate == std::map<std::int64_t, double>{{0, 0.81}, {1, 0.875}});
  CHECK(to_unix_seconds(*best.started) == Approx(1767225600.25).epsilon(0).margin(1e-6));
  CHECK(to_unix_seconds(*best.finished) == Approx(1767225600.5).epsilon(0).margin(1e-6));
  CHECK(best.trial_dir == "/runs/svm-trials/0");
  CHECK(trials[1].params.at("C").is_double());  // written as 12.0: stays a float parameter
  CHECK(trials[1].params.at("degree").is_int());
  CHECK(trials[1].reason == "pruned at step 0");
  CHECK(trials[2].reason == "exit code 1: ValueError");
  CHECK_FALSE(trials[2].value);
  CHECK(trials[3].retry_of == 2);
  CHECK(trials[3].attempt == 1);
  CHECK(trials[3].user_attrs.at("host") == "node-7");
  CHECK_FALSE(trials[4].started);
  CHECK(trials[4].params.at("shrinking").as_bool());
  for (const auto& t : trials) CHECK(t.owner.empty());  // version 1 knew no runs
  CHECK(storage.list_runs(svm.id).empty());
  const TrialCounts counts = storage.count_trials(svm.id);
  CHECK(counts.complete == 1);
  CHECK(counts.pruned == 1);
  CHECK(counts.fail == 1);
  CHECK(counts.running == 1);
  CHECK(counts.waiting == 1);

  // The old file takes new work under the current build: the old RUNNING trial (owned by no
  // run) can be failed and re-queued, keeping its lineage.
  const auto requeued = storage.fail_and_requeue(trials[3].id, "interrupted", "/r/{number}");
  REQUIRE(requeued);
  CHECK(requeued->number == 5);
  CHECK(requeued->retry_of == 2);
  CHECK(requeued->attempt == 2);
  const auto claimed = storage.claim_waiting_trial(svm.id, "host-b:2:y");
  REQUIRE(claimed);
  CHECK(claimed->number == 4);
  CHECK(claimed->owner == "host-b:2:y");
  storage.heartbeat(svm.id, RunRecord{"host-b:2:y", "host-b", 2, {}, {}}, {claimed->id});
  CHECK(storage.list_runs(svm.id).size() == 1);
  NewTrial next;
  next.params = {{"C", 2.0}, {"kernel", "rbf"}};
  next.trial_dir = "/runs/svm-trials/{number}";
  const Trial t6 = add_trial(storage, svm.id, next);
  CHECK(t6.number == 6);
  CHECK(t6.trial_dir == "/runs/svm-trials/6");
  CHECK_THROWS_AS(make_study(storage, "svm", Direction::kMinimize, "x", {}), StorageError);
  CHECK(make_study(storage, "svm-2", Direction::kMinimize, "x", {}).id == 3);
}

TEST_CASE("a v1 database whose migration fails halfway is left at version 1, unchanged",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v1");
  // A table in the way makes the migration's second statement (CREATE TABLE runs) fail after
  // its first (adding trials.owner) has run inside the transaction.
  RawSqlite(db).exec("CREATE TABLE runs (x INTEGER)");
  const std::string rows_before = v1_rows(db);
  const std::string schema_before = schema_of(db);
  require_refused(db, StorageErrc::kOther, {"migrate the schema", "runs already exists"});
  CHECK(schema_of(db) == schema_before);  // no owner column
  CHECK(v1_rows(db) == rows_before);
  RawSqlite raw(db);
  CHECK(raw.query("SELECT version FROM schema_version") == "1");
  CHECK(raw.query("SELECT count(*) FROM pragma_table_info('trials') WHERE name = 'owner'") == "0");
  // Once the obstacle is gone the same file migrates.
  raw.exec("DROP TABLE runs");
  SqliteStorage storage(db);
  CHECK(storage.get_trials(1).size() == 5);
  CHECK(raw.query("SELECT version FROM schema_version") == kCurrentVersion);
}

TEST_CASE("a database without the read indexes gets them at open, with no version change",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, kCurrentFixture);
  const auto indexed = [&] {
    return RawSqlite(db).query(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
        "AND name IN ('trials_by_value', 'trials_by_retry')");
  };
  REQUIRE(indexed() == "0");
  {
    SqliteStorage storage(db);
    const auto svm = storage.find_study("svm");
    REQUIRE(svm);
    // Read through the new index: the best COMPLETE trial is best_trial()'s.
    const auto best = storage.get_best_trials(svm->id, svm->direction, TrialState::kComplete, 1);
    const auto complete = storage.get_trials(svm->id, TrialState::kComplete);
    const Trial* expected = best_trial(complete, svm->direction);
    REQUIRE(expected != nullptr);
    REQUIRE(best.size() == 1);
    CHECK(best[0].number == expected->number);
  }
  CHECK(indexed() == "2");
  CHECK(RawSqlite(db).query("SELECT version FROM schema_version") == kCurrentVersion);
  SqliteStorage again(db);  // an indexed file opens as it is
  CHECK(indexed() == "2");
}

TEST_CASE("the checked-in v2 database is migrated to the current version and reads correctly",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v2");
  SqliteStorage storage(db);
  CHECK(RawSqlite(db).query("SELECT version FROM schema_version") == kCurrentVersion);
  CHECK(first_difference(schema_of(db), schema_of(load_fixture(dir, kCurrentFixture))) == "");

  const auto studies = storage.list_studies();
  REQUIRE(studies.size() == 2);
  const StudyRecord& svm = studies[0];
  CHECK(svm.name == "svm");
  CHECK(svm.direction == Direction::kMaximize);
  CHECK(svm.spec.at("budget").at("trials") == 6);
  CHECK(svm.user_attrs == std::map<std::string, std::string>{{"owner", "alice"}});
  CHECK(to_unix_seconds(svm.created) == Approx(1769904000.0).epsilon(0).margin(1e-6));
  CHECK(storage.get_trials(studies[1].id).empty());

  const auto runs = storage.list_runs(svm.id);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].owner == "host-a:100:aaaa");
  CHECK(runs[0].host == "host-a");
  CHECK(runs[0].pid == 100);
  CHECK(to_unix_seconds(runs[0].started) == Approx(1769903999.75).epsilon(0).margin(1e-6));
  CHECK(to_unix_seconds(runs[0].heartbeat) == Approx(1769904001.5).epsilon(0).margin(1e-6));
  CHECK(runs[1].owner == "host-b:200:bbbb");
  CHECK(runs[1].pid == 200);
  CHECK(storage.list_runs(studies[1].id).empty());

  const auto trials = storage.get_trials(svm.id);
  REQUIRE(trials.size() == 6);
  std::vector<std::string> owners;
  for (const auto& t : trials) owners.push_back(t.owner);
  CHECK(owners == std::vector<std::string>{"host-a:100:aaaa", "host-a:100:aaaa", "host-a:100:aaaa",
                                           "host-b:200:bbbb", "host-b:200:bbbb", ""});
  CHECK(trials[0].value == 0.875);
  CHECK(trials[0].intermediate == std::map<std::int64_t, double>{{0, 0.81}, {1, 0.875}});
  CHECK(trials[2].state == TrialState::kFail);
  CHECK(trials[2].reason == "interrupted");
  const Trial& retry = trials[3];
  CHECK(retry.state == TrialState::kRunning);
  CHECK(retry.attempt == 1);
  CHECK(retry.retry_of == 2);
  CHECK(retry.params == trials[2].params);
  CHECK(to_unix_seconds(*retry.heartbeat) == Approx(1769904012.0).epsilon(0).margin(1e-6));
  CHECK(retry.user_attrs.at("host") == "node-7");
  CHECK(retry.intermediate == std::map<std::int64_t, double>{{0, 0.625}});
  CHECK(trials[4].reason == "exit code 1: ValueError");
  CHECK(trials[5].state == TrialState::kWaiting);
  CHECK_FALSE(trials[5].started);
  const TrialCounts counts = storage.count_trials(svm.id);
  CHECK(counts.complete == 1);
  CHECK(counts.pruned == 1);
  CHECK(counts.fail == 2);
  CHECK(counts.running == 1);
  CHECK(counts.waiting == 1);

  // The run that died is resumed: its trial re-queued with the original lineage, the waiting
  // one claimed by the new run.
  const auto again = storage.fail_and_requeue(retry.id, "interrupted", "/runs/svm-trials/{number}");
  REQUIRE(again);
  CHECK(again->number == 6);
  CHECK(again->attempt == 2);
  CHECK(again->retry_of == 2);
  CHECK(again->trial_dir == "/runs/svm-trials/6");
  const auto claimed = storage.claim_waiting_trial(svm.id, "host-c:300:cccc");
  REQUIRE(claimed);
  CHECK(claimed->number == 5);
  CHECK(claimed->owner == "host-c:300:cccc");
  storage.end_run(svm.id, "host-b:200:bbbb");
  CHECK(storage.list_runs(svm.id).size() == 1);
}

TEST_CASE("what the version 2 engine kept in attributes moves into the version 3 columns",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v2-engine-attrs");
  const std::string created_spec =
      RawSqlite(db).query("SELECT spec FROM studies WHERE id = 1");
  SqliteStorage storage(db);
  const auto studies = storage.list_studies();
  REQUIRE(studies.size() == 2);
  const StudyRecord& svm = studies[0];
  // The spec it last ran with wins over the one it was created with; one copy is left.
  CHECK(svm.spec.at("budget").at("trials") == 8);
  CHECK(svm.spec.at("executor").at("kind") == "subprocess");
  CHECK(svm.spec.dump() != nlohmann::json::parse(created_spec).dump());
  CHECK(svm.spec_dir == "/home/alice/svm");
  CHECK(svm.sampler_seed == 18446744073709551615ULL);
  CHECK(studies[1].sampler_seed == 42);
  CHECK(studies[1].spec_dir.empty());
  // Only the user's own attributes remain.
  CHECK(svm.user_attrs == std::map<std::string, std::string>{{"owner", "alice"}});
  const auto trials = storage.get_trials(svm.id);
  REQUIRE(trials.size() == 6);
  CHECK(trials[3].location == "pgid:4242");
  CHECK(trials[4].location == "pgid:4243");
  CHECK(trials[0].location.empty());
  CHECK(trials[3].user_attrs == std::map<std::string, std::string>{{"host", "node-7"}});
  RawSqlite raw(db);
  CHECK(raw.query("SELECT count(*) FROM study_user_attrs WHERE key LIKE 'hpo.%'") == "0");
  CHECK(raw.query("SELECT count(*) FROM trial_user_attrs WHERE key LIKE 'hpo.%'") == "0");
  CHECK(raw.query("PRAGMA integrity_check") == "ok");
}

TEST_CASE("the checked-in v3 database is migrated to the current version: no trial has a launch yet",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v3");
  CHECK(RawSqlite(db).query("SELECT version FROM schema_version") == "3");
  SqliteStorage storage(db);
  {
    RawSqlite raw(db);
    CHECK(raw.query("SELECT version FROM schema_version") == kCurrentVersion);
    CHECK(raw.query("SELECT count(*) FROM trials WHERE launch = ''") ==
          raw.query("SELECT count(*) FROM trials"));
    CHECK(raw.query("PRAGMA integrity_check") == "ok");
  }
  CHECK(first_difference(schema_of(db), schema_of(load_fixture(dir, kCurrentFixture))) == "");
  const auto svm = storage.find_study("svm");
  REQUIRE(svm);
  const auto trials = storage.get_trials(svm->id);
  REQUIRE_FALSE(trials.empty());
  for (const Trial& t : trials) CHECK_FALSE(t.launch);
  // A RUNNING trial of the old file records its launch like a new one.
  const auto running = storage.get_trials(svm->id, TrialState::kRunning);
  REQUIRE_FALSE(running.empty());
  TrialLaunch launch;
  launch.argv = {"python3", "train.py", "--C", "0.5"};
  launch.cwd = "/home/alice/svm";
  launch.env = {{"HPO_TRIAL_NUMBER", "3"}};
  REQUIRE(storage.set_trial_launch(running[0].id, launch));
  CHECK(storage.get_trial(running[0].id)->launch == launch);
}

TEST_CASE("the checked-in v4 database gains objective values and violations, rows kept",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v4");
  CHECK(RawSqlite(db).query("SELECT version FROM schema_version") == "4");
  const fs::path v5 = load_fixture(dir, "v5");  // v4.sql's rows at version 5
  const std::vector<Trial> before = SqliteStorage(v5).get_trials(1);
  SqliteStorage storage(db);
  RawSqlite raw(db);
  CHECK(raw.query("SELECT version FROM schema_version") == "5");
  CHECK(raw.query("SELECT count(*) FROM trials WHERE objective_values = '[]'") ==
        raw.query("SELECT count(*) FROM trials"));
  CHECK(raw.query("SELECT count(*) FROM trials WHERE violation IS NOT NULL") == "0");
  CHECK(first_difference(schema_of(db), schema_of(v5)) == "");
  const std::vector<Trial> trials = storage.get_trials(1);
  REQUIRE(trials.size() == before.size());
  for (std::size_t i = 0; i < trials.size(); ++i) {
    CHECK(trials[i].value == before[i].value);
    CHECK(trials[i].launch == before[i].launch);
    CHECK(trials[i].values.empty());
    CHECK_FALSE(trials[i].violation);
  }
  // A multi-objective trial finished now keeps one value per objective and its violation.
  const StudyRecord svm = storage.list_studies()[0];
  const std::optional<Trial> t = storage.create_trial(svm.id, NewTrial{});
  REQUIRE(t);
  REQUIRE(storage.finish_trial(t->id, TrialState::kComplete, std::nullopt, {{"a", 1.0}}, "",
                               TrialScores{{0.5, -2.0, 3.0}, 0.25}));
  const Trial back = storage.get_trials(svm.id).back();
  CHECK(back.values == std::vector<double>{0.5, -2.0, 3.0});
  CHECK(back.violation == 0.25);
}

TEST_CASE("a corrupted launch is a storage error", "[storage][sqlite]") {
  SqliteStorageFixture f;
  const StudyRecord study = make_study(f.storage(), "s", Direction::kMinimize, "loss", {});
  NewTrial nt;
  const auto t = f.storage().create_trial(study.id, nt);
  REQUIRE(t);
  RawSqlite(f.path()).exec("UPDATE trials SET launch = '[1, 2]'");
  CHECK_THROWS_AS(f.storage().get_trial(t->id), StorageError);
}

TEST_CASE("delete_study leaves no row of the study in any table, whichever version added it",
          "[storage][sqlite][delete]") {
  TempDir dir("hpo-storage");
  const fs::path db = load_fixture(dir, "v1");  // attributes of studies and trials too
  std::int64_t deleted = 0;
  {
    SqliteStorage storage(db);
    populate(storage);
    const auto studies = storage.list_studies();
    REQUIRE(studies.size() >= 2);
    deleted = studies.front().id;
    REQUIRE(storage.count_trials(deleted).total() > 0);
    REQUIRE(storage.delete_study(deleted));
  }
  RawSqlite raw(db);
  CHECK(raw.query("PRAGMA foreign_key_check") == "");
  // Every table: none keeps a row of the study, none a row of a trial that is gone. Read from
  // the schema itself, so that a table a later version adds is checked without a word here.
  const std::string tables = raw.query(
      "SELECT group_concat(name, ' ') FROM sqlite_schema WHERE type = 'table' AND name != "
      "'sqlite_sequence'");
  int checked = 0;
  for (std::size_t at = 0; at < tables.size();) {
    const auto space = tables.find(' ', at);
    const std::string table = tables.substr(at, space == std::string::npos ? space : space - at);
    at = space == std::string::npos ? tables.size() : space + 1;
    auto has = [&](const char* column) {
      return raw.query("SELECT count(*) FROM pragma_table_info('" + table + "') WHERE name = '" +
                       column + "'") == "1";
    };
    INFO(table);
    if (has("study_id")) {
      CHECK(raw.query("SELECT count(*) FROM " + table +
                      " WHERE study_id = " + std::to_string(deleted)) == "0");
      ++checked;
    }
    if (has("trial_id")) {
      CHECK(raw.query("SELECT count(*) FROM " + table +
                      " WHERE trial_id NOT IN (SELECT id FROM trials)") == "0");
      ++checked;
    }
  }
  CHECK(raw.query("SELECT count(*) FROM studies WHERE id = " + std::to_string(deleted)) == "0");
  CHECK(checked >= 5);  // trials, runs, study and trial attributes, intermediate values
}

TEST_CASE("a corrupted sampler seed is a storage error naming the study", "[storage][sqlite]") {
  SqliteStorageFixture f;
  make_study(f.storage(), "seeded", Direction::kMinimize, "loss", sample_spec("seeded"), 5);
  RawSqlite(f.path()).exec("UPDATE studies SET sampler_seed = 'twelve'");
  try {
    f.storage().find_study("seeded");
    FAIL("a corrupted seed was read");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kCorrupt);
    CHECK_THAT(e.what(), Catch::Contains("study 'seeded' has an unreadable sampler seed 'twelve'"));
  }
}

TEST_CASE("a database of a newer schema version is refused, naming both versions",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = dir / "future.db";
  {
    SqliteStorage storage(db);
    make_study(storage, "s");
  }
  {
    RawSqlite raw(db);
    raw.exec("UPDATE schema_version SET version = 6");
  }
  require_refused(db, StorageErrc::kVersion, {"schema version 6", "version 5", "newer hpo"});
  RawSqlite raw(db);
  CHECK(raw.query("SELECT version FROM schema_version") == "6");  // left as it was
  CHECK(raw.query("SELECT name FROM studies") == "s");
}

TEST_CASE("a file that is not SQLite is refused and left as it was", "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path file = dir / "random.bin";
  std::mt19937 rng(7);
  std::string bytes(8192, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xff);
  write_file(file, bytes);
  require_refused(file, StorageErrc::kNotADatabase, {"not an hpo database"});
  CHECK(read_file(file) == bytes);
  CHECK(siblings(file).empty());

  const fs::path text = write_file(dir / "notes.txt", "this is a text file, not a database\n");
  require_refused(text, StorageErrc::kNotADatabase, {"not an hpo database"});
  CHECK(read_file(text) == "this is a text file, not a database\n");
}

TEST_CASE("a SQLite file of another application is refused and left as it was",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = dir / "other.db";
  {
    RawSqlite raw(db);
    raw.exec("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada');");
  }
  const std::string bytes = read_file(db);
  require_refused(db, StorageErrc::kNotADatabase, {"not an hpo database", "people"});
  CHECK(read_file(db) == bytes);
  CHECK(siblings(db).empty());  // not switched to WAL
  RawSqlite raw(db);
  CHECK(raw.query("PRAGMA journal_mode") == "delete");
}

TEST_CASE("an empty file becomes a new database", "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = write_file(dir / "empty.db", "");
  {
    SqliteStorage storage(db);
    make_study(storage, "s", Direction::kMinimize, "loss", {});
  }
  SqliteStorage storage(db);
  CHECK(storage.find_study("s"));
}

TEST_CASE("without create_if_missing a missing file is refused and not created",
          "[storage][sqlite]") {
  TempDir dir("hpo-storage");
  const fs::path db = dir / "missing.db";
  SqliteOptions options;
  options.create_if_missing = false;
  try {
    SqliteStorage storage(db, options);
    FAIL("a missing file was opened");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kCantOpen);
    CHECK_THAT(e.what(), Catch::Contains(db.string()) && Catch::Contains("does not exist"));
  }
  CHECK_FALSE(fs::exists(db));
  CHECK(siblings(db).empty());
  // With the default the file is created.
  SqliteStorage created(db);
  CHECK(fs::exists(db));
  // A directory that does not exist is an error, not created either.
  CHECK_THROWS_AS(SqliteStorage(dir / "no" / "such" / "dir.db"), StorageError);
  CHECK_FALSE(fs::exists(dir / "no"));
}

TEST_CASE("a storage error names the file and the operation", "[storage][sqlite]") {
  SqliteStorageFixture f;
  make_study(f.storage(), "s", Direction::kMinimize, "loss", {});
  try {
    make_study(f.storage(), "s", Direction::kMinimize, "loss", {});
    FAIL("duplicate accepted");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kExists);
    CHECK_THAT(e.what(), Catch::StartsWith(f.path().string() + ": cannot create a study: "));
    CHECK_THAT(e.what(), Catch::Contains("'s' already exists"));
  }
  try {
    f.storage().update_study_spec(99, sample_spec("x"), "/x");
    FAIL("unknown study accepted");
  } catch (const StorageError& e) {
    CHECK(e.code() == StorageErrc::kNotFound);
    CHECK_THAT(e.what(),
               Catch::StartsWith(f.path().string() + ": cannot record the spec of a study: "));
    CHECK_THAT(e.what(), Catch::Contains("no study with id 99"));
  }
}

TEST_CASE("a mutation that fails halfway is rolled back as a whole", "[storage][sqlite]") {
  SqliteStorageFixture f;
  Storage& s = f.storage();
  const auto study = make_study(s, "s", Direction::kMinimize, "loss", {});
  NewTrial running;
  const Trial a = add_trial(s, study.id, running);
  const Trial b = add_trial(s, study.id, running);
  const Trial c = add_trial(s, study.id, running);
  const std::string before = describe_all(s, Times::kExact);

  // A trigger makes the third UPDATE of the heartbeat transaction fail, after the run's record
  // and the first two trials have been written inside it.
  RawSqlite raw(f.path());
  raw.exec("CREATE TRIGGER fail_heartbeat BEFORE UPDATE OF heartbeat ON trials WHEN NEW.id = " +
           std::to_string(c.id) + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  std::this_thread::sleep_for(std::chrono::milliseconds(3));  // a new heartbeat would differ
  try {
    s.heartbeat(study.id, RunRecord{"run-a", "host-a", 1, {}, {}}, {a.id, b.id, c.id});
    FAIL("the trigger did not fire");
  } catch (const StorageError& e) {
    CHECK((e.native_code() & 0xff) == SQLITE_CONSTRAINT);
    CHECK(e.code() == StorageErrc::kOther);
    CHECK_THAT(e.what(), Catch::Contains("record heartbeats") && Catch::Contains("injected"));
  }
  CHECK(describe_all(s, Times::kExact) == before);

  // A failed create_trial does not use up its number: numbers stay dense.
  raw.exec(
      "CREATE TRIGGER fail_insert BEFORE INSERT ON trials WHEN NEW.number = 3 "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  CHECK_THROWS_AS(add_trial(s, study.id, running), StorageError);
  CHECK(describe_all(s, Times::kExact) == before);
  raw.exec("DROP TRIGGER fail_heartbeat; DROP TRIGGER fail_insert;");
  s.heartbeat(study.id, RunRecord{"run-a", "host-a", 1, {}, {}}, {a.id, b.id, c.id});
  CHECK(*s.get_trial(a.id)->heartbeat > *a.heartbeat);
  CHECK(s.list_runs(study.id).size() == 1);
  CHECK(add_trial(s, study.id, running).number == 3);
  f.reopen();
  CHECK(f.storage().get_trials(study.id).size() == 4);
}

}  // namespace hpo::testing
