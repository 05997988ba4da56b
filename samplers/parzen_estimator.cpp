#include "samplers/parzen_estimator.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include <Eigen/Core>

#include "samplers/param_grid.h"
#include "samplers/truncated_normal.h"

namespace hpo {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Beyond this many sigmas from a point (or grid cell) a kernel weighs < 3e-18 of its peak: even
// with a 10,000-trial history, the narrowest kernels (range / 100) and a prior weight of 1e-6,
// the skipped kernels add less than 1e-7 of the mixture, whose prior component alone is at least
// ~0.24 w_prior / range. Univariate densities skip them.
constexpr double kFarSigmas = 9.0;
// A kernel more than this many sigmas inside both ends of its domain loses < 1e-16 of its mass
// to the truncation: its normaliser is 1.
constexpr double kInteriorSigmas = 8.3;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
// Joint grid dimensions group kernels by grid point when the grid has at most this many points
// (on larger grids repeated values are rare and the lookup table would cost more than it saves).
constexpr std::int64_t kMaxGroupedGrid = 4096;

}  // namespace

// ---------------------------------------------------------------------------------------------
// KernelDim

KernelDim KernelDim::make(const Distribution& d) {
  KernelDim k;
  k.dist = d;
  if (d.type == ParamType::kCategorical) {
    k.kind = Kind::kCategorical;
    k.size = static_cast<std::int64_t>(d.choices.size());
    k.lo = 0.0;
    k.hi = static_cast<double>(k.size);
    return k;
  }
  if (is_grid(d)) {
    k.kind = Kind::kGrid;
    k.size = grid_size(d);
    k.lo = k.cell_lo(0);
    k.hi = k.cell_hi(k.size - 1);
    return k;
  }
  k.kind = Kind::kContinuous;
  k.lo = d.log ? std::log(d.low) : d.low;
  k.hi = d.log ? std::log(d.high) : d.high;
  return k;
}

std::optional<double> KernelDim::encode(const ParamValue& value) const {
  if (!dist.contains(value)) return std::nullopt;
  switch (kind) {
    case Kind::kCategorical:
      return static_cast<double>(*dist.choice_index(value));
    case Kind::kGrid:
      return static_cast<double>(grid_index(dist, value.as_double()));
    case Kind::kContinuous: {
      const double v = std::clamp(value.as_double(), dist.low, dist.high);
      return dist.log ? std::log(v) : v;
    }
  }
  return std::nullopt;
}

ParamValue KernelDim::decode(double x) const {
  switch (kind) {
    case Kind::kCategorical:
      return dist.choices[static_cast<std::size_t>(
          std::clamp<std::int64_t>(std::llround(x), 0, size - 1))];
    case Kind::kGrid: {
      const double v =
          grid_value(dist, std::clamp<std::int64_t>(std::llround(x), 0, size - 1));
      if (dist.type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(v));
      return ParamValue(v);
    }
    case Kind::kContinuous: {
      const double v = dist.log ? std::exp(x) : x;
      return ParamValue(std::clamp(v, dist.low, dist.high));
    }
  }
  return ParamValue();
}

double KernelDim::center(double x) const {
  if (kind != Kind::kGrid) return x;
  const double v = grid_value(dist, static_cast<std::int64_t>(x));
  return dist.log ? std::log(v) : v;
}

double KernelDim::cell_lo(std::int64_t k) const {
  const double e = cell_lower(dist, k);
  return dist.log ? std::log(e) : e;
}

double KernelDim::cell_hi(std::int64_t k) const {
  const double e = cell_upper(dist, k);
  return dist.log ? std::log(e) : e;
}

// ---------------------------------------------------------------------------------------------
// ParzenEstimator

