// DashboardData: what `hpo dashboard` serves, kept up to date from the results database while
// studies run. A refresher thread calls refresh() every interval; HTTP handlers read prebuilt
// JSON and never wait for SQLite, so the server answers at once whatever the study's size.
//
// A study is read once when the page first asks for it, then incrementally: trials created
// since (get_trials from the next number) and the trials that were not finished (get_trial
// each), since a finished trial never changes. Its document (report_data.h) is rebuilt when
// something changed; the fANOVA importance at most every `importance_every` unless the study
// is small.
//
// Thread-safe: refresh() runs on one thread, the readers on any; one mutex guards the state,
// and storage is read without holding it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/report/param_importance.h"
#include "engine/report/report_data.h"
#include "storage/storage.h"

namespace hpo {

struct DashboardOptions {
  std::string storage_label;  // the database path, shown on the page
  ReportLimits limits{.table_rows = 50};
  std::chrono::milliseconds importance_every{10000};
  // Studies with at most this many COMPLETE trials get their importance recomputed at every
  // change.
  std::size_t importance_always_below = 300;
  std::size_t max_page = 500;  // rows per /trials page at most
};

class DashboardData {
 public:
  // `storage` must outlive this object; only refresh() reads it.
  DashboardData(TrialQueries& trials, StudyCatalog& catalog, DashboardOptions options);
  ~DashboardData();
  DashboardData(const DashboardData&) = delete;
  DashboardData& operator=(const DashboardData&) = delete;

  // Reads what changed: the list of studies with their counts, and every study a reader has
  // asked for. Throws StorageError when storage fails (the caller reports it and retries).
  void refresh();

  // True once a reader asked for a study that refresh() has not read yet.
  bool has_pending() const;

  // {"storage": ..., "studies": [{name, direction, metric, trials, COMPLETE, RUNNING, ...}]}
  std::string studies_json() const;

  // The study's document (report_data.h); {"loading": true} until refresh() has read it;
  // nullopt for a study that does not exist. Asking marks the study for refresh().
  std::optional<std::string> study_json(const std::string& name);

  // {"total", "offset", "columns", "rows"}: `limit` rows (at most options.max_page) from
  // `offset` of the study's trials ordered by the table column `sort_key` ("number", "value",
  // "duration_s", "state", ...); rows lacking the key last. nullopt for an unknown study or
  // sort key; {"loading": true} until it was read.
  std::optional<std::string> trials_page_json(const std::string& name, const std::string& sort_key,
                                              bool descending, std::size_t offset,
                                              std::size_t limit);

 private:
  struct Study;
  void refresh_study(const std::string& name);

  TrialQueries& trials_;
  StudyCatalog& catalog_;
  const DashboardOptions options_;

  mutable std::mutex mu_;
  std::string studies_json_;                               // GUARDED_BY(mu_)
  std::vector<StudyRecord> records_;                       // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Study>> watched_;  // GUARDED_BY(mu_)
};

}  // namespace hpo
