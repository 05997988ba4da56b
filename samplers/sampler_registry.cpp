#include "samplers/sampler_registry.h"

#include "samplers/random_sampler.h"
#include "samplers/tpe_sampler.h"

namespace hpo {

const std::vector<SamplerRegistration>& sampler_registry() {
  static const std::vector<SamplerRegistration> kRegistry = {
      random_sampler_registration(),
      tpe_sampler_registration(),
  };
  return kRegistry;
}

const SamplerRegistration* find_sampler(const std::string& name) {
  return find_registration(sampler_registry(), name);
}

}  // namespace hpo
