#include "samplers/sampler.h"

#include "samplers/random_sampler.h"
#include "samplers/rng.h"

namespace hpo {

ParamSet complete_params(Sampler& sampler, const StudyView& study, const SearchSpace& space,
                         const ParamSet& given, std::uint64_t trial_number, std::uint64_t seed) {
  const ParamSet suggested = sampler.suggest(study, space, trial_number);
  Rng rng(trial_seed(seed, trial_number));
  ParamSet out;
  for (const Parameter& p : space.parameters()) {
    if (!SearchSpace::is_active(p, out)) continue;
    if (const auto it = given.find(p.name); it != given.end()) {
      out.emplace(p.name, it->second);
    } else if (const auto s = suggested.find(p.name); s != suggested.end()) {
      out.emplace(p.name, s->second);
    } else {
      out.emplace(p.name, draw_from_prior(p.distribution, rng));
    }
  }
  return out;
}

std::uint64_t trial_seed(std::uint64_t study_seed, std::uint64_t trial_number) {
  // splitmix64 over the pair: a good 64-bit mix so that neighbouring trial numbers give
  // unrelated streams.
  std::uint64_t z = study_seed + 0x9E3779B97F4A7C15ULL * (trial_number + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace hpo
