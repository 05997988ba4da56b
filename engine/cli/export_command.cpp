// hpo export STUDY --format csv|json|optuna -o FILE: a study's trials for other tools. CSV and
// JSON are the flat trial table (trial_table.h: one row per trial, one column per parameter,
// metric and intermediate step) that pandas reads as is; optuna is a SQLite database in Optuna
// 3.1's schema (optuna_export.h). An existing FILE is kept unless --force; the file appears
// whole or not at all.
#include <cstdio>
#include <iostream>

#include "engine/cli/study_access.h"
#include "engine/report/optuna_export.h"
#include "engine/report/output_file.h"
#include "engine/report/study_space.h"
#include "engine/model/text.h"
#include "engine/report/text_safety.h"
#include "engine/report/trial_table.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kExportUsage =
    R"(usage: hpo export STUDY --format csv|json|optuna -o FILE [--force]
                  [--storage PATH | --spec FILE]

Writes every trial of STUDY to FILE:
  csv     one row per trial: number, state, value, duration_s, started, finished, attempt,
          retry_of, best_intermediate, best_step, params_NAME (empty when a conditional
          parameter is absent), metrics_NAME, intermediate_STEP, reason, trial_dir, location.
          pandas.read_csv(FILE) reads it as is.
  json    the same table as a list of records (null where CSV is empty): pandas.read_json(FILE).
  optuna  a SQLite database in Optuna 3.1's schema:
          optuna.load_study(study_name=STUDY, storage="sqlite:///FILE") and optuna-dashboard
          read it (parameters with their distributions, values, intermediate values, states,
          times; metrics, reasons and retries as user attributes).
-o - writes CSV or JSON to stdout. An existing FILE is refused unless --force.)";

}  // namespace

int export_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("format", po::value<std::string>()->required(), "csv | json | optuna")
      ("output,o", po::value<std::string>()->required(), "file to write (- for stdout: csv, json)")
      ("force", po::bool_switch(), "replace FILE if it exists");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kExportUsage, options, pos);
  if (!vm) return 0;
  const std::string format =
      check_format((*vm)["format"].as<std::string>(), {"csv", "json", "optuna"});
  const std::string output = (*vm)["output"].as<std::string>();
  const bool force = (*vm)["force"].as<bool>();
  if (output == "-" && format == "optuna")
    throw InputError("-o", "an Optuna database must go to a file, not stdout");
  // Checked before reading anything, so that a refused file costs nothing.
  std::optional<OutputFile> file;
  if (output != "-") file.emplace(output, force);

  const OpenedStudy opened = open_study(*vm, study_arg(*vm));
  const StudyRecord& study = opened.study;
  Storage& storage = *opened.storage;
  const std::vector<Trial> trials = storage.get_trials(study.id);

  if (format == "optuna") {
    const OptunaExportStats stats =
        write_optuna_database(study, trials, effective_space(study, trials), file->temp_path());
    file->commit();
    std::fprintf(stderr,
                 "hpo export: wrote study '%s' (%d trials, %d parameter values, %d intermediate "
                 "values) in Optuna 3.1's schema to %s\n",
                 clean_text(study.name).c_str(), stats.trials, stats.params,
                 stats.intermediate_values, output.c_str());
    return 0;
  }
  const TrialTable table =
      build_trial_table(trials, study.direction, study.metric, default_export_columns());
  const std::string text =
      format == "csv" ? to_csv(table) : ordered_json_text(to_json_records(table), 1) + "\n";
  if (!file) {
    std::cout << text;
    return 0;
  }
  file->write(text);
  file->commit();
  std::fprintf(stderr, "hpo export: wrote %zu trials of '%s' as %s to %s\n", trials.size(),
               clean_text(study.name).c_str(), format.c_str(), output.c_str());
  return 0;
}

}  // namespace hpo::cli
