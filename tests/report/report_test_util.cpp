#include "tests/report/report_test_util.h"

namespace hpo::testing {

Trial make_trial(int number, std::optional<double> value, ParamSet params, TrialState state) {
  Trial t;
  t.id = number + 1;
  t.number = number;
  t.state = state;
  t.value = value;
  t.params = std::move(params);
  t.started = from_unix_seconds(1.7e9 + number);
  if (is_finished(state)) t.finished = from_unix_seconds(1.7e9 + number + 0.5);
  return t;
}

namespace {

nlohmann::json spec_of(const std::string& name, const nlohmann::json& space_json,
                       Direction direction) {
  return {{"name", name},
          {"direction", to_string(direction)},
          {"objective", {{"metric", "loss"}}},
          {"space", space_json},
          {"sampler", {{"name", "tpe"}, {"seed", 3}}},
          {"budget", {{"trials", 20}}},
          {"executor", {{"kind", "subprocess"}, {"command", {"/bin/true"}}}}};
}

}  // namespace

StudyRecord make_record(const std::string& name, const nlohmann::json& space_json,
                        Direction direction) {
  StudyRecord r;
  r.id = 1;
  r.name = name;
  r.direction = direction;
  r.metric = "loss";
  r.spec = spec_of(name, space_json, direction);
  r.spec_dir = "/tmp";
  return r;
}

NewStudy make_new_study(const std::string& name, const nlohmann::json& space_json,
                        Direction direction) {
  NewStudy s;
  s.name = name;
  s.direction = direction;
  s.metric = "loss";
  s.spec = spec_of(name, space_json, direction);
  s.spec_dir = "/tmp";
  return s;
}

Trial add_complete(Storage& storage, std::int64_t study, const ParamSet& params, double value,
                   const std::vector<double>& intermediate) {
  NewTrial n;
  n.params = params;
  const Trial t = *storage.create_trial(study, n);
  for (std::size_t i = 0; i < intermediate.size(); ++i)
    storage.report_intermediate(t.id, static_cast<std::int64_t>(i + 1), intermediate[i]);
  storage.finish_trial(t.id, TrialState::kComplete, value, {{"loss", value}}, "");
  return *storage.get_trial(t.id);
}

}  // namespace hpo::testing
