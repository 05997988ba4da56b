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

#include "samplers/pareto.h"
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
  // -inf COMPLETE, -last step PRUNED, +1 PRUNED without reports, +2 COMPLETE but infeasible,
  // +inf RUNNING
  double stage;
  // signed objective (minimisation), +inf when unknown; an infeasible trial's violation; a
  // multi-objective COMPLETE trial's place in the order of multi_objective_order()
  double value;
  bool finished;
  // How many trials of the history this one stands for: 1, or the size of its stratum when
  // the bad group is subsampled (exact_history).
  double mass = 1.0;
  std::uint32_t position = 0;  // in the study view's trials (trial order)
  // A good trial's weight in l(x) relative to the others (MOTPE's hypervolume contribution in
  // a multi-objective study; 1 otherwise).
  double below_weight = 1.0;
};

// Lexicographic (stage, value, trial order): lower is better.
bool ranks_before(const Ranked& a, const Ranked& b) {
  if (a.stage != b.stage) return a.stage < b.stage;
  if (a.value != b.value) return a.value < b.value;
  return a.position < b.position;
}

// How TPE ranks trial `t` (trial pointer and position left to the caller); false when it
// ignores it: FAIL, WAITING, COMPLETE without a value, RUNNING without constant liar. A feasible
// COMPLETE trial of a multi-objective study (`directions` given) gets stage -inf and value +inf:
// its place among the others is multi_objective_order()'s, decided per suggestion.
bool rank_trial(const Trial& t, double sign, const std::vector<Direction>* directions, bool liar,
                Ranked& r) {
  r = Ranked{&t, 0.0, kInf, true};
  switch (t.state) {
    case TrialState::kComplete:
      if (!t.feasible()) {
        // As Optuna 3.1 with constraints: after every feasible and pruned trial, by violation.
        r.stage = 2.0;
        r.value = *t.violation;
        return true;
      }
      if (directions != nullptr) {
        if (!minimized_values(t, *directions)) return false;
        r.stage = -kInf;
        return true;
      }
      if (!t.value || std::isnan(*t.value)) return false;
      r.stage = -kInf;
      r.value = sign * *t.value;
      return true;
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
      return true;
    case TrialState::kRunning:
      if (!liar) return false;
      r.stage = kInf;
      r.finished = false;
      return true;
    default:
      return false;  // FAIL, WAITING
  }
}

// The ranks of the history's settled prefix, kept between suggestions: every trial before
// `count` is finished (or FAIL), and a finished stored trial never changes, so each is ranked
// once as it settles and the best kMaxBelow of them are kept in order. A suggestion then ranks
// only the trials after the prefix (the running ones and those that finished since).
struct SettledRanks {
  double sign = 0.0;
  bool liar = false;
  std::vector<Direction> directions;  // a multi-objective study's; empty for one objective
  std::size_t count = 0;          // trials of the view in the prefix
  std::int64_t last_id = 0;       // storage id of trial count - 1: is the view the same history?
  std::vector<Ranked> ranked;     // the prefix's ranked trials in trial order (trial unset)
  std::vector<std::uint32_t> top; // indexes into `ranked` of its best kMaxBelow, best first

