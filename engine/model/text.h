// Text that comes from outside hpo (a trial's output and reasons, a plugin's metric names, a
// result file, a path) made safe to store, to put in JSON and to print on a terminal. The
// study core cleans what trials report once, where it enters; the CLI cleans what it prints.
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hpo {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points beyond
// U+10FFFF), the form JSON output and SQLite's text functions need.
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// One line of text safe for storage and terminals: valid_utf8(), a tab becomes a space, and
// every other control character (C0, DEL, C1; a newline too) is written as an escape ("\x1b",
// "\n", "\u009b"), so that an escape sequence never reaches a terminal raw.
std::string clean_text(std::string_view text);

}  // namespace hpo
