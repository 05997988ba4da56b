// Study spec parsing as `hpo` does it: the generic keys (engine/model/study_spec.h) and each
// component's own keys, checked by the registered checkers (engine/factory.h's catalog).
// Malformed specs mostly live as data files (spec_files_test.cpp); the cases here check what a
// substring cannot: every issue collected at once, paths resolved, values typed.
#include "engine/model/study_spec.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "engine/factory.h"
#include "hpo/errors.h"
#include "tests/support/spec_issues.h"
#include "executors/subprocess_executor.h"
#include "tests/support/temp_dir.h"

namespace hpo {
namespace {

using testing::has_issue;

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const fs::path kGood = fs::path(HPO_SPEC_DATA_DIR) / "good";

std::vector<std::string> names(const SearchSpace& space) {
  std::vector<std::string> out;
  for (const auto& p : space.parameters()) out.push_back(p.name);
  return out;
}

// Issues of a spec that must be rejected.
std::vector<SpecIssue> issues_of(const std::string& text) {
  try {
    parse_spec(text, "/specs");
  } catch (const InputError& e) {
    return e.issues();
  }
  FAIL("the spec was accepted");
  return {};
}


// The subprocess executor's settings as it reads them from the spec.
SubprocessOptions subprocess_of(const StudySpec& spec) {
  SpecChecker checker;
  SubprocessOptions options =
      read_subprocess_options(spec.executor->block, spec.base_dir, nullptr, checker);
  REQUIRE(checker.ok());
  return options;
}

const char* const kValidPrefix = R"({
  "name": "t", "direction": "minimize", "objective": {"metric": "loss"},
  "executor": {"command": ["prog"]},)";

TEST_CASE("the DESIGN.md example spec parses into the values it describes", "[engine][spec]") {
  const StudySpec spec = load_spec(kGood / "design-example.json");
  CHECK(spec.name == "svm-digits");
  CHECK(spec.direction == Direction::kMaximize);
  CHECK(spec.metric == "accuracy");
  CHECK(names(spec.space) == std::vector<std::string>{"C", "gamma", "kernel", "degree"});

  const Parameter* c = spec.space.find("C");
  REQUIRE(c != nullptr);
  CHECK(c->distribution == Distribution::float_range(1e-3, 1e3, true));
  CHECK(c->when.empty());
  const Parameter* kernel = spec.space.find("kernel");
  REQUIRE(kernel != nullptr);
  CHECK(kernel->distribution ==
        Distribution::categorical({ParamValue("rbf"), ParamValue("poly"), ParamValue("sigmoid")}));
  const Parameter* degree = spec.space.find("degree");
  REQUIRE(degree != nullptr);
  CHECK(degree->distribution == Distribution::int_range(2, 5));
  REQUIRE(degree->when.parents.count("kernel") == 1);
  CHECK(degree->when.parents.at("kernel") == std::vector<ParamValue>{ParamValue("poly")});

  CHECK(spec.sampler.name == "tpe");
  CHECK(spec.sampler.seed == std::optional<std::uint64_t>(7));
  CHECK(spec.sampler.block == OrderedJson{{"name", "tpe"}, {"seed", 7}});
  CHECK(spec.budget.trials == std::optional<int>(100));
  CHECK(spec.budget.timeout == std::optional<milliseconds>(milliseconds(2 * 3600 * 1000)));
  CHECK(spec.budget.max_failed_trials == std::optional<int>(10));
  CHECK(spec.parallelism == 4);
  REQUIRE(spec.executor);
  CHECK(spec.executor->kind == "subprocess");
  CHECK(subprocess_of(spec).command ==
        std::vector<std::string>{"python3", "train.py", "--C", "{C}", "--kernel", "{kernel}"});
  CHECK(spec.executor->timeout == std::optional<milliseconds>(milliseconds(20 * 60 * 1000)));
  CHECK(spec.executor->kill_grace == milliseconds(5000));
  CHECK_FALSE(spec.storage.has_value());
  CHECK(spec.base_dir == kGood);
  CHECK(spec.document["space"]["C"]["high"] == 1e3);
  CHECK(spec.document["executor"]["timeout"] == "20m");
  CHECK(nlohmann::json(spec.executor->block) == spec.document["executor"]);
}

TEST_CASE("a minimal spec gets the documented defaults", "[engine][spec]") {
  const StudySpec spec = load_spec(kGood / "minimal.json");
  CHECK(spec.direction == Direction::kMinimize);
  CHECK(spec.metric == "val_loss");
  CHECK(spec.sampler.name == "auto");
  CHECK_FALSE(spec.sampler.seed.has_value());
  CHECK(spec.sampler.block == OrderedJson::object());
  CHECK_FALSE(spec.budget.trials.has_value());
  CHECK_FALSE(spec.budget.timeout.has_value());
  CHECK_FALSE(spec.budget.max_failed_trials.has_value());
  CHECK(spec.parallelism == 1);
  REQUIRE(spec.executor);
  CHECK(spec.executor->kind == "subprocess");
  // Trials run where the spec file is, unless "cwd" says otherwise.
  CHECK(subprocess_of(spec).cwd == std::optional<fs::path>(kGood.lexically_normal()));
  CHECK(subprocess_of(spec).metrics.from == MetricStreams::kBoth);
  CHECK(subprocess_of(spec).metrics.format.kind == MetricFormatKind::kAuto);
  CHECK(subprocess_of(spec).env.empty());
  CHECK_FALSE(spec.executor->timeout.has_value());
  CHECK(spec.executor->kill_grace == milliseconds(5000));
  CHECK_FALSE(spec.executor->trials_dir.has_value());
  CHECK(spec.executor->retry == RetryPolicy{});
  CHECK(spec.space.find("x")->distribution == Distribution::float_range(-5, 5));
}

TEST_CASE("a spec using every parameter type and option keeps each value", "[engine][spec]") {
  const StudySpec spec = load_spec(kGood / "every-type.json");
  const auto& s = spec.space;
  CHECK(s.find("lr")->distribution == Distribution::float_range(1e-5, 0.1, true));
  CHECK(s.find("dropout")->distribution == Distribution::float_range(0.0, 0.5, false, 0.1));
  CHECK(s.find("plain")->distribution == Distribution::float_range(-1, 1));
  CHECK(s.find("batch")->distribution == Distribution::int_range(16, 256, false, 16));
  CHECK(s.find("units")->distribution == Distribution::int_range(1, 1024, true));
  CHECK(s.find("seed")->distribution == Distribution::int_range(7, 7));
  CHECK(s.find("stepped_log")->distribution == Distribution::int_range(1, 8, true));
  const Distribution& mixed = s.find("mixed")->distribution;
  REQUIRE(mixed.choices.size() == 4);
  CHECK(mixed.choices[0].is_string());
  CHECK(mixed.choices[1].is_int());
  CHECK(mixed.choices[2].is_double());
  CHECK(mixed.choices[3].is_bool());

  CHECK(spec.sampler.name == "tpe");
  CHECK(spec.sampler.seed == std::optional<std::uint64_t>(18446744073709551615ULL));
  CHECK(spec.sampler.block.size() == 11);  // name, seed and 9 TPE options
  CHECK(spec.sampler.block["n_startup_trials"] == 5);
  CHECK(spec.sampler.block["gamma"] == 0.25);
  CHECK(spec.sampler.block["weights"] == "uniform");

  CHECK(spec.budget.timeout == std::optional<milliseconds>(milliseconds(90 * 60 * 1000)));
  CHECK(spec.budget.max_failed_trials == std::optional<int>(0));
  CHECK(spec.parallelism == 1024);

  const ExecutorSpec& ex = *spec.executor;
  const SubprocessOptions sub = subprocess_of(spec);
  CHECK(sub.command[2] == R"(--json={{"batch": {batch}}})");
  CHECK(sub.cwd == std::optional<fs::path>(kGood / "run"));
  CHECK(sub.env == std::map<std::string, std::string>{{"OMP_NUM_THREADS", "1"}, {"_PRIVATE", ""}});
  CHECK(ex.timeout == std::optional<milliseconds>(milliseconds(500)));
  CHECK(ex.kill_grace == milliseconds(0));
  CHECK(ex.trials_dir == std::optional<fs::path>("/tmp/every-type-trials"));
  CHECK(ex.retry.retries == 2);
  CHECK(ex.retry.retry_on_exit_codes == std::vector<int>{137, 143});
  CHECK(spec.storage == std::optional<fs::path>(kGood / "results" / "every.db"));
}

TEST_CASE("conditional parameters are ordered parents first, otherwise by name",
          "[engine][spec]") {
  const StudySpec spec = load_spec(kGood / "conditional.json");
  // Written as momentum, use_momentum, optimizer, beta1, layers, width3.
  CHECK(names(spec.space) == std::vector<std::string>{"layers", "optimizer", "beta1",
                                                      "use_momentum", "momentum", "width3"});
  const Parameter* momentum = spec.space.find("momentum");
  CHECK(momentum->when.parents.at("optimizer") == std::vector<ParamValue>{ParamValue("sgd")});
  CHECK(momentum->when.parents.at("use_momentum") == std::vector<ParamValue>{ParamValue(true)});
  CHECK(spec.space.find("beta1")->when.parents.at("optimizer") ==
        std::vector<ParamValue>{ParamValue("adam"), ParamValue("rmsprop")});
  CHECK(spec.space.find("width3")->when.parents.at("layers") ==
        std::vector<ParamValue>{ParamValue(3), ParamValue(4)});
  CHECK(spec.metric == "val/loss");

  // Every parent precedes its children.
  const auto order = names(spec.space);
  for (std::size_t i = 0; i < order.size(); ++i)
    for (const auto& [parent, values] : spec.space.parameters()[i].when.parents) {
      const auto at = std::find(order.begin(), order.end(), parent) - order.begin();
      CHECK(static_cast<std::size_t>(at) < i);
    }
}

TEST_CASE("the threads executor keeps its own settings in its block", "[engine][spec]") {
  const StudySpec threads = load_spec(kGood / "threads.json");
  REQUIRE(threads.executor);
  CHECK(threads.executor->kind == "threads");
  CHECK(threads.executor->block["builtin"] == "sphere");
  CHECK(threads.executor->timeout == std::optional<milliseconds>(milliseconds(10000)));
}

TEST_CASE("a component's keys are checked by that component, with did-you-mean hints",
          "[engine][spec]") {
  // "builtin" belongs to the threads executor, not to the subprocess one.
  auto issues = issues_of(R"({"name": "t", "direction": "minimize", "objective": {"metric": "m"},
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "executor": {"kind": "subprocess", "command": ["p"], "builtin": "sphere", "comand": 1}})");
  CHECK(has_issue(issues, "executor.builtin", "unknown key"));
  CHECK(has_issue(issues, "executor.comand", "did you mean \"command\"?"));
  // An executor this build does not have is named with the ones it has.
  issues = issues_of(R"({"name": "t", "direction": "minimize", "objective": {"metric": "m"},
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "executor": {"kind": "subproces", "command": ["p"]}})");
  CHECK(has_issue(issues, "executor.kind", "did you mean \"subprocess\"?"));
  // Sampler options are the sampler's: random has none, TPE reports its own ranges.
  issues = issues_of(std::string(kValidPrefix) + R"(
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "sampler": {"name": "random", "gamma": 0.5}})");
  CHECK(has_issue(issues, "sampler.gamma", "unknown key"));
  issues = issues_of(std::string(kValidPrefix) + R"(
    "space": {"x": {"type": "float", "low": 0, "high": 1}},
    "sampler": {"name": "tpe", "gamma": 2, "n_ei_candidates": 0}})");
  CHECK(has_issue(issues, "sampler.gamma", "must be in (0, 1]"));
  CHECK(has_issue(issues, "sampler.n_ei_candidates", "must be"));
}

