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
};

struct SamplerRegistration {
  ComponentInfo info;
  std::function<std::unique_ptr<Sampler>(const SamplerArgs& args)> make;
};

// Every registered sampler, in the order `hpo --help` lists them.
const std::vector<SamplerRegistration>& sampler_registry();

// The registration named `name`; nullptr when there is none.
const SamplerRegistration* find_sampler(const std::string& name);

}  // namespace hpo
