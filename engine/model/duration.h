// Durations as a spec and the command line write them: "90s", "20m", "2h", "1h30m", "500ms",
// "1.5h", "2d". One parser and one printer for every place that reads or shows one.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hpo {

// "90s", "20m", "2h", "1h30m", "500ms", "1.5h" -> duration; nullopt when malformed (no unit,
// an unknown unit, or more than ~300 years).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact form: "2h", "20m", "90s", "1500ms".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace hpo
