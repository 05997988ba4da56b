#include "executors/metric_parser.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace hpo::testing {
namespace {

Metrics metrics_of(std::string_view line) {
  const auto report = parse_metric_line(line);
  return report ? report->metrics : Metrics{};
}

// Every line a splitter delivers when fed `chunks` one after another, then finished.
std::vector<std::string> split(const std::vector<std::string>& chunks,
                               std::size_t max_line = LineSplitter::kDefaultMaxLine) {
  LineSplitter splitter(max_line);
  std::vector<std::string> lines;
  const auto keep = [&](std::string_view line) { lines.emplace_back(line); };
  for (const auto& chunk : chunks) splitter.feed(chunk, keep);
  splitter.finish(keep);
  return lines;
}

TEST_CASE("a metric line carries several name=value pairs separated by blanks or commas",
          "[executors][metric_parser]") {
  CHECK(metrics_of("accuracy=0.91 loss=0.25") == Metrics{{"accuracy", 0.91}, {"loss", 0.25}});
  CHECK(metrics_of("accuracy=0.91,loss=0.25") == Metrics{{"accuracy", 0.91}, {"loss", 0.25}});
  CHECK(metrics_of("  accuracy=0.91 ,\tloss=0.25, ") ==
        Metrics{{"accuracy", 0.91}, {"loss", 0.25}});
  CHECK(metrics_of("val/acc=1 train.loss=2 f1-score=3 _x=4") ==
        Metrics{{"val/acc", 1}, {"train.loss", 2}, {"f1-score", 3}, {"_x", 4}});
  const auto report = parse_metric_line("loss=0.5");
  REQUIRE(report);
  CHECK_FALSE(report->step);
}

TEST_CASE("blanks around = are allowed, as Katib's collector allows them",
          "[executors][metric_parser]") {
  CHECK(metrics_of("loss = 0.3 acc =0.5 f1= 0.25") ==
        Metrics{{"loss", 0.3}, {"acc", 0.5}, {"f1", 0.25}});
}

TEST_CASE("the last value of a metric repeated on one line wins", "[executors][metric_parser]") {
  CHECK(metrics_of("loss=1 loss=2") == Metrics{{"loss", 2}});
}

TEST_CASE("step=N or epoch=N makes a line an intermediate report without the step key",
          "[executors][metric_parser]") {
  auto report = parse_metric_line("step=3 loss=0.5 acc=0.7");
  REQUIRE(report);
  CHECK(report->step == 3);
  CHECK(report->metrics == Metrics{{"loss", 0.5}, {"acc", 0.7}});

  report = parse_metric_line("epoch=12, accuracy=0.9");
  REQUIRE(report);
  CHECK(report->step == 12);
  CHECK(report->metrics == Metrics{{"accuracy", 0.9}});

  report = parse_metric_line("loss=0.1 step=1e3");  // integral in scientific notation
  REQUIRE(report);
  CHECK(report->step == 1000);
}

TEST_CASE("step wins over epoch, and a non-integer step stays an ordinary metric",
          "[executors][metric_parser]") {
  auto report = parse_metric_line("epoch=2 step=1000 loss=0.3");
  REQUIRE(report);
  CHECK(report->step == 1000);
  CHECK(report->metrics == Metrics{{"epoch", 2}, {"loss", 0.3}});

  report = parse_metric_line("epoch=0.5 loss=0.3");
  REQUIRE(report);
  CHECK_FALSE(report->step);
  CHECK(report->metrics == Metrics{{"epoch", 0.5}, {"loss", 0.3}});

  // Found by metric_line_fuzz: a broken step beside a whole epoch is dropped, never a metric
  // named "step" next to the report's step.
  report = parse_metric_line("step=11 step=NaN epoch=2 loss=0.3");
  REQUIRE(report);
  CHECK(report->step == 2);
  CHECK(report->metrics == Metrics{{"loss", 0.3}});
}

TEST_CASE("a line with only a step, or without any metric, reports nothing",
          "[executors][metric_parser]") {
  CHECK_FALSE(parse_metric_line("step=4"));
  CHECK_FALSE(parse_metric_line(""));
  CHECK_FALSE(parse_metric_line("Epoch 3/10 - training..."));
  CHECK_FALSE(parse_metric_line("step=4 loss=high"));
}

TEST_CASE("tokens that are not name=number are ignored", "[executors][metric_parser]") {
  CHECK(metrics_of("loss=abc acc=0.5") == Metrics{{"acc", 0.5}});
  CHECK(metrics_of("=5 9lives=1 a b=2") == Metrics{{"b", 2}});
  CHECK(metrics_of("acc=0.5% loss=1e x=0x10 y=1.2.3 z=--1 w=++1 ok=+2") == Metrics{{"ok", 2}});
  CHECK(metrics_of("lr=nan(0x1) url=http://x?a=1 k=v=1") == Metrics{});
  const char junk[] = "\x01\xff\xfe=1 \0=2 bin\x80=3 good=4";
  CHECK(metrics_of(std::string(junk, sizeof junk - 1)) == Metrics{{"good", 4}});
}

TEST_CASE("nan and inf values are kept for the study manager to judge",
          "[executors][metric_parser]") {
  const auto m = metrics_of("a=nan b=NaN c=inf d=-inf e=Infinity f=-INFINITY");
  REQUIRE(m.size() == 6);
  CHECK(std::isnan(m.at("a")));
  CHECK(std::isnan(m.at("b")));
  CHECK(m.at("c") == INFINITY);
  CHECK(m.at("d") == -INFINITY);
  CHECK(m.at("e") == INFINITY);
  CHECK(m.at("f") == -INFINITY);
}

TEST_CASE("metric values parse decimal, scientific and signed forms exactly",
          "[executors][metric_parser]") {
  CHECK(parse_metric_value("0.1") == 0.1);
  CHECK(parse_metric_value(".5") == 0.5);
  CHECK(parse_metric_value("-3") == -3.0);
  CHECK(parse_metric_value("+2.5e-3") == 2.5e-3);
  CHECK(parse_metric_value("1E6") == 1e6);
  CHECK(parse_metric_value("1e999") == INFINITY);
  CHECK_FALSE(parse_metric_value(""));
  CHECK_FALSE(parse_metric_value("+"));
  CHECK_FALSE(parse_metric_value("1,5"));
  CHECK_FALSE(parse_metric_value(" 1"));
  CHECK_FALSE(parse_metric_value("+-1"));
}

TEST_CASE("metric names follow [A-Za-z_][A-Za-z0-9_./-]*", "[executors][metric_parser]") {
  for (const char* good : {"a", "_", "loss", "val/acc", "a.b-c_d9", "Z"}) {
    CHECK(is_metric_name(good));
  }
  for (const char* bad : {"", "1a", "-a", ".a", "/a", "a b", "a=b", "a:b", "a,b"}) {
    CHECK_FALSE(is_metric_name(bad));
  }
}

TEST_CASE("the line splitter gives the same lines however the stream is cut",
          "[executors][metric_parser]") {
  const std::string stream = "loss=1\nacc=2\r\nstep=3 x=4\rlast=5";
  const std::vector<std::string> expected = {"loss=1", "acc=2", "step=3 x=4", "last=5"};
  CHECK(split({stream}) == expected);
  std::vector<std::string> bytes;
  for (const char c : stream) bytes.emplace_back(1, c);
  CHECK(split(bytes) == expected);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CHECK(split({stream.substr(0, cut), stream.substr(cut)}) == expected);
  }
}

