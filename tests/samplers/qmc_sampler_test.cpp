// QmcSampler and QmcSequence: the sequences are the published ones, scrambling keeps them
// low-discrepancy (better than random search at n = 256), the points continue by trial number
// across a resume, and the mapping to parameters is random search's.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "samplers/qmc_sampler.h"
#include "samplers/qmc_sequence.h"
#include "samplers/random_sampler.h"
#include "samplers/rng.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

// Squared L2-star discrepancy of points in [0, 1]^d (Warnock's formula): lower is more even.
double l2_star_discrepancy(const std::vector<std::vector<double>>& x) {
  const std::size_t n = x.size(), d = x[0].size();
  double a = std::pow(3.0, -static_cast<double>(d)), b = 0.0, c = 0.0;
  for (const auto& p : x) {
    double prod = 1.0;
    for (double v : p) prod *= (1.0 - v * v);
    b += prod;
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double prod = 1.0;
      for (std::size_t k = 0; k < d; ++k) prod *= 1.0 - std::max(x[i][k], x[j][k]);
      c += prod;
    }
  }
  const double dn = static_cast<double>(n);
  return a - std::pow(2.0, 1.0 - static_cast<double>(d)) / dn * b + c / (dn * dn);
}

SearchSpace unit_box(int d) {
  SearchSpace s;
  for (int i = 0; i < d; ++i)
    s.add({"x" + std::to_string(i), Distribution::float_range(0.0, 1.0), {}});
  return s;
}

std::vector<std::vector<double>> points_of(Sampler& sampler, int d, int n, int first = 0) {
  const std::vector<Trial> none;
  const SearchSpace space = unit_box(d);
  std::vector<std::vector<double>> out;
  for (int t = first; t < first + n; ++t) {
    const ParamSet p = sampler.suggest(StudyView(Direction::kMinimize, none), space,
                                       static_cast<std::uint64_t>(t));
    std::vector<double> row;
    for (int i = 0; i < d; ++i) row.push_back(p.at("x" + std::to_string(i)).as_double());
    out.push_back(row);
  }
  return out;
}

// Cells of a k x k partition of the first two coordinates that hold no point.
int empty_cells(const std::vector<std::vector<double>>& x, int k) {
  std::set<int> hit;
  for (const auto& p : x) hit.insert(static_cast<int>(p[0] * k) * k + static_cast<int>(p[1] * k));
  return k * k - static_cast<int>(hit.size());
}

}  // namespace

TEST_CASE("unscrambled sobol and halton points are the published sequences", "[samplers][qmc]") {
  const QmcSequence sobol(QmcType::kSobol, 4, false, 0);
  const std::vector<std::vector<double>> expected = {
      {0, 0, 0, 0},
      {0.5, 0.5, 0.5, 0.5},
      {0.75, 0.25, 0.25, 0.25},
      {0.25, 0.75, 0.75, 0.75},
      {0.375, 0.375, 0.625, 0.875},
      {0.875, 0.875, 0.125, 0.375},
      {0.625, 0.125, 0.875, 0.625},
      {0.125, 0.625, 0.375, 0.125}};  // scipy.stats.qmc.Sobol(d=4, scramble=False)
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(sobol.point(i) == expected[i]);
  const QmcSequence halton(QmcType::kHalton, 2, false, 0);
  CHECK(halton.point(3)[0] == Approx(0.75));
  CHECK(halton.point(3)[1] == Approx(1.0 / 9.0));
  CHECK(halton.point(4)[1] == Approx(4.0 / 9.0));
}

TEST_CASE("scrambled sobol points keep the net property: 256 points fill a 16 x 16 grid",
          "[samplers][qmc]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 42);
  QmcSampler sobol(seed);
  CHECK(empty_cells(points_of(sobol, 2, 256), 16) == 0);
  // Random search leaves about 256 / e of the cells empty.
  RandomSampler random(seed);
  CHECK(empty_cells(points_of(random, 2, 256), 16) > 60);
}

