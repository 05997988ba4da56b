// The `hpo` subcommands. Each takes the arguments after its name, prints to stdout/stderr and
// returns the process exit code: 0 success, 1 runtime failure, 2 usage or spec error. They
// throw hpo::Error subclasses, which main() maps to exit codes.
#pragma once

#include <string>
#include <vector>

namespace hpo::cli {

using Args = std::vector<std::string>;

int run_command(const Args& args);
int resume_command(const Args& args);
int enqueue_command(const Args& args);
int delete_command(const Args& args);
int validate_command(const Args& args);
int status_command(const Args& args);
int trials_command(const Args& args);
int best_command(const Args& args);
int k8s_command(const Args& args);
int show_command(const Args& args);
int compare_command(const Args& args);
int export_command(const Args& args);
int report_command(const Args& args);
int dashboard_command(const Args& args);

}  // namespace hpo::cli