TEST_CASE("the line splitter skips empty lines and delivers an unterminated last line",
          "[executors][metric_parser]") {
  CHECK(split({"\n\n\r\n a \n\n"}) == std::vector<std::string>{" a "});
  CHECK(split({"no newline at all"}) == std::vector<std::string>{"no newline at all"});
  CHECK(split({}).empty());
}

TEST_CASE("the line splitter drops an over-long line without buffering it, then recovers",
          "[executors][metric_parser]") {
  LineSplitter splitter(1024);
  std::vector<std::string> lines;
  const auto keep = [&](std::string_view line) { lines.emplace_back(line); };
  splitter.feed("before=1\nxx", keep);
  const std::string chunk(4096, 'x');
  std::size_t most_buffered = 0;
  for (int i = 0; i < 2560; ++i) {  // a 10 MB line
    splitter.feed(chunk, keep);
    most_buffered = std::max(most_buffered, splitter.buffered());
  }
  splitter.feed("x\nafter=2\n", keep);
  CHECK(most_buffered <= 1024);
  CHECK(splitter.dropped() == 1);
  CHECK(lines == std::vector<std::string>{"before=1", "after=2"});

  // A too-long line inside a single chunk is dropped as well, and so is a too-long last line.
  CHECK(split({std::string(2000, 'y') + "\nok=1\n" + std::string(2000, 'z')}, 1024) ==
        std::vector<std::string>{"ok=1"});
  // Exactly max_line bytes still make a line.
  CHECK(split({std::string(1024, 'y') + "\n"}, 1024).size() == 1);
}