TEST_CASE("a study defined in code may leave out the executor, a spec file may not",
          "[engine][spec]") {
  const std::string text = R"({"name": "t", "direction": "minimize", "objective": {"metric": "m"},
    "space": {"x": {"type": "float", "low": 0, "high": 1}}})";
  CHECK(has_issue(issues_of(text), "executor", "is required"));
  SpecParseOptions in_code;
  in_code.require_executor = false;
  CHECK_FALSE(parse_spec(text, "/specs", in_code).executor.has_value());
}

TEST_CASE("every problem of a spec is reported at once, each with its path", "[engine][spec]") {
  const auto issues = issues_of(R"({
    "name": "ok",
    "direction": "up",
    "objective": {"metric": "loss"},
    "space": {"lr": {"type": "float", "low": "a", "high": 1}, "n": {"type": "int", "low": 3, "high": 1}},
    "budget": {"trails": 3},
    "executor": {"command": ["python3", "{lrr}"]}
  })");
  CHECK(issues.size() == 5);
  CHECK(has_issue(issues, "direction", "must be \"minimize\" or \"maximize\""));
  CHECK(has_issue(issues, "space.lr.low", "must be a number, got string \"a\""));
  CHECK(has_issue(issues, "space.n.high", "must be >= low (3)"));
  CHECK(has_issue(issues, "budget.trails", "unknown key (did you mean \"trials\"?)"));
  CHECK(has_issue(issues, "executor.command[1]", "unknown parameter \"lrr\""));
}

