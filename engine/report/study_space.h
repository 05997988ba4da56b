// The search space that reports, exports and importance describe a study with. A stored study's
// trials may not all fit the space its spec names now (a run with --allow-spec-change, an older
// spec an hpo cannot parse any more), so the space is the stored spec's, widened until every
// stored value lies inside it, plus any parameter that trials hold but the spec does not name
// (inferred from the values: numbers a float or int range, anything else categorical).
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "hpo/search_space.h"
#include "hpo/trial.h"
#include "storage/storage.h"

namespace hpo {

// The space described above. Never throws for a spec it cannot parse: then every parameter is
// inferred from the trials.
SearchSpace effective_space(const StudyRecord& record, const std::vector<Trial>& trials);

// The sampler the study's stored spec names ("random" when it names none), with its seed:
// "tpe (seed 42)".
std::string sampler_label(const StudyRecord& record);

// budget.trials of the stored spec; 0 when it has none.
int budget_trials(const StudyRecord& record);

}  // namespace hpo
