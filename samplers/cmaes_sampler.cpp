#include "samplers/cmaes_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"
#include "samplers/cma_es.h"
#include "samplers/rng.h"

namespace hpo {
namespace {

// Grid axes with more points than this are continuous coordinates for CMA-ES (rounded when
// decoded): their cells are too narrow for the margin to matter, and listing them would cost
// memory for nothing.
constexpr std::int64_t kMaxMarginPoints = 4096;

struct Solution {
  const Trial* trial;
  double value;  // minimisation
};

// The value CMA-ES ranks a trial by (lower is better), or nullopt when it is not told.
std::optional<double> told_value(const Trial& t, double sign, bool consider_pruned) {
  if (t.state == TrialState::kComplete && t.value && std::isfinite(*t.value))
    return sign * *t.value;
  if (consider_pruned && t.state == TrialState::kPruned && !t.intermediate.empty()) {
    const double v = t.intermediate.rbegin()->second;
    if (std::isfinite(v)) return sign * v;
  }
  return std::nullopt;
}

// What the replay consumed of one told trial: enough to know that it is the same trial with the
// same parameters and value.
struct Consumed {
  std::int64_t id;
  int number;
  double value;
  ParamSet params;

  bool same(const Solution& s) const {
    return id == s.trial->id && number == s.trial->number && value == s.value &&
           params == s.trial->params;
  }
};

}  // namespace

struct CmaEsSampler::Cache {
  SearchSpace space;
  Direction direction = Direction::kMinimize;
  std::vector<Consumed> consumed;  // the told trials, startup ones included, in replay order
  CmaEsConfig config;
  CmaEs cma{CmaEsConfig{{0.5}, 0.1, 0, {}, 0.0}};
  int restarts = 0, generations = 0;
};

CmaEsSampler::CmaEsSampler(std::uint64_t seed, CmaEsOptions options)
    : seed_(seed),
      options_(std::move(options)),
      independent_(make_independent_sampler(options_.independent_sampler,
                                            derived_seed(seed, "cmaes/independent"))) {}

CmaEsSampler::~CmaEsSampler() = default;

ParamSet CmaEsSampler::suggest(const StudyView& study, const SearchSpace& space,
                               std::uint64_t trial_number) {
  last_replay_ = Replay{};
  Rng fill_rng(trial_seed(derived_seed(seed_, "cmaes/fill"), trial_number));
  const std::vector<UnitAxis> axes = numeric_axes(space);
  // The independent sampler only when some parameter is left to it (it may cost as much as the
  // rest).
  auto independent = [&] { return independent_->suggest(study, space, trial_number); };
  if (axes.empty()) return merge_independent(space, {}, independent(), fill_rng);

  // The told trials, in trial-number order, with every modelled parameter valid.
  const double sign = study.direction() == Direction::kMaximize ? -1.0 : 1.0;
  std::vector<Solution> solutions;
  for (const Trial& t : study.trials()) {
    const auto v = told_value(t, sign, options_.consider_pruned_trials);
    if (!v) continue;
    bool complete = true;
    for (const UnitAxis& a : axes) {
      const auto it = t.params.find(a.name());
      complete = complete && it != t.params.end() && a.distribution().contains(it->second);
    }
    if (complete) solutions.push_back({&t, *v});
  }
  std::stable_sort(solutions.begin(), solutions.end(), [](const Solution& a, const Solution& b) {
    return a.trial->number < b.trial->number;
  });
  const auto startup = static_cast<std::size_t>(std::max(0, options_.n_startup_trials));
  if (solutions.size() < startup) return merge_independent(space, {}, independent(), fill_rng);

  // The configuration of a run: the mean of the first from x0, of restarts at random.
  const std::size_t n = axes.size();
  CmaEsConfig config;
  config.sigma = options_.sigma0;
  config.popsize = options_.popsize;
  config.discrete.resize(n);
  config.mean.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const UnitAxis& a = axes[i];
    config.mean[i] = 0.5;
    if (auto it = options_.x0.find(a.name()); it != options_.x0.end())
      config.mean[i] = a.to_unit(it->second).value_or(0.5);
    if (options_.with_margin && a.is_grid() && a.points() <= kMaxMarginPoints)
      for (std::int64_t k = 0; k < a.points(); ++k) config.discrete[i].push_back(a.point(k));
  }
  config.separable = options_.use_separable_cma;
  if (!options_.source_trials.empty()) {
    // Warm start: the source study's told trials that hold every modelled parameter.
    std::vector<std::vector<double>> xs;
    std::vector<double> values;
    for (const Trial& t : options_.source_trials) {
      const auto v = told_value(t, sign, options_.consider_pruned_trials);
      if (!v) continue;
      std::vector<double> x(n);
      bool complete = true;
      for (std::size_t i = 0; i < n && complete; ++i) {
        const auto it = t.params.find(axes[i].name());
        complete = it != t.params.end() && axes[i].distribution().contains(it->second);
        if (complete) x[i] = *axes[i].to_unit(it->second);
      }
      if (!complete) continue;
      xs.push_back(std::move(x));
      values.push_back(*v);
    }
    if (!xs.empty()) {
      const WarmStart w = warm_start_distribution(xs, values);
      config.mean = w.mean;
      config.sigma = std::max(w.sigma, 1e-8);
      config.cov = w.cov;
    }
  }
  CmaEs cma(config);
  int restarts = 0, generations = 0;
  std::size_t next = startup;
  bool resumed = false;
  // Resume from the cached state when the trials it consumed are still the first told ones.
  if (cache_ && cache_->space == space && cache_->direction == study.direction() &&
      cache_->consumed.size() <= solutions.size() && cache_->consumed.size() >= startup) {
    bool same = true;
    for (std::size_t k = 0; k < cache_->consumed.size() && same; ++k)
      same = cache_->consumed[k].same(solutions[k]);
    if (same) {
      cma = cache_->cma;
      config = cache_->config;
      restarts = cache_->restarts;
      generations = cache_->generations;
      next = cache_->consumed.size();
      resumed = true;
    }
  }

