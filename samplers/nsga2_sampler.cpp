#include "samplers/nsga2_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "samplers/pareto.h"
#include "samplers/random_sampler.h"
#include "samplers/relative_space.h"
#include "samplers/rng.h"

namespace hpo {
namespace {

constexpr int kBoundsRetries = 100;
constexpr double kBlxAlpha = 0.5;

struct Member {
  const Trial* trial;
  int rank;
  double crowding;
};

// Step 2 of the header: survival of the best population_size COMPLETE trials.
std::vector<Member> select_population(const StudyView& study, int population_size) {
  std::vector<const Trial*> complete;
  std::vector<Point> points;
  std::vector<double> violations;
  for (const Trial& t : study.trials()) {
    if (auto p = minimized_values(t, study.directions())) {
      complete.push_back(&t);
      points.push_back(std::move(*p));
      violations.push_back(t.violation.value_or(0.0));
    }
  }
  const auto size = static_cast<std::size_t>(population_size);
  if (complete.size() < size) return {};
  const std::vector<int> ranks = nondominated_ranks(points, &violations, size);
  std::vector<std::vector<std::size_t>> fronts;
  for (std::size_t i = 0; i < complete.size(); ++i) {
    if (ranks[i] == kUnranked) continue;
    if (static_cast<std::size_t>(ranks[i]) >= fronts.size()) fronts.resize(ranks[i] + 1);
    fronts[ranks[i]].push_back(i);  // in trial order
  }
  std::vector<Member> population;
  for (std::size_t r = 0; r < fronts.size() && population.size() < size; ++r) {
    const std::vector<double> crowding = crowding_distance(points, fronts[r]);
    std::vector<std::size_t> order(fronts[r].size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return crowding[a] > crowding[b]; });
    for (std::size_t k : order) {
      if (population.size() == size) break;
      population.push_back({complete[fronts[r][k]], static_cast<int>(r), crowding[k]});
    }
  }
  return population;
}

const Member& tournament(const std::vector<Member>& population, Rng& rng) {
  const Member& a = population[rng.below(population.size())];
  const Member& b = population[rng.below(population.size())];
  if (a.rank != b.rank) return a.rank < b.rank ? a : b;
  return b.crowding > a.crowding ? b : a;
}

double sbx_child(double x1, double x2, double eta, Rng& rng) {
  const double y1 = std::min(x1, x2);
  const double y2 = std::max(x1, x2);
  if (y2 - y1 < 1e-14) return y1;
  const double u = rng.uniform();
  auto betaq = [&](double beta) {
    const double alpha = 2.0 - std::pow(beta, -(eta + 1.0));
    return u <= 1.0 / alpha ? std::pow(u * alpha, 1.0 / (eta + 1.0))
                            : std::pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
  };
  // Deb's bounded SBX on the unit axis: each child's spread is limited by its own bound.
  if (rng.uniform() < 0.5) return 0.5 * ((y1 + y2) - betaq(1.0 + 2.0 * y1 / (y2 - y1)) * (y2 - y1));
  return 0.5 * ((y1 + y2) + betaq(1.0 + 2.0 * (1.0 - y2) / (y2 - y1)) * (y2 - y1));
}

double numeric_child(Crossover kind, double x1, double x2, double eta, double swapping_prob,
                     Rng& rng) {
  switch (kind) {
    case Crossover::kUniform:
      return rng.uniform() < swapping_prob ? x2 : x1;
    case Crossover::kSbx:
    case Crossover::kBlxAlpha:
      for (int attempt = 0; attempt < kBoundsRetries; ++attempt) {
        double c;
        if (kind == Crossover::kSbx) {
          c = sbx_child(x1, x2, eta, rng);
        } else {
          const double lo = std::min(x1, x2), hi = std::max(x1, x2), d = hi - lo;
          c = rng.uniform(lo - kBlxAlpha * d, hi + kBlxAlpha * d);
        }
        if (c >= 0.0 && c <= 1.0) return c;
      }
      return std::clamp(x1, 0.0, 1.0);
  }
  return x1;
}

}  // namespace

std::vector<int> nsga2_population(const StudyView& study, int population_size) {
  std::vector<int> numbers;
  for (const Member& m : select_population(study, population_size))
    numbers.push_back(m.trial->number);
  return numbers;
}

Nsga2Sampler::Nsga2Sampler(std::uint64_t seed, Nsga2Options options)
    : seed_(seed), options_(options) {}