  void sync(const std::vector<Trial>& trials, double new_sign,
            const std::vector<Direction>* new_directions, bool new_liar) {
    const std::vector<Direction> dirs = new_directions ? *new_directions : std::vector<Direction>{};
    if (new_sign != sign || new_liar != liar || dirs != directions || trials.size() < count ||
        (count > 0 && trials[count - 1].id != last_id)) {
      *this = SettledRanks{};
      sign = new_sign;
      liar = new_liar;
      directions = dirs;
    }
    for (; count < trials.size(); ++count) {
      const Trial& t = trials[count];
      // Unstored trials (id 0) are not known never to change.
      if (!is_finished(t.state) || t.id == 0) break;
      last_id = t.id;
      Ranked r;
      if (!rank_trial(t, sign, directions.empty() ? nullptr : &directions, liar, r)) continue;
      r.trial = nullptr;
      r.position = static_cast<std::uint32_t>(count);
      ranked.push_back(r);
      const auto index = static_cast<std::uint32_t>(ranked.size() - 1);
      auto at = std::upper_bound(top.begin(), top.end(), index,
                                 [&](std::uint32_t a, std::uint32_t b) {
                                   return ranks_before(ranked[a], ranked[b]);
                                 });
      if (at - top.begin() >= kMaxBelow) continue;
      top.insert(at, index);
      if (top.size() > static_cast<std::size_t>(kMaxBelow)) top.pop_back();
    }
  }
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
  std::vector<double> mass_above;  // per bad observation: the trials it stands for
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

// Optuna's ramp weight of observation i (0 = oldest) of n, at a fractional position: the ramp
// is linear, so the weight of a stratum of m observations starting at i is m times the weight
// at its middle, i + (m - 1) / 2.
double ramp_weight(TpeWeights rule, double n, double i) {
  if (rule != TpeWeights::kRamp || n <= kFlatWeights) return 1.0;
  const double ramp = n - kFlatWeights;
  if (i >= ramp) return 1.0;
  const double first = 1.0 / n;
  if (ramp <= 1.0) return first;
  return first + (1.0 - first) * std::max(0.0, i) / (ramp - 1.0);
}

// The weights of observations that stand for `mass[k]` trials each, in trial order.
void mass_weights(TpeWeights rule, const std::vector<double>& mass, std::vector<double>& w) {
  double total = 0.0;
  for (double m : mass) total += m;
  w.resize(mass.size());
  double pos = 0.0;
  for (std::size_t k = 0; k < mass.size(); ++k) {
    w[k] = mass[k] * ramp_weight(rule, total, pos + (mass[k] - 1.0) / 2.0);
    pos += mass[k];
  }
}

std::vector<Unit> make_units(const SearchSpace& space, const TpeOptions& opts, bool joint) {
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
  if (joint) {
    Unit joint_unit;
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].when.empty()) joint_unit.params.push_back(i);
    if (!joint_unit.params.empty()) units.push_back(std::move(joint_unit));
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
  bool joint = true;  // the units model the unconditional parameters jointly
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
  // The sorted lists miss rows encoded while subsampling (which does not use them): rebuild
  // them before they are used again.
  bool sorted_stale = false;
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
  SettledRanks settled;

  void prepare(const SearchSpace& new_space, const TpeOptions& opts, bool new_joint) {
    if (new_space == space && new_joint == joint && !units.empty()) return;
    space = new_space;
    joint = new_joint;
    const auto& params = space.parameters();
    units = make_units(space, opts, joint);
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
    sorted_stale = false;
    columns.assign(params.size(), {});
    order.assign(params.size(), {});
    unit_workspaces.clear();
    unit_workspaces.resize(units.size());
  }