TEST_CASE("a result file holds a JSON object of numbers", "[executors][metric_parser]") {
  const auto r = parse_result_file(R"({"accuracy": 0.93, "loss": 1, "epochs": -2e1})");
  REQUIRE(r.ok());
  CHECK(r.metrics == Metrics{{"accuracy", 0.93}, {"loss", 1}, {"epochs", -20}});
  CHECK(parse_result_file("{}").ok());
}

TEST_CASE("Python's NaN, Infinity and -Infinity are accepted in a result file",
          "[executors][metric_parser]") {
  const auto r = parse_result_file(R"({"a": NaN, "b": Infinity, "c": -Infinity, "NaN": 1})");
  REQUIRE(r.ok());
  CHECK(std::isnan(r.metrics.at("a")));
  CHECK(r.metrics.at("b") == INFINITY);
  CHECK(r.metrics.at("c") == -INFINITY);
  CHECK(r.metrics.at("NaN") == 1);
  // Inside strings the words stay words, and so cannot pass for numbers.
  CHECK_FALSE(parse_result_file(R"({"a": "NaN"})").ok());
}

TEST_CASE("a result file with a non-number value is an error naming the metric",
          "[executors][metric_parser]") {
  auto r = parse_result_file(R"({"accuracy": 0.9, "note": "fine"})");
  CHECK_FALSE(r.ok());
  CHECK(r.metrics.empty());
  CHECK(r.error == "has a string for metric \"note\", not a number");
  r = parse_result_file(R"({"ok": true})");
  CHECK(r.error == "has a boolean for metric \"ok\", not a number");
  r = parse_result_file(R"({"x": [1]})");
  CHECK(r.error == "has an array for metric \"x\", not a number");
  r = parse_result_file(R"({"x": null})");
  CHECK(r.error == "has a null for metric \"x\", not a number");
}

TEST_CASE("a result file that is not JSON, not an object, or empty is an error",
          "[executors][metric_parser]") {
  CHECK(parse_result_file("").error == "is empty");
  CHECK(parse_result_file(" \n").error == "is empty");
  const auto bad = parse_result_file("accuracy=0.9");
  CHECK_THAT(bad.error, Catch::StartsWith("is not valid JSON (parse error"));
  CHECK(parse_result_file("[1, 2]").error ==
        "must hold a JSON object of metric name -> number, not an array");
  CHECK(parse_result_file("0.5").error ==
        "must hold a JSON object of metric name -> number, not a number");
  CHECK_THAT(parse_result_file(R"({"a": 1)").error, Catch::StartsWith("is not valid JSON"));
}

TEST_CASE("a result file with a number beyond a double is an error, not an exception",
          "[executors][metrics]") {
  // Found by tests/fuzz/result_file_fuzz (corpus/result_file_fuzz/number-overflow.json).
  const auto r = parse_result_file(R"({"loss": 666666666666666666666666E66666666})");
  CHECK_FALSE(r.ok());
  CHECK(r.error ==
        "is not a metrics object (number out of range: 666666666666666666666666E66666666)");
  CHECK(r.metrics.empty());
}

}  // namespace
}  // namespace hpo::testing
