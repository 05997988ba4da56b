// CmaEsSampler: CMA-ES over the numeric parameters ("sampler": {"name": "cmaes"}), for long
// studies of continuous (and integer) parameters. Option names are Optuna's CmaEsSampler's.
//
// What it models: the unconditional float and int parameters with more than one value, on the
// unit cube (log parameters in log space, see relative_space.h). Ints and stepped floats are
// discrete coordinates handled by the margin correction of CMA-ES with margin (Hamano et al.
// 2022) when with_margin is on (the default), so an integer never gets stuck at one value;
// without it they are rounded. Categorical and conditional parameters, and every parameter of
// the first n_startup_trials trials, come from the independent sampler (random or univariate
// TPE).
//
// No hidden state: every suggestion rebuilds the CMA-ES state from the history alone. The
// COMPLETE trials holding every modelled parameter (and PRUNED ones with consider_pruned_trials)
// are taken in trial-number order, the first n_startup_trials of them skipped, and the rest cut
// into consecutive generations of popsize trials; each full generation updates the state, and
// after each update IPOP restarts (restart_strategy "ipop") a converged run from a random mean
// with inc_popsize times the population. The raw sample of each told trial (what CMA-ES with
// margin tells back) is recomputed by drawing again with that trial's own seed from the state of
// its generation; when that does not reproduce the stored parameters (the trial was proposed
// while other trials were still running, or by the independent sampler), its stored values are
// told instead. So a resume, a crash or another run of the same study sees the same state, and
// parallel trials are safe: each draws from the current state with its own seed, and a trial
// that finishes late joins whichever generation it falls in. The replay resumes from the state
// cached by the last suggestion when the generations it consumed are unchanged, so a long study
// costs one update per generation, not a replay per trial.
//
// Where it departs from Optuna 3.1: coordinates are normalized (so sigma0 is a fraction of each
// parameter's range, not of the narrowest one), with_margin and IPOP are on by default, and the
// independent sampler is chosen by name. use_separable_cma works with with_margin (the margin
// needs only each coordinate's variance; Optuna refuses the pair). A warm start takes another
// study by name ("source_study") instead of a list of trials, and IPOP restarts after it start
// from a random mean as usual. Deterministic for seed, history and trial number; not
// thread-safe (as every Sampler).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "samplers/relative_space.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

enum class CmaRestart {
  kNone,  // one run, however converged
  kIpop,  // restart a converged run with a larger population (Auger and Hansen 2005)
};

struct CmaEsOptions {
  // Initial mean, by parameter name, in the parameters' own units; a modelled parameter not
  // listed starts at the middle of its range. JSON "x0": {"lr": 0.01, ...}.
  std::map<std::string, ParamValue> x0;
  // Initial step size as a fraction of every parameter's range (the cube is [0, 1]). > 0.
  // JSON "sigma0", default 1/6 (Optuna: a sixth of the narrowest range).
  double sigma0 = 1.0 / 6.0;
  // Trials drawn by the independent sampler before CMA-ES starts. >= 0. JSON
  // "n_startup_trials", default 1 (as Optuna).
  int n_startup_trials = 1;
  // Who draws categorical and conditional parameters. JSON "independent_sampler": "random" |
  // "tpe" (univariate TPE); default "tpe".
  IndependentKind independent_sampler = IndependentKind::kTpe;
  // JSON "restart_strategy": "ipop" (default) | "none" (or null).
  CmaRestart restart_strategy = CmaRestart::kIpop;
  // Population size of the first run; 0 means 4 + floor(3 ln n). JSON "popsize" (>= 2).
  int popsize = 0;
  // Population multiplier at each IPOP restart. >= 1. JSON "inc_popsize", default 2.
  int inc_popsize = 2;
  // Margin correction for ints and stepped floats. JSON "with_margin", default true.
  bool with_margin = true;
  // Tell PRUNED trials too, with their last intermediate value. JSON
  // "consider_pruned_trials", default false.
  bool consider_pruned_trials = false;
  // Separable CMA-ES: a diagonal covariance with faster learning rates (cma_es.h). JSON
  // "use_separable_cma" (Optuna's name), default false.
  bool use_separable_cma = false;
  // Warm start: the study of this name in the same storage gives the first run's mean, step
  // size and covariance (the best 10% of its COMPLETE trials that hold every modelled
  // parameter, as Optuna's source_trials; cma_es.h warm_start_distribution). Not with x0,
  // sigma0 or use_separable_cma (as in Optuna). JSON "source_study"; empty: none.
  std::string source_study;
  // The source study's trials (SamplerArgs::source_trials); the factory sets them.
  std::vector<Trial> source_trials;
};

// Reads the CMA-ES keys of the "sampler" object `block` at `path` (x0 checked against `space`)
// and reports every problem to `checker` with its JSON path. The one reader of these keys: the
// checker and the factory both call it.
CmaEsOptions read_cmaes_options(const OrderedJson& block, const std::string& path,
                                const SearchSpace& space, SpecChecker& checker);

// "cmaes": the options above.
SamplerRegistration cmaes_sampler_registration();

class CmaEsSampler final : public Sampler {
 public:
  CmaEsSampler(std::uint64_t seed, CmaEsOptions options = {});
  ~CmaEsSampler() override;

  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

  // What the last suggest() rebuilt, for tests and benchmarks.
  struct Replay {
    int generations = 0;  // updates done over all runs
    int restarts = 0;     // IPOP restarts
    int popsize = 0;      // population of the current run
    double sigma = 0.0;   // step size of the current run
  };
  const Replay& last_replay() const { return last_replay_; }

  struct Cache;

 private:
  const std::uint64_t seed_;
  const CmaEsOptions options_;
  std::unique_ptr<Sampler> independent_;
  Replay last_replay_;
  // The state after the generations told last time, with the trials they consumed: a pure
  // cache (a suggestion resumes the replay from it only when those trials are the same).
  std::unique_ptr<Cache> cache_;
};

}  // namespace hpo
