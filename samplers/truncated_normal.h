// Normal-distribution helpers for the Parzen estimators, CMA-ES's margin and GP's expected
// improvement (internal): the CDF and its inverse, probability mass of intervals, in log space
// where accuracy in the tails matters and in linear space where speed does, and sampling from a
// truncated normal. Pure functions (sampling uses the caller's Rng);
// thread-safe.
#pragma once

#include "samplers/rng.h"

namespace hpo {

inline constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))

// Phi(z), the standard normal CDF.
double normal_cdf(double z);

// Phi^-1(p), the standard normal quantile, to ~1e-15 relative accuracy (Acklam's rational
// approximation refined by one Halley step). REQUIRES: 0 < p < 1.
double normal_quantile(double p);

// log Phi(z), the log of the standard normal CDF, accurate far into both tails.
double log_ndtr(double z);

// log(Phi(b) - Phi(a)) for a <= b, accurate in the tails (-inf when the mass underflows even in
// log space, i.e. never for finite |a|, |b| < 1e150).
double log_gauss_mass(double a, double b);

// Phi(b) - Phi(a) for a <= b, for hot loops: relative error below ~1e-6 wherever the result is
// representable (numerical integration for narrow cells, complementary error functions on the
// tail side otherwise). May underflow to 0 far in the tails: use log_gauss_mass there.
double gauss_mass(double a, double b);

// One draw from N(mu, sigma^2) restricted to [lo, hi]. REQUIRES: sigma > 0, lo < hi, and mu
// within a few sigma of [lo, hi] (always the case for the estimators, whose centres lie inside
// their bounds and whose sigmas are at most the width).
double sample_truncated_normal(Rng& rng, double mu, double sigma, double lo, double hi);

}  // namespace hpo
