// Helpers for the sampler tests: building histories of trials and running small studies
// through a sampler the way the study manager does (suggest, evaluate, record).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hpo/search_space.h"
#include "engine/model/study_view.h"
#include "hpo/trial.h"
#include "samplers/sampler.h"

namespace hpo::testing {

using Objective = std::function<double(const ParamSet&)>;

inline Trial make_trial(int number, TrialState state, ParamSet params,
                        std::optional<double> value = std::nullopt) {
  Trial t;
  t.id = number + 1;  // as stored trials have
  t.number = number;
  t.state = state;
  t.params = std::move(params);
  t.value = value;
  return t;
}

// Runs `n` sequential trials of `objective` through `sampler`, appending COMPLETE trials to
// `trials` (which may already hold a history).
inline void run_trials(Sampler& sampler, const SearchSpace& space, const Objective& objective,
                       int n, std::vector<Trial>& trials,
                       Direction direction = Direction::kMinimize) {
  for (int i = 0; i < n; ++i) {
    const int number = static_cast<int>(trials.size());
    const StudyView view(direction, trials);
    ParamSet p = sampler.suggest(view, space, static_cast<std::uint64_t>(number));
    const double v = objective(p);
    trials.push_back(make_trial(number, TrialState::kComplete, std::move(p), v));
  }
}

// Best (lowest) value among the trials.
inline double best_value(const std::vector<Trial>& trials) {
  double best = INFINITY;
  for (const auto& t : trials)
    if (t.value && *t.value < best) best = *t.value;
  return best;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Pearson's chi-square statistic of observed counts against expected probabilities.
inline double chi_square(const std::vector<double>& counts, const std::vector<double>& probs) {
  double total = 0.0;
  for (double c : counts) total += c;
  double stat = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double expected = total * probs[i];
    stat += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return stat;
}

// Upper 0.1% points of the chi-square distribution by degrees of freedom (1..20): a correct
// sampler fails one such check in a thousand, and the seeds are fixed.
inline double chi_square_critical_999(int dof) {
  static const double table[] = {0,      10.828, 13.816, 16.266, 18.467, 20.515, 22.458,
                                 24.322, 26.124, 27.877, 29.588, 31.264, 32.909, 34.528,
                                 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315};
  return table[dof];
}

// A mixed space with every kind of parameter and a conditional branch.
inline SearchSpace mixed_space() {
  SearchSpace s;
  s.add({"x", Distribution::float_range(-5.0, 5.0), {}});
  s.add({"lr", Distribution::float_range(1e-5, 1e-1, true), {}});
  s.add({"drop", Distribution::float_range(0.0, 0.5, false, 0.05), {}});
  s.add({"odd", Distribution::float_range(0.0, 1.0, false, 0.3), {}});
  s.add({"layers", Distribution::int_range(1, 8), {}});
  s.add({"units", Distribution::int_range(16, 1024, true), {}});
  s.add({"even", Distribution::int_range(0, 20, false, 2), {}});
  s.add({"kernel", Distribution::categorical({"rbf", "poly", "linear"}), {}});
  s.add({"degree", Distribution::int_range(2, 5),
         Condition{{{"kernel", {ParamValue("poly")}}}}});
  s.add({"coef", Distribution::float_range(0.0, 1.0),
         Condition{{{"kernel", {ParamValue("poly")}}}}});
  s.add({"gamma", Distribution::float_range(1e-4, 10.0, true),
         Condition{{{"kernel", {ParamValue("rbf"), ParamValue("poly")}}}}});
  s.add({"shrink", Distribution::categorical({true, false}),
         Condition{{{"degree", {ParamValue(3), ParamValue(4)}}}}});
  return s;
}

// A smooth objective over mixed_space() with its best in the poly branch.
inline double mixed_objective(const ParamSet& p) {
  double v = (p.at("x").as_double() - 1.0) * (p.at("x").as_double() - 1.0);
  v += std::pow(std::log10(p.at("lr").as_double()) + 3.0, 2);
  v += p.at("drop").as_double() + 0.1 * p.at("odd").as_double();
  v += 0.1 * std::pow(p.at("layers").as_double() - 3.0, 2);
  v += std::fabs(std::log2(p.at("units").as_double()) - 7.0) + 0.01 * p.at("even").as_double();
  const std::string kernel = p.at("kernel").as_string();
  if (kernel == "poly") {
    v += 0.2 * std::fabs(p.at("degree").as_double() - 3.0) + p.at("coef").as_double();
    if (p.count("shrink") && p.at("shrink").as_bool()) v -= 0.3;
  } else {
    v += 1.0;
  }
  if (p.count("gamma")) v += 0.1 * std::fabs(std::log10(p.at("gamma").as_double()) + 1.0);
  return v;
}

}  // namespace hpo::testing
