// The Parzen estimator behind TPE and its normal-distribution helpers: densities integrate to
// one for every kind of parameter, draws follow the density, tail masses are accurate.
#include <catch2/catch.hpp>

#include <cmath>

#include "samplers/parzen_estimator.h"
#include "samplers/truncated_normal.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

// n observations of `dims` drawn from a fixed Rng, encoded; clustered so that kernels differ.
std::vector<double> observations(const std::vector<KernelDim>& dims, std::size_t n,
                                 std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> out;
  for (std::size_t i = 0; i < n; ++i) {
    for (const KernelDim& d : dims) {
      switch (d.kind) {
        case KernelDim::Kind::kContinuous: {
          // Half near the low end, half anywhere.
          const double u = rng.uniform();
          const double t = i % 2 ? u : 0.1 * u;
          out.push_back(d.lo + t * (d.hi - d.lo));
          break;
        }
        case KernelDim::Kind::kGrid:
        case KernelDim::Kind::kCategorical:
          out.push_back(static_cast<double>(rng.below(static_cast<std::uint64_t>(d.size))));
          break;
      }
    }
  }
  return out;
}

ParzenEstimator fitted(const std::vector<KernelDim>& dims, std::size_t n, std::uint64_t seed) {
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 0.5 + static_cast<double>(i) / n;  // unequal
  return ParzenEstimator(dims, observations(dims, n, seed), w, ParzenConfig{});
}

// Integral of exp(log_pdf) over the continuous dimension 0 (trapezoid on a fine grid), at the
// given values of the other dimensions (appended to each point).
double integrate_continuous(const ParzenEstimator& pe, const KernelDim& d,
                            const std::vector<double>& rest = {}) {
  constexpr int kSteps = 20000;
  const double h = (d.hi - d.lo) / kSteps;
  std::vector<double> points;
  for (int s = 0; s <= kSteps; ++s) {
    points.push_back(d.lo + h * s);
    points.insert(points.end(), rest.begin(), rest.end());
  }
  const auto lp = pe.log_pdf(points, kSteps + 1);
  double sum = 0.0;
  for (int s = 0; s <= kSteps; ++s)
    sum += (s == 0 || s == kSteps ? 0.5 : 1.0) * std::exp(lp[static_cast<std::size_t>(s)]);
  return sum * h;
}

double sum_discrete(const ParzenEstimator& pe, const KernelDim& d) {
  std::vector<double> points;
  for (std::int64_t k = 0; k < d.size; ++k) points.push_back(static_cast<double>(k));
  const auto lp = pe.log_pdf(points, points.size());
  double sum = 0.0;
  for (double v : lp) sum += std::exp(v);
  return sum;
}

}  // namespace

TEST_CASE("parzen density of a float integrates to one", "[samplers][parzen]") {
  const std::size_t n = GENERATE(0, 1, 5, 40, 300);
  const KernelDim d = KernelDim::make(Distribution::float_range(-2.0, 3.0));
  const ParzenEstimator pe = fitted({d}, n, 7 + n);
  CHECK(integrate_continuous(pe, d) == Approx(1.0).epsilon(1e-4));
}

TEST_CASE("parzen density of a log float integrates to one on the log axis",
          "[samplers][parzen]") {
  const std::size_t n = GENERATE(0, 3, 60);
  const KernelDim d = KernelDim::make(Distribution::float_range(1e-5, 1.0, true));
  CHECK(d.lo == Approx(std::log(1e-5)));
  const ParzenEstimator pe = fitted({d}, n, 11 + n);
  CHECK(integrate_continuous(pe, d) == Approx(1.0).epsilon(1e-4));
}

