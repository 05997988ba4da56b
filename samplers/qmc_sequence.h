// QmcSequence: the points of a low-discrepancy sequence in [0, 1)^dims, addressed by index so
// that point i can be computed on its own (a resumed study continues where it left off).
//   kSobol   Sobol points (Joe-Kuo direction numbers), optionally scrambled by a random linear
//            matrix scramble plus a digital shift (Matousek 1998, as SciPy's scramble=True); the
//            first 2^m points of a scrambled sequence are a (t, m, d)-net, so every power of
//            two fills the cube evenly.
//   kHalton  the radical inverses in the first `dims` prime bases, optionally scrambled by a
//            random permutation of the digits at every digit position (as SciPy's Halton).
// The scramble is drawn from `seed`: the same seed gives the same points, another seed an
// independent randomization. Value type; const methods are thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hpo {

enum class QmcType { kSobol, kHalton };

class QmcSequence {
 public:
  // REQUIRES: dims >= 1; dims <= kSobolMaxDims (1,024) for kSobol.
  QmcSequence(QmcType type, std::size_t dims, bool scramble, std::uint64_t seed);

  std::size_t dims() const { return dims_; }
  QmcType type() const { return type_; }

  // Writes the coordinates of point `index` to out[0 .. dims). Sobol indexes repeat after
  // 2^32 points.
  void point(std::uint64_t index, double* out) const;
  std::vector<double> point(std::uint64_t index) const;

 private:
  QmcType type_;
  std::size_t dims_;
  // Sobol: per dimension 32 (scrambled) direction numbers and the digital shift.
  std::vector<std::array<std::uint32_t, 32>> directions_;
  std::vector<std::uint32_t> shifts_;
  // Halton: per dimension its base, and the permutation of every digit position (base * digits
  // entries, identity without scrambling).
  std::vector<std::uint32_t> bases_;
  std::vector<int> digits_;
  std::vector<std::vector<std::uint32_t>> permutations_;
};

// The first `count` primes (2, 3, 5, ...).
std::vector<std::uint32_t> first_primes(std::size_t count);

}  // namespace hpo
