#include "engine/run_lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>
#include <system_error>

namespace hpo {
namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// The program a process runs, or "" when it cannot be told (gone, or not ours to look at).
std::filesystem::path program_of(int pid) {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return ec ? std::filesystem::path() : path;
}

// True when process `pid` exists and runs the same program as this process: an hpo (or a
// program embedding it) rather than whatever reused the id.
bool hpo_process_alive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  const std::filesystem::path theirs = program_of(pid);
  if (theirs.empty()) return true;  // cannot look: trust that it exists
  return theirs == program_of(static_cast<int>(::getpid()));
}

}  // namespace

RunLease::RunLease(LeaseStore& leases, std::int64_t study_id)
    : leases_(leases), study_id_(study_id) {
  me_.host = host_name();
  me_.pid = static_cast<int>(::getpid());
  me_.owner = me_.host + ":" + std::to_string(me_.pid) + ":" +
              std::to_string(std::random_device{}() % 1000000);
  leases_.heartbeat(study_id_, me_, {});
}

RunLease::~RunLease() {
  try {
    leases_.end_run(study_id_, me_.owner);
  } catch (...) {
    // A lease left behind is recognised as dead by its age or its process; nothing is lost.
  }
}

void RunLease::beat(const std::vector<std::int64_t>& running) {
  leases_.heartbeat(study_id_, me_, running);
}

bool RunLease::is_dead(const RunRecord& run, const std::string& this_host, TimePoint now,
                       std::chrono::milliseconds stale_after) {
  if (run.host == this_host) return !hpo_process_alive(run.pid);
  return now - run.heartbeat > stale_after;
}

RunLease::Others RunLease::others(std::chrono::milliseconds stale_after) const {
  Others out;
  const TimePoint now = Clock::now();
  for (const RunRecord& run : leases_.list_runs(study_id_)) {
    if (run.owner == me_.owner) continue;
    (is_dead(run, me_.host, now, stale_after) ? out.dead : out.live).insert(run.owner);
  }
  return out;
}

void RunLease::forget(const std::string& owner) { leases_.end_run(study_id_, owner); }

}  // namespace hpo
