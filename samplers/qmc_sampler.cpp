#include "samplers/qmc_sampler.h"

#include "samplers/random_sampler.h"
#include "samplers/sobol_direction_numbers.h"

namespace hpo {

QmcSampler::QmcSampler(std::uint64_t seed, QmcOptions options) : seed_(seed), options_(options) {}

QmcSampler::~QmcSampler() = default;

ParamSet QmcSampler::suggest(const StudyView& /*study*/, const SearchSpace& space,
                             std::uint64_t trial_number) {
  const auto& params = space.parameters();
  if (params.empty()) return {};
  if (!sequence_ || sequence_->dims() != params.size())
    sequence_ =
        std::make_unique<QmcSequence>(options_.qmc_type, params.size(), options_.scramble, seed_);
  const std::vector<double> u = sequence_->point(trial_number);
  ParamSet chosen;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!SearchSpace::is_active(params[i], chosen)) continue;
    chosen.emplace(params[i].name, prior_quantile(params[i].distribution, u[i]));
  }
  return chosen;
}

QmcOptions read_qmc_options(const OrderedJson& block, const std::string& path, std::size_t n_params,
                            SpecChecker& c) {
  QmcOptions out;
  if (!block.is_object()) return out;
  if (const OrderedJson* m = SpecChecker::member(block, "qmc_type")) {
    if (auto type = c.get_enum(*m, member_path(path, "qmc_type"), {"sobol", "halton"}))
      out.qmc_type = *type == "halton" ? QmcType::kHalton : QmcType::kSobol;
  }
  if (const OrderedJson* m = SpecChecker::member(block, "scramble"))
    if (auto v = c.get_bool(*m, member_path(path, "scramble"))) out.scramble = *v;
  if (out.qmc_type == QmcType::kSobol && n_params > kSobolMaxDims)
    c.add(member_path(path, "qmc_type"),
          "a Sobol sequence covers at most " + std::to_string(kSobolMaxDims) +
              " parameters, the space has " + std::to_string(n_params) + " (use \"halton\")");
  return out;
}

SamplerRegistration qmc_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "qmc";
  r.info.summary = "quasi-random points (scrambled Sobol or Halton) for an even sweep";
  r.info.keys = {"qmc_type", "scramble"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_qmc_options(block.json, block.path, block.spec.space.size(), c);
  };
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    SpecChecker c;
    const QmcOptions options =
        read_qmc_options(args.spec.sampler.block, "sampler", args.spec.space.size(), c);
    if (!c.ok()) throw InputError(c.take());
    return std::make_unique<QmcSampler>(args.seed, options);
  };
  return r;
}

}  // namespace hpo
