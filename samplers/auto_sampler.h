// "auto": picks a sampler for the space and the budget of a spec ("sampler": {"name": "auto"}),
// so that a study that names none gets a good one. The rule (resolve_auto), chosen from the
// measurements in samplers/README.md ("How auto chooses"):
//   grid   every parameter discrete (categorical, int or stepped float) and the budget
//          ("budget.trials") covers every point of the grid: run them all, each once;
//   gp     no conditional parameter, 1 to kAutoGpMaxNumeric float/int parameters, at most
//          kAutoGpMaxCategoricals categoricals, and a budget of at most kAutoGpMaxTrials
//          trials: where a Gaussian process learns the most per trial;
//   tpe    everything else (conditional spaces, many categoricals or parameters, long or
//          unbounded studies).
// The pick depends on the spec alone (space and budget.trials), so `hpo validate`, `hpo run`
// and a resume agree; the engine stores it with the study (SamplerPlan::name) so that a resume
// with another budget keeps the sampler the study started with. Auto has no options of its own:
// the picked sampler runs with its defaults and the study's seed.
#pragma once

#include <string>

#include "engine/model/study_spec.h"
#include "samplers/sampler_registry.h"

namespace hpo {

// Measured (samplers/README.md): GP beat TPE on 2- to 20-dimensional problems at 100 and 200
// trials and lost to it at 300, tied with 6 categoricals and lost on a conditional space.
inline constexpr int kAutoGpMaxNumeric = 20;
inline constexpr int kAutoGpMaxCategoricals = 2;
inline constexpr int kAutoGpMaxTrials = 200;

// The name of the sampler auto picks for `spec` ("grid", "gp" or "tpe").
std::string resolve_auto(const StudySpec& spec);

// "auto": the rule above; its plan names the pick and why ("auto picked gp: ...").
SamplerRegistration auto_sampler_registration();

}  // namespace hpo
