#include "samplers/pareto.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace hpo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Ranks by plain domination the points `idx` (a subset), writing rank offset + k into `ranks`;
// returns the number of fronts peeled. Stops once `enough` points are ranked.
int peel_fronts(const std::vector<Point>& points, std::vector<std::size_t> idx, int offset,
                std::size_t enough, std::vector<int>& ranks, std::size_t& ranked) {
  // A point can only be dominated by one before it in lexicographic order, so a point belongs to
  // the current front when no earlier member of that front dominates it.
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    if (points[a] != points[b]) return points[a] < points[b];
    return a < b;
  });
  int rank = offset;
  std::vector<std::size_t> front, rest;
  while (!idx.empty() && ranked < enough) {
    front.clear();
    rest.clear();
    for (std::size_t i : idx) {
      bool dominated = false;
      for (std::size_t f : front) {
        if (dominates(points[f], points[i])) {
          dominated = true;
          break;
        }
      }
      (dominated ? rest : front).push_back(i);
    }
    for (std::size_t f : front) ranks[f] = rank;
    ranked += front.size();
    ++rank;
    idx.swap(rest);
  }
  return rank - offset;
}

double hypervolume_2d(std::vector<Point>& points, const Point& ref) {
  std::sort(points.begin(), points.end());
  double area = 0.0;
  double low = ref[1];
  for (const Point& p : points) {
    if (p[1] < low) {
      area += (ref[0] - p[0]) * (low - p[1]);
      low = p[1];
    }
  }
  return area;
}

// Beume et al.'s sweep for 3 objectives, O(n log n): the points in increasing order of the last
// objective, each inserted into the staircase of the first two (a map x -> y, y decreasing
// as x grows, of the points not dominated in those two); the area under the staircase times
// the gap to the next point's last objective is each slab's volume. Dominated points leave the
// staircase unchanged.
double hypervolume_3d(std::vector<Point>& points, const Point& ref) {
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    if (a[2] != b[2]) return a[2] < b[2];
    if (a[0] != b[0]) return a[0] < b[0];
    return a[1] < b[1];
  });
  std::map<double, double> stairs;  // x -> y
  double area = 0.0;
  double volume = 0.0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double px = points[i][0], py = points[i][1];
    auto next = stairs.upper_bound(px);  // first point with x > px
    // The point with the largest x <= px has the lowest y of those: it decides domination.
    const bool dominated = next != stairs.begin() && std::prev(next)->second <= py;
    if (!dominated) {
      // The area p adds: from px to the first point below it (or the reference), the gap
      // between the staircase and py. The points p dominates (x >= px, y >= py) leave.
      auto it = stairs.lower_bound(px);
      double height = it == stairs.begin() ? ref[1] : std::prev(it)->second;
      double x = px;
      double gained = 0.0;
      while (it != stairs.end() && it->second >= py) {
        gained += (it->first - x) * (height - py);
        x = it->first;
        height = it->second;
        it = stairs.erase(it);
      }
      gained += ((it == stairs.end() ? ref[0] : it->first) - x) * (height - py);
      stairs.emplace_hint(it, px, py);
      area += gained;
    }
    const double top = i + 1 < points.size() ? points[i + 1][2] : ref[2];
    volume += area * (top - points[i][2]);
  }
  return volume;
}

// Slices on the last objective: between two consecutive values of it, the volume is the
// (d-1)-dimensional hypervolume of the points at or below the slice.
double hypervolume_rec(std::vector<Point> points, const Point& ref) {
  const std::size_t d = ref.size();
  if (points.empty()) return 0.0;
  if (d == 1) {
    double best = ref[0];
    for (const Point& p : points) best = std::min(best, p[0]);
    return ref[0] - best;
  }
  if (d == 2) return hypervolume_2d(points, ref);
  std::sort(points.begin(), points.end(),
            [d](const Point& a, const Point& b) { return a[d - 1] < b[d - 1]; });
  const Point sub_ref(ref.begin(), ref.end() - 1);
  std::vector<Point> slice;
  slice.reserve(points.size());
  double volume = 0.0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    slice.emplace_back(points[i].begin(), points[i].end() - 1);
    const double top = i + 1 < points.size() ? points[i + 1][d - 1] : ref[d - 1];
    if (top > points[i][d - 1]) volume += hypervolume_rec(slice, sub_ref) * (top - points[i][d - 1]);
  }
  return volume;
}

}  // namespace

