#include "engine/cli/options.h"

#include <iostream>

namespace hpo::cli {

std::optional<po::variables_map> parse_args(const Args& args, const std::string& usage,
                                            po::options_description& options,
                                            const po::positional_options_description& pos) {
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n" << options << "\n";
    return std::nullopt;
  }
  po::notify(vm);
  return vm;
}

}  // namespace hpo::cli