TEST_CASE("the InputError message lists one issue per line", "[engine][spec]") {
  try {
    parse_spec(std::string(kValidPrefix) + R"("space": {"x": {"type": "int", "low": 0,
                     "high": 1, "lgo": true}}, "parallelism": 0})",
                     "/specs");
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) ==
          "space.x.lgo: unknown key (did you mean \"log\"?)\n"
          "parallelism: must be between 1 and 1024, got 0");
  }
}

TEST_CASE("syntax errors name the origin, line and column", "[engine][spec]") {
  const std::string text = "{\n  \"name\": \"x\",\n  \"space\": {\"a\" 1}\n}\n";
  try {
    parse_spec(text, "/specs", {"study.json"});
    FAIL("accepted");
  } catch (const InputError& e) {
    REQUIRE(e.issues().size() == 1);
    CHECK(e.issues()[0].path.empty());
    CHECK(e.issues()[0].message.rfind("study.json:3:17: syntax error: ", 0) == 0);
  }
  try {
    parse_spec("", "/specs", {"empty.json"});
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).rfind("empty.json:1:1: syntax error", 0) == 0);
  }
}

TEST_CASE("duplicate keys are found at any depth, inside arrays too", "[engine][spec]") {
  const auto issues = issues_of(std::string(kValidPrefix) + R"(
    "space": {"a": {"type": "categorical", "choices": [1, {"k": 1, "k": 2}]}},
    "sampler": {"name": "tpe", "seed": 1, "seed": 2},
    "budget": {"trials": 5, "trials": 6}
  })");
  CHECK(has_issue(issues, "sampler", "duplicate key \"seed\""));
  CHECK(has_issue(issues, "budget", "duplicate key \"trials\""));
  CHECK(has_issue(issues, "space.a.choices[1]", "duplicate key \"k\""));
  CHECK(has_issue(issues, "space.a.choices[1]", "must be a string, number or boolean"));
}

