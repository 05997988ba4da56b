#include "samplers/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "samplers/param_grid.h"
#include "samplers/parzen_estimator.h"
#include "samplers/random_sampler.h"
#include "samplers/rng.h"

namespace hpo {
namespace {

constexpr int kMaxBelow = 25;     // cap of the good group (Optuna's default gamma)
constexpr int kFlatWeights = 25;  // newest observations at full weight under kRamp
// The good group's kernels may narrow down to range / (all observations / kGoodClipShare).
constexpr double kGoodClipShare = 4.0;
// Below this much kernel work (observations x candidates x dimensions, summed over the units
// of one wave) threads cost more than they save: at 1,000 trials of history over 10
// parameters (~2.4e5) a parallel wave took twice the time of a sequential one on the project's
// 2-core machine (worker wake-ups, cold caches), so only histories of several thousand trials
// go parallel.
constexpr double kParallelWork = 2e6;
constexpr std::int64_t kNotCached = std::numeric_limits<std::int64_t>::min();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A trial as TPE ranks it: lexicographic (stage, value), lower is better.
struct Ranked {
  const Trial* trial;
  double stage;  // -inf COMPLETE, -last step PRUNED, +1 PRUNED without reports, +inf RUNNING
  double value;  // signed objective (minimisation), +inf when unknown
  bool finished;
};

// A set of parameters modelled together; they share one condition, so they are active together.
struct Unit {
  std::vector<std::size_t> params;  // indexes into space.parameters(), in space order
};

// Buffers of one unit, kept between suggestions so that a warm sampler allocates little.
struct UnitWorkspace {
  ParzenEstimator below, above;
  std::vector<KernelDim> dims;
  std::vector<std::size_t> modelled;  // positions in Unit::params with a kernel
  std::vector<double> obs_below, obs_above, w_below, w_above;
  std::vector<double> candidates, log_l, log_g;
  std::vector<std::int32_t> slot;  // per ranked trial: its index in its group, -1 if absent
  std::vector<std::vector<std::uint32_t>> sorted_below, sorted_above;  // per dimension
};

void observation_weights(TpeWeights rule, std::size_t n, std::vector<double>& w) {
  w.assign(n, 1.0);
  if (rule == TpeWeights::kRamp && n > static_cast<std::size_t>(kFlatWeights)) {
    // Optuna's default_weights: linspace(1/n, 1, n - 25) for the oldest, then 25 ones.
    const std::size_t ramp = n - kFlatWeights;
    const double first = 1.0 / static_cast<double>(n);
    for (std::size_t i = 0; i < ramp; ++i) {
      w[i] = ramp == 1 ? first
                       : first + (1.0 - first) * static_cast<double>(i) /
                                     static_cast<double>(ramp - 1);
    }
  }
}

std::vector<Unit> make_units(const SearchSpace& space, const TpeOptions& opts) {
  const auto& params = space.parameters();
  std::vector<Unit> units;
  if (opts.group) {
    std::vector<const Condition*> keys;
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::size_t u = 0;
      while (u < keys.size() && !(*keys[u] == params[i].when)) ++u;
      if (u == keys.size()) {
        keys.push_back(&params[i].when);
        units.emplace_back();
      }
      units[u].params.push_back(i);
    }
    return units;
  }
  if (opts.multivariate) {
    Unit joint;
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].when.empty()) joint.params.push_back(i);
    if (!joint.params.empty()) units.push_back(std::move(joint));
    for (std::size_t i = 0; i < params.size(); ++i)
      if (!params[i].when.empty()) units.push_back(Unit{{i}});
    std::sort(units.begin(), units.end(),
              [](const Unit& a, const Unit& b) { return a.params[0] < b.params[0]; });
    return units;
  }
  for (std::size_t i = 0; i < params.size(); ++i) units.push_back(Unit{{i}});
  return units;
}

