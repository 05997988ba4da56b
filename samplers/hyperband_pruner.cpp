#include "samplers/hyperband_pruner.h"

#include <climits>
#include <cmath>
#include <numeric>

#include "samplers/successive_halving_pruner.h"

namespace hpo {
namespace {

// 2^64 / golden ratio: the step of the Weyl sequence that spreads trial numbers over brackets.
constexpr std::uint64_t kGoldenStep = 0x9e3779b97f4a7c15ULL;

}  // namespace

HyperbandOptions read_hyperband_options(const OrderedJson& block, const std::string& path,
                                        SpecChecker& c) {
  HyperbandOptions out;
  if (!block.is_object()) return out;
  auto key_path = [&](const char* key) { return member_path(path, key); };
  if (const OrderedJson* m = SpecChecker::member(block, "min_resource"))
    if (auto v = c.get_int(*m, key_path("min_resource"), 1)) out.min_resource = *v;
  const OrderedJson* max = SpecChecker::member(block, "max_resource");
  if (max != nullptr) {
    if (max->is_number()) {
      if (auto v = c.get_int(*max, key_path("max_resource"), 1)) {
        if (*v < out.min_resource)
          c.add(key_path("max_resource"), "must be >= min_resource (" +
                                              std::to_string(out.min_resource) + "), got " +
                                              std::to_string(*v));
        else
          out.max_resource = *v;
      }
    } else if (!max->is_string() || max->get<std::string>() != "auto") {
      c.add(key_path("max_resource"), "must be an integer >= 1 or \"auto\", got " + describe(*max));
    }
  }
  if (const OrderedJson* m = SpecChecker::member(block, "reduction_factor"))
    if (auto v = c.get_int(*m, key_path("reduction_factor"), 2, 1000))
      out.reduction_factor = static_cast<int>(*v);
  if (const OrderedJson* m = SpecChecker::member(block, "bootstrap_count")) {
    if (auto v = c.get_int(*m, key_path("bootstrap_count"), 0, INT_MAX)) {
      out.bootstrap_count = static_cast<int>(*v);
      if (*v > 0 && (max == nullptr || max->is_string()))
        c.add(key_path("bootstrap_count"),
              "needs an explicit integer \"max_resource\" (not \"auto\"), as in Optuna");
    }
  }
  return out;
}

std::vector<int> HyperbandPruner::bracket_shares(std::int64_t max_resource) const {
  std::vector<int> shares;
  if (max_resource < options_.min_resource) return shares;
  const double rf = options_.reduction_factor;
  // floor(log_rf(max / min)) + 1, exact for powers (no floating-point off-by-one).
  int n = 1;
  for (std::int64_t r = options_.min_resource; r <= max_resource / options_.reduction_factor;
       r *= options_.reduction_factor)
    ++n;
  for (int b = 0; b < n; ++b) {
    const int s = n - 1 - b;
    shares.push_back(static_cast<int>(std::ceil(n * std::pow(rf, s) / (s + 1))));
  }
  return shares;
}

int HyperbandPruner::bracket_of(const std::vector<int>& shares, int trial_number) {
  const auto total = static_cast<std::uint64_t>(std::accumulate(shares.begin(), shares.end(), 0));
  // u = frac((number + 1) / golden ratio) in 64-bit fixed point, scaled to [0, total): a
  // low-discrepancy sequence, so that every run of consecutive numbers (the first 30 trials of a
  // study as much as the first 30,000) splits over the brackets in proportion to their shares.
  // A hash (as Optuna's crc32) gives those proportions only on average: with the hash hpo used
  // before, trials 0-29 put 3 trials in the never-pruning bracket where 2.4 belong.
  const std::uint64_t u = (static_cast<std::uint64_t>(trial_number) + 1) * kGoldenStep;
  // Its top 32 bits times total (< 2^31) fits in 64 bits.
  auto left = static_cast<std::int64_t>(((u >> 32) * total) >> 32);
  for (std::size_t b = 0; b < shares.size(); ++b) {
    left -= shares[b];
    if (left < 0) return static_cast<int>(b);
  }
  return static_cast<int>(shares.size()) - 1;  // unreachable
}

std::optional<std::int64_t> HyperbandPruner::max_resource(const StudyView& study) const {
  if (options_.max_resource) return options_.max_resource;
  const std::optional<std::int64_t> last = study.last_step(TrialState::kComplete);
  if (!last) return std::nullopt;
  return *last + 1;
}

BracketRule HyperbandPruner::brackets(const StudyView& study) const {
  const auto max = max_resource(study);
  if (!max) return {};
  std::vector<int> shares = bracket_shares(*max);
  if (shares.empty()) return {};
  return [shares = std::move(shares)](int number) { return bracket_of(shares, number); };
}

PruneDecision HyperbandPruner::should_prune(const StudyView& study, const Trial& trial,
                                            std::int64_t step) const {
  const auto max = max_resource(study);
  if (!max) return PruneDecision::keep();
  const std::vector<int> shares = bracket_shares(*max);
  if (shares.empty()) return PruneDecision::keep();
  const int b = bracket_of(shares, trial.number);
  PruneDecision d = successive_halving_decision(
      study, trial, step, options_.min_resource, options_.reduction_factor, b,
      options_.bootstrap_count, [&](int number) { return bracket_of(shares, number) == b; });
  if (d.prune) d.reason = "bracket " + std::to_string(b) + ": " + d.reason;
  return d;
}

PrunerRegistration hyperband_pruner_registration() {
  return options_pruner_registration(
      "hyperband", "Hyperband: ASHA in brackets of different aggressiveness",
      {"min_resource", "max_resource", "reduction_factor", "bootstrap_count"},
      read_hyperband_options,
      [](HyperbandOptions options) { return std::make_unique<HyperbandPruner>(options); });
}

}  // namespace hpo
