#include "samplers/random_sampler.h"

#include <algorithm>
#include <cmath>

#include "samplers/param_grid.h"

namespace hpo {

ParamValue draw_from_prior(const Distribution& d, Rng& rng) {
  switch (d.type) {
    case ParamType::kCategorical:
      return d.choices[rng.below(d.choices.size())];
    case ParamType::kInt:
    case ParamType::kFloat: {
      if (is_grid(d) && !d.log) {
        // Every grid point equally likely (rounding a continuous draw would give the two end
        // points half the mass of the others).
        const auto k = static_cast<std::int64_t>(rng.below(grid_size(d)));
        const double v = grid_value(d, k);
        if (d.type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(v));
        return ParamValue(v);
      }
      if (is_grid(d)) {
        // Log int: log-uniform over the union of the cells, then the cell's point.
        const std::int64_t last = grid_size(d) - 1;
        const double lo = std::log(cell_lower(d, 0));
        const double hi = std::log(cell_upper(d, last));
        const double v = std::exp(rng.uniform(lo, hi));
        return ParamValue(static_cast<std::int64_t>(grid_value(d, cell_of(d, v))));
      }
      if (d.log) {
        const double v = std::exp(rng.uniform(std::log(d.low), std::log(d.high)));
        return ParamValue(std::clamp(v, d.low, d.high));
      }
      return ParamValue(std::clamp(rng.uniform(d.low, d.high), d.low, d.high));
    }
  }
  return ParamValue();
}

ParamValue prior_quantile(const Distribution& d, double u) {
  u = std::clamp(u, 0.0, 1.0);
  // floor(u * n) for u < 1; the last cell for u == 1.
  auto cell = [u](std::uint64_t n) {
    const auto k = static_cast<std::uint64_t>(u * static_cast<double>(n));
    return std::min(k, n - 1);
  };
  switch (d.type) {
    case ParamType::kCategorical:
      return d.choices[cell(d.choices.size())];
    case ParamType::kInt:
    case ParamType::kFloat: {
      if (is_grid(d) && !d.log) {
        const auto k = static_cast<std::int64_t>(cell(static_cast<std::uint64_t>(grid_size(d))));
        const double v = grid_value(d, k);
        if (d.type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(v));
        return ParamValue(v);
      }
      if (is_grid(d)) {
        const std::int64_t last = grid_size(d) - 1;
        const double lo = std::log(cell_lower(d, 0));
        const double hi = std::log(cell_upper(d, last));
        const double v = std::exp(lo + u * (hi - lo));
        return ParamValue(static_cast<std::int64_t>(grid_value(d, cell_of(d, v))));
      }
      if (d.log) {
        const double v = std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low)));
        return ParamValue(std::clamp(v, d.low, d.high));
      }
      return ParamValue(std::clamp(d.low + u * (d.high - d.low), d.low, d.high));
    }
  }
  return ParamValue();
}

ParamSet draw_params(const SearchSpace& space, Rng& rng) {
  ParamSet chosen;
  for (const auto& p : space.parameters()) {
    if (!SearchSpace::is_active(p, chosen)) continue;
    chosen.emplace(p.name, draw_from_prior(p.distribution, rng));
  }
  return chosen;
}

ParamSet RandomSampler::suggest(const StudyView& /*study*/, const SearchSpace& space,
                                std::uint64_t trial_number) {
  Rng rng(trial_seed(seed_, trial_number));
  return draw_params(space, rng);
}

SamplerRegistration random_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "random";
  r.info.summary = "independent draws from each parameter's prior (the baseline)";
  r.make = [](const SamplerArgs& args) { return std::make_unique<RandomSampler>(args.seed); };
  return r;
}

}  // namespace hpo