TEST_CASE("relative paths resolve against the spec's directory", "[engine][spec]") {
  testing::TempDir dir("hpo-spec");
  const fs::path file =
      testing::write_file(dir / "sub" / "study.json", std::string(kValidPrefix) + R"(
    "space": {"a": {"type": "int", "low": 0, "high": 3}},
    "storage": "../db/results.db"
  })");
  const StudySpec spec = load_spec(file);
  CHECK(spec.base_dir == dir.path() / "sub");
  CHECK(spec.storage == std::optional<fs::path>(dir.path() / "db" / "results.db"));

  // A spec given as text resolves against the base directory passed in, made absolute.
  const StudySpec from_text = parse_spec(R"({
    "name": "t", "direction": "minimize", "objective": {"metric": "loss"},
    "space": {"a": {"type": "int", "low": 0, "high": 3}},
    "storage": "/abs/x.db",
    "executor": {"command": ["p"], "cwd": "w", "trials_dir": "t/"}
  })",
                                               "/base/dir/");
  CHECK(from_text.base_dir == "/base/dir");
  CHECK(from_text.storage == std::optional<fs::path>("/abs/x.db"));
  CHECK(subprocess_of(from_text).cwd == std::optional<fs::path>("/base/dir/w"));
  CHECK(from_text.executor->trials_dir == std::optional<fs::path>("/base/dir/t/"));

  const StudySpec relative_base = parse_spec(
      std::string(kValidPrefix) + R"("space": {"a": {"type": "int", "low": 0, "high": 3}}})", "");
  CHECK(relative_base.base_dir == fs::current_path());
}

