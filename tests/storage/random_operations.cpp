#include "tests/storage/random_operations.h"

#include <cmath>
#include <limits>

#include "hpo/errors.h"
#include "tests/storage/storage_fixtures.h"

namespace hpo::testing {
namespace {

const char* kind_name(Operation::Kind kind) {
  switch (kind) {
    case Operation::Kind::kCreateStudy:
      return "create_study";
    case Operation::Kind::kCreateTrial:
      return "create_trial";
    case Operation::Kind::kClaim:
      return "claim_waiting_trial";
    case Operation::Kind::kFailAndRequeue:
      return "fail_and_requeue";
    case Operation::Kind::kReport:
      return "report_intermediate";
    case Operation::Kind::kFinish:
      return "finish_trial";
    case Operation::Kind::kHeartbeat:
      return "heartbeat";
    case Operation::Kind::kListRuns:
      return "list_runs";
    case Operation::Kind::kEndRun:
      return "end_run";
    case Operation::Kind::kCountTrials:
      return "count_trials";
    case Operation::Kind::kUpdateSpec:
      return "update_study_spec";
    case Operation::Kind::kSetLocation:
      return "set_trial_location";
    case Operation::Kind::kAdopt:
      return "adopt_trial";
    case Operation::Kind::kDeleteStudy:
      return "delete_study";
    case Operation::Kind::kSetParams:
      return "set_trial_params";
    case Operation::Kind::kReopen:
      return "reopen";
  }
  return "?";
}

}  // namespace

std::string Operation::to_string() const {
  nlohmann::json j;
  j["op"] = kind_name(kind);
  j["id"] = id;
  j["name"] = name;
  j["text"] = text;
  j["owner"] = owner;
  if (kind == Kind::kHeartbeat) j["run"] = describe(run);
  if (kind == Kind::kSetParams) {
    Trial as_trial;
    as_trial.params = new_trial.params;
    j["params"] = describe(as_trial);
  }
  if (kind == Kind::kCreateTrial) {
    Trial as_trial;
    as_trial.state = new_trial.state;
    as_trial.params = new_trial.params;
    as_trial.attempt = new_trial.attempt;
    as_trial.retry_of = new_trial.retry_of;
    as_trial.trial_dir = new_trial.trial_dir;
    as_trial.owner = new_trial.owner;
    j["new_trial"] = describe(as_trial);
    j["limit"] = limit ? std::to_string(*limit) : "none";
    j["sample"] = static_cast<bool>(new_trial.sample);
    j["known_trials"] = new_trial.known_trials;
  }
  j["step"] = step;
  j["value"] = format_double(value);
  j["state"] = hpo::to_string(state);
  j["result"] = result ? format_double(*result) : "none";
  j["metrics"] = metrics.size();
  j["ids"] = ids;
  return j.dump();
}

double OperationGenerator::pick_double() {
  static const double kSpecial[] = {0.0,
                                    -0.0,
                                    1e-300,
                                    -2.5,
                                    1.7976931348623157e308,
                                    5e-324,
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::numeric_limits<double>::quiet_NaN()};
  if (rng_() % 5 == 0) return kSpecial[rng_() % std::size(kSpecial)];
  return std::uniform_real_distribution<double>(-10.0, 10.0)(rng_);
}

ParamValue OperationGenerator::pick_param() {
  switch (rng_() % 4) {
    case 0: {
      const double v = pick_double();
      // A non-finite parameter is refused by every storage; keep it rare.
      if (!std::isfinite(v) && rng_() % 4 != 0) return 0.5;
      return v;
    }
    case 1:
      return static_cast<std::int64_t>(rng_());
    case 2: {
      static const char* kStrings[] = {"rbf", "", "quote \" back\\slash", "λ→✓ 日本", "42"};
      return std::string(kStrings[rng_() % std::size(kStrings)]);
    }
    default:
      return rng_() % 2 == 0;
  }
}

Operation OperationGenerator::next(Storage& model) {
  const auto studies = model.list_studies();
  std::int64_t trial_count = 0;
  for (const auto& s : studies)
    trial_count += static_cast<std::int64_t>(model.get_trials(s.id).size());
  auto pick_study = [&] {
    return static_cast<std::int64_t>(rng_() % (studies.size() + 1)) + 1;  // one past: unknown
  };
  auto pick_trial = [&] { return static_cast<std::int64_t>(rng_() % (trial_count + 1)) + 1; };
  auto chance = [&](int percent) { return static_cast<int>(rng_() % 100) < percent; };

  // A few runs, so that heartbeats of the same run meet and claims name known owners.
  auto pick_owner = [&] {
    return "host-" + std::to_string(rng_() % 2) + ":" + std::to_string(rng_() % 3);
  };

  Operation op;
  const int roll = static_cast<int>(rng_() % 100);
  if (roll < 6) {
    op.kind = Operation::Kind::kCreateStudy;
    op.name = "study-" + std::to_string(rng_() % 6);  // duplicates happen
  } else if (roll < 30) {
    op.kind = Operation::Kind::kCreateTrial;
    op.id = pick_study();
    op.new_trial.state = chance(35) ? TrialState::kWaiting : TrialState::kRunning;
    if (chance(2)) op.new_trial.state = TrialState::kComplete;  // refused
    const int n = static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i)
      op.new_trial.params["p" + std::to_string(rng_() % 5)] = pick_param();
    if (chance(30)) {
      op.new_trial.attempt = static_cast<int>(rng_() % 3) + 1;
      op.new_trial.retry_of = static_cast<int>(rng_() % 10);
    }
    op.new_trial.trial_dir = chance(50) ? "runs/{number}/t{number}" : "";
    if (op.new_trial.state == TrialState::kRunning && chance(70)) op.new_trial.owner = pick_owner();
    if (chance(25)) op.limit = static_cast<int>(rng_() % 12);
    if (chance(30)) {
      // Parameters chosen inside the transaction, from the number and the trials made since
      // `known_trials` (sometimes nothing: creates no trial).
      op.new_trial.known_trials = static_cast<int>(rng_() % 12);
      const ParamSet base = op.new_trial.params;
      op.new_trial.sample = [base](int number,
                                   const std::vector<Trial>& newer) -> std::optional<ParamSet> {
        if (number % 7 == 6) return std::nullopt;
        ParamSet p = base;
        p["number"] = number;
        p["newer"] = static_cast<std::int64_t>(newer.size());
        if (!newer.empty()) p["first_newer"] = newer.front().number;
        return p;
      };
    }
  } else if (roll < 38) {
    op.kind = Operation::Kind::kClaim;
    op.id = pick_study();
    op.owner = pick_owner();
  } else if (roll < 44) {
    op.kind = Operation::Kind::kFailAndRequeue;
    op.id = pick_trial();
    op.text = chance(80) ? "interrupted" : "";
    op.name = chance(60) ? "runs/{number}" : "";
  } else if (roll < 58) {
    op.kind = Operation::Kind::kReport;
    op.id = pick_trial();
    op.step = static_cast<std::int64_t>(rng_() % 6) - 1;
    op.value = pick_double();
  } else if (roll < 59) {
    op.kind = Operation::Kind::kDeleteStudy;
    op.id = pick_study();
  } else if (roll < 60) {
    op.kind = Operation::Kind::kSetParams;
    op.id = pick_trial();
    const int n = static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i)
      op.new_trial.params["p" + std::to_string(rng_() % 5)] = pick_param();
  } else if (roll < 75) {
    op.kind = Operation::Kind::kFinish;
    op.id = pick_trial();
    static const TrialState kStates[] = {TrialState::kComplete, TrialState::kPruned,
                                         TrialState::kFail};
    op.state = chance(2) ? TrialState::kRunning : kStates[rng_() % 3];
    if (chance(70)) op.result = pick_double();
    const int n = static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) op.metrics["m" + std::to_string(rng_() % 4)] = pick_double();
    op.text = chance(50) ? "" : "reason " + std::to_string(rng_() % 100) + " \"quoted\"";
  } else if (roll < 82) {
    op.kind = Operation::Kind::kHeartbeat;
    op.id = pick_study();
    op.run.owner = pick_owner();
    op.run.host = op.run.owner.substr(0, op.run.owner.find(':'));
    op.run.pid = static_cast<int>(rng_() % 4) + 1;
    const int n = static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) op.ids.push_back(pick_trial());
  } else if (roll < 84) {
    op.kind = Operation::Kind::kEndRun;
    op.id = pick_study();
    op.owner = pick_owner();
  } else if (roll < 85) {
    op.kind = Operation::Kind::kListRuns;
    op.id = pick_study();
  } else if (roll < 87) {
    op.kind = Operation::Kind::kCountTrials;
    op.id = pick_study();
  } else if (roll < 89) {
    op.kind = Operation::Kind::kUpdateSpec;
    op.id = pick_study();
    op.name = "/dir/" + std::to_string(rng_() % 3);
  } else if (roll < 93) {
    op.kind = Operation::Kind::kSetLocation;
    op.id = pick_trial();
    op.text = "pgid:" + std::to_string(rng_() % 1000) + "@hóst";
  } else if (roll < 96) {
    op.kind = Operation::Kind::kAdopt;
    op.id = pick_trial();
    op.owner = chance(20) ? std::string() : pick_owner();
    op.name = pick_owner();
  } else {
    op.kind = Operation::Kind::kReopen;
  }
  return op;
}

