#include "samplers/grid_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "engine/model/json_codec.h"
#include "samplers/param_grid.h"
#include "samplers/rng.h"

namespace hpo {
namespace {

// Counts saturate here: a grid this large could never run, and the checker says so.
constexpr std::uint64_t kTooMany = std::uint64_t{1} << 63;

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a >= kTooMany - std::min(b, kTooMany) ? kTooMany : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kTooMany / b ? kTooMany : std::min(a * b, kTooMany);
}

bool is_continuous(const Distribution& d) {
  return d.type == ParamType::kFloat && !d.step.has_value();
}

// `v` as a value of `d`'s kind: numbers become doubles for floats and integers for ints (when
// integral), so that explicit values compare and print like sampled ones.
ParamValue normalized(const Distribution& d, const ParamValue& v) {
  if (d.type == ParamType::kFloat && v.is_int()) return ParamValue(v.as_double());
  if (d.type == ParamType::kInt && v.is_double() && std::floor(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 9e15)
    return ParamValue(static_cast<std::int64_t>(v.as_double()));
  return v;
}

// A seeded bijection of [0, n): a 4-round Feistel network on the smallest even number of bits
// that covers n, cycle-walking until the image falls below n (at most ~4 steps on average).
class Shuffle {
 public:
  Shuffle(std::uint64_t n, std::uint64_t seed) : n_(n) {
    int bits = 2;
    while (bits < 64 && (std::uint64_t{1} << bits) < n) bits += 2;
    half_ = bits / 2;
    mask_ = half_ >= 32 ? 0xFFFFFFFFULL : (std::uint64_t{1} << half_) - 1;
    Rng rng(seed);
    for (auto& k : keys_) k = rng.next();
  }

  std::uint64_t at(std::uint64_t position) const {
    std::uint64_t x = position;
    do {
      x = permute(x);
    } while (x >= n_);
    return x;
  }

 private:
  std::uint64_t permute(std::uint64_t x) const {
    std::uint64_t left = (x >> half_) & mask_, right = x & mask_;
    for (std::uint64_t key : keys_) {
      std::uint64_t z = (right ^ key) * 0x9E3779B97F4A7C15ULL;
      z = (z ^ (z >> 29)) * 0xBF58476D1CE4E5B9ULL;
      z ^= z >> 32;
      const std::uint64_t next = left ^ (z & mask_);
      left = right;
      right = next;
    }
    return (left << half_) | right;
  }

  std::uint64_t n_;
  int half_ = 1;
  std::uint64_t mask_ = 1;
  std::uint64_t keys_[4] = {};
};

}  // namespace

// The points of a grid, numbered in mixed radix over the parameters in space order. A
// parameter's points are explicit (GridOptions::values) or its distribution's own (choices,
// int or step grid, never materialised). Where later parameters' conditions look at a
// parameter, its points are counted one by one (each may open another branch); otherwise the
// block below it is the same for every point and multiplies. Counts of the tail of the space
// are memoised on the values of the earlier parameters it depends on.
class GridSampler::Grid {
 public:
  Grid(const SearchSpace& space, const GridOptions& options) : space_(space) {
    const auto& params = space.parameters();
    const std::size_t n = params.size();
    axes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      Axis& a = axes_[i];
      a.d = &space_.parameters()[i].distribution;
      if (auto it = options.values.find(params[i].name); it != options.values.end()) {
        for (const ParamValue& v : it->second) a.explicit_values.push_back(normalized(*a.d, v));
        a.count = a.explicit_values.size();
      } else if (a.d->type == ParamType::kCategorical) {
        a.count = a.d->choices.size();
      } else if (is_grid(*a.d)) {
        a.count = static_cast<std::uint64_t>(grid_size(*a.d));
      } else {
        finite_ = false;  // continuous without values
      }
    }
    // relevant_[i]: the parameters before i that some parameter at or after i names in its
    // condition; the count of the tail from i depends only on their values.
    relevant_.resize(n + 1);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i; j < n; ++j) {
        for (const auto& [parent, accepted] : params[j].when.parents) {
          for (std::size_t k = 0; k < i; ++k)
            if (params[k].name == parent &&
                std::find(relevant_[i].begin(), relevant_[i].end(), k) == relevant_[i].end())
              relevant_[i].push_back(k);
        }
      }
      std::sort(relevant_[i].begin(), relevant_[i].end());
    }
    memo_.resize(n + 1);
    if (!finite_) return;
    ParamSet chosen;
    std::vector<std::int64_t> index(n, -1);
    size_ = count(0, chosen, index);
  }

  const SearchSpace& space() const { return space_; }
  // Finite and countable (under 2^63 points).
  bool ok() const { return finite_ && size_ < kTooMany; }
  std::uint64_t size() const { return size_; }

  ParamSet decode(std::uint64_t number) const {
    const auto& params = space_.parameters();
    ParamSet chosen;
    std::vector<std::int64_t> index(params.size(), -1);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!SearchSpace::is_active(params[i], chosen)) continue;
      const Axis& a = axes_[i];
      if (!looked_at(i)) {
        const std::uint64_t block = count(i + 1, chosen, index);
        const std::uint64_t k = std::min(number / block, a.count - 1);
        number -= k * block;
        chosen.emplace(params[i].name, a.value(k));
        continue;
      }
      for (std::uint64_t k = 0; k < a.count; ++k) {
        chosen[params[i].name] = a.value(k);
        index[i] = static_cast<std::int64_t>(k);
        const std::uint64_t block = count(i + 1, chosen, index);
        if (number < block || k + 1 == a.count) break;
        number -= block;
      }
    }
    return chosen;
  }

  // The number of the point `params` is, or nullopt when it is not a point of this grid.
  std::optional<std::uint64_t> encode(const ParamSet& params) const {
    const auto& space_params = space_.parameters();
    ParamSet chosen;
    std::vector<std::int64_t> index(space_params.size(), -1);
    std::uint64_t number = 0;
    std::size_t matched = 0;
    for (std::size_t i = 0; i < space_params.size(); ++i) {
      const Parameter& p = space_params[i];
      const auto it = params.find(p.name);
      if (!SearchSpace::is_active(p, chosen)) {
        if (it != params.end()) return std::nullopt;
        continue;
      }
      if (it == params.end()) return std::nullopt;
      ++matched;
      const auto k = axes_[i].index_of(it->second);
      if (!k) return std::nullopt;
      if (!looked_at(i)) {
        number += *k * count(i + 1, chosen, index);
        chosen.emplace(p.name, it->second);
        continue;
      }
      for (std::uint64_t before = 0; before < *k; ++before) {
        chosen[p.name] = axes_[i].value(before);
        index[i] = static_cast<std::int64_t>(before);
        number += count(i + 1, chosen, index);
      }
      chosen[p.name] = axes_[i].value(*k);
      index[i] = static_cast<std::int64_t>(*k);
    }
    if (matched != params.size()) return std::nullopt;  // unknown parameters
    return number;
  }

 private:
  struct Axis {
    const Distribution* d = nullptr;
    std::vector<ParamValue> explicit_values;
    std::uint64_t count = 0;

    ParamValue value(std::uint64_t k) const {
      if (!explicit_values.empty()) return explicit_values[k];
      if (d->type == ParamType::kCategorical) return d->choices[k];
      const double v = grid_value(*d, static_cast<std::int64_t>(k));
      if (d->type == ParamType::kInt) return ParamValue(static_cast<std::int64_t>(v));
      return ParamValue(v);
    }

    std::optional<std::uint64_t> index_of(const ParamValue& v) const {
      if (!explicit_values.empty()) {
        for (std::size_t k = 0; k < explicit_values.size(); ++k)
          if (explicit_values[k] == v) return k;
        return std::nullopt;
      }
      if (d->type == ParamType::kCategorical) {
        if (auto k = d->choice_index(v)) return *k;
        return std::nullopt;
      }
      if (!d->contains(v)) return std::nullopt;
      return static_cast<std::uint64_t>(grid_index(*d, v.as_double()));
    }
  };

  // True when a later parameter's condition names parameter i.
  bool looked_at(std::size_t i) const {
    return std::find(relevant_[i + 1].begin(), relevant_[i + 1].end(), i) != relevant_[i + 1].end();
  }

  // Points of the parameters i.. given the earlier values `chosen` (index[k]: the point index
  // of parameter k when it is chosen and looked at, else -1).
  std::uint64_t count(std::size_t i, ParamSet& chosen, std::vector<std::int64_t>& index) const {
    const auto& params = space_.parameters();
    if (i == params.size()) return 1;
    std::vector<std::int64_t> key;
    key.reserve(relevant_[i].size());
    for (std::size_t k : relevant_[i]) key.push_back(index[k]);
    if (auto it = memo_[i].find(key); it != memo_[i].end()) return it->second;
    const Parameter& p = params[i];
    const Axis& a = axes_[i];
    std::uint64_t total = 0;
    if (!SearchSpace::is_active(p, chosen)) {
      total = count(i + 1, chosen, index);
    } else if (!looked_at(i)) {
      total = saturating_mul(a.count, count(i + 1, chosen, index));
    } else {
      for (std::uint64_t k = 0; k < a.count && total < kTooMany; ++k) {
        chosen[p.name] = a.value(k);
        index[i] = static_cast<std::int64_t>(k);
        total = saturating_add(total, count(i + 1, chosen, index));
      }
      chosen.erase(p.name);
      index[i] = -1;
    }
    memo_[i].emplace(std::move(key), total);
    return total;
  }

  SearchSpace space_;
  std::vector<Axis> axes_;
  std::vector<std::vector<std::size_t>> relevant_;
  mutable std::vector<std::map<std::vector<std::int64_t>, std::uint64_t>> memo_;
  bool finite_ = true;
  std::uint64_t size_ = 0;
};

