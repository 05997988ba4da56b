#include "executors/kubernetes/kube_client.h"

// clang-format off
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)
// clang-format on

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <vector>

#include "hpo/errors.h"

namespace hpo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kMaxBody = 256u << 20;
constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::size_t kStreamChunk = 64u << 10;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One connection, plain or TLS.
struct Conn {
  Conn(asio::io_context& io, ssl::context* ctx, std::uint64_t gen) : cert_generation(gen) {
    if (ctx != nullptr)
      tls.emplace(io, *ctx);
    else
      plain.emplace(io);
  }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  template <typename Fn>
  void with_stream(Fn&& fn) {
    if (plain)
      fn(*plain);
    else
      fn(*tls);
  }
  void close() {
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    closed = true;
  }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool connected = false;
  bool closed = false;
  bool reused = false;      // has carried a complete exchange before
  bool tls_failed = false;  // the handshake failed: the server is not trusted (no retry)
  std::uint64_t cert_generation = 0;
};

struct Pending {
  std::string method;
  std::string target;
  std::string body;
  KubeClient::Callback done;
  int attempt = 0;
  bool unauthorized_retried = false;
  std::string sent_authorization;  // for on_unauthorized(): which credential was refused
};

struct Stream {
  std::uint64_t id = 0;
  std::string target;
  KubeClient::DataCallback on_data;
  KubeClient::Callback on_end;
  std::shared_ptr<Conn> conn;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::unique_ptr<char[]> chunk = std::make_unique_for_overwrite<char[]>(kStreamChunk);
  std::string error_body;
  bool cancelled = false;
  bool unauthorized_retried = false;
  std::string sent_authorization;
};

std::string header_value(const http::fields& f, http::field name) {
  const auto it = f.find(name);
  return it == f.end() ? "" : std::string(it->value());
}