bool dominates(const Point& a, const Point& b) {
  bool better = false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

bool constrained_dominates(const Point& a, double violation_a, const Point& b,
                           double violation_b) {
  const bool fa = violation_a <= 0.0;
  const bool fb = violation_b <= 0.0;
  if (fa && fb) return dominates(a, b);
  if (fa != fb) return fa;
  return violation_a < violation_b;
}

std::vector<int> nondominated_ranks(const std::vector<Point>& points,
                                    const std::vector<double>* violations, std::size_t enough) {
  std::vector<int> ranks(points.size(), kUnranked);
  std::vector<std::size_t> feasible, infeasible;
  for (std::size_t i = 0; i < points.size(); ++i)
    (violations != nullptr && (*violations)[i] > 0.0 ? infeasible : feasible).push_back(i);
  std::size_t ranked = 0;
  const int fronts = peel_fronts(points, feasible, 0, enough, ranks, ranked);
  if (ranked >= enough || infeasible.empty()) return ranks;
  // Infeasible points rank after every feasible one, by violation: equal violations tie.
  std::sort(infeasible.begin(), infeasible.end(), [&](std::size_t a, std::size_t b) {
    return (*violations)[a] < (*violations)[b] || ((*violations)[a] == (*violations)[b] && a < b);
  });
  int rank = fronts;
  for (std::size_t k = 0; k < infeasible.size(); ++k) {
    if (k > 0 && (*violations)[infeasible[k]] != (*violations)[infeasible[k - 1]]) {
      if (ranked >= enough) break;
      ++rank;
    }
    ranks[infeasible[k]] = rank;
    ++ranked;
  }
  return ranks;
}

std::vector<double> crowding_distance(const std::vector<Point>& points,
                                      const std::vector<std::size_t>& members) {
  const std::size_t n = members.size();
  std::vector<double> distance(n, 0.0);
  if (n == 0) return distance;
  const std::size_t m = points[members[0]].size();
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < m; ++k) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return points[members[a]][k] < points[members[b]][k];
    });
    const double lo = points[members[order.front()]][k];
    const double hi = points[members[order.back()]][k];
    distance[order.front()] = kInf;
    distance[order.back()] = kInf;
    if (!(hi > lo)) continue;
    for (std::size_t j = 1; j + 1 < n; ++j) {
      distance[order[j]] +=
          (points[members[order[j + 1]]][k] - points[members[order[j - 1]]][k]) / (hi - lo);
    }
  }
  return distance;
}

double hypervolume(std::vector<Point> points, const Point& reference) {
  points.erase(std::remove_if(points.begin(), points.end(),
                              [&](const Point& p) {
                                for (std::size_t k = 0; k < reference.size(); ++k)
                                  if (!(p[k] < reference[k])) return true;
                                return false;
                              }),
               points.end());
  if (reference.size() == 3) return hypervolume_3d(points, reference);
  if (reference.size() == 2) return hypervolume_2d(points, reference);
  // Dominated points add nothing; dropping them keeps the slices small.
  std::vector<int> ranks = nondominated_ranks(points);
  std::vector<Point> front;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (ranks[i] == 0) front.push_back(std::move(points[i]));
  return hypervolume_rec(std::move(front), reference);
}

std::vector<double> hypervolume_contributions(const std::vector<Point>& points,
                                              const Point& reference) {
  const double all = hypervolume(points, reference);
  std::vector<double> out(points.size());
  std::vector<Point> others;
  for (std::size_t i = 0; i < points.size(); ++i) {
    others.clear();
    for (std::size_t j = 0; j < points.size(); ++j)
      if (j != i) others.push_back(points[j]);
    out[i] = std::max(0.0, all - hypervolume(others, reference));
  }
  return out;
}