GridSampler::GridSampler(std::uint64_t seed, GridOptions options)
    : seed_(seed), options_(std::move(options)) {}

GridSampler::~GridSampler() = default;

const GridSampler::Grid& GridSampler::grid_for(const SearchSpace& space) const {
  if (!grid_ || grid_->space() != space) grid_ = std::make_unique<Grid>(space, options_);
  return *grid_;
}

ParamSet GridSampler::suggest(const StudyView& study, const SearchSpace& space,
                              std::uint64_t trial_number) {
  const Grid& grid = grid_for(space);
  if (!grid.ok() || grid.size() == 0) return {};
  std::unordered_set<std::uint64_t> held, finished;
  for (const Trial& t : study.trials()) {
    const auto number = grid.encode(t.params);
    if (!number) continue;
    held.insert(*number);
    if (is_finished(t.state)) finished.insert(*number);
  }
  const Shuffle order(grid.size(), seed_);
  if (held.size() < grid.size()) {
    for (std::uint64_t position = 0;; ++position) {
      const std::uint64_t number = order.at(position);
      if (!held.count(number)) return grid.decode(number);
    }
  }
  // Every point is taken (the engine should have stopped asking): as Optuna, prefer a point
  // that has not finished yet, else any.
  if (finished.size() < grid.size()) {
    for (std::uint64_t position = 0;; ++position) {
      const std::uint64_t number = order.at(position);
      if (!finished.count(number)) return grid.decode(number);
    }
  }
  return grid.decode(order.at(trial_number % grid.size()));
}

