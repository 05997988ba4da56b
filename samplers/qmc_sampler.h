// QmcSampler: quasi-Monte Carlo search ("sampler": {"name": "qmc"}), an even first sweep of the
// space: the points of a scrambled Sobol (default) or Halton sequence, one dimension per
// parameter of the space (in space order), each coordinate mapped to its parameter exactly as
// random search maps a uniform draw (prior_quantile: log scales, int and step grids, choices).
// A conditional parameter keeps its dimension and takes its coordinate only when it is active,
// so every branch is covered evenly too.
//
// Trial t takes point t of the sequence: a resumed study, or another run of the same study,
// continues the sequence instead of restarting it, and parallel trials take distinct points.
// The history is not used (FAIL trials change nothing). Scrambling draws from the seed: the
// same seed gives the same points, another seed an independent randomization. As in Optuna's
// QMCSampler the option names are "qmc_type" and "scramble" (but scrambling is on by default:
// unscrambled Sobol starts at the space's corner).
// Not thread-safe (as every Sampler); the class caches the sequence of the last space.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/model/spec_checker.h"
#include "samplers/qmc_sequence.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

struct QmcOptions {
  // Which sequence. JSON "qmc_type": "sobol" (default) | "halton".
  QmcType qmc_type = QmcType::kSobol;
  // Randomize the sequence from the seed (Sobol: linear matrix scramble and digital shift;
  // Halton: digit permutations). JSON "scramble", default true.
  bool scramble = true;
};

// Reads the QMC keys of the "sampler" object `block` at `path` and reports their problems (a
// Sobol sequence over more than 1,024 parameters among them) with JSON paths to `checker`. The
// one reader of these keys: the checker and the factory both call it.
QmcOptions read_qmc_options(const OrderedJson& block, const std::string& path, std::size_t n_params,
                            SpecChecker& checker);

// "qmc": the options above.
SamplerRegistration qmc_sampler_registration();

class QmcSampler final : public Sampler {
 public:
  QmcSampler(std::uint64_t seed, QmcOptions options = {});
  ~QmcSampler() override;

  // REQUIRES: for Sobol, at most kSobolMaxDims parameters.
  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

 private:
  const std::uint64_t seed_;
  const QmcOptions options_;
  std::unique_ptr<QmcSequence> sequence_;  // for the number of parameters of the last space
};

}  // namespace hpo
