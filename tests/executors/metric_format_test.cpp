// The metric formats of executors/metric_format.h on real output shapes (tests/executors/data:
// Keras 2 and 3, PyTorch Lightning, XGBoost, a Katib trial's log), each read the way the
// executors read a stream: split into lines by LineSplitter, then one MetricReader.
#include "executors/metric_format.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace hpo::testing {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(HPO_EXECUTOR_TEST_DATA) + "/" + name, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct ReadLog {
  std::map<std::int64_t, Metrics> by_step;  // the last value of each metric per step
  Metrics last;                             // the last value of each metric
  int reports = 0;
};

ReadLog read_with(const MetricFormat& format, const std::string& text) {
  MetricReader reader(format);
  LineSplitter lines;
  ReadLog out;
  const auto on_line = [&](std::string_view line) {
    const auto report = reader.read(line);
    if (!report) return;
    ++out.reports;
    for (const auto& [name, value] : report->metrics) {
      out.last[name] = value;
      if (report->step) out.by_step[*report->step][name] = value;
    }
  };
  lines.feed(text, on_line);
  lines.finish(on_line);
  return out;
}

MetricFormat format(MetricFormatKind kind) {
  MetricFormat f;
  f.kind = kind;
  return f;
}

MetricFormat regex(const std::string& pattern) {
  MetricFormat f;
  f.kind = MetricFormatKind::kRegex;
  f.regex = pattern;
  return f;
}

MetricOptions options_of(const std::string& json, SpecChecker& c) {
  return read_metric_options(OrderedJson::parse(json), "executor", true, c);
}

TEST_CASE("keras logs give one step per epoch, from Keras 2 and Keras 3 progress bars",
          "[executors][metric_format]") {
  for (const char* file : {"keras2.log", "keras3.log"}) {
    for (const auto kind : {MetricFormatKind::kKeras, MetricFormatKind::kAuto}) {
      INFO(file << " as " << format(kind).name());
      const ReadLog log = read_with(format(kind), read_data(file));
      REQUIRE(log.by_step.size() == 3);
      CHECK(log.by_step.at(1).at("val_accuracy") == Approx(0.9020));
      CHECK(log.by_step.at(2).at("val_accuracy") == Approx(0.9310));
      CHECK(log.by_step.at(3).at("val_accuracy") == Approx(0.9442));
      CHECK(log.by_step.at(3).at("loss") == Approx(0.2205));
      CHECK(log.last.at("val_loss") == Approx(0.2051));
      CHECK_FALSE(log.last.count("ETA"));
    }
  }
}

TEST_CASE("lightning progress bars give the epoch as the step and the logged values",
          "[executors][metric_format]") {
  for (const auto kind : {MetricFormatKind::kKeyValue, MetricFormatKind::kAuto}) {
    const ReadLog log = read_with(format(kind), read_data("lightning.log"));
    REQUIRE(log.by_step.size() == 3);
    CHECK(log.by_step.at(0).at("val_acc") == Approx(0.842));
    CHECK(log.by_step.at(2).at("val_acc") == Approx(0.902));
    // The last value in brackets ("train_loss=0.352]") is read too.
    CHECK(log.by_step.at(2).at("train_loss") == Approx(0.352));
    CHECK(log.last.at("val_loss") == Approx(0.331));
  }
}

TEST_CASE("xgboost evaluation lines give the round as the step", "[executors][metric_format]") {
  for (const auto kind : {MetricFormatKind::kXgboost, MetricFormatKind::kAuto}) {
    const ReadLog log = read_with(format(kind), read_data("xgboost.log"));
    REQUIRE(log.by_step.size() == 5);
    CHECK(log.by_step.at(0).at("validation-logloss") == Approx(0.62));
    CHECK(log.by_step.at(4).at("validation-logloss") == Approx(0.34));
    CHECK(log.by_step.at(4).at("train-rmse") == Approx(0.29));
    // "[10:21:33] WARNING: ..." is not a round.
    CHECK(log.reports == 5);
  }
}

TEST_CASE("katib's 'Epoch N: name=value' lines store per-epoch values",
          "[executors][metric_format]") {
  const ReadLog log = read_with(format(MetricFormatKind::kAuto), read_data("katib.log"));
  REQUIRE(log.by_step.count(3));
  CHECK(log.by_step.at(0).at("Validation-accuracy") == Approx(0.9012));
  CHECK(log.by_step.at(3).at("Validation-accuracy") == Approx(0.9507));
  CHECK(log.by_step.at(3).at("Train-accuracy") == Approx(0.9307));
  CHECK(log.last.at("Validation-accuracy") == Approx(0.9507));
}

