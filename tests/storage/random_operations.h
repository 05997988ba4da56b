// Seeded random Storage operations for model-based tests (leveldb's ModelDB shape): the same
// stream is applied to a storage under test and to MemoryStorage, and the outcomes and the
// resulting states are compared. The stream covers every Storage method, with plausible and
// implausible arguments (unknown ids, duplicate names, finished trials, non-final states,
// NaN and infinities), so that error paths are compared too. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hpo::testing {

struct Operation {
  enum class Kind {
    kCreateStudy,
    kCreateTrial,
    kClaim,
    kFailAndRequeue,
    kReport,
    kFinish,
    kHeartbeat,
    kListRuns,
    kEndRun,
    kCountTrials,
    kUpdateSpec,
    kSetLocation,
    kAdopt,
    kDeleteStudy,
    kSetParams,
    kReopen,  // close and reopen the storage under test (no-op for a memory model)
  };
  Kind kind = Kind::kCreateStudy;
  // Study id (create trial, claim, heartbeat, list/end runs, count, study attr) or trial id.
  std::int64_t id = 0;
  std::string name;   // study name, spec directory, new owner or re-queue trial_dir pattern
  std::string text;   // location, or finish / re-queue reason
  std::string owner;  // claim, end_run, adopt (from)
  NewTrial new_trial;
  std::optional<int> limit;  // create_trial
  std::int64_t step = 0;
  double value = 0.0;  // intermediate value
  TrialState state = TrialState::kComplete;
  std::optional<double> result;  // finish value
  std::map<std::string, double> metrics;
  std::vector<std::int64_t> ids;  // heartbeat
  RunRecord run;                  // heartbeat

  // One line, for INFO() when a comparison fails.
  std::string to_string() const;
};

class OperationGenerator {
 public:
  explicit OperationGenerator(std::uint64_t seed) : rng_(seed) {}

  // The next operation; ids are drawn from those `model` holds, plus one that does not exist.
  Operation next(Storage& model);

 private:
  double pick_double();
  ParamValue pick_param();

  std::mt19937_64 rng_;
};

// Applies `op` and describes the outcome: the returned value (times as presence) or
// "StorageError <code>". kReopen returns "reopened" and must be handled by the caller.
std::string apply(Storage& storage, const Operation& op);

}  // namespace hpo::testing
