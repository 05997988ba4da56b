// RandomSampler: the distribution of its draws, checked by chi-square tests on fixed seeds.
#include <catch2/catch.hpp>

#include <cmath>

#include "samplers/random_sampler.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

constexpr int kDraws = 6000;

// kDraws values of the single parameter of `space` (each draw a new trial of an empty study).
std::vector<ParamValue> draws(const SearchSpace& space, std::uint64_t seed) {
  RandomSampler sampler(seed);
  const std::vector<Trial> none;
  std::vector<ParamValue> out;
  for (int i = 0; i < kDraws; ++i) {
    const ParamSet p =
        sampler.suggest(StudyView(Direction::kMinimize, none), space, static_cast<std::uint64_t>(i));
    out.push_back(p.begin()->second);
  }
  return out;
}

SearchSpace one(const std::string& name, Distribution d) {
  SearchSpace s;
  s.add({name, std::move(d), {}});
  return s;
}

}  // namespace

TEST_CASE("random sampler draws log floats uniformly in log space", "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const auto values = draws(one("lr", Distribution::float_range(1e-5, 1.0, true)), seed);
  constexpr int kBins = 10;
  std::vector<double> counts(kBins, 0.0);
  for (const auto& v : values) {
    const double x = v.as_double();
    REQUIRE(x >= 1e-5);
    REQUIRE(x <= 1.0);
    const double u = (std::log(x) - std::log(1e-5)) / (std::log(1.0) - std::log(1e-5));
    counts[static_cast<std::size_t>(std::min(kBins - 1, static_cast<int>(u * kBins)))] += 1;
  }
  const double stat = chi_square(counts, std::vector<double>(kBins, 1.0 / kBins));
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(kBins - 1));
  // A linear-uniform sampler would put ~90% of the draws in the top decade.
  CHECK(counts.back() < 0.2 * kDraws);
}

TEST_CASE("random sampler keeps int bounds inclusive, each value equally likely",
          "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const auto values = draws(one("n", Distribution::int_range(-2, 3)), seed);
  std::vector<double> counts(6, 0.0);
  for (const auto& v : values) {
    REQUIRE(v.is_int());
    REQUIRE(v.as_int() >= -2);
    REQUIRE(v.as_int() <= 3);
    counts[static_cast<std::size_t>(v.as_int() + 2)] += 1;
  }
  // Both ends are hit as often as the middle values (rounding a continuous draw would halve
  // them).
  CHECK(counts.front() > 0.8 * kDraws / 6.0);
  CHECK(counts.back() > 0.8 * kDraws / 6.0);
  const double stat = chi_square(counts, std::vector<double>(6, 1.0 / 6.0));
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(5));
}

TEST_CASE("random sampler draws log ints by the log width of each integer's cell",
          "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const auto values = draws(one("units", Distribution::int_range(1, 20, true)), seed);
  // P(k) = log((k + 1/2) / (k - 1/2)) / log(20.5 / 0.5); bins 1, 2, 3, 4-6, 7-11, 12-20.
  const std::vector<std::pair<int, int>> bins = {{1, 1}, {2, 2}, {3, 3}, {4, 6}, {7, 11}, {12, 20}};
  const double total = std::log(20.5 / 0.5);
  std::vector<double> probs, counts(bins.size(), 0.0);
  for (const auto& [lo, hi] : bins) probs.push_back(std::log((hi + 0.5) / (lo - 0.5)) / total);
  for (const auto& v : values) {
    REQUIRE(v.is_int());
    const auto k = v.as_int();
    REQUIRE(k >= 1);
    REQUIRE(k <= 20);
    for (std::size_t b = 0; b < bins.size(); ++b)
      if (k >= bins[b].first && k <= bins[b].second) counts[b] += 1;
  }
  const double stat = chi_square(counts, probs);
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(static_cast<int>(bins.size()) - 1));
}

TEST_CASE("random sampler draws categorical choices with equal frequency",
          "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const std::vector<ParamValue> choices = {"a", 2, 3.5, true, "e"};
  const auto values = draws(one("c", Distribution::categorical(choices)), seed);
  std::vector<double> counts(choices.size(), 0.0);
  for (const auto& v : values) {
    bool found = false;
    for (std::size_t i = 0; i < choices.size(); ++i) {
      // Same kind and value (2 and 2.0 would compare equal as numbers).
      if (v == choices[i] && v.variant().index() == choices[i].variant().index()) {
        counts[i] += 1;
        found = true;
      }
    }
    REQUIRE(found);
  }
  const double stat = chi_square(counts, std::vector<double>(choices.size(), 0.2));
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(4));
}

TEST_CASE("random sampler draws stepped floats uniformly over the grid points",
          "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  // 0, 0.3, 0.6, 0.9: the range is not a whole number of steps.
  const auto values = draws(one("d", Distribution::float_range(0.0, 1.0, false, 0.3)), seed);
  std::vector<double> counts(4, 0.0);
  for (const auto& v : values) {
    const double k = v.as_double() / 0.3;
    REQUIRE(std::fabs(k - std::round(k)) < 1e-9);
    REQUIRE(std::round(k) >= 0);
    REQUIRE(std::round(k) <= 3);
    counts[static_cast<std::size_t>(std::round(k))] += 1;
  }
  const double stat = chi_square(counts, std::vector<double>(4, 0.25));
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(3));
}

TEST_CASE("random sampler draws plain floats uniformly", "[samplers][random]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  const auto values = draws(one("x", Distribution::float_range(-3.0, 7.0)), seed);
  std::vector<double> counts(10, 0.0);
  for (const auto& v : values) {
    REQUIRE(v.as_double() >= -3.0);
    REQUIRE(v.as_double() <= 7.0);
    counts[static_cast<std::size_t>(std::min(9.0, std::floor(v.as_double() + 3.0)))] += 1;
  }
  const double stat = chi_square(counts, std::vector<double>(10, 0.1));
  INFO("chi-square " << stat);
  CHECK(stat < chi_square_critical_999(9));
}

TEST_CASE("random sampler gives a trial the same parameters whatever came before",
          "[samplers][random]") {
  // Resume-safety: trial 17's draw does not depend on the history.
  RandomSampler sampler(4);
  const SearchSpace space = mixed_space();
  const std::vector<Trial> none;
  std::vector<Trial> some;
  run_trials(sampler, space, mixed_objective, 12, some);
  CHECK(sampler.suggest(StudyView(Direction::kMinimize, none), space, 17) ==
        sampler.suggest(StudyView(Direction::kMinimize, some), space, 17));
}

}  // namespace hpo::testing