std::vector<std::size_t> select_by_hypervolume(const std::vector<Point>& points, std::size_t k,
                                               const Point& reference) {
  const std::size_t n = points.size();
  std::vector<std::size_t> picked;
  std::vector<bool> taken(n, false);
  // Contributions only shrink as the selection grows (hypervolume is submodular), so a stale
  // contribution is an upper bound: re-evaluate lazily, best bound first.
  std::vector<double> bound(n);
  for (std::size_t i = 0; i < n; ++i) bound[i] = hypervolume({points[i]}, reference);
  std::vector<Point> clipped;
  while (picked.size() < k) {
    std::vector<bool> fresh(n, false);
    for (;;) {
      std::size_t best = n;
      for (std::size_t i = 0; i < n; ++i)
        if (!taken[i] && (best == n || bound[i] > bound[best])) best = i;
      if (fresh[best]) {
        picked.push_back(best);
        taken[best] = true;
        break;
      }
      // What points[best] adds: its own box minus the part the picked points already cover.
      clipped.clear();
      for (std::size_t s : picked) {
        Point c(points[s].size());
        for (std::size_t j = 0; j < c.size(); ++j) c[j] = std::max(points[s][j], points[best][j]);
        clipped.push_back(std::move(c));
      }
      bound[best] = hypervolume({points[best]}, reference) - hypervolume(clipped, reference);
      fresh[best] = true;
    }
  }
  return picked;
}

Point nadir_reference(const std::vector<Point>& points) {
  if (points.empty()) return {};
  Point ref = points.front();
  for (const Point& p : points)
    for (std::size_t k = 0; k < ref.size(); ++k) ref[k] = std::max(ref[k], p[k]);
  for (double& r : ref) r = r == 0.0 ? 1e-12 : std::max(1.1 * r, 0.9 * r);
  return ref;
}

std::optional<Point> minimized_values(const Trial& trial,
                                      const std::vector<Direction>& directions) {
  if (trial.state != TrialState::kComplete) return std::nullopt;
  Point p;
  if (directions.size() == 1 && trial.values.empty()) {
    if (!trial.value) return std::nullopt;
    p.push_back(*trial.value);
  } else {
    if (trial.values.size() != directions.size()) return std::nullopt;
    p = trial.values;
  }
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (!std::isfinite(p[k])) return std::nullopt;
    if (directions[k] == Direction::kMaximize) p[k] = -p[k];
  }
  return p;
}

std::vector<const Trial*> pareto_front(const std::vector<Trial>& trials,
                                       const std::vector<Direction>& directions) {
  std::vector<const Trial*> candidates;
  std::vector<Point> points;
  for (const Trial& t : trials) {
    if (!t.feasible()) continue;
    if (auto p = minimized_values(t, directions)) {
      candidates.push_back(&t);
      points.push_back(std::move(*p));
    }
  }
  const std::vector<int> ranks = nondominated_ranks(points, nullptr, 1);
  std::vector<const Trial*> front;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (ranks[i] == 0) front.push_back(candidates[i]);
  std::sort(front.begin(), front.end(),
            [](const Trial* a, const Trial* b) { return a->number < b->number; });
  return front;
}

Point study_reference_point(const std::vector<Trial>& trials,
                            const std::vector<Direction>& directions, const Point& given) {
  if (!given.empty()) return given;
  std::vector<Point> points;
  for (const Trial& t : trials)
    if (t.feasible())
      if (auto p = minimized_values(t, directions)) points.push_back(std::move(*p));
  Point ref = nadir_reference(points);
  for (std::size_t k = 0; k < ref.size(); ++k)
    if (directions[k] == Direction::kMaximize) ref[k] = -ref[k];
  return ref;
}

double front_hypervolume(const std::vector<const Trial*>& front,
                         const std::vector<Direction>& directions, const Point& reference) {
  if (reference.size() != directions.size()) return 0.0;
  Point ref = reference;
  for (std::size_t k = 0; k < ref.size(); ++k)
    if (directions[k] == Direction::kMaximize) ref[k] = -ref[k];
  std::vector<Point> points;
  for (const Trial* t : front)
    if (auto p = minimized_values(*t, directions)) points.push_back(std::move(*p));
  return hypervolume(std::move(points), ref);
}

ParetoSummary pareto_summary(const std::vector<Trial>& trials,
                             const std::vector<Direction>& directions,
                             const Point& given_reference) {
  ParetoSummary s;
  s.front = pareto_front(trials, directions);
  s.reference = study_reference_point(trials, directions, given_reference);
  s.hypervolume = front_hypervolume(s.front, directions, s.reference);
  return s;
}

}  // namespace hpo
