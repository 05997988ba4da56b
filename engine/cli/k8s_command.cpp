// hpo k8s render SPEC [--params JSON] [--trial N] [--attempt N]: prints the batch/v1 Job that a
// trial of SPEC's Kubernetes executor would create, without contacting a cluster. Parameters
// not given with --params are drawn by the spec's sampler (its first suggestion).
#include <cstdio>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/cli/options.h"
#include "engine/factory.h"
#include "hpo/errors.h"
#include "engine/model/study_spec.h"
#include "engine/model/json_codec.h"
#include "engine/model/study_view.h"
#include "hpo/trial.h"
#include "executors/kubernetes/kube_config.h"
#include "executors/kubernetes/kubernetes_options.h"

namespace hpo::cli {
namespace {

constexpr const char* kK8sUsage =
    R"(usage: hpo k8s render SPEC [--params JSON] [--trial N] [--attempt N]

Prints, as JSON, the batch/v1 Job that trial N (default 0) of the study SPEC would create
with its "kubernetes" executor: the template with the parameters substituted, the name,
labels, environment and limits hpo adds. Contacts no cluster; the namespace comes from the
spec, the template or the kubeconfig context ("default" when none is found).

  --params JSON   parameter values, e.g. '{"lr": 0.01}'; the others are sampled
  --trial N       trial number (and id) of the rendered trial
  --attempt N     attempt (0 for the first run, 1 for the first retry, ...))";

}  // namespace

int k8s_command(const Args& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    std::puts(kK8sUsage);
    return args.empty() ? 2 : 0;
  }
  if (args.front() != "render")
    throw InputError("unknown k8s command '" + args.front() + "' (only: render)");
  const Args rest(args.begin() + 1, args.end());
  po::options_description options("Options");
  options.add_options()("spec", po::value<std::string>()->required(), "study spec (JSON file)")(
      "params", po::value<std::string>(), "parameter values (JSON object)")(
      "trial", po::value<int>()->default_value(0), "trial number")(
      "attempt", po::value<int>()->default_value(0), "attempt");
  po::positional_options_description pos;
  pos.add("spec", 1);
  auto vm = parse_args(rest, kK8sUsage, options, pos);
  if (!vm) return 0;

  const StudySpec spec = load_spec((*vm)["spec"].as<std::string>());
  if (spec.executor->kind != "kubernetes")
    throw InputError("executor.kind", "hpo k8s render needs a \"kubernetes\" executor, got \"" +
                                          spec.executor->kind + "\"");
  const KubernetesOptions o = kubernetes_options_of(spec);

  std::string context_namespace = "default";
  try {
    KubeConfigRequest req;
    req.kubeconfig = o.kubeconfig;
    req.context = o.context;
    context_namespace = load_kube_config(req).default_namespace;
  } catch (const ExecutorError&) {
    // No kubeconfig here: rendering does not need one.
  }

  const int trial = (*vm)["trial"].as<int>();
  const std::vector<Trial> no_trials;
  ParamSet params =
      make_sampler(spec, 0, 1)->suggest(StudyView(spec.direction, no_trials), spec.space, 0);
  if (vm->count("params")) {
    nlohmann::json given = nlohmann::json::parse((*vm)["params"].as<std::string>(), nullptr, false);
    if (!given.is_object()) throw InputError("--params", "must be a JSON object");
    for (const auto& [name, value] : given.items()) {
      if (!spec.space.find(name))
        throw InputError("--params", "unknown parameter \"" + name + "\"");
      try {
        params[name] = param_from_json(value);
      } catch (const std::invalid_argument& e) {
        throw InputError("--params." + name, e.what());
      }
    }
  }
  TrialTask task;
  task.trial_id = trial;
  task.number = trial;
  task.attempt = (*vm)["attempt"].as<int>();
  task.study = spec.name;
  task.params = params;
  task.checkpoint_dir = std::filesystem::path(std::to_string(trial)) / "checkpoint";
  const RenderedJob job =
      render_job(o.job_template, task, render_settings(o, job_namespace_of(o, context_namespace)));
  if (!job.ok()) throw InputError("executor.template", job.error);
  std::cout << job.job.dump(2) << "\n";
  return 0;
}

}  // namespace hpo::cli
