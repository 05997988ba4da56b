// SearchSpace: the named hyperparameters of a study with their conditions.
// A conditional parameter ("when": {"kernel": "poly"} or {"kernel": ["poly", "rbf"]}) is active
// only when every named parent is itself active and holds one of the listed values; an
// inactive parameter is absent from the trial's ParamSet (never given a dummy value).
// Parameters are kept in an order where every parent comes before its children (otherwise by
// name, whatever the order of the JSON keys), so a sampler that walks parameters() in order
// always knows the parents' values, and a spec read back from storage gives the same space.
// Value type.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hpo/distribution.h"
#include "hpo/errors.h"
#include "hpo/param_value.h"

namespace hpo {

// parent name -> accepted values (any of them); all parents must match.
struct Condition {
  std::map<std::string, std::vector<ParamValue>> parents;

  bool empty() const { return parents.empty(); }
  friend bool operator==(const Condition& a, const Condition& b) { return a.parents == b.parents; }
};

struct Parameter {
  std::string name;
  Distribution distribution;
  Condition when;  // empty: always active

  friend bool operator==(const Parameter& a, const Parameter& b) {
    return a.name == b.name && a.distribution == b.distribution && a.when == b.when;
  }
};

class SearchSpace {
 public:
  // REQUIRES: no parameter of that name yet, and every parent in p.when already added.
  void add(Parameter p);

  const std::vector<Parameter>& parameters() const { return params_; }
  std::size_t size() const { return params_.size(); }
  bool empty() const { return params_.empty(); }
  // nullptr when there is no such parameter.
  const Parameter* find(const std::string& name) const;

  // True when p's condition holds given the values chosen so far (`chosen` holds the active
  // parents' values; an absent parent means the parent is inactive, so p is inactive too).
  static bool is_active(const Parameter& p, const ParamSet& chosen);

  // True when some parameter has a condition.
  bool has_conditions() const;

  // Checks a complete parameter set against the space: every active parameter present and
  // contained in its distribution, no inactive or unknown parameter. Paths are "params.NAME".
  std::vector<SpecIssue> check(const ParamSet& params) const;
  // Checks a partial parameter set (`hpo enqueue` of some parameters; the sampler fills the
  // rest when the trial is claimed): each parameter given is known, inside its distribution,
  // given with every parent it has a condition on, and active under those parents' values.
  // Missing parameters are no issue. Paths are "params.NAME".
  std::vector<SpecIssue> check_partial(const ParamSet& params) const;

  // One example parameter set per branch of the conditional space (a branch: one set of
  // active parameters), in the order a depth-first walk over the parents' values meets them;
  // at most `limit`. A parameter some condition names takes, in turn, each of its choices (a
  // number: each value a condition lists, then its middle value); every other parameter its
  // middle value (the first choice of a categorical). One set for a space without conditions.
  std::vector<ParamSet> branch_examples(std::size_t limit = 32) const;


  friend bool operator==(const SearchSpace& a, const SearchSpace& b) {
    return a.params_ == b.params_;
  }
  friend bool operator!=(const SearchSpace& a, const SearchSpace& b) { return !(a == b); }

 private:
  std::vector<Parameter> params_;
};

}  // namespace hpo