TEST_CASE("a regex with named groups reads Katib's custom metric lines",
          "[executors][metric_format]") {
  for (const char* pattern :
       {R"(\{metricName: (?<name>[\w-]+), metricValue: (?<value>[-+0-9.eE]+)\})",
        R"(\{metricName: (?P<name>[\w-]+), metricValue: (?P<value>[-+0-9.eE]+)\})",
        R"(\{metricName: ([\w-]+), metricValue: ([-+0-9.eE]+)\})"}) {
    INFO(pattern);
    const ReadLog log = read_with(regex(pattern), read_data("katib.log"));
    CHECK(log.reports == 1);
    CHECK(log.last == Metrics{{"accuracy", 0.9507}, {"loss", 0.1841}});
    CHECK(log.by_step.empty());
  }
  // The step group, after other groups: numbering follows the translation.
  const ReadLog log = read_with(
      regex(R"((?:Epoch) (?<step>\d+): (Validation|Train)-(?<name>accuracy)=(?<value>[0-9.]+))"),
      read_data("katib.log"));
  CHECK(log.by_step.at(2).at("accuracy") == Approx(0.9415));
}

TEST_CASE("named groups become numbered groups, skipping classes, escapes and (?:",
          "[executors][metric_format]") {
  const TranslatedRegex t = translate_named_groups(R"([(]\((?:a)(?<name>x)(?P<value>y)(?=z))");
  CHECK(t.error.empty());
  CHECK(t.pattern == R"([(]\((?:a)(x)(y)(?=z))");
  REQUIRE(t.groups.size() == 2);
  CHECK(t.groups[0] == std::pair<std::string, std::size_t>{"name", 1});
  CHECK(t.groups[1] == std::pair<std::string, std::size_t>{"value", 2});
  CHECK_FALSE(translate_named_groups("(?<name").error.empty());
}

TEST_CASE("json lines and python logging prefixes are read in auto",
          "[executors][metric_format]") {
  MetricReader reader(format(MetricFormatKind::kAuto));
  const auto json = reader.read(R"({"epoch": 3, "accuracy": 0.96, "note": "x"})");
  REQUIRE(json);
  CHECK(json->step == 3);
  CHECK(json->metrics == Metrics{{"accuracy", 0.96}});
  const auto logged = reader.read("INFO:root:accuracy=0.912000");
  REQUIRE(logged);
  CHECK(logged->metrics == Metrics{{"accuracy", 0.912}});
  CHECK_FALSE(reader.read("Traceback (most recent call last):"));
  CHECK(reader.recent().size() == 2);
}

TEST_CASE("the metric options are checked with their JSON paths", "[executors][metric_format]") {
  SpecChecker ok;
  const MetricOptions o = options_of(R"({"metrics_format": "keras", "metrics_from": "stderr"})", ok);
  CHECK(ok.ok());
  CHECK(o.format.kind == MetricFormatKind::kKeras);
  CHECK(o.from == MetricStreams::kStderr);
  CHECK(options_of("{}", ok).from == MetricStreams::kBoth);

  SpecChecker bad;
  options_of(R"({"metrics_format": "kears", "metrics_from": "stdin"})", bad);
  const std::vector<SpecIssue> issues = bad.take();
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].path == "executor.metrics_format");
  CHECK_THAT(issues[0].message, Catch::Contains("keras"));
  CHECK(issues[1].path == "executor.metrics_from");

  for (const char* re : {R"j({"metrics_format": {"regex": "(?<name>\\w+)="}})j",
                         R"j({"metrics_format": {"regex": "(?<nme>\\w+)=(?<value>.*)"}})j",
                         R"j({"metrics_format": {"regex": "(unclosed"}})j"}) {
    SpecChecker c;
    options_of(re, c);
    const auto found = c.take();
    REQUIRE(found.size() == 1);
    CHECK(found[0].path == "executor.metrics_format.regex");
  }
}

TEST_CASE("the note names the streams read and the last metric lines",
          "[executors][metric_format]") {
  MetricOptions o;
  o.from = MetricStreams::kStdout;
  TrialMetrics m(o);
  CHECK_FALSE(m.line(true, "INFO:root:acc=0.91"));  // stderr is not read
  CHECK(m.line(false, "loss=0.3"));
  CHECK(m.last() == Metrics{{"loss", 0.3}});
  const std::string note = m.note();
  CHECK_THAT(note, Catch::Contains("read stdout as auto"));
  CHECK_THAT(note, Catch::Contains("\"loss=0.3\""));
  CHECK_THAT(note, Catch::Contains("stderr (not read: metrics_from is \"stdout\") had: "
                                   "\"INFO:root:acc=0.91\""));
  TrialMetrics both{MetricOptions{}};
  CHECK(both.line(true, "INFO:root:acc=0.91"));
  CHECK_THAT(both.note(), Catch::Contains("read stdout and stderr as auto; last metric lines"));
}

}  // namespace
}  // namespace hpo::testing
