// hpo validate SPEC: checks a spec without running it; creates or changes no file.
#include <cstdio>

#include "engine/cli/options.h"
#include "engine/factory.h"
#include "samplers/sampler_registry.h"
#include "hpo/errors.h"
#include "engine/model/objective_score.h"
#include "engine/model/study_spec.h"
#include "engine/model/text.h"
#include "engine/model/trial_launch.h"

namespace hpo::cli {
namespace {

constexpr const char* kValidateUsage = R"(usage: hpo validate SPEC [--show-commands]

Checks the study spec SPEC (JSON) without running it and without touching any file. Every
problem is printed with its JSON path, e.g.
  hpo validate: error: space.lr.low: must be > 0 when log is true
--show-commands prints the command line of one sample trial per branch of the search space
(each set of active conditional parameters), with its working directory.
Exit status: 0 valid, 2 invalid.)";

// One sample trial per branch of the space: its parameters and what would run.
void show_commands(const StudySpec& spec) {
  const std::vector<ParamSet> examples = spec.space.branch_examples();
  int number = 0;
  for (const ParamSet& params : examples) {
    std::string values;
    for (const auto& [name, value] : params)
      values += (values.empty() ? "" : ", ") + name + "=" + value.to_string();
    std::printf("branch %d of %zu (%s):\n", number + 1, examples.size(),
                values.empty() ? "no parameters" : clean_text(values).c_str());
    const std::optional<TrialLaunch> launch = describe_launch(spec, params, number);
    if (!launch) {
      std::printf("  (the %s executor runs no command line)\n", spec.executor->kind.c_str());
    } else {
      std::printf("  cwd: %s\n", clean_text(launch->cwd).c_str());
      std::printf("  $ %s\n", clean_text(shell_command_line(launch->argv)).c_str());
    }
    ++number;
  }
}

}  // namespace

int validate_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("spec", po::value<std::string>()->required(), "study spec (JSON file)")
      ("show-commands", "print the command line of one sample trial per branch of the space");
  // clang-format on
  po::positional_options_description pos;
  pos.add("spec", 1);
  auto vm = parse_args(args, kValidateUsage, options, pos);
  if (!vm) return 0;

  const std::string path = (*vm)["spec"].as<std::string>();
  StudySpec spec = load_spec(path);
  std::printf("%s: ok: study '%s', %s, %zu parameter(s), %s sampler, %s executor",
              path.c_str(), spec.name.c_str(), describe_objectives(spec).c_str(),
              spec.space.size(), spec.sampler.name.c_str(), spec.executor->kind.c_str());
  if (spec.budget.trials) std::printf(", %d trials", *spec.budget.trials);
  std::printf(", parallelism %d", spec.parallelism);
  if (spec.pruner.name != "none" || spec.pruner.patience) {
    std::printf(", %s pruner", spec.pruner.name.c_str());
    if (spec.pruner.patience) std::printf(" (patience %d)", *spec.pruner.patience);
  }
  std::printf("\n");
  // What the sampler will do: auto's pick, a grid's size.
  const SamplerPlan plan = plan_sampler(spec);
  if (!plan.detail.empty()) std::printf("%s: %s\n", path.c_str(), plan.detail.c_str());
  // Problems that do not stop a run, such as a pruner that can never act.
  for (const SpecIssue& w : spec_warnings(spec))
    std::fprintf(stderr, "hpo validate: warning: %s\n", w.to_string().c_str());
  if (vm->count("show-commands")) show_commands(spec);
  return 0;
}

}  // namespace hpo::cli
