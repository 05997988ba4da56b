// The direction numbers of the Sobol sequence (Joe and Kuo's new-joe-kuo-6.21201 table, the
// one SciPy ships), for the first kSobolMaxDims dimensions. Internal to samplers/; pure
// functions over constant data, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace hpo {

// Dimensions the table covers; a space with more parameters cannot use Sobol points.
inline constexpr std::size_t kSobolMaxDims = 1024;
// Bits of every point coordinate: points 0 .. 2^32 - 1 are distinct.
inline constexpr int kSobolBits = 32;

// The direction numbers v_1 .. v_32 of dimension `dim` (from 0) as 32-bit binary fractions
// (bit 31 is 1/2): the coordinate of point i is the XOR of v_j over the bits j of i's Gray
// code. All zero when dim >= kSobolMaxDims.
std::array<std::uint32_t, kSobolBits> sobol_direction_numbers(std::size_t dim);

}  // namespace hpo
