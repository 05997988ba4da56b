#include "engine/report/dashboard_data.h"

#include <algorithm>
#include <numeric>

#include "engine/report/study_space.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_table.h"
#include "hpo/errors.h"

namespace hpo {

struct DashboardData::Study {
  StudyRecord record;
  // Written by the refresher only, under mu_; read by the refresher without the lock and by
  // readers under it.
  std::vector<Trial> trials;  // by number
  int next_number = 0;
  std::uint64_t version = 1;
  // The refresher's own bookkeeping: the version the published document shows (0: none).
  std::uint64_t built = 0;
  std::chrono::steady_clock::time_point built_at;
  ImportanceResult importance;
  int importance_complete = -1;
  std::chrono::steady_clock::time_point importance_at;
  // Published under mu_.
  bool loaded = false;
  std::shared_ptr<const std::string> doc;
  // Sort orders for trials_page_json, for `orders_version` (readers, under mu_).
  std::map<std::pair<std::string, bool>, std::vector<std::size_t>> orders;
  std::uint64_t orders_version = 0;
};

namespace {

bool same(const Trial& a, const Trial& b) {
  return a.state == b.state && a.value == b.value &&
         a.intermediate.size() == b.intermediate.size() && a.location == b.location &&
         a.finished == b.finished && a.heartbeat == b.heartbeat &&
         a.metrics.size() == b.metrics.size();
}

// The --columns name of a table key.
std::string column_of(const std::string& key) {
  if (key == "duration_s") return "duration";
  if (key == "best_step") return "best_intermediate";
  if (key.rfind("params_", 0) == 0) return key.substr(7);
  if (key.rfind("metrics_", 0) == 0) return key.substr(8);
  return key;
}

}  // namespace

DashboardData::DashboardData(TrialQueries& trials, StudyCatalog& catalog, DashboardOptions options)
    : trials_(trials), catalog_(catalog), options_(std::move(options)) {
  studies_json_ =
      json_text({{"storage", options_.storage_label}, {"studies", nlohmann::json::array()}});
}

DashboardData::~DashboardData() = default;

bool DashboardData::has_pending() const {
  std::lock_guard lock(mu_);
  return std::any_of(watched_.begin(), watched_.end(),
                     [](const auto& entry) { return !entry.second->loaded; });
}

void DashboardData::refresh() {
  std::vector<StudyRecord> records = catalog_.list_studies();
  nlohmann::json list = nlohmann::json::array();
  for (const StudyRecord& r : records) {
    const TrialCounts c = trials_.count_trials(r.id);
    list.push_back({{"name", r.name},
                    {"direction", to_string(r.direction)},
                    {"metric", r.metric},
                    {"sampler", sampler_label(r)},
                    {"trials", c.total()},
                    {"COMPLETE", c.complete},
                    {"PRUNED", c.pruned},
                    {"FAIL", c.fail},
                    {"RUNNING", c.running},
                    {"WAITING", c.waiting}});
  }
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    studies_json_ = json_text({{"storage", options_.storage_label}, {"studies", list}});
    records_ = std::move(records);
    for (const auto& [name, study] : watched_) names.push_back(name);
  }
  for (const std::string& name : names) refresh_study(name);
}

