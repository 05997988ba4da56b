// The logarithm of expected improvement, computed so that it stays finite and informative far
// from the incumbent, where EI itself underflows to 0 and gives an optimizer no gradient (Ament
// et al., "Unexpected Improvements to Expected Improvement for Bayesian Optimization", NeurIPS
// 2023). For minimization with posterior mean mu and standard deviation sigma at a point and
// incumbent value `best`:
//   EI = sigma h(z),  z = (best - mu) / sigma,  h(z) = phi(z) + z Phi(z).
// Pure functions; thread-safe.
#pragma once

namespace hpo {

// log h(z), accurate to ~1e-12 relative for every finite z (an asymptotic series below
// z = -35).
double log_h(double z);

struct LogEi {
  double value = 0.0;    // log EI
  double d_mean = 0.0;   // d log EI / d mu
  double d_sigma = 0.0;  // d log EI / d sigma
};

// log EI of a point with posterior mean `mean` and standard deviation `sigma` (> 0) against the
// incumbent `best` (minimization), with its derivatives.
LogEi log_expected_improvement(double mean, double sigma, double best);

}  // namespace hpo