  // Fills columns from the ranked trials, encoding only trials not cached yet, and brings the
  // sorted lists up to date when `keep_sorted` (the exact path uses them; keeping them sorted
  // costs a shift of the whole list per new trial, which the subsampled path avoids).
  void encode(const std::vector<Ranked>& ranked_trials, bool keep_sorted) {
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
    if (!keep_sorted) {
      sorted_stale = true;
    } else {
      update_sorted(resort || sorted_stale);
      sorted_stale = false;
    }
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
                                    const std::vector<Ranked>& ranked,
                                    const std::vector<bool>& below, bool subsampled,
                                    std::uint64_t seed) {
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
  double mass_above = 0.0;
  const std::size_t n_trials = below.size();
  uw.slot.assign(n_trials, -1);
  uw.mass_above.clear();
  for (std::size_t t = 0; t < n_trials; ++t) {
    bool complete = true;
    for (std::size_t k = 0; k < dn && complete; ++k)
      complete = !std::isnan(ws.columns[unit.params[uw.modelled[k]]][t]);
    if (!complete) continue;
    auto& dst = below[t] ? uw.obs_below : uw.obs_above;
    for (std::size_t k = 0; k < dn; ++k) dst.push_back(ws.columns[unit.params[uw.modelled[k]]][t]);
    uw.slot[t] = static_cast<std::int32_t>(below[t] ? n_below++ : n_above++);
    if (!below[t]) {
      uw.mass_above.push_back(ranked[t].mass);
      mass_above += ranked[t].mass;
    }
  }
  observation_weights(opts.weights, n_below, uw.w_below);
  for (std::size_t t = 0; t < n_trials; ++t)
    if (below[t] && uw.slot[t] >= 0) uw.w_below[uw.slot[t]] *= ranked[t].below_weight;
  if (subsampled) mass_weights(opts.weights, uw.mass_above, uw.w_above);
  else observation_weights(opts.weights, n_above, uw.w_above);
  // Each group's observations in increasing order of every numeric dimension, from the
  // workspace's sorted history: the estimators need no sorting of their own.
  uw.sorted_below.resize(dn);
  uw.sorted_above.resize(dn);
  for (std::size_t k = 0; k < dn && !subsampled; ++k) {
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
  // A subsample is small: the estimators sort it themselves.
  uw.above.fit(uw.dims, uw.obs_above, uw.w_above, cfg, subsampled ? nullptr : &uw.sorted_above);
  // The good group holds only ~10% of the trials, so Optuna's clip (by the group's own size)
  // keeps its kernels wide long after the history could support finer ones. Clip it by a share
  // of all the observations instead: range / (n / 4) once that is the smaller width.
  cfg.clip_count = std::max(static_cast<double>(n_below + 1),
                            (static_cast<double>(n_below + 1) + mass_above) / kGoodClipShare);
  uw.below.fit(uw.dims, uw.obs_below, uw.w_below, cfg, subsampled ? nullptr : &uw.sorted_below);

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

// MOTPE's split (Optuna 3.1's _split_complete_trials_multi_objective): the place of each point
// in the order "good first" when the good group takes n_below of them: whole non-domination
// ranks while they fit, then from the rank that does not fit, the points greedily adding the
// most hypervolume (against that rank's nadir reference). Points beyond keep their index order
// behind them.
std::vector<std::size_t> multi_objective_order(const std::vector<Point>& points,
                                               std::size_t n_below) {
  const std::size_t n = points.size();
  const std::vector<int> ranks = nondominated_ranks(points, nullptr, std::min(n_below, n));
  std::vector<std::size_t> place(n, n);
  std::size_t next = 0;
  for (int rank = 0; next < n_below; ++rank) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < n; ++i)
      if (ranks[i] == rank) members.push_back(i);
    if (members.empty()) break;
    if (next + members.size() <= n_below) {
      for (std::size_t i : members) place[i] = next++;
      continue;
    }
    std::vector<Point> front;
    for (std::size_t i : members) front.push_back(points[i]);
    for (std::size_t k : select_by_hypervolume(front, n_below - next, nadir_reference(front)))
      place[members[k]] = next++;
    break;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (place[i] == n) place[i] = next++;
  return place;
}

// MOTPE's weights of the good group (Optuna 3.1's _calculate_weights_below_for_multi_objective):
// each point's hypervolume contribution within the group, against the group's nadir reference,
// plus a tiny epsilon, over the largest. With one point, 1.
std::vector<double> good_group_weights(const std::vector<Point>& points) {
  constexpr double kEps = 1e-12;
  if (points.size() <= 1) return std::vector<double>(points.size(), 1.0);
  std::vector<double> w = hypervolume_contributions(points, nadir_reference(points));
  double most = 0.0;
  for (double& c : w) most = std::max(most, c += kEps);
  for (double& c : w) c = std::clamp(c / most, 0.0, 1.0);
  return w;
}

// The draws of the bad group's strata when it is subsampled (see TpeOptions::exact_history):
// the newest cap / 2 bad trials as they are, and from each of cap - cap / 2 equal strata (in
// trial order) of the older ones one trial drawn at random, weighing the whole stratum.
// `bad_count` > cap. Calls keep(k, mass) for each kept bad trial k (0 = the oldest).
template <typename Keep>
void subsample_bad_group(std::size_t cap, std::size_t bad_count, std::uint64_t seed, Keep keep) {
  const std::size_t newest = cap / 2;
  const std::size_t strata = cap - newest;
  const std::size_t older = bad_count - newest;  // > strata, as bad_count > cap
  Rng rng(trial_seed(seed, stable_hash("exact_history", 13)));
  for (std::size_t s = 0; s < strata; ++s) {
    const std::size_t first = s * older / strata;
    const std::size_t last = (s + 1) * older / strata;  // > first, as older > strata
    keep(first + rng.below(last - first), static_cast<double>(last - first));
  }
  for (std::size_t k = older; k < bad_count; ++k) keep(k, 1.0);
}

}  // namespace

TpeSampler::TpeSampler(std::uint64_t seed, TpeOptions options)
    : seed_(seed), options_(options), workspace_(std::make_unique<Workspace>()) {}

TpeSampler::~TpeSampler() = default;

ParamSet TpeSampler::suggest(const StudyView& study, const SearchSpace& space,
                             std::uint64_t trial_number) {
  const std::uint64_t seed = trial_seed(seed_, trial_number);
  const double sign = study.direction() == Direction::kMaximize ? -1.0 : 1.0;

  const std::vector<Trial>& all = study.trials();
  Workspace& ws = *workspace_;
  SettledRanks& settled = ws.settled;
  const std::vector<Direction>* directions =
      study.multi_objective() ? &study.directions() : nullptr;
  settled.sync(all, sign, directions, options_.constant_liar);
  std::vector<Ranked> tail;  // the ranked trials after the settled prefix
  for (std::size_t p = settled.count; p < all.size(); ++p) {
    Ranked r;
    if (!rank_trial(all[p], sign, directions, options_.constant_liar, r)) continue;
    r.position = static_cast<std::uint32_t>(p);
    tail.push_back(r);
  }
  std::size_t n_finished = settled.ranked.size();
  for (const Ranked& r : tail) n_finished += r.finished ? 1 : 0;

  if (n_finished < static_cast<std::size_t>(std::max(0, options_.n_startup_trials))) {
    Rng rng(seed);
    return draw_params(space, rng);
  }

  // The good group: the best n_below finished trials (ties broken by trial order), among the
  // prefix's best and the tail.
  const auto n_below = static_cast<std::size_t>(std::min<double>(
      std::ceil(options_.gamma * static_cast<double>(n_finished)), kMaxBelow));
  std::vector<Ranked> good;
  if (directions == nullptr) {
    for (std::uint32_t i : settled.top) good.push_back(settled.ranked[i]);
    for (const Ranked& r : tail) good.push_back(r);
  } else {
    // Multi-objective: the feasible COMPLETE trials' order is MOTPE's split of them all.
    good.reserve(settled.ranked.size() + tail.size());
    good.insert(good.end(), settled.ranked.begin(), settled.ranked.end());
    good.insert(good.end(), tail.begin(), tail.end());
    std::vector<std::size_t> multi;  // into good
    std::vector<Point> points;
    for (std::size_t i = 0; i < good.size(); ++i) {
      if (good[i].stage != -kInf) continue;
      multi.push_back(i);
      points.push_back(*minimized_values(all[good[i].position], *directions));
    }
    const std::vector<std::size_t> place = multi_objective_order(points, n_below);
    for (std::size_t k = 0; k < multi.size(); ++k)
      good[multi[k]].value = static_cast<double>(place[k]);
  }
  std::sort(good.begin(), good.end(), ranks_before);
  good.resize(std::min(n_below, good.size()));
  std::vector<std::uint32_t> good_positions;
  for (const Ranked& r : good) good_positions.push_back(r.position);
  std::sort(good_positions.begin(), good_positions.end());
  auto is_good = [&](std::uint32_t position) {
    return std::binary_search(good_positions.begin(), good_positions.end(), position);
  };

  // The history TPE models, in trial order: whole, or with its bad group subsampled.
  const std::size_t n_ranked = settled.ranked.size() + tail.size();
  const auto cap = static_cast<std::size_t>(
      options_.exact_history > 0 ? std::max(2, options_.exact_history) : 0);
  const bool subsampled = cap > 0 && n_ranked - good.size() > cap;
  std::vector<Ranked> ranked;
  std::vector<bool> below;
  if (!subsampled) {
    ranked.reserve(n_ranked);
    ranked.insert(ranked.end(), settled.ranked.begin(), settled.ranked.end());
    ranked.insert(ranked.end(), tail.begin(), tail.end());
  } else {
    // Bad trial k in trial order: the prefix's ranked trials, then the tail's, skipping the
    // good ones (at most kMaxBelow: a short walk).
    std::vector<std::uint32_t> good_settled, good_tail;  // indexes, increasing
    // Positions are increasing in both lists: each good one is found by binary search.
    for (std::uint32_t position : good_positions) {
      if (position < settled.count) {
        const auto it = std::lower_bound(
            settled.ranked.begin(), settled.ranked.end(), position,
            [](const Ranked& r, std::uint32_t p) { return r.position < p; });
        good_settled.push_back(static_cast<std::uint32_t>(it - settled.ranked.begin()));
      } else {
        const auto it = std::lower_bound(tail.begin(), tail.end(), position,
                                         [](const Ranked& r, std::uint32_t p) {
                                           return r.position < p;
                                         });
        good_tail.push_back(static_cast<std::uint32_t>(it - tail.begin()));
      }
    }
    const std::size_t bad_settled = settled.ranked.size() - good_settled.size();
    auto skip = [](std::size_t k, const std::vector<std::uint32_t>& skipped) {
      for (std::uint32_t g : skipped) {
        if (g > k) break;
        ++k;
      }
      return k;
    };
    ranked = good;
    subsample_bad_group(cap, n_ranked - good.size(), seed, [&](std::size_t k, double mass) {
      Ranked r = k < bad_settled ? settled.ranked[skip(k, good_settled)]
                                 : tail[skip(k - bad_settled, good_tail)];
      r.mass = mass;
      ranked.push_back(r);
    });
    std::sort(ranked.begin(), ranked.end(),
              [](const Ranked& a, const Ranked& b) { return a.position < b.position; });
  }
  below.resize(ranked.size());
  for (std::size_t t = 0; t < ranked.size(); ++t) {
    ranked[t].trial = &all[ranked[t].position];
    below[t] = is_good(ranked[t].position);
  }
  if (directions != nullptr) {
    // MOTPE weighs the good group's feasible COMPLETE trials by their hypervolume
    // contributions; the others of the group (pruned or infeasible ones filling it up) get
    // Optuna's epsilon. Where hpo departs from Optuna 3.1: while the good group holds no
    // feasible trial at all, its members keep equal weights. Optuna's epsilons then leave l(x)
    // nothing but the prior, so the search for the feasible region is a random one; equal
    // weights make it TPE on the violation, which is what the split by violation intends.
    std::vector<std::size_t> members, others;
    std::vector<Point> points;
    for (std::size_t t = 0; t < ranked.size(); ++t) {
      if (!below[t]) continue;
      if (ranked[t].stage == -kInf) {
        members.push_back(t);
        points.push_back(*minimized_values(*ranked[t].trial, *directions));
      } else {
        others.push_back(t);
      }
    }
    if (!members.empty()) {
      const std::vector<double> w = good_group_weights(points);
      for (std::size_t k = 0; k < members.size(); ++k) ranked[members[k]].below_weight = w[k];
      for (std::size_t t : others) ranked[t].below_weight = 1e-12;
    }
  }

  ws.prepare(space, options_, options_.joint(directions == nullptr ? 1 : directions->size()));
  ws.encode(ranked, !subsampled);
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
          results[i] = sample_unit(options_, ws, active[i], ranked, below, subsampled, seed);
        });
      });
    } else {
      for (std::size_t i = 0; i < active.size(); ++i)
        results[i] = sample_unit(options_, ws, active[i], ranked, below, subsampled, seed);
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
  read_int("exact_history", 0, std::numeric_limits<int>::max(), out.exact_history);
  read_bool("consider_endpoints", out.consider_endpoints);
  if (const OrderedJson* m = SpecChecker::member(block, "multivariate"))
    if (auto v = c.get_bool(*m, key_path("multivariate"))) out.multivariate = *v;
  read_bool("group", out.group);
  read_bool("constant_liar", out.constant_liar);
  if (out.group && out.multivariate == false)
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
                 "weights",          "exact_history"};
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
