// Pareto machinery against small sets worked out by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "samplers/pareto.h"
#include "samplers/rng.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST_CASE("domination needs no worse everywhere and better somewhere", "[samplers][pareto]") {
  CHECK(dominates({1, 2}, {2, 2}));
  CHECK(dominates({1, 1}, {2, 2}));
  CHECK_FALSE(dominates({1, 2}, {1, 2}));  // equal points do not dominate each other
  CHECK_FALSE(dominates({1, 3}, {2, 2}));  // a trade-off
  CHECK_FALSE(dominates({2, 2}, {1, 3}));
  CHECK(dominates({0, 0, 1}, {0, 0, 2}));
}

TEST_CASE("constrained domination puts feasibility first, then the smaller violation",
          "[samplers][pareto]") {
  CHECK(constrained_dominates({9, 9}, 0.0, {1, 1}, 0.5));   // feasible beats infeasible
  CHECK_FALSE(constrained_dominates({1, 1}, 0.5, {9, 9}, 0.0));
  CHECK(constrained_dominates({9, 9}, 0.1, {1, 1}, 0.5));   // smaller violation wins
  CHECK_FALSE(constrained_dominates({1, 1}, 0.3, {9, 9}, 0.3));
  CHECK(constrained_dominates({1, 1}, 0.0, {2, 2}, 0.0));   // both feasible: Pareto
  CHECK_FALSE(constrained_dominates({1, 3}, 0.0, {2, 2}, 0.0));
}

TEST_CASE("non-dominated sorting ranks a hand-worked set", "[samplers][pareto]") {
  // Front 0: (1,5) (2,3) (4,1); front 1: (3,4) (5,2); front 2: (6,6); (2,3) twice stays in 0.
  const std::vector<Point> points = {{3, 4}, {1, 5}, {6, 6}, {2, 3}, {5, 2}, {4, 1}, {2, 3}};
  CHECK(nondominated_ranks(points) == std::vector<int>{1, 0, 2, 0, 1, 0, 0});
  // Stopping once 4 points are ranked leaves the later fronts unranked.
  CHECK(nondominated_ranks(points, nullptr, 4) ==
        std::vector<int>{kUnranked, 0, kUnranked, 0, kUnranked, 0, 0});
  // With violations: the infeasible (1,5) and (4,1) fall behind every feasible point, the
  // smaller violation first; (5,2), no longer dominated by (4,1), joins the front.
  const std::vector<double> violations = {0, 2.0, 0, 0, 0, 0.5, 0};
  CHECK(nondominated_ranks(points, &violations) == std::vector<int>{1, 4, 2, 0, 0, 3, 0});
}

TEST_CASE("crowding distance of a hand-worked front", "[samplers][pareto]") {
  // Both objectives span 0..4; each inner point adds its neighbours' gap per objective.
  const std::vector<Point> points = {{0, 4}, {1, 3}, {2, 2}, {4, 0}};
  const std::vector<double> d = crowding_distance(points, {0, 1, 2, 3});
  CHECK(d[0] == kInf);
  CHECK(d[3] == kInf);
  CHECK(d[1] == Approx((2.0 - 0.0) / 4 + (4.0 - 2.0) / 4));  // neighbours (0,4) and (2,2)
  CHECK(d[2] == Approx((4.0 - 1.0) / 4 + (3.0 - 0.0) / 4));  // neighbours (1,3) and (4,0)
  // A member list picks a subset, in that order.
  const std::vector<double> sub = crowding_distance(points, {2, 0, 3});
  CHECK(sub[1] == kInf);
  CHECK(sub[2] == kInf);
  CHECK(sub[0] == Approx(4.0 / 4 + 4.0 / 4));
}

TEST_CASE("hypervolume in 2 and 3 objectives matches hand-worked volumes", "[samplers][pareto]") {
  // Staircase (1,3) (2,2) (3,1) against (4,4): 3*1 + 2*1 + 1*1 = 6.
  CHECK(hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}) == Approx(6.0));
  // A dominated point and one outside the reference add nothing.
  CHECK(hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {5, 0}}, {4, 4}) == Approx(6.0));
  CHECK(hypervolume({}, {1, 1}) == 0.0);
  // One box in 3 objectives.
  CHECK(hypervolume({{0, 0, 0}}, {1, 2, 3}) == Approx(6.0));
  // Two overlapping boxes: 1*1*2 + 2*2*1 - overlap 1*1*1 = 5 against (2,2,2) with (1,1,0)
  // (box 1x1x2) and (0,0,1) (box 2x2x1); overlap [1,2]x[1,2]x[1,2] = 1.
  CHECK(hypervolume({{1, 1, 0}, {0, 0, 1}}, {2, 2, 2}) == Approx(5.0));
  // Inclusion-exclusion over three boxes, computed independently of the slicing code.
  const std::vector<Point> pts = {{0.2, 0.5, 0.7}, {0.6, 0.1, 0.4}, {0.4, 0.4, 0.1}};
  const Point ref = {1, 1, 1};
  auto box = [&](const Point& p) { return (1 - p[0]) * (1 - p[1]) * (1 - p[2]); };
  auto join = [](const Point& a, const Point& b) {
    return Point{std::max(a[0], b[0]), std::max(a[1], b[1]), std::max(a[2], b[2])};
  };
  const double expected = box(pts[0]) + box(pts[1]) + box(pts[2]) - box(join(pts[0], pts[1])) -
                          box(join(pts[0], pts[2])) - box(join(pts[1], pts[2])) +
                          box(join(join(pts[0], pts[1]), pts[2]));
  CHECK(hypervolume(pts, ref) == Approx(expected));
}