  auto encode = [&](const Trial& t) {
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i)
      x[i] = axes[i].snap(*axes[i].to_unit(t.params.at(axes[i].name())));
    return x;
  };
  auto draw_seed = [&](std::uint64_t number) {
    return trial_seed(derived_seed(seed_, "cmaes/draw"), number);
  };
  // Replay: cut the told trials after the startup ones into generations of the current
  // population size.
  std::vector<std::vector<double>> xs;
  std::vector<double> values, raw, eval;
  while (solutions.size() - next >= static_cast<std::size_t>(cma.popsize())) {
    const auto lambda = static_cast<std::size_t>(cma.popsize());
    xs.clear();
    values.clear();
    for (std::size_t k = next; k < next + lambda; ++k) {
      const Trial& t = *solutions[k].trial;
      // The raw sample behind the trial, if drawing again from this state reproduces it.
      Rng rng(draw_seed(static_cast<std::uint64_t>(t.number)));
      cma.ask(rng, raw, eval);
      bool same = true;
      for (std::size_t i = 0; i < n && same; ++i)
        same = axes[i].from_unit(eval[i]) == t.params.at(axes[i].name());
      xs.push_back(same ? raw : encode(t));
      values.push_back(solutions[k].value);
    }
    next += lambda;
    cma.tell(xs, values);
    ++generations;
    if (options_.restart_strategy == CmaRestart::kIpop && cma.should_stop()) {
      ++restarts;
      Rng rng(
          trial_seed(derived_seed(seed_, "cmaes/restart"), static_cast<std::uint64_t>(restarts)));
      config.popsize = cma.popsize() * options_.inc_popsize;
      for (double& m : config.mean) m = rng.uniform();
      config.sigma = options_.sigma0;
      config.cov.clear();
      cma = CmaEs(config);
    }
  }
  last_replay_ = Replay{generations, restarts, cma.popsize(), cma.sigma()};
  if (!cache_) cache_ = std::make_unique<Cache>();
  cache_->space = space;
  cache_->direction = study.direction();
  if (!resumed) cache_->consumed.clear();
  for (std::size_t k = cache_->consumed.size(); k < next; ++k) {
    const Solution& sol = solutions[k];
    cache_->consumed.push_back({sol.trial->id, sol.trial->number, sol.value, sol.trial->params});
  }
  cache_->config = config;
  cache_->cma = cma;
  cache_->restarts = restarts;
  cache_->generations = generations;

  Rng rng(draw_seed(trial_number));
  cma.ask(rng, raw, eval);
  ParamSet relative;
  for (std::size_t i = 0; i < n; ++i) relative.emplace(axes[i].name(), axes[i].from_unit(eval[i]));
  if (n == space.size()) return relative;
  return merge_independent(space, relative, independent(), fill_rng);
}

