// Fuzz target: `hpo enqueue --file` input, read as CSV and as JSON against a fixed search space
// (floats, a log float, a stepped int, a categorical of mixed types, a conditional int).
// Reading never throws; every set it returns either passes SearchSpace::check or is refused
// by it with issues, never with an exception.
#include <cmath>

#include "engine/model/param_set_input.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const hpo::SearchSpace& space() {
  static const hpo::SearchSpace s = [] {
    hpo::SearchSpace out;
    out.add({"x", hpo::Distribution::float_range(-1, 1, false, std::nullopt), {}});
    out.add({"lr", hpo::Distribution::float_range(1e-5, 1, true, std::nullopt), {}});
    out.add({"q", hpo::Distribution::float_range(0, 1, false, 0.25), {}});
    out.add({"n", hpo::Distribution::int_range(1, 100, false, 3), {}});
    out.add({"opt",
             hpo::Distribution::categorical({hpo::ParamValue(std::string("adam")),
                                             hpo::ParamValue(std::string("sgd")),
                                             hpo::ParamValue(std::int64_t{1}),
                                             hpo::ParamValue(true)}),
             {}});
    hpo::Condition when;
    when.parents["opt"] = {hpo::ParamValue(std::string("sgd"))};
    out.add({"momentum", hpo::Distribution::int_range(0, 9, false, 1), when});
    return out;
  }();
  return s;
}

void check_sets(const std::vector<hpo::ParamSet>& sets, const std::vector<hpo::SpecIssue>& issues) {
  for (const auto& issue : issues) HPO_FUZZ_CHECK(!issue.message.empty());
  for (const auto& set : sets) {
    for (const auto& issue : space().check(set)) HPO_FUZZ_CHECK(!issue.message.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text = hpo::fuzz::as_text(data, size);
  std::vector<hpo::SpecIssue> issues;
  auto sets = hpo::read_param_sets_csv(text, "fuzz.csv", space(), issues);
  check_sets(sets, issues);
  issues.clear();
  sets = hpo::read_param_sets_json(text, "fuzz.json", issues);
  check_sets(sets, issues);
  return 0;
}
