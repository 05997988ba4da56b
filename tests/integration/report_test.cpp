// hpo report and hpo dashboard in a real browser (Debian's chromium, headless, over the
// DevTools protocol): every plot drawn, no console error, no request leaving the report, and on
// the dashboard a new trial appearing without a reload. The HTTP side of the dashboard is
// checked without a browser too.
#include <unistd.h>

#include <csignal>
#include <regex>

#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/integration/chromium.h"
#include "tests/integration/hpo_runner.h"
#include "tests/integration/seeded_study.h"
#include "tests/support/temp_dir.h"

namespace bp = boost::process;
namespace fs = std::filesystem;
using hpo::testing::add_complete_trial;
using hpo::testing::HeadlessChromium;
using hpo::testing::http_request;
using hpo::testing::read_file;
using hpo::testing::run_hpo;
using hpo::testing::seed_study;
using hpo::testing::TempDir;
using hpo::testing::wait_for;
using hpo::testing::write_file;
using nlohmann::json;

namespace {

// For every plot: how many of its canvas's pixels are colored (not white, gray or black): the
// marks of data, never the axes or grid. An empty plot scores 0.
constexpr const char* kPlotPixels = R"((() => {
  const colored = (canvas) => {
    const ctx = canvas.getContext("2d");
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const max = Math.max(d[i], d[i + 1], d[i + 2]), min = Math.min(d[i], d[i + 1], d[i + 2]);
      if (d[i + 3] > 40 && max - min > 40) n++;
    }
    return n;
  };
  const plot = (sel) => {
    const c = document.querySelector(sel + " canvas");
    return c ? colored(c) : -1;
  };
  return {
    history: plot("#history"), parallel: plot("#parallel"), curves: plot("#curves"),
    slices: Array.from(document.querySelectorAll("#slices .slice")).map(s => {
      const c = s.querySelector("canvas"); return c ? colored(c) : -1; }),
    bars: document.querySelectorAll("#importance .bar").length,
    rows: document.querySelectorAll("#trials tbody tr").length,
  };
})())";

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

// Where screenshots go: $HPO_SCREENSHOT_DIR when set (to keep them), else the test's directory.
fs::path screenshot_dir(const TempDir& dir) {
  if (const char* env = std::getenv("HPO_SCREENSHOT_DIR"); env && *env) return env;
  return dir.path();
}

// Starts `hpo dashboard` on a free port and returns it once the server says where it listens.
struct Dashboard {
  bp::child child;
  std::uint16_t port = 0;
};