std::string apply(Storage& storage, const Operation& op) {
  auto optional_trial = [](const std::optional<Trial>& t) {
    return t ? describe(*t) : std::string("none");
  };
  try {
    switch (op.kind) {
      case Operation::Kind::kCreateStudy:
        return describe(
            make_study(storage, op.name, Direction::kMinimize, "loss", sample_spec(op.name)));
      case Operation::Kind::kCreateTrial:
        return optional_trial(storage.create_trial(op.id, op.new_trial, op.limit));
      case Operation::Kind::kClaim:
        return optional_trial(storage.claim_waiting_trial(op.id, op.owner));
      case Operation::Kind::kFailAndRequeue:
        return optional_trial(storage.fail_and_requeue(op.id, op.text, op.name));
      case Operation::Kind::kReport:
        return storage.report_intermediate(op.id, op.step, op.value) ? "true" : "false";
      case Operation::Kind::kFinish:
        return storage.finish_trial(op.id, op.state, op.result, op.metrics, op.text) ? "true"
                                                                                     : "false";
      case Operation::Kind::kHeartbeat:
        storage.heartbeat(op.id, op.run, op.ids);
        return "done";
      case Operation::Kind::kListRuns:
        return describe(storage.list_runs(op.id));
      case Operation::Kind::kEndRun:
        storage.end_run(op.id, op.owner);
        return "done";
      case Operation::Kind::kCountTrials:
        return describe(storage.count_trials(op.id));
      case Operation::Kind::kUpdateSpec:
        storage.update_study_spec(op.id, sample_spec("updated"), op.name);
        return "done";
      case Operation::Kind::kSetLocation:
        return storage.set_trial_location(op.id, op.text) ? "true" : "false";
      case Operation::Kind::kAdopt:
        return optional_trial(storage.adopt_trial(op.id, op.owner, op.name));
      case Operation::Kind::kDeleteStudy:
        return storage.delete_study(op.id) ? "true" : "false";
      case Operation::Kind::kSetParams:
        return storage.set_trial_params(op.id, op.new_trial.params) ? "true" : "false";
      case Operation::Kind::kReopen:
        return "reopened";
    }
  } catch (const StorageError& e) {
    return std::string("StorageError ") + hpo::to_string(e.code());
  }
  return "?";
}

}  // namespace hpo::testing
