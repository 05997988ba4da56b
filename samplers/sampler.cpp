#include "samplers/sampler.h"

namespace hpo {

std::uint64_t trial_seed(std::uint64_t study_seed, std::uint64_t trial_number) {
  // splitmix64 over the pair: a good 64-bit mix so that neighbouring trial numbers give
  // unrelated streams.
  std::uint64_t z = study_seed + 0x9E3779B97F4A7C15ULL * (trial_number + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace hpo
