// hpo run SPEC / hpo resume STUDY: run or continue a study.
#include <cstdio>
#include <iostream>

#include "engine/cli/options.h"
#include "engine/cli/study_access.h"
#include "engine/factory.h"
#include "engine/model/objective_score.h"
#include "engine/model/study_spec.h"
#include "engine/progress.h"
#include "engine/study_manager.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kRunUsage = R"(usage: hpo run SPEC [options]

Runs the study described by the JSON file SPEC until its budget is met (budget.trials
COMPLETE or PRUNED trials), a trial reaches objective.goal, its budget.timeout passes,
max_failed_trials trials failed (or its first budget.fail_fast trials all failed the same
way), or you press Ctrl-C. A study that already exists in the results database is continued: trials
of a run that died are re-queued with their parameters and checkpoint directory, and the
budget counts every finished trial. Several `hpo run` processes may share one study.

Ctrl-C (or SIGTERM/SIGHUP) once: launch no new trial, ask running trials to stop (TERM to
their process group, KILL after executor.kill_grace) and record them as FAIL "interrupted";
they run again on resume. Twice: kill them at once.

Progress goes to stderr (a live line on a terminal, plain lines otherwise); the summary and
the best trial go to stdout. Exit status: 0 budget met, goal or timeout reached, 1 runtime
failure or too many failed trials, 2 bad spec or usage, 130 interrupted.)";

constexpr const char* kResumeUsage = R"(usage: hpo resume STUDY [options]

Continues STUDY with the spec it last ran with, as stored in the results database: trials
that were running when it stopped run again with the same parameters and checkpoint
directory, and it runs until its budget is met. The options of `hpo run` apply.)";

void add_run_options(po::options_description& options) {
  options.add_options()
      ("storage", po::value<std::string>(), "results database (SQLite file); default: the spec's \"storage\", else $HPO_STORAGE, else ./hpo.db")
      ("trials", po::value<int>(), "override budget.trials")
      ("parallelism", po::value<int>(), "override parallelism (trials at once)")
      ("progress", po::value<std::string>()->default_value("auto"), "auto | live | plain | none")
      ("allow-spec-change", po::bool_switch(), "continue a stored study even if its search space, direction or metric changed")
      ("heartbeat", po::value<std::string>()->default_value("2s"), "how often this run heartbeats its trials in storage")
      ("stale-after", po::value<std::string>()->default_value("10s"), "a run silent this long is dead and its trials are re-queued (on this host a vanished process is dead at once)");
}

std::chrono::milliseconds duration_option(const po::variables_map& vm, const char* name,
                                          std::vector<SpecIssue>& issues) {
  const std::string text = vm[name].as<std::string>();
  auto d = parse_duration(text);
  if (!d || d->count() <= 0) {
    issues.push_back({std::string("--") + name, "must be a duration such as 2s or 500ms, got '" +
                                                    text + "'"});
    return std::chrono::milliseconds(1000);
  }
  return *d;
}