struct ParzenEstimator::Impl {
  // Kernels of one dimension, one entry per component (observations, then the prior).
  struct Dim {
    // Numeric dimensions.
    std::vector<double> mu, sigma, inv_sigma;
    std::vector<double> log_z;  // log of the kernel's mass inside [lo, hi]
    // Categorical dimensions: the observed choice per observation; an observation's kernel
    // gives its choice exp(log_hit) and every other exp(log_miss); the prior is uniform.
    std::vector<std::int64_t> choice;
    double log_hit = 0.0, log_miss = 0.0, p_keep = 1.0, log_uniform = 0.0;
    // Joint grid dimensions: kernels with the same centre and sigma form a group (group[i] of
    // kernel i) whose mass over a cell is computed once.
    std::vector<std::uint32_t> group;
    std::vector<double> g_mu, g_inv_sigma, g_log_z;
  };

  // 1-D numeric estimators: the observation kernels sorted by centre, in bands of similar sigma
  // (within a factor 2), so that a density visits only the kernels within kFarSigmas of the
  // point: with many observations most kernels are narrow and far away. Kernels with the same
  // centre and sigma (repeated grid values) are merged.
  struct Band {
    double max_sigma = 0.0;
    std::vector<double> mu, inv_sigma;
    std::vector<double> coef;  // continuous: w / (sigma sqrt(2 pi) Z); grid: w / Z
    // Indexes of the kernels whose centre lies in [lo, hi].
    std::pair<std::size_t, std::size_t> window(double lo, double hi) const {
      const auto first = std::lower_bound(mu.begin(), mu.end(), lo);
      const auto last = std::upper_bound(first, mu.end(), hi);
      return {static_cast<std::size_t>(first - mu.begin()),
              static_cast<std::size_t>(last - mu.begin())};
    }
  };

  std::vector<KernelDim> dims;
  std::size_t n = 0;  // observations
  std::size_t m = 0;  // components = n + 1
  std::vector<double> weights, cumulative;
  std::vector<Dim> kernels;
  std::vector<Band> bands;
  std::size_t n_bands = 0;
  // Joint estimators, per component: log weight minus the log normalisers of the continuous
  // dimensions; and an upper bound of the sum of the grid dimensions' log masses.
  std::vector<double> base;
  double grid_bound = 0.0;

  // Fitting scratch, kept between fits.
  std::vector<std::pair<double, std::size_t>> keyed;
  std::vector<std::size_t> order;  // components by increasing centre (last numeric dim fitted)
  std::vector<double> edges, sorted_sigma;
  struct ZMemo {
    double mu, sigma, log_z;
  };
  std::vector<ZMemo> z_memo;
  std::vector<std::int32_t> group_of_point;  // grid index -> latest group, -1 when none

  // Density scratch.
  struct CachedCell {
    std::int64_t cell;
    std::size_t offset;  // into cell_masses[j]: one log mass per group
  };
  mutable Eigen::ArrayXd acc, sq;
  mutable std::vector<std::vector<CachedCell>> cell_keys;
  mutable std::vector<std::vector<double>> cell_masses;
  mutable std::vector<double> survivors;

  // --- fitting --------------------------------------------------------------------------------

