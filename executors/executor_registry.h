// The executor registry: every executor a spec can name ("executor": {"kind": ...}), with its
// checker and its factory. The engine builds its ComponentCatalog from it and makes executors
// through it; nothing else names a concrete executor.
//
// Adding an executor: write executors/<kind>_executor.h/.cpp with a function returning its
// ExecutorRegistration (kind, summary, its own spec keys, a checker that reports their
// problems with JSON paths and never starts anything, a factory), and add that function to the
// list in executor_registry.cpp. The conformance suite (tests/executors/conformance_test.cpp)
// takes it with one fixture.
//
// Thread-safety: the registry is immutable static data.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/component.h"
#include "engine/model/study_spec.h"
#include "executors/executor.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hpo {

// What an executor factory is given. The spec passed its checker, and has an executor block.
struct ExecutorArgs {
  boost::asio::io_context& io;  // the run's loop; outlives the executor
  const StudySpec& spec;        // spec.executor->block holds the executor's keys as written
  std::size_t parallelism = 1;  // trials at once: the executor's capacity()
};

struct ExecutorRegistration {
  ComponentInfo info;
  // What only a run may check, because it runs code or depends on this machine now (a plugin
  // loads and exports its symbol; the program exists): reports problems with JSON paths, like
  // the checker, and is called by `hpo run` before anything is written. May be empty.
  std::function<void(const StudySpec& spec, SpecChecker& checker)> preflight;
  // Throws ExecutorError when the executor cannot be set up (a plugin that does not load),
  // before any trial runs.
  std::function<std::unique_ptr<Executor>(const ExecutorArgs& args)> make;
  // Optional: false when trials of this spec can never make an intermediate report (a builtin
  // test function), so that a pruner would never act; absent means they can.
  std::function<bool(const StudySpec& spec)> reports_steps;
  // Optional: what a trial with `task.params` would run (argv, working directory, added
  // environment), without running anything (`hpo validate --show-commands`); nullopt when the
  // command cannot be built. Absent: the executor has no command line to show.
  std::function<std::optional<TrialLaunch>(const StudySpec& spec, const TrialTask& task)>
      describe_launch;
};

// Every registered executor, in the order `hpo --help` lists them.
const std::vector<ExecutorRegistration>& executor_registry();

// The registration of kind `kind`; nullptr when there is none.
const ExecutorRegistration* find_executor(const std::string& kind);

}  // namespace hpo
