#include "engine/report/dashboard_server.h"

#include <utility>  // before Boost: Boost 1.74's Asio with GCC 12 in C++20 needs it

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "engine/report/dashboard_data.h"
#include "engine/report/html_report.h"
#include "engine/report/text_safety.h"
#include "hpo/errors.h"

namespace hpo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out[percent_decode(part)] = "";
    } else {
      out[percent_decode(part.substr(0, eq))] = percent_decode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

std::size_t number_param(const std::map<std::string, std::string>& q, const std::string& key,
                         std::size_t fallback) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  if (*end != '\0') return fallback;
  return static_cast<std::size_t>(v);
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

}  // namespace

class DashboardServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, DashboardData& data, const DashboardServerOptions& options)
      : data_(data),
        options_(options),
        acceptor_(io),
        page_(render_dashboard_html(options.poll_interval_ms)) {
    const std::string bind = options.host == "localhost" ? "127.0.0.1" : options.host;
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(bind, ec);
    if (ec)
      throw InputError("--host", "'" + options.host + "' is not an IP address (e.g. 127.0.0.1)");
    const tcp::endpoint endpoint(address, options.port);
    auto fail = [&](const char* what) {
      throw Error(std::string("cannot ") + what + " " + options.host + ":" +
                  std::to_string(options.port) + ": " + ec.message() +
                  (options.port != 0 ? " (choose another --port, or 0 for any free one)" : ""));
    };
    if (acceptor_.open(endpoint.protocol(), ec)) fail("open a socket for");
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) fail("configure");
    if (acceptor_.bind(endpoint, ec)) fail("listen on");
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) fail("listen on");
    port_ = acceptor_.local_endpoint().port();
    if (is_loopback(options.host)) {
      const std::string p = ":" + std::to_string(port_);
      allowed_hosts_ = {"127.0.0.1" + p, "localhost" + p, "[::1]" + p};
    }
  }

  std::uint16_t port() const { return port_; }

  void accept() {
    acceptor_.async_accept(
        [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec != asio::error::operation_aborted && self->acceptor_.is_open()) self->accept();
            return;
          }
          std::make_shared<Session>(std::move(socket), self)->read();
          self->accept();
        });
  }

  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  // Never throws: a failure becomes a 500 answer.
  Response handle(const Request& req) noexcept {
    try {
      return route(req);
    } catch (const std::exception& e) {
      return json_response(req, http::status::internal_server_error,
                           json_text({{"error", std::string("internal error: ") + e.what()}}));
    } catch (...) {
      return json_response(req, http::status::internal_server_error,
                           R"({"error": "internal error"})");
    }
  }

 private:
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket socket, std::shared_ptr<Impl> server)
        : stream_(std::move(socket)), server_(std::move(server)) {}

    void read() {
      request_ = {};
      stream_.expires_after(std::chrono::seconds(60));
      http::async_read(
          stream_, buffer_, request_,
          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

   private:
    void on_read(beast::error_code ec) {
      if (ec) {  // closed by the peer, timed out, or a malformed request: drop the connection
        close();
        return;
      }
      response_ = server_->handle(request_);
      response_.keep_alive(request_.keep_alive());
      response_.prepare_payload();
      http::async_write(stream_, response_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->response_.keep_alive()) {
                            self->close();
                            return;
                          }
                          self->read();
                        });
    }

    void close() {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    Request request_;
    Response response_;
    std::shared_ptr<Impl> server_;
  };

  Response respond(const Request& req, http::status status, const char* type, std::string body) {
    Response res(status, req.version());
    res.set(http::field::server, "hpo-dashboard");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.body() = std::move(body);
    if (req.method() == http::verb::head) {
      res.content_length(res.body().size());
      res.body().clear();
    }
    return res;
  }

  Response json_response(const Request& req, http::status status, std::string body) {
    return respond(req, status, "application/json; charset=utf-8", std::move(body));
  }

  Response not_found(const Request& req, const std::string& what) {
    return json_response(req, http::status::not_found, json_text({{"error", what}}));
  }

  Response route(const Request& req) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      Response res = json_response(req, http::status::method_not_allowed,
                                   R"({"error": "read-only: GET and HEAD only"})");
      res.set(http::field::allow, "GET, HEAD");
      return res;
    }
    if (!allowed_hosts_.empty()) {
      const std::string host(req[http::field::host]);
      if (!allowed_hosts_.count(host))
        return json_response(req, http::status::forbidden,
                             json_text({{"error", "unexpected Host header '" + host + "'"}}));
    }
    const std::string_view target(req.target().data(), req.target().size());
    const std::size_t qmark = target.find('?');
    const std::string path = percent_decode(target.substr(0, qmark));
    const auto query = parse_query(qmark == std::string_view::npos ? std::string_view()
                                                                   : target.substr(qmark + 1));
    if (path == "/" || path == "/index.html")
      return respond(req, http::status::ok, "text/html; charset=utf-8", page_);
    if (path == "/api/studies") return json_response(req, http::status::ok, data_.studies_json());
    const std::string prefix = "/api/studies/";
    if (path.rfind(prefix, 0) == 0) {
      std::string rest = path.substr(prefix.size());
      const std::string suffix = "/trials";
      if (rest.size() > suffix.size() &&
          rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string name = rest.substr(0, rest.size() - suffix.size());
        const std::string sort = query.count("sort") ? query.at("sort") : "number";
        const bool desc = !query.count("order") || query.at("order") != "asc";
        auto page = data_.trials_page_json(name, sort, desc, number_param(query, "offset", 0),
                                           number_param(query, "limit", 100));
        if (!page)
          return not_found(req,
                           "no study '" + name + "' being watched, or no column '" + sort + "'");
        return json_response(req, http::status::ok, std::move(*page));
      }
      auto doc = data_.study_json(rest);
      if (!doc) return not_found(req, "no study '" + rest + "'");
      return json_response(req, http::status::ok, std::move(*doc));
    }
    return not_found(req, "no page " + path);
  }

  DashboardData& data_;
  DashboardServerOptions options_;
  tcp::acceptor acceptor_;
  std::string page_;
  std::uint16_t port_ = 0;
  std::set<std::string> allowed_hosts_;  // empty: any (a non-local bind the user asked for)
};

DashboardServer::DashboardServer(asio::io_context& io, DashboardData& data,
                                 const DashboardServerOptions& options)
    : impl_(std::make_shared<Impl>(io, data, options)) {}

DashboardServer::~DashboardServer() { impl_->stop(); }

std::uint16_t DashboardServer::port() const { return impl_->port(); }

void DashboardServer::start() { impl_->accept(); }

void DashboardServer::stop() { impl_->stop(); }

}  // namespace hpo