// Retry-After in seconds (the HTTP-date form is not used by the API server); nullopt when
// absent or unreadable.
std::optional<std::chrono::milliseconds> retry_after_header(const http::fields& f) {
  const std::string ra = header_value(f, http::field::retry_after);
  if (ra.empty()) return std::nullopt;
  try {
    return std::chrono::seconds(std::max(0, std::stoi(ra)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string transport_error(const std::string& what, const error_code& ec) {
  if (ec == beast::error::timeout) return what + ": timed out";
  return what + ": " + ec.message();
}

}  // namespace

ApiError describe_api_error(int status, const std::string& body) {
  ApiError out;
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.value("kind", "") == "Status") {
    out.reason = doc.value("reason", "");
    std::string message = doc.value("message", "");
    std::string causes;
    if (doc.contains("details") && doc["details"].is_object() &&
        doc["details"].contains("causes") && doc["details"]["causes"].is_array()) {
      for (const auto& c : doc["details"]["causes"]) {
        if (!c.is_object()) continue;
        std::string one = c.value("field", "");
        const std::string m = c.value("message", "");
        one += one.empty() ? m : ": " + m;
        if (!one.empty()) causes += (causes.empty() ? "" : "; ") + one;
      }
    }
    out.message = (out.reason.empty() ? "HTTP " + std::to_string(status) : out.reason) +
                  (message.empty() ? "" : ": " + message);
    if (!causes.empty() && message.find(causes) == std::string::npos)
      out.message += " (" + causes + ")";
    return out;
  }
  std::string text = body.substr(0, 200);
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  out.message = "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text) +
                (body.size() > 200 ? "..." : "");
  return out;
}

std::string url_encode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct KubeClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, KubeCredentials& creds, KubeClientOptions opts)
      : io(io_context),
        credentials(creds),
        options(opts),
        resolver(io_context),
        rng(std::random_device{}()) {}

  asio::io_context& io;
  KubeCredentials& credentials;
  const KubeClientOptions options;
  tcp::resolver resolver;
  std::mt19937 rng;

  std::unique_ptr<ssl::context> tls_context;
  std::uint64_t tls_generation = ~std::uint64_t{0};
  std::string tls_error;  // why the TLS context could not be set up

  std::deque<std::shared_ptr<Pending>> queue;
  std::vector<std::shared_ptr<Conn>> idle;
  std::size_t open = 0;       // pooled connections open or opening
  std::size_t in_flight = 0;  // requests on a connection or waiting to retry
  std::map<std::uint64_t, std::shared_ptr<Stream>> streams;
  std::vector<std::shared_ptr<asio::steady_timer>> timers;
  std::uint64_t next_stream = 0;
  std::uint64_t sent = 0;
  bool abandoned = false;

  const KubeConfig& config() const { return credentials.config(); }

  // The TLS context for the current client certificate; nullptr for plain http or when it
  // cannot be built (tls_error says why).
  ssl::context* context() {
    if (!config().tls) return nullptr;
    KubeCredentials::ClientCert cert;
    try {
      cert = credentials.client_cert();
    } catch (const std::exception& e) {
      tls_error = e.what();
      return nullptr;
    }
    if (tls_context && tls_generation == credentials.generation()) return tls_context.get();
    tls_error.clear();
    try {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      if (config().insecure_skip_tls_verify) {
        ctx->set_verify_mode(ssl::verify_none);
      } else {
        ctx->set_verify_mode(ssl::verify_peer);
        if (config().ca_pem.empty())
          ctx->set_default_verify_paths();
        else
          ctx->add_certificate_authority(asio::buffer(config().ca_pem));
      }
      if (!cert.cert_pem.empty()) {
        ctx->use_certificate_chain(asio::buffer(cert.cert_pem));
        ctx->use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
      }
      tls_context = std::move(ctx);
      tls_generation = credentials.generation();
    } catch (const boost::system::system_error& e) {
      tls_error = "TLS setup for " + config().server + " failed (" + config().source +
                  "): " + e.code().message();
      tls_context.reset();
      return nullptr;
    }
    return tls_context.get();
  }

  std::chrono::milliseconds backoff(int attempt) {
    const auto base = options.backoff_base.count() << std::min(attempt, 16);
    const auto capped = std::min<long long>(base, options.backoff_max.count());
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<long long>(capped * jitter(rng)));
  }

  void after(std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timers.push_back(timer);
    timer->async_wait([weak = weak_from_this(), timer, fn = std::move(fn)](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || self->abandoned) return;
      std::erase(self->timers, timer);
      if (!ec) fn();
    });
  }

  void post_done(const std::shared_ptr<Pending>& p, ApiResponse r) {
    // Never from inside request(): the caller may be iterating its own state.
    asio::post(io, [weak = weak_from_this(), p, r = std::move(r)]() mutable {
      const auto self = weak.lock();
      if (!self || self->abandoned) return;
      --self->in_flight;
      p->done(std::move(r));
      self->maybe_close_when_quiet();
    });
  }

  void maybe_close_when_quiet() {}

  std::shared_ptr<Conn> make_conn() {
    ssl::context* ctx = context();
    if (config().tls && ctx == nullptr) return nullptr;
    return std::make_shared<Conn>(io, ctx, credentials.generation());
  }

  // Opens `c`: resolve (unless an IP), connect, TLS handshake.
  void connect(const std::shared_ptr<Conn>& c, std::function<void(const std::string&)> then) {
    auto on_connected = [weak = weak_from_this(), c, then](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || self->abandoned || c->closed) return;
      if (ec) return then(transport_error("cannot connect to " + self->config().server, ec));
      error_code ignored;
      c->lowest().socket().set_option(asio::socket_base::keep_alive(true), ignored);
      c->lowest().socket().set_option(tcp::no_delay(true), ignored);
      if (!c->tls) {
        c->connected = true;
        return then("");
      }
      const std::string& name = self->config().tls_server_name.empty()
                                    ? self->config().host
                                    : self->config().tls_server_name;
      if (!is_ip_literal(name)) ::SSL_set_tlsext_host_name(c->tls->native_handle(), name.c_str());
      if (!self->config().insecure_skip_tls_verify)
        c->tls->set_verify_callback(ssl::host_name_verification(name));
      c->lowest().expires_after(self->options.request_timeout);
      c->tls->async_handshake(ssl::stream_base::client, [weak, c, then](const error_code& hec) {
        const auto self = weak.lock();
        if (!self || self->abandoned || c->closed) return;
        if (hec) {
          c->tls_failed =
              hec.category() != asio::error::get_misc_category() && hec != beast::error::timeout;
          return then(
              transport_error("TLS handshake with " + self->config().server + " failed", hec));
        }
        c->connected = true;
        then("");
      });
    };
    c->lowest().expires_after(options.request_timeout);
    if (is_ip_literal(config().host)) {
      const tcp::endpoint ep(asio::ip::make_address(config().host),
                             static_cast<unsigned short>(std::stoi(config().port)));
      c->lowest().async_connect(ep, on_connected);
      return;
    }
    resolver.async_resolve(
        config().host, config().port,
        [weak = weak_from_this(), c, on_connected, then](const error_code& ec,
                                                         tcp::resolver::results_type results) {
          const auto self = weak.lock();
          if (!self || self->abandoned || c->closed) return;
          if (ec) return then(transport_error("cannot resolve " + self->config().host, ec));
          c->lowest().async_connect(
              results,
              [on_connected](const error_code& cec, const tcp::endpoint&) { on_connected(cec); });
        });
  }

  http::request<http::string_body> make_request(const std::string& method,
                                                const std::string& target,
                                                const std::string& body) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(config().path_prefix + target);
    req.version(11);
    req.set(http::field::host, config().host + ":" + config().port);
    req.set(http::field::user_agent, "hpo/0.1");
    req.set(http::field::accept, "application/json");
    const std::string auth = credentials.authorization();  // may throw ExecutorError
    if (!auth.empty()) req.set(http::field::authorization, auth);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  // ---- requests ----------------------------------------------------------------------------

  void enqueue(std::shared_ptr<Pending> p) {
    queue.push_back(std::move(p));
    dispatch();
  }

  void dispatch() {
    while (!queue.empty() && !abandoned) {
      std::shared_ptr<Conn> c;
      while (!idle.empty() && !c) {
        c = idle.back();
        idle.pop_back();
        if (c->cert_generation != credentials.generation() && config().tls) {
          c->close();
          --open;
          c.reset();
        }
      }
      if (!c) {
        if (open >= options.max_connections) return;
        c = make_conn();
        if (!c) {
          auto p = queue.front();
          queue.pop_front();
          ApiResponse r;
          r.error = tls_error;
          post_done(p, std::move(r));
          continue;
        }
        ++open;
      }
      auto p = queue.front();
      queue.pop_front();
      run_on(c, p);
    }
  }

  void run_on(const std::shared_ptr<Conn>& c, const std::shared_ptr<Pending>& p) {
    if (c->connected) return send(c, p);
    connect(c, [weak = weak_from_this(), c, p](const std::string& error) {
      const auto self = weak.lock();
      if (!self) return;
      if (!error.empty()) return self->conn_failed(c, p, error);
      self->send(c, p);
    });
  }

  void send(const std::shared_ptr<Conn>& c, const std::shared_ptr<Pending>& p) {
    auto req = std::make_shared<http::request<http::string_body>>();
    try {
      *req = make_request(p->method, p->target, p->body);
    } catch (const std::exception& e) {
      release(c);
      ApiResponse r;
      r.error = e.what();
      post_done(p, std::move(r));
      return;
    }
    ++sent;
    p->sent_authorization = std::string((*req)[http::field::authorization]);
    c->lowest().expires_after(options.request_timeout);
    c->with_stream([&](auto& s) {
      http::async_write(
          s, *req, [weak = weak_from_this(), c, p, req](const error_code& ec, std::size_t) {
            const auto self = weak.lock();
            if (!self || self->abandoned || c->closed) return;
            if (ec) return self->conn_failed(c, p, transport_error("sending to the API", ec));
            self->read_response(c, p);
          });
    });
  }

  void read_response(const std::shared_ptr<Conn>& c, const std::shared_ptr<Pending>& p) {
    auto parser = std::make_shared<http::response_parser<http::string_body>>();
    parser->body_limit(kMaxBody);
    if (p->method == "HEAD") parser->skip(true);
    c->with_stream([&](auto& s) {
      http::async_read(s, c->buffer, *parser,
                       [weak = weak_from_this(), c, p, parser](const error_code& ec, std::size_t) {
                         const auto self = weak.lock();
                         if (!self || self->abandoned || c->closed) return;
                         if (ec)
                           return self->conn_failed(
                               c, p, transport_error("reading the API's answer", ec));
                         auto& res = parser->get();
                         const bool keep = res.keep_alive();
                         c->reused = true;
                         if (keep)
                           self->release(c);
                         else
                           self->drop(c);
                         self->handle_answer(p, res);
                       });
    });
  }

  void release(const std::shared_ptr<Conn>& c) {
    if (c->closed) {
      --open;
    } else {
      idle.push_back(c);
    }
    dispatch();
  }

  void drop(const std::shared_ptr<Conn>& c) {
    c->close();
    --open;
    dispatch();
  }

  void conn_failed(const std::shared_ptr<Conn>& c, const std::shared_ptr<Pending>& p,
                   const std::string& error) {
    const bool was_reused = c->reused;
    const bool untrusted = c->tls_failed;
    c->close();
    --open;
    if (untrusted) {  // retrying cannot make the certificate check pass
      post_done(p, ApiResponse{0, "", "", error, "", std::nullopt});
      dispatch();
      return;
    }
    if (was_reused && p->attempt == 0) {
      // The server closed an idle keep-alive connection: not the request's fault.
      ++p->attempt;
      enqueue(p);
      return;
    }
    retry_or_finish(p, ApiResponse{0, "", "", error, "", std::nullopt}, std::nullopt);
    dispatch();
  }

  void handle_answer(const std::shared_ptr<Pending>& p,
                     const http::response<http::string_body>& res) {
    ApiResponse r;
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    r.warning = header_value(res, http::field::warning);
    if (r.status < 200 || r.status >= 300) {
      ApiError e = describe_api_error(r.status, r.body);
      r.error = std::move(e.message);
      r.reason = std::move(e.reason);
    }
    if (r.status == 401 && !p->unauthorized_retried &&
        credentials.on_unauthorized(p->sent_authorization)) {
      p->unauthorized_retried = true;
      enqueue(p);
      return;
    }
    const std::optional<std::chrono::milliseconds> retry_after = retry_after_header(res);
    r.retry_after = retry_after;
    const bool retriable =
        r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
    if (retriable) return retry_or_finish(p, std::move(r), retry_after);
    post_done(p, std::move(r));
  }

  void retry_or_finish(const std::shared_ptr<Pending>& p, ApiResponse r,
                       std::optional<std::chrono::milliseconds> retry_after) {
    ++p->attempt;
    if (p->attempt >= options.max_attempts) {
      if (r.status != 0)
        r.error += " (after " + std::to_string(p->attempt) + " tries)";
      else
        r.error += " (after " + std::to_string(p->attempt) + " tries)";
      post_done(p, std::move(r));
      return;
    }
    const auto delay =
        retry_after ? std::min(*retry_after, options.backoff_max) : backoff(p->attempt - 1);
    after(delay, [weak = weak_from_this(), p] {
      if (const auto self = weak.lock()) self->enqueue(p);
    });
  }

  // ---- streams -----------------------------------------------------------------------------

  void open_stream(const std::shared_ptr<Stream>& s) {
    s->conn = make_conn();
    if (!s->conn) return end_stream(s, ApiResponse{0, "", "", tls_error, "", std::nullopt});
    connect(s->conn, [weak = weak_from_this(), s](const std::string& error) {
      const auto self = weak.lock();
      if (!self || s->cancelled) return;
      if (!error.empty())
        return self->end_stream(s, ApiResponse{0, "", "", error, "", std::nullopt});
      self->send_stream(s);
    });
  }

  void send_stream(const std::shared_ptr<Stream>& s) {
    auto req = std::make_shared<http::request<http::string_body>>();
    try {
      *req = make_request("GET", s->target, "");
    } catch (const std::exception& e) {
      return end_stream(s, ApiResponse{0, "", "", e.what(), "", std::nullopt});
    }
    ++sent;
    s->sent_authorization = std::string((*req)[http::field::authorization]);
    s->conn->lowest().expires_after(options.request_timeout);
    s->conn->with_stream([&](auto& st) {
      http::async_write(
          st, *req, [weak = weak_from_this(), s, req](const error_code& ec, std::size_t) {
            const auto self = weak.lock();
            if (!self || s->cancelled) return;
            if (ec)
              return self->end_stream(
                  s, ApiResponse{0, "", "", transport_error("sending to the API", ec), "",
                                 std::nullopt});
            self->read_stream_header(s);
          });
    });
  }

  void read_stream_header(const std::shared_ptr<Stream>& s) {
    s->parser.emplace();
    // No limit, spelled as the largest one: with boost::none, Beast 1.74 compares a
    // Content-Length against an empty optional and fails every non-chunked body ("body limit
    // exceeded"), e.g. a pod log read without follow.
    s->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    s->conn->with_stream([&](auto& st) {
      http::async_read_header(
          st, s->conn->buffer, *s->parser,
          [weak = weak_from_this(), s](const error_code& ec, std::size_t) {
            const auto self = weak.lock();
            if (!self || s->cancelled) return;
            if (ec)
              return self->end_stream(
                  s, ApiResponse{0, "", "", transport_error("reading the API's answer", ec), "",
                                 std::nullopt});
            // A stream may stay quiet for long (a watch without events, a silent program).
            s->conn->lowest().expires_never();
            self->read_stream_body(s);
          });
    });
  }

  void read_stream_body(const std::shared_ptr<Stream>& s) {
    auto& body = s->parser->get().body();
    body.data = s->chunk.get();
    body.size = kStreamChunk;
    body.more = true;
    s->conn->with_stream([&](auto& st) {
      // read_some: hand over what arrived; a quiet stream must not wait for a full buffer.
      http::async_read_some(st, s->conn->buffer, *s->parser,
                            [weak = weak_from_this(), s](error_code ec, std::size_t) {
                              const auto self = weak.lock();
                              if (!self || s->cancelled) return;
                              if (ec == http::error::need_buffer) ec = {};
                              const std::size_t n = kStreamChunk - s->parser->get().body().size;
                              const int status = static_cast<int>(s->parser->get().result_int());
                              if (n > 0) {
                                if (status == 200) {
                                  s->on_data(std::string_view(s->chunk.get(), n));
                                  if (s->cancelled || self->abandoned) return;
                                } else if (s->error_body.size() < kMaxErrorBody) {
                                  s->error_body.append(s->chunk.get(), n);
                                }
                              }
                              if (ec) {
                                ApiResponse r{status, s->error_body,
                                              "",     "",
                                              "",     retry_after_header(s->parser->get())};
                                if (status == 200)
                                  r.error = transport_error("the stream broke", ec);
                                else
                                  r.error = describe_api_error(status, s->error_body).message;
                                return self->end_stream(s, std::move(r));
                              }
                              if (s->parser->is_done()) {
                                ApiResponse r{status, s->error_body,
                                              "",     "",
                                              "",     retry_after_header(s->parser->get())};
                                if (status < 200 || status >= 300) {
                                  ApiError e = describe_api_error(status, s->error_body);
                                  r.error = e.message;
                                  r.reason = e.reason;
                                }
                                return self->end_stream(s, std::move(r));
                              }
                              self->read_stream_body(s);
                            });
    });
  }

  void end_stream(const std::shared_ptr<Stream>& s, ApiResponse r) {
    if (s->conn) s->conn->close();
    if (r.status == 401 && !s->unauthorized_retried &&
        credentials.on_unauthorized(s->sent_authorization)) {
      s->unauthorized_retried = true;
      s->error_body.clear();
      return open_stream(s);
    }
    s->cancelled = true;
    streams.erase(s->id);
    asio::post(io, [weak = weak_from_this(), s, r = std::move(r)]() mutable {
      const auto self = weak.lock();
      if (!self || self->abandoned) return;
      s->on_end(std::move(r));
    });
  }

  void shutdown() {
    abandoned = true;
    for (auto& c : idle) c->close();
    idle.clear();
    for (auto& [id, s] : streams) {
      s->cancelled = true;
      if (s->conn) s->conn->close();
    }
    streams.clear();
    for (auto& t : timers) t->cancel();
    timers.clear();
    queue.clear();
    resolver.cancel();
  }
};

