// RunLease: this run's lease on a study (DESIGN.md "Trial life and resume"). While it lives the
// run is registered in storage and heartbeats itself and its RUNNING trials; destroying it ends
// the lease (a clean exit). It also tells which other runs of the study are dead, so that their
// trials can be recovered:
//   - on this host, a run is alive exactly while its process exists and is an hpo (a run
//     stopped by Ctrl-Z or SIGSTOP is paused, not dead; a process id reused by another
//     program does not keep a dead run alive);
//   - on another host, a run is dead once its heartbeat is older than `stale_after`.
// Not thread-safe: used from the run loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hpo {

class RunLease {
 public:
  // Registers the run (a first heartbeat). Throws StorageError.
  RunLease(LeaseStore& leases, std::int64_t study_id);
  // Ends the lease; errors are ignored (a lease left behind is recognised as dead).
  ~RunLease();
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;

  // This run: owner "host:pid:random", host, pid.
  const RunRecord& me() const { return me_; }
  // Heartbeats the run and those of `running` that are RUNNING trials of the study.
  void beat(const std::vector<std::int64_t>& running);

  struct Others {
    std::set<std::string> dead;  // owners of runs that are gone
    std::set<std::string> live;  // owners of runs still working on the study
  };
  // The other runs registered on the study, judged by the rules above.
  Others others(std::chrono::milliseconds stale_after) const;
  // Removes a dead run's lease once its trials were recovered.
  void forget(const std::string& owner);

  // The rules above, for one run seen at `now`. Exposed for tests.
  static bool is_dead(const RunRecord& run, const std::string& this_host, TimePoint now,
                      std::chrono::milliseconds stale_after);

 private:
  LeaseStore& leases_;
  const std::int64_t study_id_;
  RunRecord me_;
};

}  // namespace hpo