// The single value of a distribution that allows only one, if it does.
std::optional<ParamValue> only_value(const Distribution& d) {
  if (d.type == ParamType::kCategorical) {
    if (d.choices.size() == 1) return d.choices[0];
    return std::nullopt;
  }
  if (is_grid(d)) {
    if (grid_size(d) > 1) return std::nullopt;
    if (d.type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(d.low));
    return ParamValue(d.low);
  }
  if (d.high > d.low) return std::nullopt;
  return ParamValue(d.low);
}

}  // namespace

// Everything TpeSampler keeps between suggestions; a pure cache, results never depend on it.
struct TpeSampler::Workspace {
  // The space the rest was built for.
  SearchSpace space;
  std::vector<Unit> units;
  std::vector<KernelDim> dims;                                // per parameter
  std::vector<bool> fixed;                                    // parameter has a single value
  std::vector<std::pair<std::string, std::size_t>> by_name;  // parameter names, sorted
  // Stored trials' parameters on their kernel axes (NaN: absent or invalid), row = trial
  // number; ids[number] is the trial's storage id once its row is filled. Trials without a
  // storage id (0) are never cached. A stored trial's parameters never change.
  std::vector<std::int64_t> ids;
  std::vector<double> rows;
  // Per parameter, the cached rows holding a valid value, sorted by (value, trial number):
  // kept up to date incrementally, so that estimators need no sorting.
  std::vector<std::vector<std::pair<double, std::int32_t>>> sorted;
  // Per suggestion: columns[p][t] = parameter p of ranked trial t; the ranked index of each
  // cached trial number (-1: not ranked now); the ranked trials without a cached row; per
  // parameter, the ranked indexes in increasing order of its value (built on demand).
  std::vector<std::vector<double>> columns;
  std::vector<std::int32_t> t_of_number;
  std::vector<std::uint32_t> uncached;
  std::vector<std::vector<std::uint32_t>> order;
  std::vector<bool> order_ready;
  std::vector<std::int32_t> fresh;
  std::vector<UnitWorkspace> unit_workspaces;
  const std::vector<Ranked>* ranked = nullptr;