Dashboard start_dashboard(const TempDir& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"dashboard", "--port", "0", "--refresh", "0.2"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto out = dir / "dashboard.out";
  Dashboard d{bp::child(std::string(HPO_BIN), bp::args(args), bp::std_out > out.string(),
                        bp::std_err > (dir / "dashboard.err").string(), bp::std_in < bp::null,
                        bp::start_dir(dir.path().string())),
              0};
  std::smatch m;
  const bool up = wait_for([&] {
    const std::string text = read_file(out);
    if (!std::regex_search(text, m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/"))) return false;
    d.port = static_cast<std::uint16_t>(std::stoi(m[1]));
    return true;
  });
  if (!up)
    throw std::runtime_error("hpo dashboard did not start: " + read_file(dir / "dashboard.err"));
  return d;
}

void stop(Dashboard& d) {
  ::kill(d.child.id(), SIGTERM);
  d.child.wait();
}

}  // namespace

TEST_CASE("hpo report writes one self-contained page that draws every plot without errors",
          "[integration][report]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "rep", {.complete = 30});
  auto r = run_hpo({"report", "rep", "-o", "report.html"}, dir.path());
  REQUIRE(r.exit_code == 0);
  const std::string html = read_file(dir / "report.html");
  CHECK(html.size() < 300 * 1024);
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link rel=\"stylesheet\"") == std::string::npos);
  CHECK(run_hpo({"report", "rep", "-o", "report.html"}, dir.path()).exit_code == 2);  // no --force

  const auto chromium = HeadlessChromium::find();
  if (!chromium) {
    WARN(
        "chromium is not installed (apt-get install chromium): skipping the browser check of "
        "the report");
    return;
  }
  HeadlessChromium browser(*chromium, dir / "profile", 1280, 1600);
  const std::string url = "file://" + (dir / "report.html").string();
  browser.navigate(url);
  REQUIRE(browser.wait_until("document.body.getAttribute('data-renders') === '1'"));
  const json pixels = browser.evaluate(kPlotPixels);
  INFO("plots: " << pixels.dump() << "\nerrors:" << joined(browser.errors()));
  CHECK(pixels["history"].get<int>() > 50);
  CHECK(pixels["parallel"].get<int>() > 500);
  CHECK(pixels["curves"].get<int>() > 200);
  REQUIRE(pixels["slices"].size() == 6);
  for (const auto& s : pixels["slices"]) CHECK(s.get<int>() > 20);
  CHECK(pixels["bars"].get<int>() >= 4);
  CHECK(pixels["rows"] == 35);
  const std::string png = browser.screenshot_png();
  CHECK(png.rfind("\x89PNG", 0) == 0);
  write_file(screenshot_dir(dir) / "report.png", png);
  CHECK(browser.errors().empty());
  // Nothing but the file itself (and the inline icon) was requested.
  for (const auto& u : browser.requests()) {
    INFO("request " << u);
    CHECK((u == url || u.rfind("data:", 0) == 0));
  }

  // A study with no COMPLETE trial (failed, pruned, waiting, running ones) and an empty one:
  // every card says why it has no plot, and nothing throws.
  seed_study(dir / "hpo.db", "none-complete", {.complete = 0});
  seed_study(dir / "hpo.db", "empty", {.complete = 0, .extras = false});
  for (const auto& [study, rows] : {std::pair{"none-complete", 5}, std::pair{"empty", 0}}) {
    INFO("study " << study);
    const std::string file = std::string(study) + ".html";
    REQUIRE(run_hpo({"report", study, "-o", file}, dir.path()).exit_code == 0);
    HeadlessChromium edge(*chromium, dir / ("profile-" + std::string(study)), 1280, 1600);
    edge.navigate("file://" + (dir / file).string());
    REQUIRE(edge.wait_until("document.body.getAttribute('data-renders') === '1'"));
    const json seen = edge.evaluate(kPlotPixels);
    INFO("plots: " << seen.dump() << "\nerrors:" << joined(edge.errors()));
    CHECK(seen["rows"] == rows);
    CHECK(seen["history"] == -1);  // no canvas: a note instead
    CHECK(edge.evaluate("document.getElementById('history-note').textContent") ==
          "no COMPLETE trial yet");
    CHECK(edge.errors().empty());
  }
}

TEST_CASE("hpo report of a study with several objectives draws its Pareto front",
          "[integration][report][multiobjective]") {
  TempDir dir;
  write_file(dir / "study.json",
             hpo::testing::objective_spec(
                 "mo", "multi",
                 R"({"direction": null, "objective": null,
                     "objectives": [{"metric": "loss", "direction": "minimize"},
                                    {"metric": "size", "direction": "minimize"}],
                     "constraints": [{"metric": "mem", "max": 150}],
                     "sampler": {"name": "nsga2", "seed": 3, "population_size": 6},
                     "budget": {"trials": 20}})"));
  REQUIRE(run_hpo({"run", "study.json"}, dir.path()).exit_code == 0);
  REQUIRE(run_hpo({"report", "mo", "-o", "report.html"}, dir.path()).exit_code == 0);
  const auto chromium = HeadlessChromium::find();
  if (!chromium) {
    WARN("chromium is not installed (apt-get install chromium): skipping the browser check");
    return;
  }
  HeadlessChromium browser(*chromium, dir / "profile", 1280, 1600);
  browser.navigate("file://" + (dir / "report.html").string());
  REQUIRE(browser.wait_until("document.body.getAttribute('data-renders') === '1'"));
  const json seen = browser.evaluate(R"((() => {
    const c = document.querySelector("#pareto canvas");
    if (!c) return -1;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const max = Math.max(d[i], d[i + 1], d[i + 2]), min = Math.min(d[i], d[i + 1], d[i + 2]);
      if (d[i + 3] > 40 && max - min > 40) n++;
    }
    return n;
  })())");
  INFO("pareto pixels: " << seen.dump() << "\nerrors:" << joined(browser.errors()));
  CHECK(seen.get<int>() > 50);
  CHECK_FALSE(browser.evaluate("document.getElementById('pareto-card').hidden").get<bool>());
  CHECK(browser.evaluate("document.getElementById('pareto-note').textContent")
            .get<std::string>()
            .find("on the front of 20 COMPLETE") != std::string::npos);
  CHECK(browser.errors().empty());
}