ParamSet Nsga2Sampler::suggest(const StudyView& study, const SearchSpace& space,
                               std::uint64_t trial_number) {
  Rng rng(trial_seed(seed_, trial_number));
  const std::vector<Member> population = select_population(study, options_.population_size);
  if (population.empty()) return draw_params(space, rng);

  const Trial& p1 = *tournament(population, rng).trial;
  const Trial& p2 = *tournament(population, rng).trial;
  const bool crossover = rng.uniform() < options_.crossover_prob;
  const double eta = study.multi_objective() ? 20.0 : 2.0;
  const auto& params = space.parameters();
  const double mutation =
      options_.mutation_prob.value_or(1.0 / static_cast<double>(std::max<std::size_t>(1, params.size())));

  ParamSet chosen;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Parameter& param = params[i];
    if (!SearchSpace::is_active(param, chosen)) continue;
    const Distribution& d = param.distribution;
    auto held = [&](const Trial& t) -> const ParamValue* {
      auto it = t.params.find(param.name);
      return it != t.params.end() && d.contains(it->second) ? &it->second : nullptr;
    };
    const ParamValue* v1 = held(p1);
    const ParamValue* v2 = crossover ? held(p2) : nullptr;
    // Draws in a fixed order whatever the branch, so one parameter's choice does not shift the
    // stream of the next.
    const bool mutate = rng.uniform() < mutation;
    Rng own(trial_seed(rng.next(), i));
    if (mutate || (v1 == nullptr && v2 == nullptr)) {
      chosen.emplace(param.name, draw_from_prior(d, own));
    } else if (v1 == nullptr || v2 == nullptr) {
      chosen.emplace(param.name, v1 != nullptr ? *v1 : *v2);
    } else if (d.type == ParamType::kCategorical || d.low == d.high ||
               options_.crossover == Crossover::kUniform) {
      chosen.emplace(param.name, own.uniform() < options_.swapping_prob ? *v2 : *v1);
    } else {
      const UnitAxis axis(i, param.name, d);
      const double x1 = axis.to_unit(*v1).value_or(0.5);
      const double x2 = axis.to_unit(*v2).value_or(0.5);
      chosen.emplace(param.name, axis.from_unit(numeric_child(options_.crossover, x1, x2, eta,
                                                              options_.swapping_prob, own)));
    }
  }
  return chosen;
}

Nsga2Options read_nsga2_options(const OrderedJson& block, const std::string& path,
                                SpecChecker& c) {
  Nsga2Options out;
  if (!block.is_object()) return out;
  auto key_path = [&](std::string_view key) { return member_path(path, key); };
  if (const OrderedJson* m = SpecChecker::member(block, "population_size"))
    if (auto v = c.get_int(*m, key_path("population_size"), 2, 1000000))
      out.population_size = static_cast<int>(*v);
  auto read_prob = [&](const char* key) -> std::optional<double> {
    const OrderedJson* m = SpecChecker::member(block, key);
    if (m == nullptr) return std::nullopt;
    auto v = c.get_number(*m, key_path(key));
    if (!v) return std::nullopt;
    if (*v < 0.0 || *v > 1.0) {
      c.add(key_path(key), "must be a probability in [0, 1], got " + format_double(*v));
      return std::nullopt;
    }
    return v;
  };
  if (const OrderedJson* m = SpecChecker::member(block, "mutation_prob"); m && !m->is_null())
    out.mutation_prob = read_prob("mutation_prob");
  if (auto v = read_prob("crossover_prob")) out.crossover_prob = *v;
  if (auto v = read_prob("swapping_prob")) out.swapping_prob = *v;
  if (const OrderedJson* m = SpecChecker::member(block, "crossover")) {
    if (auto kind = c.get_enum(*m, key_path("crossover"), {"uniform", "sbx", "blxalpha"}))
      out.crossover = *kind == "sbx"        ? Crossover::kSbx
                      : *kind == "blxalpha" ? Crossover::kBlxAlpha
                                            : Crossover::kUniform;
  }
  return out;
}

SamplerRegistration nsga2_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "nsga2";
  r.info.summary = "NSGA-II genetic algorithm for multi-objective studies (asynchronous)";
  r.info.keys = {"population_size", "mutation_prob", "crossover", "crossover_prob",
                 "swapping_prob"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_nsga2_options(block.json, block.path, c);
  };
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    SpecChecker c;
    const Nsga2Options options = read_nsga2_options(args.spec.sampler.block, "sampler", c);
    c.throw_if_any();
    return std::make_unique<Nsga2Sampler>(args.seed, options);
  };
  return r;
}

}  // namespace hpo
