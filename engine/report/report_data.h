// The data behind the HTML report and the dashboard: one JSON document per study that the page
// (assets/report.js) draws from. Bounded whatever the size of the study: plots get at most a
// few thousand points (downsampled here, server-side), so a 100,000-trial study costs the page
// no more than a 1,000-trial one. Stateless functions; thread-safe.
//
// Document:
//   study       {name, direction, metric, sampler, budget}
//   summary     StudySummary as JSON (study_summary.h)
//   space       [{name, type, low, high, log, choices, conditional}]
//   history     COMPLETE trials in number order: {total, number[], value[]} (downsampled to
//               the lowest and highest value of each run of trials when over the limit) and
//               best: {number[], value[]}, the best-so-far steps (every improvement, exact)
//   sample      COMPLETE trials for the parallel-coordinates and slice plots: {total,
//               number[], value[], params: {name: [value or null]}}: the best tenth of the
//               limit, then trials evenly spread over the rest
//   importance  ImportanceResult as JSON (param_importance.h)
//   curves      intermediate values: {total, trials: [{number, state, steps[], values[]}]}:
//               the best fifth of the limit, then the most recent (running ones first)
//   trials      {total, columns: [{key, label}], rows: [[cell...]]}: the trial table, the most
//               recent `table_rows` trials
//   pareto      only for a study with several objectives: {objectives: [{metric, direction}],
//               total, front_size, hypervolume, reference_point, number[], x[], y[],
//               feasible[], front[]}: COMPLETE trials' first two objectives, whether each is
//               feasible and on the Pareto front (pareto_front(), over every objective): every
//               trial of the front, and at most sample_trials others spread over the history
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/report/param_importance.h"
#include "hpo/search_space.h"
#include "hpo/trial.h"
#include "storage/storage.h"

namespace hpo {

struct ReportLimits {
  std::size_t history_points = 2000;  // optimization-history points
  std::size_t sample_trials = 1000;   // trials in the parallel-coordinates and slice plots
  std::size_t curves = 50;            // intermediate-value curves
  std::size_t curve_points = 200;     // points per curve
  std::size_t table_rows = 5000;      // rows of the trial table
};

// The document above. `trials` are all trials of the study, in number order; `importance` is
// computed by the caller (the dashboard caches it).
nlohmann::json build_report_data(const StudyRecord& record, const std::vector<Trial>& trials,
                                 const SearchSpace& space, const ImportanceResult& importance,
                                 const ReportLimits& limits = {});

// Indices (into `values`, in order) that keep the shape of a series with at most about
// `max_points` points: all of them when there are few enough, otherwise the first and last,
// and the lowest and highest of each of max_points / 2 equal runs. Exposed for tests.
std::vector<std::size_t> downsample_min_max(const std::vector<double>& values,
                                            std::size_t max_points);

// The table columns the report shows (the text defaults plus started and attempt).
std::vector<std::string> report_table_columns(const std::vector<Trial>& trials);

}  // namespace hpo
