#include "engine/model/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

namespace hpo {
namespace {

// Durations beyond ~300 years are surely typos (and would overflow time arithmetic).
constexpr double kMaxDurationMs = 1e13;

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  auto digit = [&](std::size_t k) {
    return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k]));
  };
  while (i < text.size()) {
    const std::size_t start = i;
    while (digit(i)) ++i;
    if (i == start) return std::nullopt;
    if (i < text.size() && text[i] == '.') {
      ++i;
      if (!digit(i)) return std::nullopt;
      while (digit(i)) ++i;
    }
    double value = 0;
    if (std::from_chars(text.data() + start, text.data() + i, value).ec != std::errc())
      return std::nullopt;
    double unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit_ms = 1e3;
          break;
        case 'm':
          unit_ms = 60e3;
          break;
        case 'h':
          unit_ms = 3600e3;
          break;
        case 'd':
          unit_ms = 86400e3;
          break;
        default:
          return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a number without a unit
    }
    total_ms += value * unit_ms;
    if (total_ms > kMaxDurationMs) return std::nullopt;
  }
  return std::chrono::milliseconds(std::llround(total_ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace hpo
