#include "samplers/expected_improvement.h"

#include <cmath>

namespace hpo {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kSqrtHalfPi = 1.25331413731550025121;

double phi(double z) { return kInvSqrt2Pi * std::exp(-0.5 * z * z); }
double cdf(double z) { return 0.5 * std::erfc(-z * kInvSqrt2); }
// exp(x^2) erfc(x) for 0 <= x <= 25 (exp(625) is finite and erfc(25) ~ 1e-274 is normal).
double erfcx(double x) { return std::exp(x * x) * std::erfc(x); }

// Below z = -kSeriesFrom the asymptotic series (error ~945 / x^10 relative, < 1e-12) replaces
// the direct form, whose cancellation costs ~2 log10(x) digits.
constexpr double kSeriesFrom = 35.0;

// For z <= -1, h(z) = phi(z) (1 - x R) with x = -z and R = Phi(z) / phi(z) the Mills ratio.
// Returns 1 - x R: directly up to kSeriesFrom, by its asymptotic series beyond.
double one_minus_x_mills(double x) {
  if (x <= kSeriesFrom) return 1.0 - x * kSqrtHalfPi * erfcx(x * kInvSqrt2);
  const double u = 1.0 / (x * x);
  return u * (1.0 - u * (3.0 - u * (15.0 - u * 105.0)));
}

// d/dz log h(z) = Phi(z) / h(z).
double dlog_h(double z) {
  if (z > -1.0) return cdf(z) / (phi(z) + z * cdf(z));
  const double x = -z;
  if (x <= kSeriesFrom) {
    const double r = kSqrtHalfPi * erfcx(x * kInvSqrt2);
    return r / (1.0 - x * r);
  }
  // 1 / (1/R - x) with 1/R = x + 1/x - 2/x^3 + 10/x^5 - 74/x^7.
  const double u = 1.0 / (x * x);
  return 1.0 / ((1.0 / x) * (1.0 - u * (2.0 - u * (10.0 - u * 74.0))));
}

}  // namespace

double log_h(double z) {
  if (z > -1.0) return std::log(phi(z) + z * cdf(z));
  return -0.5 * z * z - kLogSqrt2Pi + std::log(one_minus_x_mills(-z));
}

LogEi log_expected_improvement(double mean, double sigma, double best) {
  const double z = (best - mean) / sigma;
  LogEi out;
  out.value = std::log(sigma) + log_h(z);
  const double g = dlog_h(z);
  out.d_mean = -g / sigma;
  // d/dsigma = (1 - z g) / sigma; 1 - z g = phi / h, taken directly where z g is close to 1.
  const double one_minus_zg = z > -1.0 ? phi(z) / (phi(z) + z * cdf(z)) : 1.0 - z * g;
  out.d_sigma = one_minus_zg / sigma;
  return out;
}

}  // namespace hpo
