// GridSampler: runs every point of a grid exactly once ("sampler": {"name": "grid"}), as
// Optuna's GridSampler, for a handful of discrete choices that must all be tried.
//
// The grid: every choice of a categorical, every value of an int or stepped float, or the
// values listed in "values" ({"lr": [0.1, 0.01], ...}; they replace the space's own points of
// that parameter and must lie inside its distribution). A continuous float without "values"
// is a spec error naming it. Conditional parameters give points only where they are active:
// with "kernel" in {rbf, poly} and "degree" in {2, 3} only under poly, the grid holds rbf,
// (poly, 2) and (poly, 3): three points, not four.
//
// Each point once: a suggestion is the first point, in an order shuffled by the seed, that no
// trial of the study holds yet, whatever that trial's state (waiting, running or finished,
// FAIL included, as Optuna counts them), so parallel workers, several runs of one study and a
// resume never repeat a point. A failed point is not retried by the grid: the engine's retry
// policy re-runs failures. remaining() counts the points no trial holds; once it is 0 the
// engine ends the study ("grid exhausted"). Points are numbered in mixed radix over the
// parameters (a branch's points in a block), so a grid of billions of points costs no memory.
//
// Deterministic: the suggestion depends on the seed and on which points the history holds
// (not on the trial number or the order of the history). Not thread-safe (as every Sampler);
// the class caches the grid built for the last space.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/spec_checker.h"
#include "engine/model/study_spec.h"
#include "hpo/search_space.h"
#include "samplers/sampler.h"
#include "samplers/sampler_registry.h"

namespace hpo {

struct GridOptions {
  // Explicit points per parameter name, replacing the space's own points of that parameter
  // (required for continuous floats). Each list non-empty, without duplicates, inside the
  // parameter's distribution. JSON "values": {"name": [v, ...], ...}.
  std::map<std::string, std::vector<ParamValue>> values;
};

// Reads the grid keys of the "sampler" object `block` at `path`, checking them against
// `space` (and that the grid is finite and countable), and reports every problem to `checker`
// with its JSON path. The one reader of these keys: the checker and the factory both call it.
GridOptions read_grid_options(const OrderedJson& block, const std::string& path,
                              const SearchSpace& space, SpecChecker& checker);

// The number of points of the grid of `space` under `options`; nullopt when there is no grid
// (a continuous float without values) or it has more than 2^63 points.
std::optional<std::uint64_t> grid_point_count(const SearchSpace& space, const GridOptions& options);

// "grid": the option above; its plan gives the grid's size.
SamplerRegistration grid_sampler_registration();

class GridSampler final : public Sampler {
 public:
  GridSampler(std::uint64_t seed, GridOptions options);
  ~GridSampler() override;

  // REQUIRES: the grid of `space` is finite (read_grid_options reported no issue). Once every
  // point is held by some trial (remaining() == 0, when the engine should not ask), repeats a
  // point still running if there is one, else a point chosen by trial_number.
  ParamSet suggest(const StudyView& study, const SearchSpace& space,
                   std::uint64_t trial_number) override;

  // The points of the grid that no trial of `study` holds.
  std::optional<std::size_t> remaining(const StudyView& study,
                                       const SearchSpace& space) const override;

  class Grid;

 private:
  const Grid& grid_for(const SearchSpace& space) const;

  const std::uint64_t seed_;
  const GridOptions options_;
  mutable std::unique_ptr<Grid> grid_;  // a cache of the grid of the last space
};

}  // namespace hpo