  void prepare(const SearchSpace& new_space, const TpeOptions& opts) {
    if (new_space == space && !units.empty()) return;
    space = new_space;
    const auto& params = space.parameters();
    units = make_units(space, opts);
    dims.clear();
    fixed.clear();
    by_name.clear();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const bool single = only_value(params[i].distribution).has_value();
      fixed.push_back(single);
      dims.push_back(single ? KernelDim{} : KernelDim::make(params[i].distribution));
      by_name.emplace_back(params[i].name, i);
    }
    std::sort(by_name.begin(), by_name.end());
    ids.clear();
    rows.clear();
    sorted.assign(params.size(), {});
    columns.assign(params.size(), {});
    order.assign(params.size(), {});
    unit_workspaces.clear();
    unit_workspaces.resize(units.size());
  }

  // Fills columns from the ranked trials, encoding only trials not cached yet, and brings the
  // sorted lists up to date.
  void encode(const std::vector<Ranked>& ranked_trials) {
    ranked = &ranked_trials;
    const std::size_t p = dims.size();
    std::vector<double> scratch(p);
    for (auto& col : columns) col.resize(ranked_trials.size());
    fresh.clear();
    uncached.clear();
    bool resort = false;
    for (std::size_t t = 0; t < ranked_trials.size(); ++t) {
      const Trial& trial = *ranked_trials[t].trial;
      double* row = scratch.data();
      const bool cacheable = trial.id != 0 && trial.number >= 0;
      const auto number = static_cast<std::size_t>(std::max(0, trial.number));
      if (cacheable) {
        if (number >= ids.size()) {
          ids.resize(number + 1, kNotCached);
          rows.resize((number + 1) * p);
        }
        row = &rows[number * p];
      } else {
        uncached.push_back(static_cast<std::uint32_t>(t));
      }
      if (!cacheable || ids[number] != trial.id) {
        // Both the ParamSet and by_name are in name order: one merge per trial.
        std::fill(row, row + p, std::numeric_limits<double>::quiet_NaN());
        auto it = trial.params.begin();
        for (const auto& [name, index] : by_name) {
          while (it != trial.params.end() && it->first < name) ++it;
          if (it == trial.params.end()) break;
          if (it->first != name || fixed[index]) continue;
          if (const auto x = dims[index].encode(it->second)) row[index] = *x;
        }
        if (cacheable) {
          if (ids[number] != kNotCached) resort = true;  // a row replaced: rebuild the lists
          ids[number] = trial.id;
          fresh.push_back(static_cast<std::int32_t>(number));
        }
      }
      for (std::size_t i = 0; i < p; ++i) columns[i][t] = row[i];
    }
    update_sorted(resort);
    t_of_number.assign(ids.size(), -1);
    for (std::size_t t = 0; t < ranked_trials.size(); ++t) {
      const Trial& trial = *ranked_trials[t].trial;
      if (trial.id != 0 && trial.number >= 0)
        t_of_number[static_cast<std::size_t>(trial.number)] = static_cast<std::int32_t>(t);
    }
    order_ready.assign(p, false);
  }

  void update_sorted(bool rebuild) {
    const std::size_t p = dims.size();
    for (std::size_t i = 0; i < p; ++i) {
      if (fixed[i]) continue;
      auto& list = sorted[i];
      auto value = [&](std::int32_t number) {
        return rows[static_cast<std::size_t>(number) * p + i];
      };
      if (rebuild) {
        list.clear();
        for (std::size_t number = 0; number < ids.size(); ++number) {
          const auto num = static_cast<std::int32_t>(number);
          if (ids[number] != kNotCached && !std::isnan(value(num))) list.emplace_back(value(num), num);
        }
        std::sort(list.begin(), list.end());
      } else if (fresh.size() > 64) {
        for (std::int32_t number : fresh)
          if (!std::isnan(value(number))) list.emplace_back(value(number), number);
        std::sort(list.begin(), list.end());
      } else {
        for (std::int32_t number : fresh) {
          if (std::isnan(value(number))) continue;
          const std::pair<double, std::int32_t> entry(value(number), number);
          list.insert(std::upper_bound(list.begin(), list.end(), entry), entry);
        }
      }
    }
  }

  // Ranked indexes of the trials holding parameter i, in increasing order of its value (ties
  // in trial order). Built once per suggestion; each parameter belongs to one unit, so units
  // sampled in parallel never build the same list.
  const std::vector<std::uint32_t>& order_of(std::size_t i) {
    if (order_ready[i]) return order[i];
    auto& out = order[i];
    out.clear();
    // The uncached trials (rare outside tests) are sorted here and merged in.
    std::vector<std::tuple<double, std::int32_t, std::uint32_t>> extra;
    for (std::uint32_t t : uncached) {
      const double v = columns[i][t];
      if (!std::isnan(v)) extra.emplace_back(v, (*ranked)[t].trial->number, t);
    }
    std::sort(extra.begin(), extra.end());
    auto e = extra.begin();
    for (const auto& [v, number] : sorted[i]) {
      const std::int32_t t = t_of_number[static_cast<std::size_t>(number)];
      if (t < 0) continue;
      while (e != extra.end() && std::make_pair(std::get<0>(*e), std::get<1>(*e)) <
                                     std::make_pair(v, number)) {
        out.push_back(std::get<2>(*e));
        ++e;
      }
      out.push_back(static_cast<std::uint32_t>(t));
    }
    for (; e != extra.end(); ++e) out.push_back(std::get<2>(*e));
    order_ready[i] = true;
    return out;
  }
};

