// Shared command-line helpers for the subcommands: parsing with Boost.Program_options and
// printing per-command help.
#pragma once

#include <optional>
#include <string>

#include <boost/program_options.hpp>

#include "engine/cli/commands.h"

namespace hpo::cli {

namespace po = boost::program_options;

// Parses `args` against `options` (+ positionals). Returns nullopt after printing help when
// --help was given. Throws po::error on bad usage.
std::optional<po::variables_map> parse_args(const Args& args, const std::string& usage,
                                            po::options_description& options,
                                            const po::positional_options_description& pos);

}  // namespace hpo::cli