TEST_CASE("a missing or unreadable spec file is an InputError naming the file", "[engine][spec]") {
  testing::TempDir dir("hpo-spec");
  const fs::path missing = dir / "nope.json";
  try {
    load_spec(missing);
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "cannot read spec file '" + missing.string() +
                                       "': it cannot be opened: No such file or directory");
  }
  try {
    load_spec(dir.path());
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("is a directory, not a regular file"));
  }
}

TEST_CASE("a spec that is a FIFO, a device or huge is refused without hanging or reading it all",
          "[engine][spec][hardening]") {
  testing::TempDir dir("hpo-spec");
  const fs::path fifo = dir / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(load_spec(fifo), Catch::Contains("is a FIFO, not a regular file"));
  CHECK_THROWS_WITH(load_spec("/dev/zero"), Catch::Contains("is a character device"));
  // A symbolic link to a spec is the user's own choice and is followed; to /dev/zero it is not
  // a spec.
  const fs::path link = dir / "zero.json";
  fs::create_symlink("/dev/zero", link);
  CHECK_THROWS_WITH(load_spec(link), Catch::Contains("is a character device"));
  const fs::path big = testing::write_file(dir / "big.json", std::string(5 << 20, ' '));
  CHECK_THROWS_WITH(load_spec(big), Catch::Contains("is larger than 4 MiB"));
}

