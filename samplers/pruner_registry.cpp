#include "samplers/pruner_registry.h"

#include "samplers/hyperband_pruner.h"
#include "samplers/median_pruner.h"
#include "samplers/patient_pruner.h"
#include "samplers/percentile_pruner.h"
#include "samplers/successive_halving_pruner.h"
#include "samplers/threshold_pruner.h"

namespace hpo {
namespace {

PrunerRegistration none_pruner_registration() {
  PrunerRegistration r;
  r.info.name = "none";
  r.info.summary = "never prune (with \"patience\": prune on patience alone)";
  r.make = [](const StudySpec&) { return std::unique_ptr<Pruner>(); };
  return r;
}

}  // namespace

const std::vector<PrunerRegistration>& pruner_registry() {
  static const std::vector<PrunerRegistration> kRegistry = {
      none_pruner_registration(),       median_pruner_registration(),
      percentile_pruner_registration(), successive_halving_pruner_registration(),
      hyperband_pruner_registration(),  threshold_pruner_registration(),
  };
  return kRegistry;
}

const PrunerRegistration* find_pruner(const std::string& name) {
  return find_registration(pruner_registry(), name);
}

std::unique_ptr<Pruner> make_spec_pruner(const StudySpec& spec) {
  const PrunerRegistration* r = find_pruner(spec.pruner.name);
  if (r == nullptr)
    throw InputError("pruner.name", "no pruner named \"" + spec.pruner.name + "\" in this build");
  std::unique_ptr<Pruner> pruner = r->make(spec);
  if (spec.pruner.patience)
    return std::make_unique<PatientPruner>(*spec.pruner.patience, std::move(pruner));
  return pruner;
}

}  // namespace hpo