void DashboardData::refresh_study(const std::string& name) {
  Study* s = nullptr;
  std::vector<std::int64_t> open_ids;
  int next = 0;
  {
    std::lock_guard lock(mu_);
    s = watched_.at(name).get();
    next = s->next_number;
    for (const Trial& t : s->trials)
      if (!is_finished(t.state)) open_ids.push_back(t.id);
  }
  // Storage is read without the lock: readers go on meanwhile.
  std::vector<Trial> fresh = trials_.get_trials(s->record.id, std::nullopt, next);
  std::vector<Trial> updated;
  for (std::int64_t id : open_ids)
    if (auto t = trials_.get_trial(id)) updated.push_back(std::move(*t));

  {
    std::lock_guard lock(mu_);
    bool changed = !fresh.empty();
    for (Trial& t : updated) {
      if (t.number < 0 || static_cast<std::size_t>(t.number) >= s->trials.size()) continue;
      Trial& old = s->trials[static_cast<std::size_t>(t.number)];
      if (old.id != t.id) continue;
      if (!same(old, t)) changed = true;
      old = std::move(t);
    }
    for (Trial& t : fresh) {
      // Numbers are dense; a number already held (a racing read) replaces its row.
      if (static_cast<std::size_t>(t.number) < s->trials.size()) {
        s->trials[static_cast<std::size_t>(t.number)] = std::move(t);
      } else {
        s->trials.push_back(std::move(t));
      }
    }
    s->next_number = static_cast<int>(s->trials.size());
    if (changed) ++s->version;
  }

  // Rebuilt on a change, and every few seconds while trials run (wall time, elapsed). The
  // refresher is the only writer of the trials, so it reads them here without the lock.
  const auto now = std::chrono::steady_clock::now();
  const bool running = std::any_of(s->trials.begin(), s->trials.end(),
                                   [](const Trial& t) { return t.state == TrialState::kRunning; });
  const bool stale = running && now - s->built_at > std::chrono::seconds(5);
  if (s->built == s->version && !stale) return;

  const SearchSpace space = effective_space(s->record, s->trials);
  const int complete =
      static_cast<int>(std::count_if(s->trials.begin(), s->trials.end(), [](const Trial& t) {
        return t.state == TrialState::kComplete;
      }));
  if (complete != s->importance_complete &&
      (s->importance_complete < 0 ||
       static_cast<std::size_t>(complete) <= options_.importance_always_below ||
       now - s->importance_at >= options_.importance_every)) {
    s->importance = parameter_importance(space, s->trials);
    s->importance_complete = complete;
    s->importance_at = now;
  }
  auto doc = std::make_shared<const std::string>(
      json_text(build_report_data(s->record, s->trials, space, s->importance, options_.limits)));
  std::lock_guard lock(mu_);
  s->doc = std::move(doc);
  s->loaded = true;
  s->built = s->version;
  s->built_at = now;
}

std::string DashboardData::studies_json() const {
  std::lock_guard lock(mu_);
  return studies_json_;
}

std::optional<std::string> DashboardData::study_json(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(name);
  if (it == watched_.end()) {
    auto record = std::find_if(records_.begin(), records_.end(),
                               [&](const StudyRecord& r) { return r.name == name; });
    if (record == records_.end()) return std::nullopt;
    auto study = std::make_unique<Study>();
    study->record = *record;
    it = watched_.emplace(name, std::move(study)).first;
  }
  if (!it->second->loaded) return std::string(R"({"loading": true})");
  return *it->second->doc;
}

std::optional<std::string> DashboardData::trials_page_json(const std::string& name,
                                                           const std::string& sort_key,
                                                           bool descending, std::size_t offset,
                                                           std::size_t limit) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(name);
  if (it == watched_.end()) return std::nullopt;
  Study& s = *it->second;
  if (!s.loaded) return std::string(R"({"loading": true})");
  if (s.orders_version != s.version) {
    s.orders.clear();
    s.orders_version = s.version;
  }
  auto key = std::make_pair(sort_key, descending);
  auto order = s.orders.find(key);
  if (order == s.orders.end()) {
    TrialTable column;
    try {
      column =
          build_trial_table(s.trials, s.record.direction, s.record.metric, {column_of(sort_key)});
    } catch (const InputError&) {
      return std::nullopt;
    }
    if (column.columns.empty()) return std::nullopt;
    std::vector<std::size_t> idx(s.trials.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      const auto& x = column.rows[a][0];
      const auto& y = column.rows[b][0];
      if (x.is_null() != y.is_null()) return y.is_null();
      if (x.is_null()) return false;
      return descending ? y < x : x < y;
    });
    order = s.orders.emplace(key, std::move(idx)).first;
  }
  const std::vector<std::size_t>& idx = order->second;
  limit = std::min(limit, options_.max_page);
  std::vector<Trial> page;
  for (std::size_t i = offset; i < idx.size() && page.size() < limit; ++i)
    page.push_back(s.trials[idx[i]]);
  const TrialTable table =
      build_trial_table(page, s.record.direction, s.record.metric, report_table_columns(s.trials));
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : table.columns) columns.push_back({{"key", c.key}, {"label", c.label}});
  return json_text(
      {{"total", s.trials.size()}, {"offset", offset}, {"columns", columns}, {"rows", table.rows}});
}

}  // namespace hpo
