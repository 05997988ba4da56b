// The pruner registry: every pruner a spec can name ("pruner": {"name": ...}), with its checker
// and its factory. The engine builds its ComponentCatalog from it and makes pruners through it
// (engine/factory.h make_pruner); nothing else names a concrete pruner.
//
// Adding a pruner: write samplers/<name>_pruner.h/.cpp with the class, a function reading its
// options for both the checker and the factory, and a function returning its
// PrunerRegistration; add that function to the list in pruner_registry.cpp, and its decisions
// to tests/samplers/pruner_test.cpp as a table worked out by hand.
//
// Thread-safety: the registry is immutable static data.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/component.h"
#include "engine/model/study_spec.h"
#include "samplers/pruner.h"

namespace hpo {

struct PrunerRegistration {
  ComponentInfo info;
  // The pruner for `spec` (spec.pruner.block holds its options; the spec passed its checker);
  // nullptr for "none", which never prunes. Throws InputError for options its checker rejects.
  std::function<std::unique_ptr<Pruner>(const StudySpec& spec)> make;
};

// Every registered pruner, in the order `hpo --help` lists them ("none" first).
const std::vector<PrunerRegistration>& pruner_registry();

// The registration named `name`; nullptr when there is none.
const PrunerRegistration* find_pruner(const std::string& name);

// The pruner `spec` asks for: the named one, wrapped in a PatientPruner when "patience" is
// given; nullptr when nothing can ever be pruned ("none" without patience). Throws InputError
// for an unknown name. REQUIRES: the spec passed its checks.
std::unique_ptr<Pruner> make_spec_pruner(const StudySpec& spec);

}  // namespace hpo
