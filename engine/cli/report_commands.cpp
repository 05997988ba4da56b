// hpo report STUDY -o FILE | hpo dashboard: the study as plots. The report is one HTML file
// that works offline; the dashboard serves the same page live from the database while studies
// run (engine/report/dashboard_server.h).
#include <utility>  // before Boost: Boost 1.74's Asio with GCC 12 in C++20 needs it

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "engine/cli/study_access.h"
#include "engine/report/dashboard_data.h"
#include "engine/report/dashboard_server.h"
#include "engine/report/html_report.h"
#include "engine/report/output_file.h"
#include "engine/report/param_importance.h"
#include "engine/report/report_data.h"
#include "engine/report/study_space.h"
#include "engine/model/text.h"
#include "engine/report/text_safety.h"
#include "hpo/errors.h"

namespace hpo::cli {
namespace {

constexpr const char* kReportUsage =
    R"(usage: hpo report STUDY -o FILE.html [--force] [--storage PATH | --spec FILE]

Writes one self-contained HTML file about STUDY that works offline (nothing is fetched: the
plotting library, uPlot, is inside it, and the page forbids every request): a summary, the
optimization history (each trial's value and the best so far), parameter importance (fANOVA on
a random forest, as Optuna computes it), parallel coordinates, a slice plot per parameter, the
intermediate values, and the trial table. Large studies are downsampled for the plots.)";

constexpr const char* kDashboardUsage =
    R"(usage: hpo dashboard [--storage PATH | --spec FILE] [--port N] [--host H] [--refresh S]

Serves the report of every study in the results database at http://HOST:PORT/, updated while
studies run: the page polls the server every --refresh seconds and the server reads only what
changed. Read-only. Binds 127.0.0.1 unless --host names another address (e.g. 0.0.0.0: then
anyone who can reach the port can read the studies). Ctrl-C stops it.)";

}  // namespace

int report_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("study", po::value<std::string>(), "study name (default: the --spec file's)")
      ("output,o", po::value<std::string>()->required(), "HTML file to write")
      ("force", po::bool_switch(), "replace the file if it exists");
  // clang-format on
  add_storage_options(options);
  po::positional_options_description pos;
  pos.add("study", 1);
  auto vm = parse_args(args, kReportUsage, options, pos);
  if (!vm) return 0;
  OutputFile file((*vm)["output"].as<std::string>(), (*vm)["force"].as<bool>());
  const OpenedStudy opened = open_study(*vm, study_arg(*vm));
  const StudyRecord& study = opened.study;
  Storage& storage = *opened.storage;
  const std::vector<Trial> trials = storage.get_trials(study.id);
  const SearchSpace space = effective_space(study, trials);
  const ImportanceResult importance = parameter_importance(space, trials);
  file.write(render_report_html(build_report_data(study, trials, space, importance)));
  file.commit();
  std::fprintf(stderr, "hpo report: wrote %s (%zu trials of '%s')\n", file.target().c_str(),
               trials.size(), clean_text(study.name).c_str());
  return 0;
}

int dashboard_command(const Args& args) {
  po::options_description options("Options");
  // clang-format off
  options.add_options()
      ("port", po::value<int>()->default_value(8080), "TCP port (0: any free port)")
      ("host", po::value<std::string>()->default_value("127.0.0.1"), "address to bind")
      ("refresh", po::value<double>()->default_value(2.0), "seconds between updates");
  // clang-format on
  add_storage_options(options);
  auto vm = parse_args(args, kDashboardUsage, options, {});
  if (!vm) return 0;
  const int port = (*vm)["port"].as<int>();
  if (port < 0 || port > 65535) throw InputError("--port", "must be between 0 and 65535");
  const double refresh = (*vm)["refresh"].as<double>();
  if (!(refresh >= 0.1) || refresh > 3600)
    throw InputError("--refresh", "must be between 0.1 and 3600 seconds");
  const StudyLocation location = locate(*vm);
  auto storage = open_results(location.storage);

  DashboardOptions data_options;
  data_options.storage_label = location.storage.string();
  DashboardData data(*storage, *storage, data_options);
  data.refresh();  // a database that cannot be read fails here, before anything is served

  boost::asio::io_context io;
  DashboardServerOptions server_options;
  server_options.host = (*vm)["host"].as<std::string>();
  server_options.port = static_cast<std::uint16_t>(port);
  server_options.poll_interval_ms = static_cast<int>(refresh * 1000);
  DashboardServer server(io, data, server_options);
  server.start();

  // The refresher: reads the database every `refresh` seconds, at once when the page asks for
  // a study not read yet. Storage errors are reported and retried, never thrown out.
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread refresher([&] {
    const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(refresh));
    std::string last_error;
    while (true) {
      bool failed = false;
      try {
        data.refresh();
        last_error.clear();
      } catch (const std::exception& e) {
        failed = true;
        if (last_error != e.what())
          std::fprintf(stderr, "hpo dashboard: %s (retrying)\n", e.what());
        last_error = e.what();
      }
      // Waits a period, in slices, so that a study the page asks for is read within 50 ms.
      const auto until = std::chrono::steady_clock::now() + period;
      std::unique_lock lock(mu);
      while (!stopping && std::chrono::steady_clock::now() < until &&
             (failed || !data.has_pending()))
        wake.wait_for(lock, std::chrono::milliseconds(50));
      if (stopping) return;
    }
  });

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  const std::string host = server_options.host.find(':') != std::string::npos
                               ? "[" + server_options.host + "]"
                               : server_options.host;
  std::printf("hpo dashboard: serving %s at http://%s:%u/ (Ctrl-C stops)\n",
              location.storage.c_str(), host.c_str(), server.port());
  if (server_options.host != "127.0.0.1" && server_options.host != "localhost" &&
      server_options.host != "::1")
    std::printf(
        "hpo dashboard: listening on %s: anyone who can reach this port can read the "
        "studies\n",
        server_options.host.c_str());
  std::fflush(stdout);
  io.run();
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  wake.notify_all();
  refresher.join();
  return 0;
}

}  // namespace hpo::cli