  void fit(const std::vector<KernelDim>& new_dims, const std::vector<double>& obs,
           const std::vector<double>& obs_weights, const ParzenConfig& cfg,
           const std::vector<std::vector<std::uint32_t>>* presorted) {
    dims = new_dims;
    const std::size_t d = dims.size();
    n = obs_weights.size();
    m = n + 1;
    assert(obs.size() == n * d);

    weights.resize(m);
    for (std::size_t i = 0; i < n; ++i) weights[i] = std::max(0.0, obs_weights[i]);
    weights[n] = cfg.prior_weight;
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    cumulative.resize(m);
    double running = 0.0;
    for (std::size_t i = 0; i < m; ++i) {
      weights[i] /= total;
      running += weights[i];
      cumulative[i] = running;
    }

    kernels.resize(d);
    order.clear();
    for (std::size_t j = 0; j < d; ++j) {
      if (dims[j].kind == KernelDim::Kind::kCategorical) {
        fit_categorical(j, obs, cfg);
      } else {
        fit_numeric(j, obs, cfg, presorted ? &(*presorted)[j] : nullptr);
      }
    }
    n_bands = 0;
    if (d == 1) {
      if (dims[0].kind != KernelDim::Kind::kCategorical) build_bands();
      return;
    }
    // Joint densities work in log space: log weight minus the continuous normalisers.
    base.resize(m);
    for (std::size_t i = 0; i < m; ++i) base[i] = log_weight(i);
    grid_bound = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      if (dims[j].kind == KernelDim::Kind::kContinuous)
        for (std::size_t i = 0; i < m; ++i) base[i] -= log_norm(kernels[j], i);
      if (dims[j].kind == KernelDim::Kind::kGrid) {
        group_kernels(j);
        double worst_z = 0.0;
        for (double lz : kernels[j].log_z) worst_z = std::min(worst_z, lz);
        grid_bound -= worst_z;  // a cell's log mass is at most -log Z
      }
    }
  }

  void fit_categorical(std::size_t j, const std::vector<double>& obs, const ParzenConfig& cfg) {
    const std::size_t d = dims.size();
    Dim& k = kernels[j];
    const double K = static_cast<double>(dims[j].size);
    const double v = cfg.prior_weight / static_cast<double>(m);
    k.choice.resize(n);
    for (std::size_t i = 0; i < n; ++i) k.choice[i] = static_cast<std::int64_t>(obs[i * d + j]);
    k.log_hit = std::log((v + 1.0) / (1.0 + K * v));
    k.log_miss = std::log(v / (1.0 + K * v));
    k.p_keep = 1.0 / (1.0 + K * v);
    k.log_uniform = -std::log(K);
  }

  void fit_numeric(std::size_t j, const std::vector<double>& obs, const ParzenConfig& cfg,
                   const std::vector<std::uint32_t>* presorted) {
    const std::size_t d = dims.size();
    const KernelDim& kd = dims[j];
    Dim& k = kernels[j];
    const double range = kd.hi - kd.lo;
    k.mu.resize(m);
    for (std::size_t i = 0; i < n; ++i) k.mu[i] = kd.center(obs[i * d + j]);
    k.mu[n] = 0.5 * (kd.lo + kd.hi);
    sort_centres(k, presorted);
    gap_sigmas(k, kd.lo, kd.hi, cfg.consider_endpoints);
    // Optuna's magic clip: no kernel narrower than range / min(100, count + 1), where count is
    // the number of components unless the caller says otherwise (see ParzenConfig).
    const double count = cfg.clip_count > 0.0 ? cfg.clip_count : static_cast<double>(m);
    const double max_sigma = range;
    const double min_sigma =
        cfg.magic_clip ? range / std::min(100.0, 1.0 + count) : 1e-12 * range;
    for (auto& s : k.sigma) s = std::clamp(s, min_sigma, max_sigma);
    k.sigma[n] = range;  // the prior

    k.inv_sigma.resize(m);
    k.log_z.resize(m);
    z_memo.clear();
    for (std::size_t i = 0; i < m; ++i) {
      k.inv_sigma[i] = 1.0 / k.sigma[i];
      const double a = (kd.lo - k.mu[i]) * k.inv_sigma[i];
      const double b = (kd.hi - k.mu[i]) * k.inv_sigma[i];
      if (a < -kInteriorSigmas && b > kInteriorSigmas) {
        k.log_z[i] = 0.0;
        continue;
      }
      // Kernels near an end repeat (same centre and sigma) on grids: compute each mass once.
      const auto hit = std::find_if(z_memo.begin(), z_memo.end(), [&](const ZMemo& z) {
        return z.mu == k.mu[i] && z.sigma == k.sigma[i];
      });
      if (hit != z_memo.end()) {
        k.log_z[i] = hit->log_z;
        continue;
      }
      k.log_z[i] = log_gauss_mass(a, b);
      if (z_memo.size() < 16) z_memo.push_back({k.mu[i], k.sigma[i], k.log_z[i]});
    }
  }

  // Fills `order` with the components by increasing centre (ties by index, the prior last
  // among equals): from the caller's sorted observation indexes when given, else by sorting.
  void sort_centres(const Dim& k, const std::vector<std::uint32_t>* presorted) {
    order.resize(m);
    if (presorted != nullptr && presorted->size() == n) {
      const double prior_mu = k.mu[n];
      std::size_t r = 0;
      bool prior_placed = false;
      for (std::uint32_t i : *presorted) {
        if (!prior_placed && k.mu[i] > prior_mu) {
          order[r++] = n;
          prior_placed = true;
        }
        order[r++] = i;
      }
      if (!prior_placed) order[r++] = n;
      return;
    }
    keyed.resize(m);
    for (std::size_t i = 0; i < m; ++i) keyed[i] = {k.mu[i], i};
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t r = 0; r < m; ++r) order[r] = keyed[r].second;
  }

  // Neighbour-gap bandwidths (Optuna's univariate rule): each kernel as wide as the larger gap
  // to its neighbours among the sorted centres (the prior's centre included) and the domain
  // ends. REQUIRES: `order` sorted by sort_centres.
  void gap_sigmas(Dim& k, double lo, double hi, bool consider_endpoints) {
    edges.resize(m + 2);
    edges[0] = lo;
    for (std::size_t r = 0; r < m; ++r) edges[r + 1] = k.mu[order[r]];
    edges[m + 1] = hi;
    sorted_sigma.resize(m);
    for (std::size_t r = 0; r < m; ++r)
      sorted_sigma[r] = std::max(edges[r + 1] - edges[r], edges[r + 2] - edges[r + 1]);
    if (!consider_endpoints && m >= 2) {
      sorted_sigma[0] = edges[2] - edges[1];
      sorted_sigma[m - 1] = edges[m] - edges[m - 1];
    }
    k.sigma.resize(m);
    for (std::size_t r = 0; r < m; ++r) k.sigma[order[r]] = sorted_sigma[r];
  }

  void build_bands() {
    Dim& k = kernels[0];
    for (Band& band : bands) {
      band.max_sigma = 0.0;
      band.mu.clear();
      band.inv_sigma.clear();
      band.coef.clear();
    }
    if (n == 0) return;
    const double smallest = *std::min_element(k.sigma.begin(), k.sigma.begin() + n);
    for (std::size_t i : order) {  // in increasing mu, so each band comes out sorted
      if (i == n) continue;        // the prior is handled apart
      const auto b = static_cast<std::size_t>(
          std::clamp(std::ceil(std::log2(k.sigma[i] / smallest) - 1e-9), 0.0, 30.0));
      if (bands.size() <= b) bands.resize(b + 1);
      n_bands = std::max(n_bands, b + 1);
      Band& band = bands[b];
      bool merged = false;
      for (std::size_t t = band.mu.size(); t-- > 0 && band.mu[t] == k.mu[i];) {
        if (band.inv_sigma[t] == k.inv_sigma[i]) {
          band.coef[t] += linear_coef(i);
          merged = true;
          break;
        }
      }
      if (merged) continue;
      band.max_sigma = std::max(band.max_sigma, k.sigma[i]);
      band.mu.push_back(k.mu[i]);
      band.inv_sigma.push_back(k.inv_sigma[i]);
      band.coef.push_back(linear_coef(i));
    }
  }

  // Groups the kernels of grid dimension j by (grid point, sigma).
  void group_kernels(std::size_t j) {
    Dim& k = kernels[j];
    const KernelDim& kd = dims[j];
    k.group.resize(m);
    k.g_mu.clear();
    k.g_inv_sigma.clear();
    k.g_log_z.clear();
    auto new_group = [&](std::size_t i) {
      k.g_mu.push_back(k.mu[i]);
      k.g_inv_sigma.push_back(k.inv_sigma[i]);
      k.g_log_z.push_back(k.log_z[i]);
      return static_cast<std::uint32_t>(k.g_mu.size() - 1);
    };
    const bool by_point = kd.size <= kMaxGroupedGrid;
    if (by_point) group_of_point.assign(static_cast<std::size_t>(kd.size), -1);
    for (std::size_t i = 0; i < m; ++i) {
      if (!by_point || i == n) {
        k.group[i] = new_group(i);
        continue;
      }
      // The grid point of kernel i: its centre is that point's kernel-axis value.
      const std::int64_t point = nearest_point(kd, k.mu[i]);
      std::int32_t& g = group_of_point[static_cast<std::size_t>(point)];
      if (g < 0 || k.g_inv_sigma[static_cast<std::size_t>(g)] != k.inv_sigma[i] ||
          k.g_mu[static_cast<std::size_t>(g)] != k.mu[i]) {
        g = static_cast<std::int32_t>(new_group(i));
      }
      k.group[i] = static_cast<std::uint32_t>(g);
    }
  }

  static std::int64_t nearest_point(const KernelDim& kd, double centre) {
    return grid_index(kd.dist, kd.dist.log ? std::exp(centre) : centre);
  }

  double log_weight(std::size_t i) const {
    return weights[i] > 0.0 ? std::log(weights[i]) : kNegInf;
  }
  // log(sigma sqrt(2 pi) Z) of continuous kernel i.
  static double log_norm(const Dim& k, std::size_t i) {
    return std::log(k.sigma[i]) + kLogSqrt2Pi + k.log_z[i];
  }
  // Linear-space factor of kernel i of a 1-D estimator: w / (sigma sqrt(2 pi) Z) for a
  // continuous dimension, w / Z for a grid one.
  double linear_coef(std::size_t i) const {
    const Dim& k = kernels[0];
    const double inv_z = k.log_z[i] == 0.0 ? 1.0 : std::exp(-k.log_z[i]);
    if (dims[0].kind == KernelDim::Kind::kGrid) return weights[i] * inv_z;
    return weights[i] * k.inv_sigma[i] * inv_z * kInvSqrt2Pi;
  }

  // --- sampling -------------------------------------------------------------------------------

  std::size_t pick_component(Rng& rng) const {
    const double u = rng.uniform() * cumulative.back();
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()), m - 1);
  }

  double sample_dim(std::size_t j, std::size_t comp, Rng& rng) const {
    const KernelDim& kd = dims[j];
    const Dim& k = kernels[j];
    switch (kd.kind) {
      case KernelDim::Kind::kCategorical: {
        if (comp < n && rng.uniform() < k.p_keep) return static_cast<double>(k.choice[comp]);
        return static_cast<double>(rng.below(static_cast<std::uint64_t>(kd.size)));
      }
      case KernelDim::Kind::kContinuous:
        return sample_truncated_normal(rng, k.mu[comp], k.sigma[comp], kd.lo, kd.hi);
      case KernelDim::Kind::kGrid: {
        // A continuous draw falls in cell k with exactly the kernel's mass over that cell.
        const double t = sample_truncated_normal(rng, k.mu[comp], k.sigma[comp], kd.lo, kd.hi);
        return static_cast<double>(cell_of(kd.dist, kd.dist.log ? std::exp(t) : t));
      }
    }
    return 0.0;
  }

  // --- densities ------------------------------------------------------------------------------

  // Log mass of the cell [a_edge, b_edge] under a kernel (mu, 1/sigma, log Z).
  static double log_cell_mass(double a_edge, double b_edge, double mu, double inv_sigma,
                              double log_z) {
    const double a = (a_edge - mu) * inv_sigma;
    const double b = (b_edge - mu) * inv_sigma;
    const double mass = gauss_mass(a, b);
    const double lm = mass > 1e-280 ? std::log(mass) : log_gauss_mass(a, b);
    return lm - log_z;
  }

  // Univariate grid mass in linear space over the kernels near the cell (see Band).
  void log_pdf_grid_1d(const std::vector<double>& points, std::size_t count,
                       std::vector<double>& out) const {
    const KernelDim& kd = dims[0];
    const Dim& k = kernels[0];
    for (std::size_t c = 0; c < count; ++c) {
      const auto cell = static_cast<std::int64_t>(points[c]);
      bool seen = false;  // candidates repeat cells on small grids
      for (std::size_t e = 0; e < c && !seen; ++e) {
        if (static_cast<std::int64_t>(points[e]) == cell) {
          out[c] = out[e];
          seen = true;
        }
      }
      if (seen) continue;
      const double ea = kd.cell_lo(cell), eb = kd.cell_hi(cell);
      double sum = linear_coef(n) *
                   gauss_mass((ea - k.mu[n]) * k.inv_sigma[n], (eb - k.mu[n]) * k.inv_sigma[n]);
      for (std::size_t b = 0; b < n_bands; ++b) {
        const Band& band = bands[b];
        const auto [i0, i1] =
            band.window(ea - kFarSigmas * band.max_sigma, eb + kFarSigmas * band.max_sigma);
        for (std::size_t i = i0; i < i1; ++i)
          sum += band.coef[i] * gauss_mass((ea - band.mu[i]) * band.inv_sigma[i],
                                           (eb - band.mu[i]) * band.inv_sigma[i]);
      }
      if (sum > 1e-280) {
        out[c] = std::log(sum);
        continue;
      }
      // Pathological underflow: redo exactly in log space over every kernel.
      double value = kNegInf;
      for (std::size_t i = 0; i < m; ++i) {
        const double term =
            log_weight(i) + log_cell_mass(ea, eb, k.mu[i], k.inv_sigma[i], k.log_z[i]);
        const double top = std::max(value, term);
        if (top != kNegInf) value = top + std::log(std::exp(value - top) + std::exp(term - top));
      }
      out[c] = value;
    }
  }

  // Univariate continuous density in linear space: sum_i c_i exp(-t_i^2 / 2) over the kernels
  // near the point (see Band). The prior component keeps the sum far from underflow for any
  // point inside the bounds; log space over every kernel is the fallback for extreme scales.
  void log_pdf_continuous_1d(const std::vector<double>& points, std::size_t count,
                             std::vector<double>& out) const {
    const Dim& k = kernels[0];
    for (std::size_t c = 0; c < count; ++c) {
      const double x = points[c];
      const double tp = (x - k.mu[n]) * k.inv_sigma[n];
      double sum = linear_coef(n) * std::exp(-0.5 * tp * tp);
      for (std::size_t b = 0; b < n_bands; ++b) {
        const Band& band = bands[b];
        const auto [i0, i1] =
            band.window(x - kFarSigmas * band.max_sigma, x + kFarSigmas * band.max_sigma);
        const double* mu = band.mu.data();
        const double* inv_sigma = band.inv_sigma.data();
        const double* coef = band.coef.data();
        for (std::size_t i = i0; i < i1; ++i) {
          const double t = (x - mu[i]) * inv_sigma[i];
          sum += coef[i] * std::exp(-0.5 * t * t);
        }
      }
      if (sum > 1e-280 && std::isfinite(sum)) {
        out[c] = std::log(sum);
        continue;
      }
      double value = kNegInf;
      for (std::size_t i = 0; i < m; ++i) {
        const double t = (x - k.mu[i]) * k.inv_sigma[i];
        const double term = log_weight(i) - log_norm(k, i) - 0.5 * t * t;
        const double top = std::max(value, term);
        if (top != kNegInf) value = top + std::log(std::exp(value - top) + std::exp(term - top));
      }
      out[c] = value;
    }
  }

  // Univariate categorical mass in closed form: sum_i w_i p_i(choice).
  void log_pdf_categorical_1d(const std::vector<double>& points, std::size_t count,
                              std::vector<double>& out) const {
    const KernelDim& kd = dims[0];
    const Dim& k = kernels[0];
    const double hit = std::exp(k.log_hit), miss = std::exp(k.log_miss);
    double obs_total = 0.0;
    for (std::size_t i = 0; i < n; ++i) obs_total += weights[i];
    for (std::size_t c = 0; c < count; ++c) {
      const auto x = static_cast<std::int64_t>(points[c]);
      double share = 0.0;
      for (std::size_t i = 0; i < n; ++i)
        if (k.choice[i] == x) share += weights[i];
      const double p =
          obs_total * miss + share * (hit - miss) + weights[n] / static_cast<double>(kd.size);
      out[c] = std::log(p);
    }
  }

  // Log mass of grid cell `cell` of dimension j under kernel group g, computed once per call.
  double group_mass(std::size_t j, std::int64_t cell, std::uint32_t g) const {
    std::size_t offset = cell_masses[j].size();
    for (const CachedCell& cc : cell_keys[j]) {
      if (cc.cell == cell) {
        offset = cc.offset;
        break;
      }
    }
    const Dim& k = kernels[j];
    if (offset == cell_masses[j].size()) {
      cell_masses[j].resize(offset + k.g_mu.size(), std::numeric_limits<double>::quiet_NaN());
      cell_keys[j].push_back({cell, offset});
    }
    double& slot = cell_masses[j][offset + g];
    if (std::isnan(slot)) {
      const KernelDim& kd = dims[j];
      slot = log_cell_mass(kd.cell_lo(cell), kd.cell_hi(cell), k.g_mu[g], k.g_inv_sigma[g],
                           k.g_log_z[g]);
    }
    return slot;
  }

  // The grid and categorical log terms of component i at point x.
  double discrete_terms(const double* x, std::size_t i) const {
    double sum = 0.0;
    for (std::size_t j = 0; j < dims.size(); ++j) {
      const Dim& k = kernels[j];
      switch (dims[j].kind) {
        case KernelDim::Kind::kContinuous:
          break;
        case KernelDim::Kind::kGrid:
          sum += group_mass(j, static_cast<std::int64_t>(x[j]), k.group[i]);
          break;
        case KernelDim::Kind::kCategorical:
          if (i == n) sum += k.log_uniform;
          else sum += k.choice[i] == static_cast<std::int64_t>(x[j]) ? k.log_hit : k.log_miss;
          break;
      }
    }
    return sum;
  }

  void log_pdf(const std::vector<double>& points, std::size_t count,
               std::vector<double>& out) const {
    const std::size_t d = dims.size();
    out.resize(count);
    if (count == 0) return;
    if (d == 1) {
      switch (dims[0].kind) {
        case KernelDim::Kind::kGrid: return log_pdf_grid_1d(points, count, out);
        case KernelDim::Kind::kCategorical: return log_pdf_categorical_1d(points, count, out);
        case KernelDim::Kind::kContinuous: return log_pdf_continuous_1d(points, count, out);
      }
    }

    // Joint case, one point at a time, in log space. The continuous dimensions are summed for
    // every component (cheap); the grid and categorical terms are only added for components
    // that can still matter: a component whose continuous part plus the largest possible
    // discrete part falls kPruneLog below the best complete component's value weighs < e^-40
    // of it. With many observations nearly every component is far from the point in some
    // continuous dimension, so this skips most cell masses and exponentials.
    constexpr double kPruneLog = 40.0;
    const Eigen::Index M = static_cast<Eigen::Index>(m);
    const Eigen::Map<const Eigen::ArrayXd> base_map(base.data(), M);
    acc.resize(M);
    sq.resize(M);
    cell_keys.resize(d);
    cell_masses.resize(d);
    bool any_continuous = false, any_discrete = false;
    for (std::size_t j = 0; j < d; ++j) {
      cell_keys[j].clear();
      cell_masses[j].clear();
      (dims[j].kind == KernelDim::Kind::kContinuous ? any_continuous : any_discrete) = true;
    }
    for (std::size_t c = 0; c < count; ++c) {
      const double* x = &points[c * d];
      if (any_continuous) {
        sq.setZero();
        for (std::size_t j = 0; j < d; ++j) {
          if (dims[j].kind != KernelDim::Kind::kContinuous) continue;
          const Dim& k = kernels[j];
          const Eigen::Map<const Eigen::ArrayXd> mu(k.mu.data(), M);
          const Eigen::Map<const Eigen::ArrayXd> inv_sigma(k.inv_sigma.data(), M);
          sq += ((x[j] - mu) * inv_sigma).square();
        }
        acc = base_map - 0.5 * sq;
      } else {
        acc = base_map;
      }
      if (!any_discrete) {
        const double top = acc.maxCoeff();
        out[c] = top == kNegInf ? kNegInf : top + std::log((acc - top).exp().sum());
        continue;
      }
      Eigen::Index best = 0;
      acc.maxCoeff(&best);
      const double anchor = acc[best] + discrete_terms(x, static_cast<std::size_t>(best));
      const double cutoff = anchor == kNegInf ? kNegInf : anchor - kPruneLog - grid_bound;
      survivors.clear();
      double top = kNegInf;
      for (Eigen::Index i = 0; i < M; ++i) {
        if (acc[i] < cutoff || acc[i] == kNegInf) continue;
        const double full = acc[i] + discrete_terms(x, static_cast<std::size_t>(i));
        survivors.push_back(full);
        top = std::max(top, full);
      }
      if (top == kNegInf) {
        out[c] = kNegInf;
        continue;
      }
      double sum = 0.0;
      for (double v : survivors) sum += std::exp(v - top);
      out[c] = top + std::log(sum);
    }
  }
};