CmaEsOptions read_cmaes_options(const OrderedJson& block, const std::string& path,
                                const SearchSpace& space, SpecChecker& c) {
  CmaEsOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](std::string_view key) { return member_path(path, key); };
  auto read_int = [&](const char* key, int min, int& field) {
    if (const OrderedJson* m = SpecChecker::member(block, key))
      if (auto v = c.get_int(*m, key_path(key), min, std::numeric_limits<int>::max()))
        field = static_cast<int>(*v);
  };
  auto read_bool = [&](const char* key, bool& field) {
    if (const OrderedJson* m = SpecChecker::member(block, key))
      if (auto v = c.get_bool(*m, key_path(key))) field = *v;
  };
  if (const OrderedJson* m = SpecChecker::member(block, "sigma0")) {
    if (auto v = c.get_number(*m, key_path("sigma0"))) {
      if (*v > 0.0)
        out.sigma0 = *v;
      else
        c.add(key_path("sigma0"),
              "must be > 0, got " + format_double(*v) + " (a fraction of each parameter's range)");
    }
  }
  read_int("n_startup_trials", 0, out.n_startup_trials);
  read_int("popsize", 2, out.popsize);
  read_int("inc_popsize", 1, out.inc_popsize);
  read_bool("with_margin", out.with_margin);
  read_bool("consider_pruned_trials", out.consider_pruned_trials);
  read_bool("use_separable_cma", out.use_separable_cma);
  if (const OrderedJson* m = SpecChecker::member(block, "source_study")) {
    if (auto v = c.get_string(*m, key_path("source_study"))) {
      out.source_study = *v;
      if (v->empty()) c.add(key_path("source_study"), "must name a study, got \"\"");
      // As in Optuna: the warm start sets the mean and step size itself.
      for (const char* other : {"x0", "sigma0", "use_separable_cma"})
        if (const OrderedJson* given = SpecChecker::member(block, other);
            given != nullptr && *given != OrderedJson(false))
          c.add(key_path("source_study"),
                std::string("cannot be used with \"") + other +
                    "\" (the warm start sets the mean, step size and covariance)");
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "independent_sampler")) {
    if (auto v = c.get_enum(*m, key_path("independent_sampler"), {"random", "tpe"}))
      out.independent_sampler = *v == "tpe" ? IndependentKind::kTpe : IndependentKind::kRandom;
  }
  if (const OrderedJson* m = SpecChecker::member(block, "restart_strategy")) {
    if (m->is_null()) {
      out.restart_strategy = CmaRestart::kNone;
    } else if (auto v = c.get_enum(*m, key_path("restart_strategy"), {"ipop", "none"})) {
      out.restart_strategy = *v == "ipop" ? CmaRestart::kIpop : CmaRestart::kNone;
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "x0")) {
    const std::string x0_path = key_path("x0");
    if (c.expect_object(*m, x0_path)) {
      std::vector<std::string> names;
      for (const UnitAxis& a : numeric_axes(space)) names.push_back(a.name());
      for (const auto& [name, value] : m->items()) {
        const std::string at = member_path(x0_path, name);
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          c.add(at, "not a parameter CMA-ES models (an unconditional float or int of \"space\")" +
                        did_you_mean(name, names));
          continue;
        }
        ParamValue v;
        try {
          v = param_from_json(nlohmann::json(value));
        } catch (const std::invalid_argument&) {
          c.add(at, "must be a number, got " + describe(value));
          continue;
        }
        const Distribution& d = space.find(name)->distribution;
        if (!v.is_number() || v.as_double() < d.low || v.as_double() > d.high) {
          c.add(at, "must be a number within [" + format_double(d.low) + ", " +
                        format_double(d.high) + "], got " + describe(value));
          continue;
        }
        out.x0[name] = v;
      }
    }
  }
  return out;
}

SamplerRegistration cmaes_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "cmaes";
  r.info.summary = "CMA-ES (with margin for ints, IPOP restarts) over the numeric parameters";
  r.info.keys = {"x0",
                 "sigma0",
                 "n_startup_trials",
                 "independent_sampler",
                 "restart_strategy",
                 "popsize",
                 "inc_popsize",
                 "with_margin",
                 "consider_pruned_trials",
                 "use_separable_cma",
                 "source_study"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_cmaes_options(block.json, block.path, block.spec.space, c);
    require_single_objective(block, c);
  };
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    SpecChecker c;
    CmaEsOptions options =
        read_cmaes_options(args.spec.sampler.block, "sampler", args.spec.space, c);
    if (!c.ok()) throw InputError(c.take());
    if (args.source_trials != nullptr) options.source_trials = *args.source_trials;
    return std::make_unique<CmaEsSampler>(args.seed, std::move(options));
  };
  return r;
}

}  // namespace hpo