// The volume of the union of the boxes [p, ref], cell by cell of the grid every coordinate
// makes: an independent model of hypervolume() for a handful of points.
double grid_hypervolume(const std::vector<Point>& points, const Point& ref) {
  const std::size_t d = ref.size();
  std::vector<std::vector<double>> cuts(d);
  for (std::size_t k = 0; k < d; ++k) {
    cuts[k].push_back(ref[k]);
    for (const Point& p : points)
      if (p[k] < ref[k]) cuts[k].push_back(p[k]);
    std::sort(cuts[k].begin(), cuts[k].end());
    cuts[k].erase(std::unique(cuts[k].begin(), cuts[k].end()), cuts[k].end());
  }
  double volume = 0.0;
  std::vector<std::size_t> at(d, 0);
  for (;;) {
    bool inside = true;
    double cell = 1.0;
    for (std::size_t k = 0; k < d; ++k) {
      if (at[k] + 1 >= cuts[k].size()) inside = false;
      else cell *= cuts[k][at[k] + 1] - cuts[k][at[k]];
    }
    if (inside) {
      for (const Point& p : points) {
        bool covers = true;
        for (std::size_t k = 0; k < d; ++k) covers = covers && p[k] <= cuts[k][at[k]];
        if (covers) {
          volume += cell;
          break;
        }
      }
    }
    std::size_t k = 0;
    while (k < d && ++at[k] >= cuts[k].size()) at[k++] = 0;
    if (k == d) break;
  }
  return volume;
}

TEST_CASE("hypervolume in 3 and 4 objectives matches a grid model on random sets",
          "[samplers][pareto]") {
  const int seed = GENERATE(1, 2, 3, 42);
  Rng rng(static_cast<std::uint64_t>(seed));
  for (std::size_t d : {3u, 4u}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<Point> points(1 + rng.below(9), Point(d));
      // Coarse values, so that ties and duplicates happen.
      for (Point& p : points)
        for (double& v : p) v = 0.125 * static_cast<double>(rng.below(9));
      const Point ref(d, 1.0);
      INFO("seed " << seed << " d " << d << " round " << round);
      CHECK(hypervolume(points, ref) == Approx(grid_hypervolume(points, ref)).margin(1e-12));
    }
  }
}

TEST_CASE("hypervolume contributions are what each point alone adds", "[samplers][pareto]") {
  // (1,3,1) (2,2,1) (3,1,1) under (4,4,2): one slab of height 1 over a staircase of area
  // 3 + 2 + 1 = 6; without any one of the three the area is 5, so each adds 1.
  const std::vector<Point> points = {{1, 3, 1}, {2, 2, 1}, {3, 1, 1}, {3, 3, 1.5}};
  const std::vector<double> c = hypervolume_contributions(points, {4, 4, 2});
  REQUIRE(c.size() == 4);
  CHECK(c[0] == Approx(1.0));
  CHECK(c[1] == Approx(1.0));
  CHECK(c[2] == Approx(1.0));
  CHECK(c[3] == Approx(0.0).margin(1e-12));  // dominated by (2,2,1)
  // Two equal points: neither adds anything the other does not.
  const std::vector<double> twins = hypervolume_contributions({{1, 1, 1}, {1, 1, 1}}, {2, 2, 2});
  CHECK(twins[0] == Approx(0.0).margin(1e-12));
  CHECK(twins[1] == Approx(0.0).margin(1e-12));
}

TEST_CASE("greedy hypervolume selection picks the largest contributions", "[samplers][pareto]") {
  // Against (4,4): (2,2) alone covers 4, the ends 3 each; after (2,2), (1,3) adds 1 and (3,1)
  // adds 1, (1,3) first by index.
  const std::vector<Point> points = {{3, 1}, {2, 2}, {1, 3}};
  CHECK(select_by_hypervolume(points, 1, {4, 4}) == std::vector<std::size_t>{1});
  CHECK(select_by_hypervolume(points, 2, {4, 4}) == std::vector<std::size_t>{1, 0});
  const Point ref = nadir_reference({{1, -2}, {3, -4}});
  CHECK(ref[0] == Approx(3.3));
  CHECK(ref[1] == Approx(-1.8));
}

TEST_CASE("the Pareto front of trials is feasible, complete and non-dominated",
          "[samplers][pareto]") {
  using testing::make_trial;
  // maximize accuracy, minimize latency
  const std::vector<Direction> dirs = {Direction::kMaximize, Direction::kMinimize};
  std::vector<Trial> trials;
  auto add = [&](TrialState state, double acc, double lat, std::optional<double> violation) {
    Trial t = make_trial(static_cast<int>(trials.size()), state, {});
    t.values = {acc, lat};
    t.violation = violation;
    trials.push_back(t);
  };
  add(TrialState::kComplete, 0.9, 10, 0.0);  // 0: front
  add(TrialState::kComplete, 0.8, 5, 0.0);   // 1: front
  add(TrialState::kComplete, 0.8, 12, 0.0);  // 2: dominated by 0
  add(TrialState::kComplete, 0.95, 1, 3.0);  // 3: dominates all but infeasible
  add(TrialState::kFail, 1.0, 0, 0.0);       // 4: not complete
  add(TrialState::kComplete, 0.7, 4, std::nullopt);  // 5: front (no constraints)
  std::vector<int> numbers;
  for (const Trial* t : pareto_front(trials, dirs)) numbers.push_back(t->number);
  CHECK(numbers == std::vector<int>{0, 1, 5});
  REQUIRE(minimized_values(trials[0], dirs));
  CHECK(*minimized_values(trials[0], dirs) == Point{-0.9, 10});
  CHECK_FALSE(minimized_values(trials[4], dirs));
}

}  // namespace
}  // namespace hpo