TEST_CASE("hpo dashboard serves read-only JSON on loopback and refuses what it should",
          "[integration][dashboard]") {
  TempDir dir;
  seed_study(dir / "hpo.db", "dash", {.complete = 5});
  Dashboard d = start_dashboard(dir);
  auto page = http_request(d.port, "GET", "/");
  CHECK(page.status == 200);
  CHECK(page.content_type.find("text/html") == 0);
  CHECK(page.body.find("connect-src 'self'") != std::string::npos);
  const json list = json::parse(http_request(d.port, "GET", "/api/studies").body);
  REQUIRE(list["studies"].size() == 1);
  CHECK(list["studies"][0]["name"] == "dash");
  CHECK(list["studies"][0]["trials"] == 10);
  // The first request for a study answers at once ("loading"), then with the document.
  json doc;
  REQUIRE(wait_for([&] {
    doc = json::parse(http_request(d.port, "GET", "/api/studies/dash").body);
    return !doc.contains("loading");
  }));
  CHECK(doc["summary"]["counts"]["total"] == 10);
  const json page1 = json::parse(
      http_request(d.port, "GET", "/api/studies/dash/trials?sort=value&order=asc&limit=3").body);
  CHECK(page1["rows"].size() == 3);
  CHECK(http_request(d.port, "GET", "/api/studies/nope").status == 404);
  CHECK(http_request(d.port, "POST", "/api/studies").status == 405);
  CHECK(http_request(d.port, "DELETE", "/api/studies/dash").status == 405);
  CHECK(http_request(d.port, "GET", "/", "evil.example:80").status == 403);
  CHECK(http_request(d.port, "GET", "/", "localhost:" + std::to_string(d.port)).status == 200);
  stop(d);
  CHECK(run_hpo({"dashboard", "--storage", "missing.db", "--port", "0"}, dir.path()).exit_code ==
        2);
  CHECK(run_hpo({"dashboard", "--host", "not-an-address", "--port", "0"}, dir.path()).exit_code ==
        2);
}

TEST_CASE("the dashboard page shows a new trial without a reload and logs no error",
          "[integration][dashboard]") {
  const auto chromium = HeadlessChromium::find();
  if (!chromium) {
    WARN(
        "chromium is not installed (apt-get install chromium): skipping the dashboard's browser "
        "test");
    return;
  }
  TempDir dir;
  seed_study(dir / "hpo.db", "live", {.complete = 12});
  Dashboard d = start_dashboard(dir);
  HeadlessChromium browser(*chromium, dir / "profile", 1280, 1400);
  const std::string origin = "http://127.0.0.1:" + std::to_string(d.port);
  browser.navigate(origin + "/?study=live");
  REQUIRE(browser.wait_until("document.body.getAttribute('data-trials') === '17'"));
  browser.evaluate("window.notReloaded = true");
  const json before = browser.evaluate(kPlotPixels);
  CHECK(before["history"].get<int>() > 50);
  CHECK(before["parallel"].get<int>() > 100);

  const int number = add_complete_trial(dir / "hpo.db", "live", 1.0);
  INFO("errors:" << joined(browser.errors()));
  CHECK(browser.wait_until("document.body.getAttribute('data-trials') === '18'"));
  CHECK(browser.evaluate("window.notReloaded === true") == true);
  // The new trial is the best: the summary and the table say so.
  CHECK(browser.wait_until("document.querySelector('#summary').textContent.includes('trial #" +
                           std::to_string(number) + "')"));
  CHECK(browser.wait_until("document.querySelector('#trials tbody tr').textContent.startsWith('" +
                           std::to_string(number) + "')"));
  write_file(screenshot_dir(dir) / "dashboard.png", browser.screenshot_png());
  CHECK(browser.errors().empty());
  for (const auto& u : browser.requests()) {
    INFO("request " << u);
    CHECK((u.rfind(origin + "/", 0) == 0 || u.rfind("data:", 0) == 0));
  }
  stop(d);
}