KubeClient::KubeClient(boost::asio::io_context& io, KubeCredentials& credentials,
                       KubeClientOptions options)
    : impl_(std::make_shared<Impl>(io, credentials, options)) {}

KubeClient::~KubeClient() { impl_->shutdown(); }

void KubeClient::request(const std::string& method, const std::string& target, std::string body,
                         Callback done) {
  auto p = std::make_shared<Pending>();
  p->method = method;
  p->target = target;
  p->body = std::move(body);
  p->done = std::move(done);
  ++impl_->in_flight;
  impl_->enqueue(std::move(p));
}

std::uint64_t KubeClient::stream(const std::string& target, DataCallback on_data, Callback on_end) {
  auto s = std::make_shared<Stream>();
  s->id = ++impl_->next_stream;
  s->target = target;
  s->on_data = std::move(on_data);
  s->on_end = std::move(on_end);
  impl_->streams[s->id] = s;
  // Opened from a handler: on_end must never run inside stream().
  asio::post(impl_->io, [weak = std::weak_ptr<Impl>(impl_), s] {
    const auto self = weak.lock();
    if (!self || self->abandoned || s->cancelled) return;
    self->open_stream(s);
  });
  return s->id;
}

void KubeClient::cancel_stream(std::uint64_t id) {
  const auto it = impl_->streams.find(id);
  if (it == impl_->streams.end()) return;
  it->second->cancelled = true;
  if (it->second->conn) it->second->conn->close();
  impl_->streams.erase(it);
}

void KubeClient::close_idle() {
  for (auto& c : impl_->idle) {
    c->close();
    --impl_->open;
  }
  impl_->idle.clear();
}

std::size_t KubeClient::busy() const { return impl_->in_flight + impl_->streams.size(); }

std::uint64_t KubeClient::requests_sent() const { return impl_->sent; }

}  // namespace hpo
