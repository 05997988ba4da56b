/* hpo_plugin.h: the C ABI of hpo objective plugins (ABI version 1).
 *
 * A plugin is a shared library that the threads executor loads with dlopen and calls once per
 * trial, in hpo's own process:
 *
 *   "executor": {"kind": "threads", "library": "./libmyobjective.so", "symbol": "objective"}
 *
 * ("library" is relative to the spec file; "symbol" defaults to "objective".) Only plain C
 * types cross the boundary, so a plugin can be written in C, C++, Rust or anything that can
 * export a C function. The header depends on nothing but <stddef.h> and <stdint.h>; installed
 * with hpo it is <prefix>/include/hpo/hpo/plugin.h (CMake: hpo::plugin).
 *
 * A plugin exports two functions:
 *
 *   uint32_t hpo_plugin_abi_version(void);        returns HPO_PLUGIN_ABI_VERSION
 *   int objective(const hpo_trial* trial);       any name; "symbol" names it
 *
 * HPO_PLUGIN_DECLARE() defines the first. hpo checks, before any trial starts, that the file
 * loads, that both symbols exist and that the version equals the one hpo was built with;
 * otherwise `hpo run` and `hpo validate` stop with an error naming the problem.
 *
 * A minimal plugin (C or C++):
 *
 *   #include "hpo/plugin.h"
 *   HPO_PLUGIN_DECLARE()
 *   HPO_OBJECTIVE(objective) {
 *     double x = 0;
 *     if (!trial->param_number(trial->host, "x", &x)) {
 *       trial->set_reason(trial->host, "no parameter x");
 *       return HPO_FAIL;
 *     }
 *     for (int64_t step = 1; step <= 10 && !trial->should_stop(trial->host); ++step) {
 *       const char* names[] = {"loss"};
 *       double values[] = {x * x / (double)step};
 *       trial->report(trial->host, step, names, values, 1);
 *       if (trial->should_prune(trial->host)) return HPO_PRUNED;
 *     }
 *     trial->set_metric(trial->host, "loss", x * x / 10.0);
 *     return HPO_COMPLETE;
 *   }
 *
 * The objective's return value is the trial's outcome:
 *   HPO_COMPLETE  the metrics given with set_metric are the final metrics (the study's
 *                 objective metric must be among them, finite, or the trial FAILs);
 *   HPO_FAIL      FAIL, with the text given to set_reason as the reason;
 *   HPO_PRUNED    PRUNED (its value is the last intermediate value reported).
 * Any other value is a FAIL. A C++ exception escaping the objective is caught and is a FAIL
 * with its message, but a plugin should not rely on that (other languages cannot unwind
 * through C frames).
 *
 * Threading: the objective is called from up to `parallelism` threads at once, one call per
 * trial, each with its own hpo_trial: it must be reentrant. Every callback is thread-safe and
 * may be called from any thread until the objective returns; none may be called after. A
 * thread cannot be killed, so after a timeout or a cancel hpo stops waiting for the call and
 * should_stop() returns 1: poll it between steps and return soon after.
 *
 * Versioning: any change to this header's types or to the meaning of a field bumps
 * HPO_PLUGIN_ABI_VERSION. Fields are only ever appended, so hpo accepts its own version and
 * every earlier one (a version-1 plugin just never calls should_prune); a plugin built against
 * a newer header than hpo's is refused. struct_size lets a plugin check that fields it needs
 * exist. Version 2 appended should_prune.
 */
#ifndef HPO_EXECUTORS_HPO_PLUGIN_H_
#define HPO_EXECUTORS_HPO_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#define HPO_PLUGIN_ABI_VERSION 2u

/* Outcomes an objective returns. */
#define HPO_COMPLETE 0
#define HPO_FAIL 1
#define HPO_PRUNED 2

#if defined(_WIN32)
#define HPO_PLUGIN_EXPORT __declspec(dllexport)
#else
#define HPO_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
#define HPO_PLUGIN_EXTERN_C extern "C"
extern "C" {
#else
#define HPO_PLUGIN_EXTERN_C
#endif

/* One trial, as the objective sees it. Every pointer is valid until the objective returns.
 * Callbacks take `host` as their first argument. */
typedef struct hpo_trial {
  uint32_t abi_version; /* HPO_PLUGIN_ABI_VERSION of the host */
  uint32_t struct_size; /* sizeof(hpo_trial) of the host */

  const char* params_json; /* the parameters as a JSON object: {"lr": 0.01, "act": "relu"};
                              an inactive conditional parameter is absent */
  const char* study;       /* the study's name */
  int64_t number;          /* the trial's number in the study: 0, 1, 2, ... */
  int32_t attempt;         /* 0 for the first run of these parameters, +1 per retry */

  void* host; /* opaque; pass it to the callbacks */

  /* Parameter `name` as a number (ints and floats; booleans are 0/1): returns 1 and stores it
   * in *out, or returns 0 when there is no such parameter or it is a string. */
  int (*param_number)(void* host, const char* name, double* out);
  /* Parameter `name` as text: "0.001", "3", "relu", "true"; NULL when absent. */
  const char* (*param_text)(void* host, const char* name);

  /* An intermediate report: `count` metrics (names[i] = values[i]) at `step`. Reports reach
   * the study in the order they are made. */
  void (*report)(void* host, int64_t step, const char* const* names, const double* values,
                 size_t count);
  /* 1 once the trial should end early (timeout, cancel, pruning), else 0. Cheap. */
  int (*should_stop)(void* host);
  /* Sets a final metric (the last value given for a name wins). */
  void (*set_metric)(void* host, const char* name, double value);
  /* Sets the reason shown for a FAIL or PRUNED outcome. */
  void (*set_reason)(void* host, const char* reason);
  /* The trial's checkpoint directory (kept across retries and resumes) and its own directory,
   * as absolute paths, created on the first call; NULL when they cannot be created. */
  const char* (*checkpoint_dir)(void* host);
  const char* (*trial_dir)(void* host);

  /* Since ABI version 2. 1 once the study's pruner judged the trial hopeless after one of its
   * reports, else 0: return HPO_PRUNED (or HPO_COMPLETE: the trial is PRUNED all the same,
   * with its last intermediate value). An objective that returns without having seen 1 here or
   * from should_stop() is COMPLETE. Cheap: poll it after each report. */
  int (*should_prune)(void* host);
} hpo_trial;

/* The type of an objective function. */
typedef int (*hpo_objective_fn)(const hpo_trial* trial);

/* The version function every plugin exports (defined by HPO_PLUGIN_DECLARE()). */
typedef uint32_t (*hpo_plugin_abi_version_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* Defines hpo_plugin_abi_version() in a plugin; write it once, at file scope. */
#define HPO_PLUGIN_DECLARE()                                                    \
  HPO_PLUGIN_EXTERN_C HPO_PLUGIN_EXPORT uint32_t hpo_plugin_abi_version(void) { \
    return HPO_PLUGIN_ABI_VERSION;                                              \
  }

/* Declares an exported objective function `name` taking `const hpo_trial* trial`. */
#define HPO_OBJECTIVE(name) HPO_PLUGIN_EXTERN_C HPO_PLUGIN_EXPORT int name(const hpo_trial* trial)

#endif /* HPO_EXECUTORS_HPO_PLUGIN_H_ */
