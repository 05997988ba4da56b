// hpo: hyperparameter optimization from a JSON study spec.
#include <algorithm>
#include <cerrno>
#include <system_error>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <boost/system/system_error.hpp>

#include "engine/cli/commands.h"
#include "engine/factory.h"
#include "hpo/errors.h"

namespace {

constexpr const char* kUsage = R"(usage: hpo <command> [options]

Hyperparameter optimization from a JSON study spec.

Commands:
  run SPEC        run (or continue) the study described by SPEC until its budget is met
  resume STUDY    continue a stored study with the spec it last ran with
  enqueue STUDY   add trials with given (or some) parameters, run before sampled ones
  delete STUDY    remove a study (and with --with-trials its trial directories)
  validate SPEC   check a study spec without running it
  status          list the studies in a results database: progress, counts, best values
  trials STUDY    list the trials of a study, filtered and sorted (table, CSV or JSON)
  best STUDY      show the best trial of a study
  show STUDY N    show everything about trial N: values, timings, attempts, logs, curve
  compare STUDY...  compare studies side by side (also across databases: FILE:STUDY)
  export STUDY    write the trials as CSV, JSON or an Optuna database (-o FILE)
  report STUDY    write a self-contained HTML report with plots (-o FILE.html)
  dashboard       serve the reports live from the results database while studies run
  k8s render SPEC print the Kubernetes Job a trial of SPEC would create (no cluster needed)

Run `hpo <command> --help` for the options of a command.
%s
Results go to a SQLite file: --storage PATH, else the spec's "storage" (relative to the
spec file), else $HPO_STORAGE, else ./hpo.db.

Exit status: 0 success, 1 runtime failure, 2 usage or spec error, 130 interrupted.
)";

// "Samplers:", "Pruners:" and "Executors:" with a line each, from the registries.
std::string components_text() {
  std::string out;
  auto section = [&](const char* title, const std::vector<hpo::ComponentInfo>& infos) {
    out += std::string("\n") + title + ":\n";
    for (const auto& info : infos) {
      std::string line = "  " + info.name;
      line.resize(std::max<std::size_t>(line.size() + 2, 16), ' ');
      out += line + info.summary + "\n";
    }
  };
  const hpo::ComponentCatalog& catalog = hpo::component_catalog();
  section("Samplers (\"sampler\": {\"name\": ...})", catalog.samplers);
  section("Pruners (\"pruner\": {\"name\": ..., \"patience\": N})", catalog.pruners);
  section("Executors (\"executor\": {\"kind\": ...})", catalog.executors);
  return out;
}

// The system refused something hpo needs (a pipe, a file, a thread): say so plainly, and what
// to do when it is a resource limit. Returns the exit status.
int system_failure(const std::string& command, const char* what, int err) {
  const bool limit = err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM;
  std::fprintf(stderr, "hpo %s: error: %s%s\n", command.c_str(), what,
               limit ? " (a resource limit was hit; raise it, e.g. `ulimit -n`, or lower "
                       "parallelism)"
                     : "");
  return 1;
}

void print_usage(std::FILE* to) { std::fprintf(to, kUsage, components_text().c_str()); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(stderr);
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  try {
    if (command == "-h" || command == "--help" || command == "help") {
      print_usage(stdout);
      return 0;
    }
    if (command == "--version") {
      std::puts("hpo 0.1.0");
      return 0;
    }
    if (command == "run") return hpo::cli::run_command(args);
    if (command == "resume") return hpo::cli::resume_command(args);
    if (command == "enqueue") return hpo::cli::enqueue_command(args);
    if (command == "delete") return hpo::cli::delete_command(args);
    if (command == "validate") return hpo::cli::validate_command(args);
    if (command == "status") return hpo::cli::status_command(args);
    if (command == "trials") return hpo::cli::trials_command(args);
    if (command == "best") return hpo::cli::best_command(args);
    if (command == "show") return hpo::cli::show_command(args);
    if (command == "compare") return hpo::cli::compare_command(args);
    if (command == "export") return hpo::cli::export_command(args);
    if (command == "report") return hpo::cli::report_command(args);
    if (command == "dashboard") return hpo::cli::dashboard_command(args);
    if (command == "k8s") return hpo::cli::k8s_command(args);
    std::fprintf(stderr, "hpo: unknown command '%s'\n\n", command.c_str());
    print_usage(stderr);
    return 2;
  } catch (const hpo::InputError& e) {
    for (const auto& issue : e.issues())
      std::fprintf(stderr, "hpo %s: error: %s\n", command.c_str(), issue.to_string().c_str());
    return 2;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "hpo %s: error: %s (see hpo %s --help)\n", command.c_str(), e.what(),
                 command.c_str());
    return 2;
  } catch (const hpo::Error& e) {
    std::fprintf(stderr, "hpo %s: error: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const std::system_error& e) {
    return system_failure(command, e.what(), e.code().value());
  } catch (const boost::system::system_error& e) {
    return system_failure(command, e.what(), e.code().value());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpo %s: internal error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
