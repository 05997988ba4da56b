#include "samplers/qmc_sequence.h"

#include <cmath>

#include "samplers/rng.h"
#include "samplers/sobol_direction_numbers.h"

namespace hpo {
namespace {

std::uint32_t parity(std::uint32_t x) { return static_cast<std::uint32_t>(__builtin_parity(x)); }

}  // namespace

std::vector<std::uint32_t> first_primes(std::size_t count) {
  std::vector<std::uint32_t> primes;
  for (std::uint32_t n = 2; primes.size() < count; ++n) {
    bool prime = true;
    for (std::uint32_t p : primes) {
      if (p * p > n) break;
      if (n % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(n);
  }
  return primes;
}

QmcSequence::QmcSequence(QmcType type, std::size_t dims, bool scramble, std::uint64_t seed)
    : type_(type), dims_(dims) {
  Rng rng(seed);
  if (type == QmcType::kSobol) {
    directions_.resize(dims);
    shifts_.assign(dims, 0);
    for (std::size_t d = 0; d < dims; ++d) {
      const auto v = sobol_direction_numbers(d);
      if (!scramble) {
        directions_[d] = v;
        continue;
      }
      // Linear matrix scramble: output bit b (0 = least significant) is the parity of the input
      // bits selected by row b, a random mask over the bits above b plus bit b itself (a lower
      // triangular matrix with a unit diagonal, counting from the most significant bit), so the
      // scramble keeps the net property.
      std::array<std::uint32_t, 32> rows{};
      for (int b = 0; b < 32; ++b) {
        const std::uint32_t above = b == 31 ? 0U : ~((2U << b) - 1U);
        rows[static_cast<std::size_t>(b)] =
            (static_cast<std::uint32_t>(rng.next() >> 32) & above) | (1U << b);
      }
      for (int j = 0; j < 32; ++j) {
        std::uint32_t out = 0;
        for (int b = 0; b < 32; ++b)
          out |= parity(rows[static_cast<std::size_t>(b)] & v[static_cast<std::size_t>(j)]) << b;
        directions_[d][static_cast<std::size_t>(j)] = out;
      }
      shifts_[d] = static_cast<std::uint32_t>(rng.next() >> 32);
    }
    return;
  }
  bases_ = first_primes(dims);
  digits_.resize(dims);
  permutations_.resize(dims);
  for (std::size_t d = 0; d < dims; ++d) {
    const std::uint32_t b = bases_[d];
    // Enough digits that b^-digits is below a double's resolution.
    const int n = static_cast<int>(std::ceil(53.0 * std::log(2.0) / std::log(b)));
    digits_[d] = n;
    auto& perm = permutations_[d];
    perm.resize(static_cast<std::size_t>(n) * b);
    for (int pos = 0; pos < n; ++pos) {
      std::uint32_t* p = &perm[static_cast<std::size_t>(pos) * b];
      for (std::uint32_t k = 0; k < b; ++k) p[k] = k;
      if (!scramble) continue;
      for (std::uint32_t k = b - 1; k > 0; --k) {  // Fisher-Yates
        const auto r = static_cast<std::uint32_t>(rng.below(k + 1));
        std::swap(p[k], p[r]);
      }
    }
  }
}

void QmcSequence::point(std::uint64_t index, double* out) const {
  if (type_ == QmcType::kSobol) {
    const auto i = static_cast<std::uint32_t>(index);
    const std::uint32_t gray = i ^ (i >> 1);
    for (std::size_t d = 0; d < dims_; ++d) {
      std::uint32_t x = shifts_[d];
      std::uint32_t g = gray;
      for (std::size_t j = 0; g != 0; ++j, g >>= 1)
        if (g & 1U) x ^= directions_[d][j];
      out[d] = static_cast<double>(x) * 0x1.0p-32;
    }
    return;
  }
  for (std::size_t d = 0; d < dims_; ++d) {
    const std::uint32_t b = bases_[d];
    const std::uint32_t* perm = permutations_[d].data();
    double x = 0.0, scale = 1.0 / b;
    std::uint64_t rest = index;
    for (int pos = 0; pos < digits_[d]; ++pos) {
      const auto digit = static_cast<std::uint32_t>(rest % b);
      rest /= b;
      x += scale * perm[static_cast<std::size_t>(pos) * b + digit];
      scale /= b;
    }
    out[d] = x < 1.0 ? x : std::nextafter(1.0, 0.0);
  }
}

std::vector<double> QmcSequence::point(std::uint64_t index) const {
  std::vector<double> out(dims_);
  point(index, out.data());
  return out;
}

}  // namespace hpo
