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
#include <utility>
#include <vector>

#include "engine/model/component.h"
#include "engine/model/spec_checker.h"
#include "engine/model/study_spec.h"
#include "samplers/pruner.h"

namespace hpo {

struct PrunerRegistration {
  ComponentInfo info;
  // The pruner for `spec` (spec.pruner.block holds its options; the spec passed its checker);
  // nullptr for "none", which never prunes. Throws InputError for options its checker rejects.
  std::function<std::unique_ptr<Pruner>(const StudySpec& spec)> make;
};

// The registration of a pruner whose options one function reads, for the checker (at the
// block's JSON path) and the factory (spec.pruner.block, at "pruner") alike:
//   read(const OrderedJson& block, const std::string& path, SpecChecker&) -> Options
//   build(Options) -> std::unique_ptr<SomePruner>
template <typename Read, typename Build>
PrunerRegistration options_pruner_registration(std::string name, std::string summary,
                                               std::vector<std::string> keys, Read read,
                                               Build build) {
  PrunerRegistration r;
  r.info.name = std::move(name);
  r.info.summary = std::move(summary);
  r.info.keys = std::move(keys);
  r.info.check = [read](const ComponentBlock& block, SpecChecker& c) {
    read(block.json, block.path, c);
  };
  r.make = [read, build](const StudySpec& spec) -> std::unique_ptr<Pruner> {
    SpecChecker c;
    auto options = read(spec.pruner.block, "pruner", c);
    c.throw_if_any();
    return build(std::move(options));
  };
  return r;
}

// Every registered pruner, in the order `hpo --help` lists them ("none" first).
const std::vector<PrunerRegistration>& pruner_registry();

// The registration named `name`; nullptr when there is none.
const PrunerRegistration* find_pruner(const std::string& name);

// The pruner `spec` asks for: the named one, wrapped in a PatientPruner when "patience" is
// given; nullptr when nothing can ever be pruned ("none" without patience). Throws InputError
// for an unknown name. REQUIRES: the spec passed its checks.
std::unique_ptr<Pruner> make_spec_pruner(const StudySpec& spec);

}  // namespace hpo
