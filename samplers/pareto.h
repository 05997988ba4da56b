// Pareto machinery for multi-objective studies: domination (plain and constrained),
// non-dominated sorting, crowding distance, exact hypervolume and the greedy
// hypervolume-subset selection. The one place these rules live: NSGA-II and multi-objective TPE
// use them to rank trials, the engine to print a study's front and its hypervolume.
//
// Every objective vector here is in minimisation form: minimized_values() negates the
// objectives a study maximizes. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <vector>

#include "hpo/trial.h"
#include "hpo/trial_state.h"

namespace hpo {

using Point = std::vector<double>;

// True when `a` is no worse than `b` in every objective and better in at least one.
// REQUIRES: a.size() == b.size().
bool dominates(const Point& a, const Point& b);

// Deb's constrained domination: a feasible point (violation <= 0) beats an infeasible one; of
// two infeasible points the smaller violation wins; two feasible points compare by dominates().
bool constrained_dominates(const Point& a, double violation_a, const Point& b, double violation_b);

// Non-dominated sorting: the rank of every point, 0 for the front, 1 for the front of the rest,
// and so on. With `violations` (one per point), by constrained domination. Sorting stops once
// at least `enough` points are ranked; the points left get kUnranked. Lexicographic order plus
// a check against the current front only: O(n * front size) per front.
inline constexpr int kUnranked = std::numeric_limits<int>::max();
std::vector<int> nondominated_ranks(const std::vector<Point>& points,
                                    const std::vector<double>* violations = nullptr,
                                    std::size_t enough = std::numeric_limits<std::size_t>::max());

// Crowding distance (Deb et al. 2002) of the points `members` of one front, in that order: per
// objective, the gap between each point's neighbours divided by the objective's span; the two
// ends of every objective get infinity.
std::vector<double> crowding_distance(const std::vector<Point>& points,
                                      const std::vector<std::size_t>& members);

// The exact hypervolume dominated by `points` and bounded by `reference`: the volume of the union
// of the boxes [p, reference]. Points not strictly better than the reference in every objective
// add nothing. A sweep in 2 objectives (O(n log n)), slicing on the last objective above that
// (O(n^2 log n) for 3). REQUIRES: every point has reference.size() objectives.
double hypervolume(std::vector<Point> points, const Point& reference);

// Each point's exclusive hypervolume contribution: how much the hypervolume of `points` up to
// `reference` shrinks without it (0 for a dominated point, and for each of two equal points).
// Leave-one-out over the exact hypervolume: O(n^2 log n) for 2 and 3 objectives.
std::vector<double> hypervolume_contributions(const std::vector<Point>& points,
                                              const Point& reference);

// Greedy hypervolume subset selection (as Optuna's MOTPE): picks `k` of `points` one at a time,
// each the one adding the most hypervolume to those already picked (ties: lowest index).
// Returns their indices in the order picked. REQUIRES: k <= points.size().
std::vector<std::size_t> select_by_hypervolume(const std::vector<Point>& points, std::size_t k,
                                               const Point& reference);

// Optuna's reference point for a set of points: per objective max(1.1 w, 0.9 w) of the worst
// value w (a small positive number where w is 0).
Point nadir_reference(const std::vector<Point>& points);

// The trial's objective values in minimisation form: Trial::values (or the single value)
// negated where the direction maximizes. nullopt unless the trial is COMPLETE with one finite
// value per direction.
std::optional<Point> minimized_values(const Trial& trial, const std::vector<Direction>& directions);

// The Pareto front of `trials`: the feasible COMPLETE trials that no other feasible COMPLETE
// trial dominates, in number order (duplicates of a point all belong). The one rule for "best"
// of a multi-objective study (`hpo best`, the run's progress line, the C++ API).
std::vector<const Trial*> pareto_front(const std::vector<Trial>& trials,
                                       const std::vector<Direction>& directions);

// The reference point of a study's hypervolume, in the objectives' own units (not negated):
// `given` (the spec's "reference_point") when not empty, else nadir_reference() of every
// feasible COMPLETE trial, turned back into those units. Empty while there is no such trial.
Point study_reference_point(const std::vector<Trial>& trials,
                            const std::vector<Direction>& directions, const Point& given);

// The hypervolume `front` covers up to `reference` (both in the objectives' own units). 0 when
// the reference is empty.
double front_hypervolume(const std::vector<const Trial*>& front,
                         const std::vector<Direction>& directions, const Point& reference);

// What a multi-objective study shows of its trials: the front, the reference point and the
// hypervolume between them. The one composition of the three above (the run's progress line,
// `hpo best`, the report).
struct ParetoSummary {
  std::vector<const Trial*> front;  // pareto_front()
  Point reference;                  // study_reference_point()
  double hypervolume = 0.0;         // front_hypervolume()
};
ParetoSummary pareto_summary(const std::vector<Trial>& trials,
                             const std::vector<Direction>& directions, const Point& given_reference);

}  // namespace hpo
