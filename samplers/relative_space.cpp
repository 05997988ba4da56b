#include "samplers/relative_space.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "samplers/param_grid.h"
#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"

namespace hpo {

UnitAxis::UnitAxis(std::size_t param, std::string name, Distribution d)
    : param_(param), name_(std::move(name)), d_(std::move(d)) {
  if (hpo::is_grid(d_)) {
    points_ = grid_size(d_);
    lo_ = axis(grid_value(d_, 0));
    hi_ = axis(grid_value(d_, points_ - 1));
  } else {
    lo_ = axis(d_.low);
    hi_ = axis(d_.high);
  }
}

double UnitAxis::axis(double value) const { return d_.log ? std::log(value) : value; }

std::optional<double> UnitAxis::to_unit(const ParamValue& v) const {
  if (!v.is_number()) return std::nullopt;
  const double x = v.as_double();
  if (d_.log && !(x > 0.0)) return 0.0;
  if (hi_ <= lo_) return 0.0;
  return std::clamp((axis(x) - lo_) / (hi_ - lo_), 0.0, 1.0);
}

double UnitAxis::point(std::int64_t k) const {
  if (points_ <= 1) return 0.0;
  if (!d_.log) return static_cast<double>(k) / static_cast<double>(points_ - 1);
  return std::clamp((axis(grid_value(d_, k)) - lo_) / (hi_ - lo_), 0.0, 1.0);
}

std::int64_t UnitAxis::nearest(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  if (points_ <= 1) return 0;
  if (!d_.log) {
    return std::clamp<std::int64_t>(std::llround(u * static_cast<double>(points_ - 1)), 0,
                                    points_ - 1);
  }
  // Log grid: the neighbours of the value-space nearest point, compared on the log axis.
  const double value = std::exp(lo_ + u * (hi_ - lo_));
  const std::int64_t k = grid_index(d_, value);
  std::int64_t best = k;
  for (std::int64_t j = std::max<std::int64_t>(0, k - 1); j <= std::min(points_ - 1, k + 1); ++j)
    if (std::fabs(point(j) - u) < std::fabs(point(best) - u)) best = j;
  return best;
}

ParamValue UnitAxis::from_unit(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  if (points_ > 0) {
    const double v = grid_value(d_, nearest(u));
    if (d_.type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(v));
    return ParamValue(v);
  }
  const double a = lo_ + u * (hi_ - lo_);
  return ParamValue(std::clamp(d_.log ? std::exp(a) : a, d_.low, d_.high));
}

double UnitAxis::snap(double u) const {
  if (points_ == 0) return std::clamp(u, 0.0, 1.0);
  return point(nearest(u));
}

std::vector<UnitAxis> numeric_axes(const SearchSpace& space) {
  std::vector<UnitAxis> out;
  const auto& params = space.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    const Distribution& d = p.distribution;
    if (!p.when.empty() || d.type == ParamType::kCategorical) continue;
    const bool single = hpo::is_grid(d) ? grid_size(d) <= 1 : !(d.high > d.low);
    if (single) continue;
    out.emplace_back(i, p.name, d);
  }
  return out;
}

std::unique_ptr<Sampler> make_independent_sampler(IndependentKind kind, std::uint64_t seed) {
  if (kind == IndependentKind::kTpe) {
    TpeOptions o;
    o.multivariate = false;
    return std::make_unique<TpeSampler>(seed, o);
  }
  return std::make_unique<RandomSampler>(seed);
}

ParamSet merge_independent(const SearchSpace& space, const ParamSet& relative,
                           const ParamSet& independent, Rng& rng) {
  ParamSet out;
  for (const Parameter& p : space.parameters()) {
    if (!SearchSpace::is_active(p, out)) continue;
    if (auto it = relative.find(p.name); it != relative.end()) {
      out.emplace(p.name, it->second);
      continue;
    }
    if (auto it = independent.find(p.name);
        it != independent.end() && p.distribution.contains(it->second)) {
      out.emplace(p.name, it->second);
      continue;
    }
    out.emplace(p.name, draw_from_prior(p.distribution, rng));
  }
  return out;
}

std::uint64_t derived_seed(std::uint64_t seed, const char* tag) {
  return trial_seed(seed, stable_hash(tag, std::strlen(tag)));
}

}  // namespace hpo