namespace {

using Workspace = TpeSampler::Workspace;

// Samples every parameter of unit u (all active), returning the values in unit order.
std::vector<ParamValue> sample_unit(const TpeOptions& opts, Workspace& ws, std::size_t u,
                                    const std::vector<bool>& below, std::uint64_t seed) {
  const Unit& unit = ws.units[u];
  UnitWorkspace& uw = ws.unit_workspaces[u];
  const auto& params = ws.space.parameters();
  std::vector<ParamValue> out(unit.params.size());
  uw.dims.clear();
  uw.modelled.clear();
  for (std::size_t k = 0; k < unit.params.size(); ++k) {
    const std::size_t p = unit.params[k];
    if (ws.fixed[p]) {
      out[k] = *only_value(params[p].distribution);
      continue;
    }
    uw.modelled.push_back(k);
    uw.dims.push_back(ws.dims[p]);
  }
  if (uw.dims.empty()) return out;
  const std::size_t dn = uw.dims.size();

  // Observations of the trials holding every modelled parameter, in trial order.
  uw.obs_below.clear();
  uw.obs_above.clear();
  std::size_t n_below = 0, n_above = 0;
  const std::size_t n_trials = below.size();
  uw.slot.assign(n_trials, -1);
  for (std::size_t t = 0; t < n_trials; ++t) {
    bool complete = true;
    for (std::size_t k = 0; k < dn && complete; ++k)
      complete = !std::isnan(ws.columns[unit.params[uw.modelled[k]]][t]);
    if (!complete) continue;
    auto& dst = below[t] ? uw.obs_below : uw.obs_above;
    for (std::size_t k = 0; k < dn; ++k) dst.push_back(ws.columns[unit.params[uw.modelled[k]]][t]);
    uw.slot[t] = static_cast<std::int32_t>(below[t] ? n_below++ : n_above++);
  }
  observation_weights(opts.weights, n_below, uw.w_below);
  observation_weights(opts.weights, n_above, uw.w_above);
  // Each group's observations in increasing order of every numeric dimension, from the
  // workspace's sorted history: the estimators need no sorting of their own.
  uw.sorted_below.resize(dn);
  uw.sorted_above.resize(dn);
  for (std::size_t k = 0; k < dn; ++k) {
    uw.sorted_below[k].clear();
    uw.sorted_above[k].clear();
    if (uw.dims[k].kind == KernelDim::Kind::kCategorical) continue;
    for (std::uint32_t t : ws.order_of(unit.params[uw.modelled[k]])) {
      if (uw.slot[t] < 0) continue;
      (below[t] ? uw.sorted_below[k] : uw.sorted_above[k])
          .push_back(static_cast<std::uint32_t>(uw.slot[t]));
    }
  }

  ParzenConfig cfg;
  cfg.prior_weight = opts.prior_weight;
  cfg.consider_endpoints = opts.consider_endpoints;
  uw.above.fit(uw.dims, uw.obs_above, uw.w_above, cfg, &uw.sorted_above);
  // The good group holds only ~10% of the trials, so Optuna's clip (by the group's own size)
  // keeps its kernels wide long after the history could support finer ones. Clip it by a share
  // of all the observations instead: range / (n / 4) once that is the smaller width.
  cfg.clip_count = std::max(static_cast<double>(n_below + 1),
                            static_cast<double>(n_below + n_above + 1) / kGoodClipShare);
  uw.below.fit(uw.dims, uw.obs_below, uw.w_below, cfg, &uw.sorted_below);

  const std::string& tag = params[unit.params[0]].name;
  Rng rng(trial_seed(seed, stable_hash(tag.data(), tag.size())));
  const auto count = static_cast<std::size_t>(opts.n_ei_candidates);
  uw.below.sample(rng, count, uw.candidates);
  uw.below.log_pdf(uw.candidates, count, uw.log_l);
  uw.above.log_pdf(uw.candidates, count, uw.log_g);
  std::size_t best = 0;
  double best_score = -kInf;
  for (std::size_t c = 0; c < count; ++c) {
    const double score = uw.log_l[c] - uw.log_g[c];
    if (score > best_score) {
      best_score = score;
      best = c;
    }
  }
  for (std::size_t k = 0; k < dn; ++k)
    out[uw.modelled[k]] = uw.dims[k].decode(uw.candidates[best * dn + k]);
  return out;
}

}  // namespace

