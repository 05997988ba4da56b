#include "tests/integration/hpo_runner.h"

#include <thread>

#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "storage/sqlite_storage.h"
#include "tests/support/temp_dir.h"

namespace hpo::testing {

namespace bp = boost::process;

CommandResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::filesystem::path& cwd) {
  TempDir io("hpo-process-io");
  bp::child child(program, bp::args(args), bp::std_out > (io / "out").string(),
                  bp::std_err > (io / "err").string(), bp::std_in < bp::null,
                  bp::start_dir(cwd.string()));
  child.wait();
  return {child.exit_code(), read_file(io / "out"), read_file(io / "err")};
}

const std::string& sklearn_python() {
  static const std::string found = [] {
    std::vector<std::string> candidates = {"/usr/bin/python3"};
    if (const auto on_path = bp::search_path("python3"); !on_path.empty())
      candidates.push_back(on_path.string());
    for (const auto& python : candidates) {
      if (!std::filesystem::exists(python)) continue;
      if (run_process(python, {"-c", "import sklearn"}, std::filesystem::current_path())
              .exit_code == 0)
        return python;
    }
    return std::string();
  }();
  return found;
}

CommandResult run_hpo(const std::vector<std::string>& args, const std::filesystem::path& cwd,
                      const std::map<std::string, std::string>& env) {
  TempDir io("hpo-run-io");
  const auto out_path = io / "out";
  const auto err_path = io / "err";
  bp::environment child_env = boost::this_process::environment();
  child_env.erase("HPO_STORAGE");
  for (const auto& [key, value] : env) {
    if (value.empty())
      child_env.erase(key);
    else
      child_env[key] = value;
  }
  bp::child child(std::string(HPO_BIN), bp::args(args), bp::std_out > out_path.string(),
                  bp::std_err > err_path.string(), bp::std_in < bp::null,
                  bp::start_dir(cwd.string()), child_env);
  child.wait();
  CommandResult r;
  r.exit_code = child.exit_code();
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

std::vector<Trial> stored_trials(const std::filesystem::path& db, const std::string& study) {
  SqliteOptions options;
  options.create_if_missing = false;
  SqliteStorage storage(db, options);
  auto record = storage.find_study(study);
  if (!record) throw std::runtime_error("no study '" + study + "' in " + db.string());
  return storage.get_trials(record->id);
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

int running_and_started(const std::filesystem::path& db, const std::string& study) {
  try {
    int n = 0;
    for (const Trial& t : stored_trials(db, study))
      if (t.state == TrialState::kRunning && !t.location.empty()) ++n;
    return n;
  } catch (const std::exception&) {
    return 0;  // not created yet
  }
}

std::string objective_spec(const std::string& name, const std::string& mode,
                           const std::string& extra_json) {
  nlohmann::json spec = {
      {"name", name},
      {"direction", "minimize"},
      {"objective", {{"metric", "loss"}}},
      {"space",
       {{"x", {{"type", "float"}, {"low", -5}, {"high", 5}}},
        {"y", {{"type", "float"}, {"low", -5}, {"high", 5}}}}},
      {"sampler", {{"name", "random"}, {"seed", 7}}},
      {"budget", {{"trials", 6}}},
      {"parallelism", 2},
      {"executor",
       {{"kind", "subprocess"}, {"command", {HPO_IT_OBJECTIVE, "{x}", "{y}", mode}}}}};
  spec.merge_patch(nlohmann::json::parse(extra_json));
  return spec.dump(2);
}

}  // namespace hpo::testing
