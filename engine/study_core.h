// StudyCore: the rules of one study, in one place, for both faces of the engine: the run loop of
// `hpo run` (engine/study_manager.h) and the C++ API (include/hpo/study.h). Nothing about a
// trial's life is decided anywhere else:
//   - which spec a study runs with: a stored study continues with the spec it was last given
//     (`hpo run` records the spec it runs; Study::load and `hpo resume` read it back through
//     stored_spec()); a spec that changes the space, direction or metric is refused unless the
//     caller allows it;
//   - its sampler seed: the spec's, else the one drawn once when the study was created;
//   - a sampler's warm start ("source_study" in its block): the other study's trials, read
//     once from the same storage when the study is opened (samplers never see storage);
//   - its sampler, when the spec says "auto": picked once, when the study is created, and
//     recorded in its stored spec, so that a resume (or a changed budget) keeps it;
//   - the cache of its trials that the sampler sees (and how it catches up with other
//     processes sharing the study);
//   - asking: a new trial is created first and its parameters are drawn for the number storage
//     gave it, inside the same transaction, so that concurrent runs never repeat a draw;
//   - pruning: after each intermediate report, whether the study's pruner stops the trial, and
//     with which reason; with a pruner that runs brackets (Hyperband), the sampler sees only
//     the trials of the new trial's bracket;
//   - judging an outcome: a COMPLETE outcome without the objective metric, or with a NaN or
//     infinite one, is FAIL; its value is the final report, or with objective.strategy "best"
//     the best of the final report and the intermediate values (a trial that reported only
//     intermediate values then completes with their best); a PRUNED trial's value is its last
//     intermediate value (their best with "best"); an interrupted trial, and one the retry
//     policy retries, is re-queued with its parameters;
//   - the counts, the best trial, and whether it reached objective.goal.
//
// Not thread-safe: one thread at a time (the run loop's io thread, or the API's caller). The
// storage may be shared with other StudyCores and processes.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/model/retry_policy.h"
#include "engine/model/study_spec.h"
#include "engine/model/study_view.h"
#include "hpo/trial.h"
#include "engine/model/trial_outcome.h"
#include "samplers/pruner.h"
#include "samplers/sampler.h"
#include "storage/storage.h"

namespace hpo {

enum class OpenMode {
  kCreate,        // the study must not exist yet
  kLoad,          // the study must exist
  kCreateOrLoad,  // either (Optuna's load_if_exists=True)
};

struct OpenOptions {
  OpenMode mode = OpenMode::kCreateOrLoad;
  // Continue a stored study whose space, direction or metric differ from the spec's
  // (`hpo run --allow-spec-change`).
  bool allow_spec_change = false;
  // Make the spec the one the study continues with (`hpo run`, `hpo resume`). A study is always
  // created with its spec; the C++ API loads without replacing what a spec file stored.
  bool record_spec = true;
  // Trials that run at once (TPE's constant liar depends on it).
  int parallelism = 1;
};

// The counts of a study's trials by state, and its best trial so far.
struct StudyTally {
  TrialCounts counts;
  std::optional<int> best_number;
  std::optional<double> best_value;
};

// What an outcome becomes in storage.
struct Verdict {
  TrialState state = TrialState::kFail;
  std::optional<double> value;  // COMPLETE: the objective metric; PRUNED: last intermediate
  std::vector<double> values;   // COMPLETE in a multi-objective study: one per objective
  std::optional<double> violation;  // COMPLETE with constraints: 0 when feasible
  std::string reason;           // FAIL and PRUNED: why (never empty for FAIL)
  bool requeue = false;         // FAIL that runs again with the same parameters
};

class StudyCore {
 public:
  // Opens the study `spec` describes in `storage` (see OpenOptions). Throws InputError when the
  // mode is not met (a study exists / does not), when a stored study differs in its space,
  // direction or metric (every difference listed), or when the sampler's options are invalid;
  // StorageError when storage fails. REQUIRES: the spec passed its checks.
  StudyCore(Storage& storage, StudySpec spec, const OpenOptions& options);
  ~StudyCore();
  StudyCore(const StudyCore&) = delete;
  StudyCore& operator=(const StudyCore&) = delete;

  // The spec a stored study continues with, its relative paths resolved against the directory
  // it was recorded with. Its executor block may be absent (a study defined in code). Throws
  // InputError when it cannot be parsed (written by an hpo this one cannot read).
  static StudySpec stored_spec(const StudyRecord& record);