TEST_CASE("a spec nested deeper than 64 levels is refused quickly, naming the limit",
          "[engine][spec][hardening]") {
  // 200 KB of nesting once took gigabytes; now the parse stops at the limit.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string text = R"({"name": "deep", "direction": "minimize",
    "objective": {"metric": "m"}, "space": {"x": {"type": "categorical", "choices": )" +
                           deep + R"(}}, "executor": {"command": ["p"]}})";
  const auto issues = issues_of(text);
  REQUIRE(issues.size() == 1);
  CHECK_THAT(issues[0].message, Catch::Contains("nested deeper than 64 levels"));
  CHECK_THAT(issues[0].path, Catch::StartsWith("space.x.choices"));
}

TEST_CASE("a spec file's syntax errors carry the path as given", "[engine][spec]") {
  testing::TempDir dir("hpo-spec");
  const fs::path file = testing::write_file(dir / "s.json", "{\"name\": \"x\",}\n");
  try {
    load_spec(file);
    FAIL("accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).rfind(file.string() + ":1:14: syntax error", 0) == 0);
  }
}

TEST_CASE("did-you-mean hints appear at every depth of the spec", "[engine][spec]") {
  const auto issues = issues_of(std::string(kValidPrefix) + R"(
    "spaec": {},
    "space": {"a": {"type": "int", "low": 0, "high": 3, "setp": 1}},
    "sampler": {"name": "tpe", "n_ei_candiates": 3},
    "budget": {"max_failed": 3}
  })");
  CHECK(has_issue(issues, "spaec", "did you mean \"space\"?"));
  CHECK(has_issue(issues, "space.a.setp", "did you mean \"step\"?"));
  CHECK(has_issue(issues, "sampler.n_ei_candiates", "did you mean \"n_ei_candidates\"?"));
  // Too far from any key for a hint: the allowed keys are listed instead.
  CHECK(has_issue(issues, "budget.max_failed",
                  "expected one of \"trials\", \"timeout\", \"max_failed_trials\" or "
                  "\"fail_fast\""));
}

TEST_CASE("placeholders accept doubled braces and reject stray ones", "[engine][spec]") {
  const std::string space = R"("space": {"lr": {"type": "float", "low": 0.1, "high": 1}},)";
  auto with_command = [&](const std::string& command) {
    return std::string(R"({"name": "t", "direction": "minimize", "objective": {"metric": "m"},)") +
           space + R"("executor": {"command": )" + command + "}}";
  };
  const StudySpec ok = parse_spec(
      with_command(R"(["p", "{{", "}}", "{{lr}}", "a{lr}b{lr}", "{{{lr}}}"])"), "/specs");
  CHECK(subprocess_of(ok).command.size() == 6);
  for (const char* bad : {R"(["p", "{"])", R"(["p", "}"])", R"(["p", "{lr"])", R"(["p", "{}"])",
                          R"(["p", "{l{r}"])", R"(["p", "x}}}"])", R"(["{lr}"])"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_spec(with_command(bad), "/specs"), InputError);
  }
}

TEST_CASE("the document keeps the spec as written and the sampler block is kept whole",
          "[engine][spec]") {
  const StudySpec spec = parse_spec(std::string(kValidPrefix) + R"(
    "space": {"b": {"type": "int", "low": 0, "high": 3}, "a": {"type": "int", "low": 0, "high": 3}},
    "sampler": {"name": "tpe", "seed": 0, "constant_liar": true}
  })",
                                          "/specs");
  CHECK(spec.document["sampler"]["constant_liar"] == true);
  CHECK(spec.document["executor"]["command"][0] == "prog");
  CHECK(spec.sampler.seed == std::optional<std::uint64_t>(0));
  CHECK(spec.sampler.block ==
        OrderedJson{{"name", "tpe"}, {"seed", 0}, {"constant_liar", true}});
  // The order of the space does not depend on the order of the keys in the document (a spec
  // read back from storage has its keys sorted): parameters without conditions go by name.
  CHECK(names(spec.space) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("numbers written as integral floats are accepted where integers are required",
          "[engine][spec]") {
  const StudySpec spec = parse_spec(std::string(kValidPrefix) + R"(
    "space": {"n": {"type": "int", "low": 1e1, "high": 2E2, "step": 2.0}},
    "budget": {"trials": 1e2}
  })",
                                          "/specs");
  CHECK(spec.space.find("n")->distribution == Distribution::int_range(10, 200, false, 2));
  CHECK(spec.budget.trials == std::optional<int>(100));
}

TEST_CASE("a condition may name a parent defined later and be stacked", "[engine][spec]") {
  const StudySpec spec = parse_spec(std::string(kValidPrefix) + R"(
    "space": {
      "c": {"type": "float", "low": 0, "high": 1, "when": {"b": [1, 2]}},
      "b": {"type": "int", "low": 0, "high": 2, "when": {"a": "on"}},
      "a": {"type": "categorical", "choices": ["on", "off"]}
    }
  })",
                                          "/specs");
  CHECK(names(spec.space) == std::vector<std::string>{"a", "b", "c"});
  CHECK(SearchSpace::is_active(*spec.space.find("c"), {{"a", "on"}, {"b", 2}}));
  CHECK_FALSE(SearchSpace::is_active(*spec.space.find("c"), {{"a", "on"}, {"b", 0}}));
}

}  // namespace
}  // namespace hpo
