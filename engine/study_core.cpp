#include "engine/study_core.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "engine/factory.h"
#include "engine/model/objective_score.h"
#include "engine/model/spec_checker.h"
#include "engine/model/text.h"
#include "engine/spec_diff.h"
#include "samplers/pareto.h"
#include "hpo/errors.h"
#include "samplers/sampler_registry.h"

namespace hpo {
namespace {

std::uint64_t fresh_seed() {
  std::random_device rd;
  return rd() ^ (std::uint64_t{rd()} << 32);
}

// A stored study that this spec may continue: the same space, direction and metric (its
// history would not mean the same thing under others). The refusal explains the choice in its
// first line, with what is at stake: trials measured under the old spec mixing with new ones.
void check_same_study(const StudyRecord& record, const StudySpec& spec, const TrialCounts& counts) {
  StudySpec stored;
  try {
    stored = StudyCore::stored_spec(record);
  } catch (const InputError&) {
    return;  // written by an hpo that this one cannot read: nothing to compare
  }
  const std::vector<std::string> diffs = study_differences(stored, spec);
  if (diffs.empty()) return;
  const std::string what = difference_subjects(diffs);
  const int finished = counts.complete + counts.pruned;
  const std::string stake =
      counts.total() == 0 ? std::string("it has no trials yet, so nothing would mix")
      : finished == 0
          ? "none of its " + std::to_string(counts.total()) +
                " trials completed under the old one, so nothing would mix"
          : std::to_string(finished) +
                " of its trials completed under the old one and would mix with the new ones";
  std::vector<SpecIssue> issues;
  issues.push_back({"", "study '" + spec.name + "' exists with another " + what + " (below); " +
                            stake + ": rerun with --allow-spec-change to continue it, or give "
                            "the study a new name (\"name\" in the spec) to start afresh"});
  for (const auto& d : diffs) issues.push_back({"", "  " + d});
  throw InputError(issues);
}

}  // namespace

StudySpec StudyCore::stored_spec(const StudyRecord& record) {
  SpecParseOptions options;
  options.origin = "stored spec of study '" + record.name + "'";
  options.require_executor = false;
  const std::filesystem::path dir =
      record.spec_dir.empty() ? std::filesystem::current_path() : std::filesystem::path(record.spec_dir);
  return parse_spec(record.spec.dump(), dir, options);
}

StudyCore::StudyCore(Storage& storage, StudySpec spec, const OpenOptions& options)
    : storage_(storage), spec_(std::move(spec)) {
  // Before anything is written: a warm start that cannot be had stops the run here.
  load_source_trials();
  const bool wants_auto = spec_.sampler.name == "auto";
  for (bool retried = false;; retried = true) {
    std::optional<StudyRecord> existing = storage_.find_study(spec_.name);
    if (existing && wants_auto) {
      // The sampler auto picked when the study was created stays its sampler.
      const auto stored = existing->spec.find("sampler");
      if (stored != existing->spec.end() && stored->is_object() && stored->contains("name") &&
          (*stored)["name"].is_string() && (*stored)["name"] != "auto")
        use_sampler((*stored)["name"].get<std::string>(),
                    "auto picked " + (*stored)["name"].get<std::string>() +
                        " when the study was created");
    }
    if (!existing && wants_auto) {
      const SamplerPlan plan = plan_sampler(spec_);
      use_sampler(plan.name, plan.detail);
    }
    if (existing) {
      if (options.mode == OpenMode::kCreate)
        throw InputError("name", "a study named \"" + spec_.name + "\" exists already");
      if (!options.allow_spec_change)
        check_same_study(*existing, spec_, storage_.count_trials(existing->id));
      if (options.record_spec) {
        storage_.update_study_spec(existing->id, spec_.document, spec_.base_dir.string());
        existing->spec = spec_.document;
        existing->spec_dir = spec_.base_dir.string();
      }
      record_ = std::move(*existing);
      break;
    }
    if (options.mode == OpenMode::kLoad)
      throw InputError("no study named \"" + spec_.name + "\" in this storage");
    NewStudy study;
    study.name = spec_.name;
    study.direction = spec_.direction;
    study.metric = spec_.metric;
    study.spec = spec_.document;
    study.spec_dir = spec_.base_dir.string();
    study.sampler_seed = spec_.sampler.seed.value_or(fresh_seed());
    try {
      record_ = storage_.create_study(study);
      break;
    } catch (const StorageError& e) {
      // Another process created it a moment ago: continue it, as if it had been there.
      if (e.code() != StorageErrc::kExists || retried || options.mode == OpenMode::kCreate) throw;
    }
  }
  seed_ = spec_.sampler.seed.value_or(record_.sampler_seed);
  if (sampler_detail_.empty()) sampler_detail_ = plan_sampler(spec_).detail;
  parallelism_ = options.parallelism;
  sampler_ = new_sampler();
  pruner_ = make_pruner(spec_);
  // The cache holds what the sampler reads; a pruner that reads the other trials' curves
  // (rather than their values at one step, through step_values_) needs them all.
  detail_ = pruner_ && pruner_->reads_other_curves() ? TrialDetail::kFull : TrialDetail::kHistory;
  reload();
}

void StudyCore::use_sampler(const std::string& name, const std::string& why) {
  spec_.sampler.name = name;
  spec_.sampler.block["name"] = name;
  if (!spec_.document.contains("sampler") || !spec_.document["sampler"].is_object())
    spec_.document["sampler"] = nlohmann::json::object();
  spec_.document["sampler"]["name"] = name;
  sampler_detail_ = why;
}

void StudyCore::set_parallelism(int parallelism) {
  if (parallelism == parallelism_) return;
  parallelism_ = parallelism;
  sampler_ = new_sampler();
}

std::unique_ptr<Sampler> StudyCore::new_sampler() const {
  return make_sampler(spec_, seed_, parallelism_, source_trials_ ? &*source_trials_ : nullptr);
}

void StudyCore::load_source_trials() {
  const OrderedJson* m = SpecChecker::member(spec_.sampler.block, "source_study");
  if (m == nullptr || !m->is_string()) return;
  const std::string name = m->get<std::string>();
  if (name == spec_.name)
    throw InputError("sampler.source_study",
                     "names this study itself; a warm start comes from another study");
  const std::optional<StudyRecord> source = storage_.find_study(name);
  if (!source)
    throw InputError("sampler.source_study", "no study named \"" + name + "\" in this storage");
  if (source->direction != spec_.direction)
    throw InputError("sampler.source_study", "study \"" + name + "\" is " +
                                                 to_string(source->direction) +
                                                 " but this one is " + to_string(spec_.direction));
  source_trials_ = storage_.get_trials(source->id, std::nullopt);
}

StudyCore::~StudyCore() = default;

// ---- cache ------------------------------------------------------------------------------------

Trial* StudyCore::find(std::int64_t trial_id) {
  const auto it = index_.find(trial_id);
  return it == index_.end() ? nullptr : &trials_[it->second];
}

void StudyCore::count(const Trial& t, int delta) {
  TrialCounts& c = tally_.counts;
  switch (t.state) {
    case TrialState::kWaiting: c.waiting += delta; break;
    case TrialState::kRunning: c.running += delta; break;
    case TrialState::kComplete: c.complete += delta; break;
    case TrialState::kPruned: c.pruned += delta; break;
    case TrialState::kFail: c.fail += delta; break;
  }
  // Finished trials never change, so the best only moves when one completes (a reload
  // recounts from scratch). As best_trial(): feasible COMPLETE trials only.
  if (delta > 0 && t.state == TrialState::kComplete && t.value && t.feasible() &&
      (!tally_.best_value || is_better(spec_.direction, *t.value, *tally_.best_value) ||
       (*t.value == *tally_.best_value && t.number < *tally_.best_number))) {
    tally_.best_value = t.value;
    tally_.best_number = t.number;
  }
}

Trial& StudyCore::put(const Trial& stored) {
  Trial trial = stored;
  apply_score(spec_, trial);
  if (!trial.intermediate.empty()) steps_seen_ = true;
  if (Trial* cached = find(trial.id)) {
    if (is_finished(trial.state) && !is_finished(cached->state)) step_values_.add(trial);
    count(*cached, -1);
    *cached = trial;
    if (detail_ == TrialDetail::kHistory) keep_history_detail(*cached);
    count(*cached, +1);
    return *cached;
  }
  const auto number = static_cast<std::size_t>(trial.number);
  if (number > trials_.size()) {
    // Trials made elsewhere in between: take them first, so that positions stay numbers.
    for (const Trial& t :
         storage_.get_trials(id(), std::nullopt, static_cast<int>(trials_.size()), detail_))
      if (t.number < trial.number && !find(t.id)) put(t);
    step_values_.clear();  // they came without their curves
  }
  if (static_cast<std::size_t>(trial.number) != trials_.size()) {
    reload();  // the cache lost track (a trial it holds vanished?): start over
    Trial* cached = find(trial.id);
    if (cached != nullptr) return *cached;
    return put(trial);
  }
  if (is_finished(trial.state)) step_values_.add(trial);
  index_[trial.id] = trials_.size();
  trials_.push_back(trial);
  if (detail_ == TrialDetail::kHistory) keep_history_detail(trials_.back());
  count(trials_.back(), +1);
  return trials_.back();
}

void StudyCore::reload() {
  step_values_.clear();
  trials_ = storage_.get_trials(id(), std::nullopt, 0, detail_);
  for (Trial& t : trials_) apply_score(spec_, t);
  index_.clear();
  tally_ = StudyTally{};
  for (std::size_t i = 0; i < trials_.size(); ++i) {
    index_[trials_[i].id] = i;
    if (!trials_[i].intermediate.empty()) steps_seen_ = true;
    count(trials_[i], +1);
  }
}

TrialCounts StudyCore::refresh() {
  const TrialCounts counts = storage_.count_trials(id());
  if (counts == tally_.counts) return counts;
  // Trials changed elsewhere, read below without their curves: the steps read are read again.
  step_values_.clear();
  if (counts.total() > tally_.counts.total()) {
    for (const Trial& t :
         storage_.get_trials(id(), std::nullopt, static_cast<int>(trials_.size()), detail_))
      if (!find(t.id)) put(t);
    if (counts == tally_.counts) return counts;
  }
  reload();
  return tally_.counts;
}

void StudyCore::refresh_running() {
  refresh();
  for (const Trial& t : storage_.get_trials(id(), TrialState::kRunning)) {
    Trial* cached = find(t.id);
    if (cached != nullptr && cached->state == TrialState::kRunning)
      cached->intermediate = t.intermediate;
  }
}

std::vector<double> StudyCore::reference_point() const {
  return study_reference_point(trials_, spec_.directions(), spec_.reference_point);
}

StudyCore::Front StudyCore::front() const {
  ParetoSummary s = pareto_summary(trials_, spec_.directions(), spec_.reference_point);
  Front f;
  f.trials = std::move(s.front);
  f.hypervolume = s.hypervolume;
  return f;
}

// The tally follows best_trial()'s rule as trials change, and positions are numbers: no scan of a
// long study.
const Trial* StudyCore::best() const {
  if (!tally_.best_number) return nullptr;
  const auto at = static_cast<std::size_t>(*tally_.best_number);
  return at < trials_.size() ? &trials_[at] : best_trial(trials_, spec_.direction);
}

bool StudyCore::goal_reached() const {
  if (!spec_.goal || !tally_.best_value) return false;
  return !is_better(spec_.direction, *spec_.goal, *tally_.best_value);
}

std::vector<std::pair<int, double>> StudyCore::StepValues::step_values(std::int64_t step,
                                                                       TrialState state,
                                                                       StepMatch match) const {
  if (!is_finished(state)) {
    // Unfinished trials are whole in the cache, and change: read them there.
    return StudyView(core_.spec_.direction, core_.trials_).step_values(step, state, match);
  }
  auto it = by_step_.find({step, state, match});
  if (it == by_step_.end()) {
    check_online();
    it = by_step_.emplace(std::make_tuple(step, state, match),
                          core_.storage_.get_step_values(core_.id(), step, state, match)).first;
  }
  return it->second;
}

std::optional<std::int64_t> StudyCore::StepValues::last_step(TrialState state) const {
  if (!is_finished(state)) return StudyView(core_.spec_.direction, core_.trials_).last_step(state);
  auto it = last_step_.find(state);
  if (it == last_step_.end()) {
    check_online();
    it = last_step_.emplace(state, core_.storage_.get_last_step(core_.id(), state)).first;
  }
  return it->second;
}

void StudyCore::StepValues::check_online() const {
  if (offline)
    throw std::logic_error(
        "the study core read step values from storage inside a storage transaction");
}

void StudyCore::StepValues::add(const Trial& trial) {
  for (auto& [key, values] : by_step_) {
    const auto& [step, state, match] = key;
    if (state != trial.state) continue;
    const auto at = report_for_step(trial, step, match);
    if (!at) continue;
    const auto pos = std::lower_bound(
        values.begin(), values.end(), trial.number,
        [](const std::pair<int, double>& v, int number) { return v.first < number; });
    if (pos != values.end() && pos->first == trial.number) pos->second = at->value;
    else values.insert(pos, {trial.number, at->value});
  }
  if (const auto it = last_step_.find(trial.state);
      it != last_step_.end() && !trial.intermediate.empty())
    it->second = std::max(it->second.value_or(trial.intermediate.rbegin()->first),
                          trial.intermediate.rbegin()->first);
}

// ---- asking -----------------------------------------------------------------------------------

std::optional<Trial> StudyCore::ask(const std::string& owner, std::optional<int> limit,
                                    const std::string& trial_dir) {
  NewTrial nt;
  nt.state = TrialState::kRunning;
  nt.owner = owner;
  nt.trial_dir = trial_dir;
  nt.known_trials = static_cast<int>(trials_.size());
  // sampler_view() runs inside storage's transaction below, where storage must not be called:
  // what the pruner's brackets read through the step reader is read into its cache now.
  if (pruner_ && detail_ == TrialDetail::kHistory)
    pruner_->brackets(StudyView(spec_.directions(), trials_, &step_values_));
  nt.sample = [this](int number, const std::vector<Trial>& newer) -> std::optional<ParamSet> {
    // Inside storage's transaction: the cache must not call storage now. `newer` continues the
    // cache without a gap.
    step_values_.offline = true;
    struct Online {
      StepValues& v;
      ~Online() { v.offline = false; }
    } online{step_values_};
    for (const Trial& t : newer)
      if (!find(t.id) && static_cast<std::size_t>(t.number) == trials_.size()) put(t);
    const StudyView view = sampler_view(number);
    if (const auto left = sampler_->remaining(view, spec_.space); left && *left == 0) {
      exhausted_ = true;
      return std::nullopt;
    }
    return sampler_->suggest(view, spec_.space, static_cast<std::uint64_t>(number));
  };
  std::optional<Trial> created = storage_.create_trial(id(), nt, limit);
  if (!created) return std::nullopt;
  return put(*created);
}

StudyView StudyCore::sampler_view(int number) {
  const StudyView all(spec_.directions(), trials_,
                      detail_ == TrialDetail::kHistory ? &step_values_ : nullptr);
  if (!pruner_) return all;
  // Hyperband: the sampler learns only from the trials of this trial's bracket.
  const BracketRule bracket = pruner_->brackets(all);
  if (!bracket) return all;
  const int b = bracket(number);
  bracket_trials_.clear();
  for (const Trial& t : trials_)
    if (bracket(t.number) == b) bracket_trials_.push_back(t);
  return StudyView(spec_.directions(), bracket_trials_);
}

std::vector<int> StudyCore::TEST_sampler_view_numbers(int number) {
  std::vector<int> out;
  for (const Trial& t : sampler_view(number).trials()) out.push_back(t.number);
  return out;
}

std::optional<Trial> StudyCore::claim(const std::string& owner, std::optional<int> limit) {
  std::optional<Trial> claimed = storage_.claim_waiting_trial(id(), owner, limit);
  if (!claimed) return std::nullopt;
  if (!spec_.space.check(claimed->params).empty()) {
    // Enqueued with some parameters only: the sampler chooses the others now, for its number.
    ParamSet full = complete_params(*sampler_, sampler_view(claimed->number), spec_.space,
                                    claimed->params, static_cast<std::uint64_t>(claimed->number),
                                    seed_);
    if (storage_.set_trial_params(claimed->id, full)) claimed->params = std::move(full);
  }
  return put(*claimed);
}

// ---- telling ----------------------------------------------------------------------------------

bool StudyCore::report(std::int64_t trial_id, std::int64_t step, double value) {
  if (!storage_.report_intermediate(trial_id, step, value)) return false;
  if (Trial* t = find(trial_id)) t->intermediate[step] = value;
  steps_seen_ = true;
  return true;
}

PruneDecision StudyCore::should_prune(std::int64_t trial_id, std::int64_t step) const {
  if (!pruner_) return PruneDecision::keep();
  const auto it = index_.find(trial_id);
  if (it == index_.end()) return PruneDecision::keep();
  const Trial& trial = trials_[it->second];
  if (trial.state != TrialState::kRunning || !trial.intermediate.count(step))
    return PruneDecision::keep();
  const StudyView view(spec_.direction, trials_,
                       detail_ == TrialDetail::kHistory ? &step_values_ : nullptr);
  PruneDecision d = pruner_->should_prune(view, trial, step);
  if (d.prune)
    d.reason = "pruned at step " + std::to_string(step) + " by " +
               (spec_.pruner.name == "none" ? std::string("patience") : spec_.pruner.name) +
               ": " + d.reason;
  return d;
}

bool StudyCore::set_location(std::int64_t trial_id, const std::string& where) {
  const std::string location = clean_text(where);
  if (!storage_.set_trial_location(trial_id, location)) return false;
  if (Trial* t = find(trial_id)) t->location = location;
  return true;
}

bool StudyCore::set_launch(std::int64_t trial_id, const TrialLaunch& launch) {
  TrialLaunch clean;
  for (const auto& a : launch.argv) clean.argv.push_back(valid_utf8(a));
  clean.cwd = valid_utf8(launch.cwd);
  for (const auto& [name, value] : launch.env) clean.env.emplace_back(valid_utf8(name), valid_utf8(value));
  if (!storage_.set_trial_launch(trial_id, clean)) return false;
  if (Trial* t = find(trial_id)) t->launch = std::move(clean);
  return true;
}

Verdict StudyCore::judge(const Trial& trial, const TrialOutcome& outcome,
                         const RetryPolicy& retry) const {
  Verdict v;
  v.state = outcome.state;
  v.reason = outcome.reason;
  // With strategy "best", the best of the stored curve competes with the final report (the
  // parser validated that the curve is the objective metric's).
  const std::optional<StepValue> best_step = spec_.strategy == ValueStrategy::kBest
                                                 ? best_intermediate(trial, spec_.direction)
                                                 : std::nullopt;
  if (outcome.state == TrialState::kComplete) {
    ObjectiveScore score =
        score_metrics(spec_, outcome.metrics,
                      best_step ? std::optional<double>(best_step->value) : std::nullopt,
                      outcome.metrics_note);
    if (!score.problem.empty()) {
      v.state = TrialState::kFail;
      v.reason = std::move(score.problem);
    } else {
      v.value = score.value;
      v.values = std::move(score.values);
      v.violation = score.violation;
      v.reason.clear();
    }
  } else if (outcome.state == TrialState::kPruned && !trial.intermediate.empty()) {
    v.value = best_step ? best_step->value : trial.intermediate.rbegin()->second;
  }
  if (v.state != TrialState::kFail) return v;
  if (v.reason.empty()) v.reason = "failed";
  // An interrupted trial runs again on resume; an infrastructure failure runs again while the
  // retry policy allows. Both keep the parameters and the checkpoint directory.
  const bool interrupted = outcome.failure == FailureKind::kInterrupted;
  const bool retried = !interrupted && retry.should_retry(outcome, trial.attempt);
  if (retried)
    v.reason += " (retrying: attempt " + std::to_string(trial.attempt + 2) + " of " +
                std::to_string(retry.retries + 1) + ")";
  v.requeue = interrupted || retried;
  return v;
}

std::optional<StudyCore::Recorded> StudyCore::tell(std::int64_t trial_id, TrialOutcome outcome,
                                                   const RetryPolicy& retry,
                                                   const std::string& trial_dir) {
  Trial* t = find(trial_id);
  if (t == nullptr) {
    refresh();
    t = find(trial_id);
  }
  if (t == nullptr || t->state != TrialState::kRunning) return std::nullopt;
  // What a trial reports enters here, from every executor: make its text safe to store and
  // print once (invalid UTF-8, terminal escapes).
  outcome.reason = clean_text(outcome.reason);
  outcome.metrics_note = clean_text(outcome.metrics_note);
  Metrics metrics;
  for (auto& [name, value] : outcome.metrics) metrics[clean_text(name)] = value;
  outcome.metrics = std::move(metrics);
  const Verdict v = judge(*t, outcome, retry);
  Recorded recorded{*t, std::nullopt};
  Trial& finished = recorded.finished;
  if (v.requeue) {
    recorded.requeued = storage_.fail_and_requeue(trial_id, v.reason, trial_dir);
    if (!recorded.requeued) return std::nullopt;
  } else {
    if (!storage_.finish_trial(trial_id, v.state, v.value, outcome.metrics, v.reason,
                               TrialScores{v.values, v.violation}))
      return std::nullopt;
    finished.value = v.value;
    finished.values = v.values;
    finished.violation = v.violation;
    finished.metrics = std::move(outcome.metrics);
  }
  finished.state = v.state;
  finished.reason = v.reason;
  finished.finished = Clock::now();
  put(finished);
  if (recorded.requeued) put(*recorded.requeued);
  return recorded;
}

}  // namespace hpo
