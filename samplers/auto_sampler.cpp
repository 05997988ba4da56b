#include "samplers/auto_sampler.h"

#include "samplers/grid_sampler.h"

namespace hpo {
namespace {

struct SpaceShape {
  int numeric = 0;  // float and int parameters
  int categorical = 0;
  int conditional = 0;
  bool all_discrete = true;
};

SpaceShape shape_of(const SearchSpace& space) {
  SpaceShape s;
  for (const Parameter& p : space.parameters()) {
    if (!p.when.empty()) ++s.conditional;
    if (p.distribution.type == ParamType::kCategorical) {
      ++s.categorical;
    } else {
      ++s.numeric;
      if (p.distribution.type == ParamType::kFloat && !p.distribution.step) s.all_discrete = false;
    }
  }
  return s;
}

struct Pick {
  std::string name;
  std::string why;
};

Pick pick(const StudySpec& spec) {
  const SpaceShape s = shape_of(spec.space);
  const std::optional<int> budget = spec.budget.trials;
  const std::string counts = std::to_string(s.numeric) + " numeric, " +
                             std::to_string(s.categorical) + " categorical, " +
                             std::to_string(s.conditional) + " conditional parameter(s)";
  if (s.all_discrete && budget) {
    if (const auto points = grid_point_count(spec.space, GridOptions{});
        points && *points <= static_cast<std::uint64_t>(*budget))
      return {"grid", "every parameter is discrete and the budget of " + std::to_string(*budget) +
                          " trials covers all " + std::to_string(*points) + " grid points"};
  }
  if (spec.multi_objective() || !spec.constraints.empty())
    return {"tpe", std::string(spec.multi_objective() ? "several objectives" : "constraints") +
                       " (the GP handles one objective without constraints)"};
  if (s.conditional == 0 && s.numeric >= 1 && s.numeric <= kAutoGpMaxNumeric &&
      s.categorical <= kAutoGpMaxCategoricals && budget && *budget <= kAutoGpMaxTrials)
    return {"gp", counts + ", budget " + std::to_string(*budget) + " trials"};
  std::string why = counts;
  if (!budget)
    why += ", no trial budget";
  else
    why += ", budget " + std::to_string(*budget) + " trials";
  return {"tpe", why};
}

}  // namespace

std::string resolve_auto(const StudySpec& spec) { return pick(spec).name; }

SamplerRegistration auto_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "auto";
  r.info.summary = "picks grid, gp or tpe from the space and the budget";
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    const SamplerRegistration* picked = find_sampler(resolve_auto(args.spec));
    return picked->make(args);
  };
  r.plan = [](const StudySpec& spec) {
    const Pick p = pick(spec);
    SamplerPlan plan =
        find_sampler(p.name)->plan ? find_sampler(p.name)->plan(spec) : SamplerPlan{};
    plan.name = p.name;
    plan.detail = "auto picked " + p.name + ": " + p.why;
    return plan;
  };
  return r;
}

}  // namespace hpo