  const StudySpec& spec() const { return spec_; }
  // One line on the sampler for people ("auto picked gp: ...", "grid of 24 points"); empty
  // when there is nothing to add.
  const std::string& sampler_detail() const { return sampler_detail_; }
  const StudyRecord& record() const { return record_; }
  std::int64_t id() const { return record_.id; }
  std::uint64_t seed() const { return seed_; }
  Storage& storage() { return storage_; }

  // ---- The trial cache ----------------------------------------------------------------------
  // The study's trials in number order, as the sampler sees them: without a pruner, the
  // finished ones as keep_history_detail() (storage/storage.h) leaves them (no metrics, launch
  // or curves: what the sampler reads, so that opening a long study reads and keeps only that);
  // with one, whole (the pruner reads the other trials' curves). RUNNING trials are whole.
  // Storage has the full records (Storage::get_trial).
  const std::vector<Trial>& trials() const { return trials_; }
  // The cached trial with that storage id; nullptr when it is not (yet) known here.
  Trial* find(std::int64_t trial_id);
  // Puts a trial as storage returned it into the cache (new, or replacing the cached copy).
  // Returns the cached copy, valid until the next change of the cache.
  Trial& put(const Trial& trial);
  // Catches up with changes made elsewhere (other runs or Study objects sharing the study):
  // new trials are read incrementally; other differences reload the cache. Returns the study's
  // counts as storage has them now.
  TrialCounts refresh();
  // refresh(), then the intermediate values of every RUNNING trial as storage has them now:
  // other runs' trials report without changing any count. Called before a pruning decision
  // while other runs share the study.
  void refresh_running();
  // True once a trial this core holds or held reported an intermediate value (a RUNNING trial's
  // report, a curve the cache read or was given before it dropped it: the cache may keep no
  // curves of finished trials, so their absence from trials() says nothing).
  bool steps_seen() const { return steps_seen_; }
  // Counts and best trial of the cached trials, kept up to date as trials change.
  const StudyTally& tally() const { return tally_; }
  // A multi-objective study's Pareto front over the cache (pareto_front in samplers/pareto.h),
  // and its hypervolume against reference_point(); the one place the run's progress and the
  // C++ API get them.
  struct Front {
    std::vector<const Trial*> trials;
    double hypervolume = 0.0;
  };
  Front front() const;
  // The spec's "reference_point", else one derived from the feasible COMPLETE trials
  // (nadir_reference: 1.1 times the worst value of each objective, in minimisation form).
  std::vector<double> reference_point() const;
  // The best trial (best_trial() over the cache, as the cache keeps it: its full record is
  // storage's); nullptr while none is COMPLETE.
  const Trial* best() const;
  // True once a COMPLETE trial's value reached objective.goal (<= it when minimizing, >= when
  // maximizing): the study is done. False without a goal. The tally's best is that trial.
  bool goal_reached() const;

  // ---- Asking ---------------------------------------------------------------------------------
  // Creates a RUNNING trial owned by `owner` whose parameters the sampler draws for the number
  // storage gives it, knowing every trial created meanwhile by others (see NewTrial::sample).
  // With `limit`, only while COMPLETE + PRUNED + RUNNING + WAITING trials number fewer than it.
  // nullopt when the limit was reached, or when the sampler is exhausted (then
  // sampler_exhausted() is true). `trial_dir` may hold "{number}".
  std::optional<Trial> ask(const std::string& owner, std::optional<int> limit,
                           const std::string& trial_dir);
  // Claims the oldest WAITING trial (enqueued or re-queued) for `owner`, within `limit` as
  // Storage::claim_waiting_trial does. A trial enqueued with some parameters only gets the
  // others from the sampler now (complete_params in samplers/sampler.h), stored before it runs.
  std::optional<Trial> claim(const std::string& owner, std::optional<int> limit);
  // True once the sampler said it has nothing more to propose (a grid that has run every point).
  bool sampler_exhausted() const { return exhausted_; }
  // The numbers of the trials the sampler sees when it draws trial `number` (all of them, or
  // those of its Hyperband bracket). Test hook.
  std::vector<int> TEST_sampler_view_numbers(int number);
  // Trials that will run at once from now on; the sampler is made again when it changes.
  void set_parallelism(int parallelism);