std::optional<std::size_t> GridSampler::remaining(const StudyView& study,
                                                  const SearchSpace& space) const {
  const Grid& grid = grid_for(space);
  if (!grid.ok()) return 0;
  std::unordered_set<std::uint64_t> held;
  for (const Trial& t : study.trials())
    if (const auto number = grid.encode(t.params)) held.insert(*number);
  return static_cast<std::size_t>(grid.size() - held.size());
}

std::optional<std::uint64_t> grid_point_count(const SearchSpace& space,
                                              const GridOptions& options) {
  const GridSampler::Grid grid(space, options);
  if (!grid.ok()) return std::nullopt;
  return grid.size();
}

GridOptions read_grid_options(const OrderedJson& block, const std::string& path,
                              const SearchSpace& space, SpecChecker& c) {
  GridOptions out;
  if (!block.is_object()) return out;
  const std::string values_path = member_path(path, "values");
  std::vector<std::string> names;
  for (const auto& p : space.parameters()) names.push_back(p.name);
  if (const OrderedJson* values = SpecChecker::member(block, "values")) {
    if (c.expect_object(*values, values_path)) {
      for (const auto& [name, list] : values->items()) {
        const std::string list_path = member_path(values_path, name);
        const Parameter* p = space.find(name);
        if (p == nullptr) {
          c.add(list_path, "no parameter of that name in \"space\"" + did_you_mean(name, names));
          continue;
        }
        if (!c.expect_array(list, list_path)) continue;
        if (list.empty()) {
          c.add(list_path, "must list at least one value");
          continue;
        }
        std::vector<ParamValue> points;
        bool good = true;
        for (std::size_t j = 0; j < list.size(); ++j) {
          const std::string at = element_path(list_path, j);
          ParamValue v;
          try {
            v = normalized(p->distribution, param_from_json(nlohmann::json(list[j])));
          } catch (const std::invalid_argument&) {
            c.add(at, "must be a number, string or boolean, got " + describe(list[j]));
            good = false;
            continue;
          }
          if (!p->distribution.contains(v)) {
            c.add(at, v.to_string() + " is not a value of space." + name + " (" +
                          to_json(p->distribution).dump() + ")");
            good = false;
            continue;
          }
          if (std::find(points.begin(), points.end(), v) != points.end()) {
            c.add(at, "duplicate value " + v.to_string());
            good = false;
            continue;
          }
          points.push_back(std::move(v));
        }
        if (good) out.values.emplace(name, std::move(points));
      }
    }
  }
  bool complete = true;
  for (const auto& p : space.parameters()) {
    if (!is_continuous(p.distribution) || out.values.count(p.name)) continue;
    complete = false;
    if (block.contains("values") && block["values"].is_object() && block["values"].contains(p.name))
      continue;  // its values had issues, reported above
    c.add(member_path("space", p.name),
          "is a continuous float: the grid sampler needs its points, as a \"step\" here or "
          "as a list in " +
              member_path(values_path, p.name));
  }
  if (complete && c.ok() && !grid_point_count(space, out))
    c.add(path, "the grid has more than 2^63 points");
  return out;
}

SamplerRegistration grid_sampler_registration() {
  SamplerRegistration r;
  r.info.name = "grid";
  r.info.summary = "every point of a grid once, in a seeded order (finite spaces)";
  r.info.keys = {"values"};
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_grid_options(block.json, block.path, block.spec.space, c);
  };
  r.make = [](const SamplerArgs& args) -> std::unique_ptr<Sampler> {
    SpecChecker c;
    GridOptions options = read_grid_options(args.spec.sampler.block, "sampler", args.spec.space, c);
    if (!c.ok()) throw InputError(c.take());
    return std::make_unique<GridSampler>(args.seed, std::move(options));
  };
  r.plan = [](const StudySpec& spec) {
    SpecChecker ignored;
    const GridOptions options =
        read_grid_options(spec.sampler.block, "sampler", spec.space, ignored);
    SamplerPlan plan;
    plan.name = "grid";
    plan.grid_points = grid_point_count(spec.space, options);
    if (plan.grid_points) plan.detail = "grid of " + std::to_string(*plan.grid_points) + " points";
    return plan;
  };
  return r;
}

}  // namespace hpo
