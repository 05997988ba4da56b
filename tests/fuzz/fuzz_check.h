// What the fuzz targets share: a check that stops the fuzzer with a message when a property
// that must hold for every input does not (libFuzzer then saves the input as a crash).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define HPO_FUZZ_CHECK(condition)                                                   \
  do {                                                                              \
    if (!(condition)) {                                                             \
      std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace hpo::fuzz {

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace hpo::fuzz
