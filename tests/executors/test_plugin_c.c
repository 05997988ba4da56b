/* hpo_test_plugin_c: a plugin written in C, to show that hpo_plugin.h is plain C. Its
 * objective `quadratic` reports (x - 1)^2 * (1 + 1/step) for steps 1..3 and completes with
 * value = (x - 1)^2, reads the study and trial number, and fails when x is missing. */
#include <stdio.h>
#include <string.h>

#include "hpo/plugin.h"

HPO_PLUGIN_DECLARE()

HPO_OBJECTIVE(quadratic) {
  double x = 0.0;
  const char* names[1] = {"value"};
  double values[1];
  int64_t step;
  char label[64];
  if (trial->abi_version != HPO_PLUGIN_ABI_VERSION || trial->struct_size < sizeof(hpo_trial)) {
    trial->set_reason(trial->host, "unexpected host ABI");
    return HPO_FAIL;
  }
  if (!trial->param_number(trial->host, "x", &x)) {
    trial->set_reason(trial->host, "quadratic needs a numeric parameter x");
    return HPO_FAIL;
  }
  for (step = 1; step <= 3 && !trial->should_stop(trial->host); ++step) {
    values[0] = (x - 1.0) * (x - 1.0) * (1.0 + 1.0 / (double)step);
    trial->report(trial->host, step, names, values, 1);
  }
  /* number and study, echoed as metrics so the host side can check them. */
  trial->set_metric(trial->host, "number", (double)trial->number);
  snprintf(label, sizeof label, "%s", trial->study);
  trial->set_metric(trial->host, "study_name_length", (double)strlen(label));
  trial->set_metric(trial->host, "value", (x - 1.0) * (x - 1.0));
  return HPO_COMPLETE;
}