TEST_CASE("parzen mass of an int, a log int and a stepped float sums to one over the grid",
          "[samplers][parzen]") {
  const std::size_t n = GENERATE(0, 2, 30, 500);
  const Distribution dist = GENERATE(Distribution::int_range(-3, 9),
                                     Distribution::int_range(1, 1000, true),
                                     Distribution::int_range(0, 100, false, 5),
                                     Distribution::float_range(0.0, 1.0, false, 0.3),
                                     Distribution::float_range(-1.0, 1.0, false, 0.01));
  const KernelDim d = KernelDim::make(dist);
  REQUIRE(d.kind == KernelDim::Kind::kGrid);
  const ParzenEstimator pe = fitted({d}, n, 3 + n);
  CHECK(sum_discrete(pe, d) == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("parzen mass of a categorical sums to one", "[samplers][parzen]") {
  const std::size_t n = GENERATE(0, 1, 25);
  const KernelDim d = KernelDim::make(Distribution::categorical({"a", "b", "c", "d"}));
  const ParzenEstimator pe = fitted({d}, n, 5 + n);
  CHECK(sum_discrete(pe, d) == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("joint parzen density over float, int and categorical integrates to one",
          "[samplers][parzen]") {
  const std::size_t n = GENERATE(0, 4, 50);
  const KernelDim x = KernelDim::make(Distribution::float_range(0.0, 10.0));
  const KernelDim k = KernelDim::make(Distribution::int_range(1, 6));
  const KernelDim c = KernelDim::make(Distribution::categorical({"p", "q", "r"}));
  const ParzenEstimator pe = fitted({x, k, c}, n, 13 + n);
  double total = 0.0;
  for (int kk = 0; kk < 6; ++kk)
    for (int cc = 0; cc < 3; ++cc) total += integrate_continuous(pe, x, {double(kk), double(cc)});
  CHECK(total == Approx(1.0).epsilon(1e-4));
}

TEST_CASE("parzen grid draws follow the estimator's mass function", "[samplers][parzen]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const KernelDim d = KernelDim::make(Distribution::int_range(0, 7));
  const ParzenEstimator pe = fitted({d}, 12, seed);
  std::vector<double> points;
  for (int k = 0; k < 8; ++k) points.push_back(k);
  const auto lp = pe.log_pdf(points, 8);
  std::vector<double> probs;
  for (double v : lp) probs.push_back(std::exp(v));
  Rng rng(seed);
  const auto drawn = pe.sample(rng, 8000);
  std::vector<double> counts(8, 0.0);
  for (double v : drawn) counts[static_cast<std::size_t>(v)] += 1;
  const double stat = chi_square(counts, probs);
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(7));
}

TEST_CASE("parzen continuous draws stay inside the bounds and follow the density",
          "[samplers][parzen]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const KernelDim d = KernelDim::make(Distribution::float_range(0.0, 1.0));
  const ParzenEstimator pe = fitted({d}, 20, seed);
  Rng rng(seed);
  const auto drawn = pe.sample(rng, 8000);
  // Bin masses by integrating the density over each tenth.
  std::vector<double> counts(10, 0.0), probs(10, 0.0);
  for (double v : drawn) {
    REQUIRE(v >= 0.0);
    REQUIRE(v <= 1.0);
    counts[static_cast<std::size_t>(std::min(9.0, v * 10))] += 1;
  }
  std::vector<double> grid;
  for (int s = 0; s < 10000; ++s) grid.push_back((s + 0.5) / 10000.0);
  const auto lp = pe.log_pdf(grid, grid.size());
  for (std::size_t s = 0; s < grid.size(); ++s) probs[s / 1000] += std::exp(lp[s]) / 10000.0;
  const double stat = chi_square(counts, probs);
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(9));
}

TEST_CASE("parzen estimator with the prior only is the wide prior kernel", "[samplers][parzen]") {
  const KernelDim d = KernelDim::make(Distribution::float_range(0.0, 4.0));
  const ParzenEstimator pe({d}, {}, {}, ParzenConfig{});
  REQUIRE(pe.components() == 1);
  CHECK(pe.TEST_mus(0)[0] == Approx(2.0));
  CHECK(pe.TEST_sigmas(0)[0] == Approx(4.0));
  CHECK(pe.TEST_weights()[0] == Approx(1.0));
}

TEST_CASE("parzen bandwidths follow the neighbour gaps and the magic clip",
          "[samplers][parzen]") {
  const KernelDim d = KernelDim::make(Distribution::float_range(0.0, 10.0));
  // Centres 1, 2, 6 and the prior at 5: gaps give 1 -> 1 (no endpoint), 2 -> 3, 6 -> 1
  // (its only gap to a neighbour, the prior; no endpoint), clipped below at 10 / 5 = 2.
  const ParzenEstimator pe({d}, {1.0, 2.0, 6.0}, {1.0, 1.0, 1.0}, ParzenConfig{});
  const auto& sigma = pe.TEST_sigmas(0);
  CHECK(sigma[0] == Approx(2.0));
  CHECK(sigma[1] == Approx(3.0));
  CHECK(sigma[2] == Approx(2.0));
  CHECK(sigma[3] == Approx(10.0));  // the prior
  // A larger clip count allows narrower kernels.
  ParzenConfig narrow;
  narrow.clip_count = 99.0;
  const ParzenEstimator pe2({d}, {1.0, 2.0, 6.0}, {1.0, 1.0, 1.0}, narrow);
  CHECK(pe2.TEST_sigmas(0)[0] == Approx(1.0));
}

TEST_CASE("parzen weights put the prior beside normalised observation weights",
          "[samplers][parzen]") {
  const KernelDim d = KernelDim::make(Distribution::float_range(0.0, 1.0));
  ParzenConfig cfg;
  cfg.prior_weight = 2.0;
  const ParzenEstimator pe({d}, {0.1, 0.2, 0.3}, {1.0, 2.0, 3.0}, cfg);
  const auto& w = pe.TEST_weights();
  REQUIRE(w.size() == 4);
  CHECK(w[0] == Approx(1.0 / 8.0));
  CHECK(w[2] == Approx(3.0 / 8.0));
  CHECK(w[3] == Approx(2.0 / 8.0));
}

TEST_CASE("presorted observations give the same estimator as sorting", "[samplers][parzen]") {
  const KernelDim x = KernelDim::make(Distribution::float_range(0.0, 1.0));
  const KernelDim k = KernelDim::make(Distribution::int_range(0, 4));
  const std::vector<double> obs = {0.7, 1, 0.2, 3, 0.7, 1, 0.5, 0, 0.9, 4};
  const std::vector<double> w = {1, 1, 1, 1, 1};
  const std::vector<std::vector<std::uint32_t>> sorted = {{1, 3, 0, 2, 4}, {3, 0, 2, 1, 4}};
  const ParzenEstimator a({x, k}, obs, w, ParzenConfig{});
  ParzenEstimator b;
  b.fit({x, k}, obs, w, ParzenConfig{}, &sorted);
  CHECK(a.TEST_sigmas(0) == b.TEST_sigmas(0));
  CHECK(a.TEST_sigmas(1) == b.TEST_sigmas(1));
  const std::vector<double> points = {0.3, 2, 0.8, 0};
  CHECK(a.log_pdf(points, 2) == b.log_pdf(points, 2));
}

TEST_CASE("gauss_mass agrees with the accurate log mass from the centre to the far tails",
          "[samplers][parzen]") {
  double worst = 0.0;
  for (double a = -40.0; a < 40.0; a += 0.37) {
    for (double h : {1e-4, 0.01, 0.3, 1.0, 5.0}) {
      const double exact = log_gauss_mass(a, a + h);
      const double fast = gauss_mass(a, a + h);
      if (fast < 1e-290) continue;  // underflow: callers switch to log space there
      worst = std::max(worst, std::fabs(std::log(fast) - exact));
    }
  }
  CHECK(worst < 1e-6);
  // Known values: Phi(1) - Phi(-1), and a deep tail where erfc would underflow.
  CHECK(std::exp(log_gauss_mass(-1.0, 1.0)) == Approx(0.6826894921370859).epsilon(1e-12));
  CHECK(log_gauss_mass(-60.0, -50.0) == Approx(-1254.8313611).epsilon(1e-8));
  CHECK(log_ndtr(-45.0) == Approx(-1017.2260942).epsilon(1e-8));
}

TEST_CASE("truncated normal draws stay in bounds and match the truncated mean",
          "[samplers][parzen]") {
  Rng rng(9);
  double sum = 0.0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const double x = sample_truncated_normal(rng, 0.0, 1.0, 0.0, 2.0);
    REQUIRE(x >= 0.0);
    REQUIRE(x <= 2.0);
    sum += x;
  }
  // E[X | 0 <= X <= 2] = (phi(0) - phi(2)) / (Phi(2) - Phi(0)) = 0.7228...
  CHECK(sum / kN == Approx(0.72279).margin(0.01));
  // A kernel far outside its bounds still yields in-bounds draws (inverse-CDF fallback).
  for (int i = 0; i < 20; ++i) {
    const double x = sample_truncated_normal(rng, -30.0, 1.0, 0.0, 1.0);
    CHECK(x >= 0.0);
    CHECK(x <= 1.0);
  }
}

}  // namespace hpo::testing