// Runs `spec` on the database at `storage_path` with the options in `vm`.
int run_study(StudySpec spec, const std::filesystem::path& storage_path,
              const po::variables_map& vm) {
  std::vector<SpecIssue> issues;
  RunOptions run_options;
  if (vm.count("trials")) {
    run_options.trials = vm["trials"].as<int>();
    if (*run_options.trials < 1) issues.push_back({"--trials", "must be >= 1"});
  }
  if (vm.count("parallelism")) {
    run_options.parallelism = vm["parallelism"].as<int>();
    if (*run_options.parallelism < 1 || *run_options.parallelism > kMaxParallelism)
      issues.push_back({"--parallelism", "must be between 1 and " +
                                             std::to_string(kMaxParallelism) + ", got " +
                                             std::to_string(*run_options.parallelism)});
  }
  run_options.heartbeat_interval = duration_option(vm, "heartbeat", issues);
  run_options.stale_after = duration_option(vm, "stale-after", issues);
  // A lease must miss several heartbeats before it counts as stale: one late beat (a busy
  // disk, a paused machine) must not make a live run's trials look abandoned.
  if (run_options.stale_after < 3 * run_options.heartbeat_interval)
    issues.push_back({"--stale-after", "must be at least 3 heartbeats (--heartbeat " +
                                           format_duration(run_options.heartbeat_interval) +
                                           ": at least " +
                                           format_duration(3 * run_options.heartbeat_interval) +
                                           "), got " + format_duration(run_options.stale_after)});
  const std::string progress_mode = vm["progress"].as<std::string>();
  if (progress_mode != "auto" && progress_mode != "live" && progress_mode != "plain" &&
      progress_mode != "none")
    issues.push_back({"--progress", "must be auto, live, plain or none"});
  if (!issues.empty()) throw InputError(issues);

  OpenOptions open;
  open.allow_spec_change = vm["allow-spec-change"].as<bool>();
  open.parallelism = run_options.parallelism.value_or(spec.parallelism);
  SpecStudy opened = open_spec_study(spec, storage_path, open);
  StudyCore& core = *opened.core;
  run_options.trials_root = opened.trials_root;

  const bool live = progress_mode == "live" ||
                    (progress_mode == "auto" && ConsoleProgress::is_terminal(stderr));
  ConsoleProgress progress(stderr, live, spec.name);
  if (progress_mode != "none") run_options.progress = &progress;
  std::fprintf(stderr, "hpo: study '%s' (%s, %s sampler, %s executor) -> %s\n",
               spec.name.c_str(), describe_objectives(spec).c_str(),
               core.spec().sampler.name.c_str(),
               spec.executor ? spec.executor->kind.c_str() : "no", storage_path.c_str());
  if (!core.sampler_detail().empty())
    std::fprintf(stderr, "hpo: %s\n", core.sampler_detail().c_str());
  for (const SpecIssue& w : spec_warnings(core.spec()))
    std::fprintf(stderr, "hpo: warning: %s\n", w.to_string().c_str());
  StudyManager manager(core, std::move(run_options));
  const RunResult result = manager.run();

  const RunStats& s = result.stats;
  std::printf("study %s: %d COMPLETE, %d PRUNED, %d FAIL (%s) in %s\n", spec.name.c_str(),
              s.complete, s.pruned, s.failed,
              result.detail.empty() ? to_string(result.reason) : result.detail.c_str(),
              format_clock(s.elapsed).c_str());
  if (s.finished_this_run != s.complete + s.pruned + s.failed)
    std::printf("this run: %d COMPLETE, %d PRUNED, %d FAIL\n", s.complete_this_run,
                s.pruned_this_run, s.failed_this_run);
  if (spec.multi_objective()) {
    const StudyCore::Front front = core.front();
    std::string ref;
    for (double r : core.reference_point()) ref += (ref.empty() ? "" : ", ") + format_double(r);
    std::printf("Pareto front: %zu trial(s), hypervolume %s (reference point [%s]%s)\n",
                front.trials.size(), format_double(front.hypervolume).c_str(), ref.c_str(),
                spec.reference_point.empty() ? ", derived from the trials" : "");
    std::printf("  (hpo best %s --storage %s lists them)\n", spec.name.c_str(),
                storage_path.c_str());
  } else if (const Trial* best = core.best()) {
    std::printf("best trial #%d: %s=%s\n", best->number, spec.metric.c_str(),
                format_double(*best->value).c_str());
    for (const auto& [name, value] : best->params)
      std::printf("  %s = %s\n", name.c_str(), value.to_string().c_str());
  }
  // The cache may hold no curves of finished trials (StudyCore::trials): ask the core first.
  if (s.finished_this_run > 0 && !core.steps_seen())
    if (auto w = unused_pruner_warning(core.spec(), core.trials()))
      std::fprintf(stderr, "hpo: warning: %s\n", w->to_string().c_str());
  std::printf("results: %s (hpo trials %s --storage %s)\n", storage_path.c_str(),
              spec.name.c_str(), storage_path.c_str());
  switch (result.reason) {
    case StopReason::kBudgetMet:
    case StopReason::kTimeout:
    case StopReason::kExhausted:
    case StopReason::kGoalReached: return 0;
    case StopReason::kMaxFailed:
    case StopReason::kFailFast: return 1;
    case StopReason::kInterrupted: return 130;
  }
  return 0;
}

}  // namespace

int run_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()("spec", po::value<std::string>()->required(), "study spec (JSON file)");
  add_run_options(options);
  po::positional_options_description pos;
  pos.add("spec", 1);
  auto vm = parse_args(args, kRunUsage, options, pos);
  if (!vm) return 0;

  StudySpec spec = load_spec((*vm)["spec"].as<std::string>());
  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  const auto storage_path = std::filesystem::absolute(resolve_storage_path(cli_storage, &spec));
  return run_study(std::move(spec), storage_path, *vm);
}

int resume_command(const Args& args) {
  po::options_description options("Options");
  options.add_options()("study", po::value<std::string>()->required(), "study name");
  add_run_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kResumeUsage, options, pos);
  if (!vm) return 0;

  std::optional<std::filesystem::path> cli_storage;
  if (vm->count("storage")) cli_storage = (*vm)["storage"].as<std::string>();
  const auto storage_path = std::filesystem::absolute(resolve_storage_path(cli_storage, nullptr));
  StudySpec spec;
  {
    auto storage = open_storage(storage_path, /*must_exist=*/true);
    const std::string name = (*vm)["study"].as<std::string>();
    auto study = storage->find_study(name);
    if (!study) {
      std::string known;
      for (const auto& s : storage->list_studies()) known += (known.empty() ? "" : ", ") + s.name;
      throw InputError("no study named '" + name + "' in " + storage_path.string() +
                       " (studies: " + (known.empty() ? "none" : known) + ")");
    }
    spec = StudyCore::stored_spec(*study);
  }
  return run_study(std::move(spec), storage_path, *vm);
}

}  // namespace hpo::cli