  // ---- Telling --------------------------------------------------------------------------------
  // Records an intermediate value of the objective metric. False when the trial is no longer
  // running.
  bool report(std::int64_t trial_id, std::int64_t step, double value);
  // Asks the study's pruner about running trial `trial_id` after it reported `step` (report()
  // returned true). A yes carries the reason to record: "pruned at step 4 by median: best 0.41
  // > median 0.33 of 12 trials". No when the study has no pruner or the trial is unknown.
  PruneDecision should_prune(std::int64_t trial_id, std::int64_t step) const;
  // True when the study has a pruner (other than "none" without patience).
  bool prunes() const { return pruner_ != nullptr; }
  // Records where a running trial runs (Executor::EventSink::on_started). False when it is no
  // longer running.
  bool set_location(std::int64_t trial_id, const std::string& location);
  // Records what was started for a running trial (Executor::EventSink::on_launched), its text
  // made valid UTF-8. False when it is no longer running.
  bool set_launch(std::int64_t trial_id, const TrialLaunch& launch);
  // What `outcome` of `trial` becomes (the rules at the top of this file).
  Verdict judge(const Trial& trial, const TrialOutcome& outcome, const RetryPolicy& retry) const;
  // Judges and stores the outcome of running trial `trial_id`: finished as the verdict says,
  // or failed and re-queued (a new WAITING trial with its parameters, trial directory
  // `trial_dir`, checkpoint kept). Returns the trial as finished and the re-queued copy;
  // nullopt (and nothing changes) when the trial is unknown or no longer running.
  struct Recorded {
    Trial finished;
    std::optional<Trial> requeued;
  };
  std::optional<Recorded> tell(std::int64_t trial_id, TrialOutcome outcome,
                               const RetryPolicy& retry, const std::string& trial_dir);

 private:
  void reload();
  // What the sampler sees when it draws trial `number` (see TEST_sampler_view_numbers).
  StudyView sampler_view(int number);
  void count(const Trial& trial, int delta);
  // Runs sampler `name` instead of "auto", recording it in the spec the study stores.
  void use_sampler(const std::string& name, const std::string& why);
  // Loads the trials of the study the sampler block's "source_study" names (a warm start) into
  // source_trials_. Throws InputError when it names this study, no study of this storage, or
  // one of the other direction.
  void load_source_trials();
  // The sampler for the current spec, seed and parallelism.
  std::unique_ptr<Sampler> new_sampler() const;

  // The pruner's StepReader when the cache keeps no curves of finished trials: the values of
  // finished trials for a step, and their latest step, are read from storage the first time
  // they are asked (bounded queries: Storage::get_step_values, get_last_step), then kept,
  // joined by the trials that finish here; a change made elsewhere (refresh) drops them to be
  // read again. Unfinished trials are read from the cache, which keeps them whole.
  class StepValues final : public StepReader {
   public:
    explicit StepValues(const StudyCore& core) : core_(core) {}
    std::vector<std::pair<int, double>> step_values(std::int64_t step, TrialState state,
                                                    StepMatch match) const override;
    std::optional<std::int64_t> last_step(TrialState state) const override;
    // `trial` (whole) just finished here: its values join the steps already read.
    void add(const Trial& trial);
    void clear() {
      by_step_.clear();
      last_step_.clear();
    }
    // While true (inside a storage transaction, where storage must not be called) a question
    // not answered yet is a logic_error instead of a query that would wait for itself.
    bool offline = false;

   private:
    // REQUIRES: !offline (throws std::logic_error otherwise).
    void check_online() const;

    const StudyCore& core_;
    // (step, state, match) -> (number, value) in number order.
    mutable std::map<std::tuple<std::int64_t, TrialState, StepMatch>,
                     std::vector<std::pair<int, double>>>
        by_step_;
    // state -> its latest step (nullopt: none reported).
    mutable std::map<TrialState, std::optional<std::int64_t>> last_step_;
  };

  Storage& storage_;
  StudySpec spec_;
  StudyRecord record_;
  std::uint64_t seed_ = 0;
  std::string sampler_detail_;
  int parallelism_ = 1;
  std::unique_ptr<Sampler> sampler_;
  std::optional<std::vector<Trial>> source_trials_;  // set when the sampler names a source_study
  std::unique_ptr<Pruner> pruner_;
  std::vector<Trial> bracket_trials_;  // the sampler's view of one Hyperband bracket

  TrialDetail detail_ = TrialDetail::kFull;               // what trials_ keeps of a trial
  StepValues step_values_{*this};                         // used when detail_ is kHistory
  std::vector<Trial> trials_;                             // in number order
  std::unordered_map<std::int64_t, std::size_t> index_;   // trial id -> position in trials_
  StudyTally tally_;
  bool exhausted_ = false;
  bool steps_seen_ = false;
};

}  // namespace hpo
