#include "samplers/sampler_registry.h"

#include "samplers/auto_sampler.h"
#include "samplers/cmaes_sampler.h"
#include "samplers/gp_sampler.h"
#include "samplers/grid_sampler.h"
#include "samplers/nsga2_sampler.h"
#include "samplers/qmc_sampler.h"
#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"

namespace hpo {

const std::vector<SamplerRegistration>& sampler_registry() {
  static const std::vector<SamplerRegistration> kRegistry = {
      random_sampler_registration(),
      tpe_sampler_registration(),
      grid_sampler_registration(),
      qmc_sampler_registration(),
      cmaes_sampler_registration(),
      gp_sampler_registration(),
      nsga2_sampler_registration(),
      auto_sampler_registration(),
  };
  return kRegistry;
}

void require_single_objective(const ComponentBlock& block, SpecChecker& checker) {
  const StudySpec& spec = block.spec;
  if (!spec.multi_objective() && spec.constraints.empty()) return;
  const std::string name = spec.sampler.name;
  const std::string what = spec.multi_objective()
                               ? std::to_string(spec.objectives.size()) + " objectives"
                               : "constraints";
  checker.add(member_path(block.path, "name"),
              "\"" + name + "\" optimizes one objective without constraints, and this study has " +
                  what + ": use \"tpe\" or \"nsga2\" (or \"random\", \"qmc\", \"grid\")");
}

const SamplerRegistration* find_sampler(const std::string& name) {
  return find_registration(sampler_registry(), name);
}

SamplerPlan plan_sampler(const StudySpec& spec) {
  const SamplerRegistration* r = find_sampler(spec.sampler.name);
  if (r != nullptr && r->plan) return r->plan(spec);
  SamplerPlan plan;
  plan.name = spec.sampler.name;
  return plan;
}

}  // namespace hpo