TpeSampler::TpeSampler(std::uint64_t seed, TpeOptions options)
    : seed_(seed), options_(options), workspace_(std::make_unique<Workspace>()) {}

TpeSampler::~TpeSampler() = default;

ParamSet TpeSampler::suggest(const StudyView& study, const SearchSpace& space,
                             std::uint64_t trial_number) {
  const std::uint64_t seed = trial_seed(seed_, trial_number);
  const double sign = study.direction() == Direction::kMaximize ? -1.0 : 1.0;

  std::vector<Ranked> ranked;
  ranked.reserve(study.trials().size());
  std::size_t n_finished = 0;
  for (const Trial& t : study.trials()) {
    Ranked r{&t, 0.0, kInf, true};
    switch (t.state) {
      case TrialState::kComplete:
        if (!t.value || std::isnan(*t.value)) continue;
        r.stage = -kInf;
        r.value = sign * *t.value;
        break;
      case TrialState::kPruned:
        // As Optuna: trials that got further rank first, then by their last reported value.
        if (!t.intermediate.empty()) {
          const auto& [step, v] = *t.intermediate.rbegin();
          r.stage = -static_cast<double>(step);
          r.value = std::isnan(v) ? kInf : sign * v;
        } else if (t.value && !std::isnan(*t.value)) {
          r.stage = 0.0;
          r.value = sign * *t.value;
        } else {
          r.stage = 1.0;
        }
        break;
      case TrialState::kRunning:
        if (!options_.constant_liar) continue;
        r.stage = kInf;
        r.finished = false;
        break;
      default:
        continue;  // FAIL, WAITING
    }
    if (r.finished) ++n_finished;
    ranked.push_back(r);
  }

  if (n_finished < static_cast<std::size_t>(std::max(0, options_.n_startup_trials))) {
    Rng rng(seed);
    return draw_params(space, rng);
  }

  // The good group: the best n_below finished trials (ties broken by trial order).
  const auto n_below = static_cast<std::size_t>(std::min<double>(
      std::ceil(options_.gamma * static_cast<double>(n_finished)), kMaxBelow));
  std::vector<std::size_t> order(ranked.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (ranked[a].stage != ranked[b].stage) return ranked[a].stage < ranked[b].stage;
    return ranked[a].value < ranked[b].value;
  });
  std::vector<bool> below(ranked.size(), false);
  for (std::size_t i = 0; i < std::min(n_below, order.size()); ++i) below[order[i]] = true;

  Workspace& ws = *workspace_;
  ws.prepare(space, options_);
  ws.encode(ranked);
  const auto& params = space.parameters();
  const auto& units = ws.units;

  // Waves: a unit is ready once every parent of its condition is decided (chosen or inactive);
  // the active units of a wave are independent and may be sampled in parallel.
  ParamSet chosen;
  std::map<std::string, bool> decided;
  std::vector<bool> done(units.size(), false);
  for (;;) {
    std::vector<std::size_t> ready, active;
    for (std::size_t u = 0; u < units.size(); ++u) {
      if (done[u]) continue;
      const Parameter& first = params[units[u].params[0]];
      bool parents_known = true;
      for (const auto& [parent, accepted] : first.when.parents)
        if (space.find(parent) != nullptr && !decided.count(parent)) parents_known = false;
      if (!parents_known) continue;
      ready.push_back(u);
      if (SearchSpace::is_active(first, chosen)) active.push_back(u);
    }
    if (ready.empty()) break;

    std::vector<std::vector<ParamValue>> results(active.size());
    double work = 0.0;
    for (std::size_t u : active)
      work += static_cast<double>(ranked.size() + 1) * options_.n_ei_candidates *
              static_cast<double>(units[u].params.size());
    if (active.size() > 1 && work >= kParallelWork) {
      // Isolated, so that a thread waiting here never picks up unrelated tasks of the same
      // arena (such as objectives of the threads executor) and delays the suggestion.
      tbb::this_task_arena::isolate([&] {
        tbb::parallel_for(std::size_t{0}, active.size(), [&](std::size_t i) {
          results[i] = sample_unit(options_, ws, active[i], below, seed);
        });
      });
    } else {
      for (std::size_t i = 0; i < active.size(); ++i)
        results[i] = sample_unit(options_, ws, active[i], below, seed);
    }
    for (std::size_t i = 0; i < active.size(); ++i) {
      const Unit& unit = units[active[i]];
      for (std::size_t k = 0; k < unit.params.size(); ++k)
        chosen.emplace(params[unit.params[k]].name, std::move(results[i][k]));
    }
    for (std::size_t u : ready) {
      done[u] = true;
      for (std::size_t p : units[u].params) decided[params[p].name] = true;
    }
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// Options

TpeOptions read_tpe_options(const OrderedJson& block, const std::string& path,
                            SpecChecker& c) {
  TpeOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](std::string_view key) { return member_path(path, key); };
  auto read_int = [&](const char* key, int min, int max, int& field) {
    if (const OrderedJson* m = SpecChecker::member(block, key))
      if (auto v = c.get_int(*m, key_path(key), min, max)) field = static_cast<int>(*v);
  };
  auto read_bool = [&](const char* key, bool& field) {
    if (const OrderedJson* m = SpecChecker::member(block, key))
      if (auto v = c.get_bool(*m, key_path(key))) field = *v;
  };
  read_int("n_startup_trials", 0, std::numeric_limits<int>::max(), out.n_startup_trials);
  read_int("n_ei_candidates", 1, std::numeric_limits<int>::max(), out.n_ei_candidates);
  if (const OrderedJson* m = SpecChecker::member(block, "gamma")) {
    if (auto g = c.get_number(*m, key_path("gamma"))) {
      if (*g > 0.0 && *g <= 1.0) out.gamma = *g;
      else c.add(key_path("gamma"), "must be in (0, 1], got " + format_double(*g) +
                                        " (the fraction of trials deemed good)");
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "prior_weight")) {
    if (auto w = c.get_number(*m, key_path("prior_weight"))) {
      if (*w > 0.0) out.prior_weight = *w;
      else c.add(key_path("prior_weight"), "must be > 0, got " + format_double(*w));
    }
  }
  read_bool("consider_endpoints", out.consider_endpoints);
  read_bool("multivariate", out.multivariate);
  read_bool("group", out.group);
  read_bool("constant_liar", out.constant_liar);
  if (out.group && !out.multivariate)
    c.add(key_path("group"), "requires multivariate (do not set \"multivariate\": false)");
  if (const OrderedJson* m = SpecChecker::member(block, "weights")) {
    if (auto rule = c.get_enum(*m, key_path("weights"), {"ramp", "default", "uniform"}))
      out.weights = *rule == "uniform" ? TpeWeights::kUniform : TpeWeights::kRamp;
  }
  return out;
}

SamplerRegistration tpe_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "tpe";
  r.info.summary = "Tree-structured Parzen Estimator (multivariate by default)";
  r.info.keys = {"n_startup_trials", "n_ei_candidates", "gamma",         "prior_weight",
                 "consider_endpoints", "multivariate",  "group",         "constant_liar",
                 "weights"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_tpe_options(block.json, block.path, c);
  };
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    SpecChecker c;
    TpeOptions options = read_tpe_options(args.spec.sampler.block, "sampler", c);
    c.throw_if_any();
    if (!SpecChecker::member(args.spec.sampler.block, "constant_liar"))
      options.constant_liar = args.parallelism > 1;
    return std::make_unique<TpeSampler>(args.seed, options);
  };
  return r;
}

}  // namespace hpo
