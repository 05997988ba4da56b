// Fuzz target: the study spec parser as `hpo validate` and `hpo run` use it (every component's
// checker through engine/factory.h). Bad input may only end as an InputError; any other
// exception, a crash or a sanitizer report is a bug. A spec that passes must also be usable:
// its sampler draws a few trials, each inside the space (what item 10 of the hardening issue
// broke: ranges that passed validation and then sampled out of bounds or crashed TPE).
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/factory.h"
#include "hpo/errors.h"
#include "samplers/sampler_registry.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  hpo::StudySpec spec;
  try {
    spec = hpo::parse_spec(hpo::fuzz::as_text(data, size), "/nonexistent/hpo-fuzz");
  } catch (const hpo::InputError& e) {
    HPO_FUZZ_CHECK(!e.issues().empty() || *e.what() != '\0');
    return 0;
  }
  (void)hpo::plan_sampler(spec);
  (void)hpo::spec_warnings(spec);
  auto sampler = hpo::make_sampler(spec, /*seed=*/7, /*parallelism=*/1);
  auto pruner = hpo::make_pruner(spec);
  std::vector<hpo::Trial> history;
  for (int number = 0; number < 4; ++number) {
    const hpo::StudyView view(spec.direction, history);
    if (const auto left = sampler->remaining(view, spec.space); left && *left == 0) break;
    hpo::Trial t;
    t.id = number + 1;
    t.number = number;
    t.params = sampler->suggest(view, spec.space, static_cast<std::uint64_t>(number));
    HPO_FUZZ_CHECK(spec.space.check(t.params).empty());
    t.state = hpo::TrialState::kComplete;
    t.value = static_cast<double>((number * 7) % 3);
    history.push_back(t);
  }
  return 0;
}
