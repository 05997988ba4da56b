// The sampler registry: every sampler a spec can name ("sampler": {"name": ...}), with its
// checker and its factory. The engine builds its ComponentCatalog from it and makes samplers
// through it; nothing else names a concrete sampler.
//
// Adding a sampler: write samplers/<name>_sampler.h/.cpp with a function returning its
// SamplerRegistration (name, summary, its own spec keys, a checker reporting their problems with
// JSON paths, a factory), and add that function to the list in sampler_registry.cpp. The
// shared contract tests (tests/samplers/sampler_contract_test.cpp) take it with one fixture.
//
// Thread-safety: the registry is immutable static data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/component.h"
#include "engine/model/study_spec.h"
#include "samplers/sampler.h"

namespace hpo {

// What a sampler factory is given. The spec passed its checker.
struct SamplerArgs {
  const StudySpec& spec;    // spec.sampler.block holds the sampler's options as written
  std::uint64_t seed = 0;   // the study's seed (spec.sampler.seed, or the one stored with it)
  int parallelism = 1;      // trials that run at once (e.g. TPE's constant liar)
  // The trials of the study the block's "source_study" names (a warm start, as Optuna's
  // source_trials), loaded from the same storage by the engine, which alone sees storage;
  // nullptr when the block names none. Its direction is the spec's (the engine checks).
  const std::vector<Trial>* source_trials = nullptr;
};

// What a sampler will do for one spec, for `hpo validate` and the first lines of `hpo run`.
struct SamplerPlan {
  // The sampler that runs: the spec's own, or the one "auto" picks for this space and budget.
  // The engine stores it with the study, so that a resume keeps the same sampler.
  std::string name;
  // A grid's number of points (when the plan is a grid): the study ends once all have run.
  std::optional<std::uint64_t> grid_points;
  // One line for people, empty when there is nothing to add: "grid of 24 points",
  // "auto picked gp: 4 numeric parameters, no categorical, budget 100 trials".
  std::string detail;
};

struct SamplerRegistration {
  ComponentInfo info;
  std::function<std::unique_ptr<Sampler>(const SamplerArgs& args)> make;
  // Optional: what this sampler will do for `spec` (auto's pick, a grid's size); without it
  // the plan is just the sampler's name. REQUIRES: the spec passed the sampler's checker.
  std::function<SamplerPlan(const StudySpec& spec)> plan;
};

// For the checker of a sampler that models one objective without constraints (CMA-ES, GP):
// reports "sampler.name" when the spec has several objectives or constraints, naming the
// samplers that handle them.
void require_single_objective(const ComponentBlock& block, SpecChecker& checker);

// Every registered sampler, in the order `hpo --help` lists them.
const std::vector<SamplerRegistration>& sampler_registry();

// The registration named `name`; nullptr when there is none.
const SamplerRegistration* find_sampler(const std::string& name);

// The plan of the sampler `spec` names (its registration's plan hook, or just its name).
// REQUIRES: the spec passed its checks (so the sampler exists).
SamplerPlan plan_sampler(const StudySpec& spec);

}  // namespace hpo