TEST_CASE("qmc points are more even than random ones at n = 256 in 5-D", "[samplers][qmc]") {
  std::vector<double> random_disc;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    RandomSampler random(seed);
    random_disc.push_back(l2_star_discrepancy(points_of(random, 5, 256)));
  }
  const double random_median = median(random_disc);
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    for (const QmcType type : {QmcType::kSobol, QmcType::kHalton}) {
      QmcOptions o;
      o.qmc_type = type;
      QmcSampler qmc(seed, o);
      const double disc = l2_star_discrepancy(points_of(qmc, 5, 256));
      INFO("seed " << seed << " type " << static_cast<int>(type) << ": " << disc << " vs random "
                   << random_median);
      CHECK(disc < 0.5 * random_median);  // Sobol is ~0.1, Halton ~0.2
    }
  }
}

TEST_CASE("qmc is reproducible per seed and differs between seeds", "[samplers][qmc]") {
  const QmcType type = GENERATE(QmcType::kSobol, QmcType::kHalton);
  QmcOptions o;
  o.qmc_type = type;
  QmcSampler a(7, o), b(7, o), c(8, o);
  const auto pa = points_of(a, 3, 50), pb = points_of(b, 3, 50), pc = points_of(c, 3, 50);
  CHECK(pa == pb);
  int same = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) same += pa[i] == pc[i];
  CHECK(same == 0);
}

TEST_CASE("qmc continues the sequence by trial number after a resume", "[samplers][qmc]") {
  // The first 128 points from one sampler and the next 128 from a new one (a resumed study)
  // are the one 256-point net.
  QmcSampler before(5);
  auto points = points_of(before, 2, 128);
  QmcSampler after(5);
  const auto rest = points_of(after, 2, 128, 128);
  points.insert(points.end(), rest.begin(), rest.end());
  CHECK(empty_cells(points, 16) == 0);
  QmcSampler whole(5);
  CHECK(points == points_of(whole, 2, 256));
}

TEST_CASE("qmc maps ints, steps, logs and choices as random search does", "[samplers][qmc]") {
  SearchSpace space;
  space.add({"n", Distribution::int_range(1, 4), {}});
  space.add({"lr", Distribution::float_range(1e-4, 1.0, true), {}});
  space.add({"c", Distribution::categorical({"a", "b"}), {}});
  space.add({"s", Distribution::float_range(0.0, 1.0, false, 0.25), {}});
  QmcSampler sampler(3);
  const std::vector<Trial> none;
  std::vector<double> n_counts(4, 0.0), lr_counts(4, 0.0), s_counts(5, 0.0);
  int a = 0;
  for (int t = 0; t < 256; ++t) {
    const ParamSet p = sampler.suggest(StudyView(Direction::kMinimize, none), space,
                                       static_cast<std::uint64_t>(t));
    CHECK(space.check(p).empty());
    n_counts[static_cast<std::size_t>(p.at("n").as_int() - 1)] += 1;
    const double decade = -std::log10(p.at("lr").as_double());  // 0 .. 4, uniform
    lr_counts[static_cast<std::size_t>(std::min(3.0, std::floor(decade)))] += 1;
    s_counts[static_cast<std::size_t>(std::lround(p.at("s").as_double() * 4))] += 1;
    a += p.at("c") == ParamValue("a");
  }
  // Each coordinate of a 256-point net is stratified over 1/256 intervals: equal shares exactly.
  for (double c : n_counts) CHECK(c == 64);
  for (double c : lr_counts) CHECK(c == 64);
  CHECK(a == 128);
  // Five step points from 256 cells: 51 or 52 each (random search would wander by ~7).
  for (double c : s_counts) CHECK(std::fabs(c - 51.2) < 1.0);
}

TEST_CASE("qmc checker names the problem of each option", "[samplers][qmc]") {
  SpecChecker c;
  read_qmc_options(OrderedJson::parse(R"({"qmc_type": "sobel", "scramble": 1})"), "sampler", 3, c);
  const auto issues = c.take();
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].path == "sampler.qmc_type");
  CHECK(issues[0].message.find("did you mean \"sobol\"") != std::string::npos);
  CHECK(issues[1].path == "sampler.scramble");
  SpecChecker big;
  read_qmc_options(OrderedJson::object(), "sampler", 2000, big);
  CHECK(big.issue_count() == 1);
}

}  // namespace hpo::testing
