// Parameter sets as a user writes them for `hpo enqueue`: a CSV file (a header of parameter
// names, one set per row) or JSON (one object, or an array of objects). Reading collects every
// problem as a SpecIssue ("sets.csv:3: lr: 'fast' is not a valid value") and never throws on
// bad input; checking the sets against the space (bounds, conditions) is SearchSpace::check's.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hpo/errors.h"
#include "hpo/search_space.h"

namespace hpo {

// Reads CSV text (RFC 4180 quoting; a UTF-8 byte order mark is skipped; "\n" or "\r\n" ends a
// row; a quoted cell may not span rows). An empty cell leaves its parameter out (inactive).
// Cells become the parameter's type: numbers for float and int, the choice whose text matches
// for a categorical. `origin` names the file in issues ("sets.csv:1"). A header naming an
// unknown or repeated parameter is one issue, and its rows are not read.
std::vector<ParamSet> read_param_sets_csv(std::string_view text, const std::string& origin,
                                          const SearchSpace& space,
                                          std::vector<SpecIssue>& issues);

// Reads JSON text: one object of name -> scalar, or an array of them. Syntax errors, documents
// refused by parse_json (too deep, a repeated key) and values that are not scalars are issues
// located at `origin` ("--params", "sets.json[2]").
std::vector<ParamSet> read_param_sets_json(std::string_view text, const std::string& origin,
                                           std::vector<SpecIssue>& issues);

}  // namespace hpo
