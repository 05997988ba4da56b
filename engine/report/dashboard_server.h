// DashboardServer: the HTTP side of `hpo dashboard` (Boost.Beast). Read-only: GET and HEAD
// only, nothing that writes. Routes:
//   /                                   the page (html_report.h), which polls the API
//   /api/studies                        DashboardData::studies_json()
//   /api/studies/NAME                   the study's document (report_data.h)
//   /api/studies/NAME/trials?sort=KEY&order=asc|desc&offset=N&limit=N   one page of the table
// Answers carry Cache-Control: no-store. Requests whose Host header names another host than
// the one served are refused (403), so that a web page elsewhere cannot read the dashboard
// through DNS rebinding.
//
// Runs on the caller's io_context (one thread). Every handler catches what it calls and
// answers 500 instead: no exception leaves an Asio handler. Not thread-safe: use it from the
// io_context's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace hpo {

class DashboardData;

struct DashboardServerOptions {
  std::string host = "127.0.0.1";  // address to bind (--host)
  std::uint16_t port = 8080;       // 0: any free port (--port)
  int poll_interval_ms = 2000;     // how often the page polls
};

class DashboardServer {
 public:
  // Binds and listens. Throws Error when the address cannot be bound (in use, not local).
  DashboardServer(boost::asio::io_context& io, DashboardData& data,
                  const DashboardServerOptions& options);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // The port bound (the chosen one when options.port was 0).
  std::uint16_t port() const;

  // Starts accepting connections on the io_context; stop() closes the listener.
  void start();
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hpo
