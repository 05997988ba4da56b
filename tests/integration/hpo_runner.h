// Runs the real `hpo` binary (HPO_BIN) as a child process, without a shell, and captures its
// exit code, stdout and stderr.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hpo/trial.h"

namespace hpo::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs HPO_BIN with `args` in `cwd`. `env` entries are added to (or, with an empty value,
// removed from) the current environment; HPO_STORAGE is always removed unless given.
CommandResult run_hpo(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                      const std::map<std::string, std::string>& env = {});

// Runs `program args...` in `cwd` without a shell, capturing its exit code and output.
CommandResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::filesystem::path& cwd);

// The interpreter that imports sklearn: Debian's /usr/bin/python3, else python3 on the PATH
// (which may be a pyenv or venv one without it). Empty when there is none. Asked once.
const std::string& sklearn_python();

// The trials of `study` in the SQLite file `db`, read through hpo_storage (never creating
// the file). Throws std::runtime_error when there is no such study.
std::vector<Trial> stored_trials(const std::filesystem::path& db, const std::string& study);

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false). Tests
// REQUIRE it: a state that never comes fails the test instead of being slept past.
bool wait_for(const std::function<bool()>& condition,
              std::chrono::milliseconds timeout = std::chrono::seconds(20));

// How many trials of `study` in `db` are RUNNING with a location recorded (their executor said
// where they run, so their processes exist). 0 while the file or the study does not exist yet.
int running_and_started(const std::filesystem::path& db, const std::string& study);

// Writes a spec for hpo_it_objective: x in [-5, 5], y in [-5, 5], minimize "loss".
// `extra` is merged into the top-level object (e.g. budget, parallelism, executor fields).
std::string objective_spec(const std::string& name, const std::string& mode = "ok",
                           const std::string& extra_json = "{}");

}  // namespace hpo::testing