ParzenEstimator::ParzenEstimator() : impl_(std::make_unique<Impl>()) {}

ParzenEstimator::ParzenEstimator(const std::vector<KernelDim>& dims,
                                 const std::vector<double>& observations,
                                 const std::vector<double>& weights, const ParzenConfig& config)
    : ParzenEstimator() {
  fit(dims, observations, weights, config, nullptr);
}

ParzenEstimator::~ParzenEstimator() = default;
ParzenEstimator::ParzenEstimator(ParzenEstimator&&) noexcept = default;
ParzenEstimator& ParzenEstimator::operator=(ParzenEstimator&&) noexcept = default;

void ParzenEstimator::fit(const std::vector<KernelDim>& dims,
                          const std::vector<double>& observations,
                          const std::vector<double>& weights, const ParzenConfig& config,
                          const std::vector<std::vector<std::uint32_t>>* sorted) {
  impl_->fit(dims, observations, weights, config, sorted);
}

std::size_t ParzenEstimator::dims() const { return impl_->dims.size(); }
std::size_t ParzenEstimator::components() const { return impl_->m; }

void ParzenEstimator::sample(Rng& rng, std::size_t count, std::vector<double>& out) const {
  const std::size_t d = impl_->dims.size();
  out.resize(count * d);
  for (std::size_t c = 0; c < count; ++c) {
    const std::size_t comp = impl_->pick_component(rng);
    for (std::size_t j = 0; j < d; ++j) out[c * d + j] = impl_->sample_dim(j, comp, rng);
  }
}

std::vector<double> ParzenEstimator::sample(Rng& rng, std::size_t count) const {
  std::vector<double> out;
  sample(rng, count, out);
  return out;
}

void ParzenEstimator::log_pdf(const std::vector<double>& points, std::size_t count,
                              std::vector<double>& out) const {
  impl_->log_pdf(points, count, out);
}

std::vector<double> ParzenEstimator::log_pdf(const std::vector<double>& points,
                                             std::size_t count) const {
  std::vector<double> out;
  log_pdf(points, count, out);
  return out;
}

const std::vector<double>& ParzenEstimator::TEST_weights() const { return impl_->weights; }
const std::vector<double>& ParzenEstimator::TEST_mus(std::size_t j) const {
  return impl_->kernels[j].mu;
}
const std::vector<double>& ParzenEstimator::TEST_sigmas(std::size_t j) const {
  return impl_->kernels[j].sigma;
}

}  // namespace hpo
