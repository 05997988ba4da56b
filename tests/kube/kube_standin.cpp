#include "tests/kube/kube_standin.h"

#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace hpo::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view kv = q.substr(0, amp);
    const auto eq = kv.find('=');
    out[url_decode(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

// A query flag as Go's strconv.ParseBool reads it (the API server's parser).
bool is_true(const std::string& v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto p = s.find(sep);
    out.emplace_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// An equality-based label selector: k=v, k==v, k!=v, k, !k.
struct Selector {
  struct Term {
    std::string key, value;
    enum { kEq, kNe, kExists, kNotExists } op;
  };
  std::vector<Term> terms;
  static Selector parse(const std::string& text) {
    Selector s;
    if (trim(text).empty()) return s;
    for (std::string part : split(text, ',')) {
      part = trim(part);
      Term t;
      if (auto ne = part.find("!="); ne != std::string::npos) {
        t = {trim(part.substr(0, ne)), trim(part.substr(ne + 2)), Term::kNe};
      } else if (auto eq = part.find('='); eq != std::string::npos) {
        const std::size_t skip = part.compare(eq, 2, "==") == 0 ? 2 : 1;
        t = {trim(part.substr(0, eq)), trim(part.substr(eq + skip)), Term::kEq};
      } else if (!part.empty() && part[0] == '!') {
        t = {trim(part.substr(1)), "", Term::kNotExists};
      } else {
        t = {part, "", Term::kExists};
      }
      s.terms.push_back(t);
    }
    return s;
  }
  bool matches(const Json& labels) const {
    for (const auto& t : terms) {
      const bool has = labels.is_object() && labels.contains(t.key);
      const std::string v =
          has && labels[t.key].is_string() ? labels[t.key].get<std::string>() : "";
      switch (t.op) {
        case Term::kEq:
          if (!has || v != t.value) return false;
          break;
        case Term::kNe:
          if (has && v == t.value) return false;
          break;
        case Term::kExists:
          if (!has) return false;
          break;
        case Term::kNotExists:
          if (has) return false;
          break;
      }
    }
    return true;
  }
};

Json status_body(int code, const std::string& reason, const std::string& message,
                 Json details = nullptr) {
  Json s = {{"kind", "Status"},
            {"apiVersion", "v1"},
            {"metadata", Json::object()},
            {"status", code < 300 ? "Success" : "Failure"},
            {"message", message},
            {"reason", reason},
            {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

bool is_dns_subdomain(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back()));
}

// A reply: status, JSON or text body, extra headers.
struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(int status, const Json& body) {
  return {status, body.dump(), "application/json", {}};
}
Reply error_reply(int code, const std::string& reason, const std::string& message,
                  Json details = nullptr) {
  return json_reply(code, status_body(code, reason, message, std::move(details)));
}

struct Session;

struct Watcher {
  std::weak_ptr<Session> session;
  std::string resource;  // "jobs" or "pods"
  std::string ns;        // "" for all namespaces
  Selector labels;
  std::string field_name, field_namespace;
  bool bookmarks = false;
  std::unique_ptr<asio::steady_timer> timeout, bookmark;
};

struct Follower {
  std::weak_ptr<Session> session;
  std::int64_t limit_left = -1;  // bytes; -1 for no limit
};

struct PodRt {
  explicit PodRt(asio::io_context& io) : timer(io), out(io), pidfd(io) {}
  std::string ns, name, job;
  Json obj;
  std::string log;
  bool scripted = false;
  PodScript script;
  pid_t pid = -1;
  bool exited = false, out_done = false;
  int exit_status = 0;
  bool running = false, done = false, killed = false;
  std::string kill_reason;  // why it was killed (DeadlineExceeded), if so
  asio::steady_timer timer;
  asio::posix::stream_descriptor out;
  asio::posix::stream_descriptor pidfd;
  std::array<char, 8192> buf{};
  std::vector<std::shared_ptr<Follower>> followers;
};

struct JobRt {
  explicit JobRt(asio::io_context& io) : deadline(io), ttl(io), settle(io) {}
  Json obj;
  asio::steady_timer deadline, ttl, settle;
  int failed = 0;
  bool started = false, finished = false;
  std::vector<std::string> pods;  // names, oldest first
};

struct Event {
  std::int64_t rv;
  std::string resource, ns, type;
  Json obj;
};

}  // namespace

struct KubeStandin::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(StandinOptions o)
      : options(std::move(o)), acceptor(io), rng(std::random_device{}()) {}

  StandinOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::unique_ptr<ssl::context> tls;
  std::thread thread;
  mutable std::recursive_mutex mu;
  std::mt19937 rng;
  unsigned short port = 0;
  bool stopping = false;
  const bool trace = std::getenv("HPO_STANDIN_TRACE") != nullptr;  // requests to stderr

  std::int64_t rv = 1;
  std::int64_t oldest_rv = 1;  // events after this one are kept
  std::deque<Event> history;
  std::map<std::string, std::unique_ptr<JobRt>> jobs;  // ns/name
  std::map<std::string, std::unique_ptr<PodRt>> pods;  // ns/name
  std::vector<std::shared_ptr<Watcher>> watchers;
  std::vector<FaultRule> faults;
  std::map<std::string, int> lost_events;  // resource -> events open watches will not get
  std::vector<LoggedRequest> log;
  std::set<std::shared_ptr<Session>> sessions;
  // Deleted pods whose processes are still in their grace period.
  struct Dying {
    std::unique_ptr<PodRt> pod;
    Clock::time_point kill_at;
  };
  std::vector<Dying> dying;
  std::unique_ptr<asio::steady_timer> reaper;
  void reap_dying();
  // Timers that only their own handler owns (a delayed reply, a background delete, a kill after
  // the grace period). shutdown() cancels them: a handler left waiting in the stopped io_context
  // would keep its timer and this Impl alive for ever.
  std::vector<std::weak_ptr<asio::steady_timer>> oneshots;
  template <typename Duration>
  std::shared_ptr<asio::steady_timer> oneshot_timer(Duration d) {
    std::erase_if(oneshots, [](const auto& t) { return t.expired(); });
    auto timer = std::make_shared<asio::steady_timer>(io, d);
    oneshots.push_back(timer);
    return timer;
  }

  bool auth_required() const { return !options.tokens.empty() || !options.client_ca_file.empty(); }

  std::string random_suffix(std::size_t n) {
    static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";
    std::uniform_int_distribution<int> d(0, 26);
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(kChars[d(rng)]);
    return s;
  }
  std::string uid() {
    std::uniform_int_distribution<unsigned> d(0, 15);
    std::string s;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) s.push_back('-');
      s.push_back("0123456789abcdef"[d(rng)]);
    }
    return s;
  }

  // ---- events --------------------------------------------------------------------------
  void emit(const std::string& resource, const std::string& type, Json& obj);
  void send_event(Watcher& w, const std::string& type, const Json& obj);
  bool watcher_matches(const Watcher& w, const std::string& resource, const Json& obj) const;

  // ---- requests ------------------------------------------------------------------------
  void handle(const std::shared_ptr<Session>& s, http::request<http::string_body>& req,
              bool allow_faults = true);
  Reply route(const std::shared_ptr<Session>& s, const std::string& method, const std::string& path,
              std::map<std::string, std::string>& q, const http::request<http::string_body>& req,
              bool& streamed);
  Reply discovery(const std::string& path);
  Reply create_job(const std::string& ns, const std::string& body);
  Reply list(const std::string& resource, const std::string& ns,
             std::map<std::string, std::string>& q);
  Reply start_watch(const std::shared_ptr<Session>& s, const std::string& resource,
                    const std::string& ns, std::map<std::string, std::string>& q, bool& streamed);
  Reply delete_job_req(const std::string& ns, const std::string& name, const std::string& policy,
                       std::optional<int> grace);
  Reply pod_log(const std::shared_ptr<Session>& s, const std::string& ns, const std::string& name,
                std::map<std::string, std::string>& q, bool& streamed);

  // ---- lifecycle -----------------------------------------------------------------------
  void start_job(JobRt& j);
  void new_pod(JobRt& j);
  void run_pod(PodRt& p);
  void spawn(PodRt& p);
  void read_output(PodRt& p);
  void watch_exit(PodRt& p);
  void maybe_pod_done(PodRt& p);
  void pod_finished(PodRt& p, int exit_code, const std::string& reason);
  void append_log(PodRt& p, std::string_view data);
  void end_followers(PodRt& p);
  void job_pod_ended(const std::string& job_key, PodRt& p, int exit_code);
  void finish_job(JobRt& j, bool success, const std::string& reason, const std::string& message);
  void set_condition(Json& job, const std::string& type, const std::string& reason,
                     const std::string& message);
  void remove_job(const std::string& key, const std::string& policy, std::optional<int> grace);
  void remove_pod(const std::string& key, std::optional<int> grace);
  void kill_pod(PodRt& p, std::optional<int> grace, const std::string& reason);
  Json* job_obj(const std::string& key) {
    auto it = jobs.find(key);
    return it == jobs.end() ? nullptr : &it->second->obj;
  }
  void touch_job(JobRt& j) { emit("jobs", "MODIFIED", j.obj); }
  void update_job_counts(JobRt& j);

  void shutdown();
};

namespace {

// One client connection: plain or TLS; request/response, then maybe a chunked stream.
struct Session : std::enable_shared_from_this<Session> {
  Session(std::shared_ptr<KubeStandin::Impl> i, tcp::socket sock, ssl::context* ctx) : impl(i) {
    if (ctx)
      tls.emplace(std::move(sock), *ctx);
    else
      plain.emplace(std::move(sock));
  }
  std::weak_ptr<KubeStandin::Impl> impl;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  bool client_cert_ok = false;
  bool streaming = false;
  bool closed = false;
  bool cut_after_first = false;  // fault: cut the stream after its first chunk
  std::deque<std::string> out;
  bool writing = false;
  bool end_queued = false;
  std::array<char, 256> sink{};

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  template <typename Fn>
  void with(Fn&& fn) {
    if (plain)
      fn(*plain);
    else
      fn(*tls);
  }
  void close() {
    if (closed) return;
    closed = true;
    error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }
  void reset() {  // abortive close: the client sees a connection reset
    if (closed) return;
    closed = true;
    error_code ec;
    lowest().socket().set_option(asio::socket_base::linger(true, 0), ec);
    lowest().close();
  }

  void start();
  void read_request();
  void write_reply(Reply r, bool keep_alive);
  // Streams.
  void begin_stream(const std::string& content_type);
  void send_chunk(const std::string& data);
  void end_stream();
  void flush();
  void watch_close();
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Sessions

void Session::start() {
  auto self = shared_from_this();
  if (!tls) return read_request();
  lowest().expires_after(std::chrono::seconds(30));
  tls->async_handshake(ssl::stream_base::server, [self](const error_code& ec) {
    auto impl = self->impl.lock();
    if (!impl) return;
    std::lock_guard lock(impl->mu);
    if (ec) {
      self->close();
      impl->sessions.erase(self);
      return;
    }
    if (X509* cert = ::SSL_get_peer_certificate(self->tls->native_handle())) {
      self->client_cert_ok = ::SSL_get_verify_result(self->tls->native_handle()) == X509_V_OK;
      ::X509_free(cert);
    }
    self->read_request();
  });
}

void Session::read_request() {
  auto self = shared_from_this();
  parser.emplace();
  parser->body_limit(64u << 20);
  lowest().expires_never();
  with([&](auto& s) {
    http::async_read(s, buffer, *parser, [self](const error_code& ec, std::size_t) {
      auto impl = self->impl.lock();
      if (!impl) return;
      std::lock_guard lock(impl->mu);
      if (ec || impl->stopping) {
        self->close();
        impl->sessions.erase(self);
        return;
      }
      auto req = self->parser->release();
      impl->handle(self, req);
    });
  });
}

void Session::write_reply(Reply r, bool keep_alive) {
  auto self = shared_from_this();
  auto res = std::make_shared<http::response<http::string_body>>();
  res->version(11);
  res->result(static_cast<unsigned>(r.status));
  res->set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res->set(k, v);
  res->body() = std::move(r.body);
  res->keep_alive(keep_alive);
  res->prepare_payload();
  with([&](auto& s) {
    http::async_write(s, *res, [self, res, keep_alive](const error_code& ec, std::size_t) {
      auto impl = self->impl.lock();
      if (!impl) return;
      std::lock_guard lock(impl->mu);
      if (ec || !keep_alive || impl->stopping) {
        self->close();
        impl->sessions.erase(self);
        return;
      }
      self->read_request();
    });
  });
}

void Session::begin_stream(const std::string& content_type) {
  streaming = true;
  out.push_back("HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
                "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nCache-Control: "
                "no-cache, private\r\n\r\n");
  flush();
  watch_close();
}

void Session::send_chunk(const std::string& data) {
  if (closed || end_queued || data.empty()) return;
  char head[32];
  std::snprintf(head, sizeof head, "%zx\r\n", data.size());
  out.push_back(head + data + "\r\n");
  flush();
}

void Session::end_stream() {
  if (closed || end_queued) return;
  end_queued = true;
  out.push_back("0\r\n\r\n");
  flush();
}

void Session::flush() {
  if (writing || closed || out.empty()) return;
  writing = true;
  auto self = shared_from_this();
  auto data = std::make_shared<std::string>(std::move(out.front()));
  out.pop_front();
  const bool last = end_queued && out.empty() && *data == "0\r\n\r\n";
  with([&](auto& s) {
    asio::async_write(s, asio::buffer(*data),
                      [self, data, last](const error_code& ec, std::size_t) {
                        auto impl = self->impl.lock();
                        if (!impl) return;
                        std::lock_guard lock(impl->mu);
                        self->writing = false;
                        if (ec || last) {
                          self->close();
                          impl->sessions.erase(self);
                          return;
                        }
                        if (self->cut_after_first && data->rfind("HTTP/1.1", 0) != 0) {
                          self->reset();
                          impl->sessions.erase(self);
                          return;
                        }
                        self->flush();
                      });
  });
}

// Notices the client going away during a stream.
void Session::watch_close() {
  auto self = shared_from_this();
  lowest().socket().async_read_some(asio::buffer(sink), [self](const error_code& ec, std::size_t) {
    auto impl = self->impl.lock();
    if (!impl) return;
    std::lock_guard lock(impl->mu);
    if (!ec && !self->closed) return self->watch_close();
    self->close();
    impl->sessions.erase(self);
  });
}

// ---------------------------------------------------------------------------------------------
// Events and watches

bool KubeStandin::Impl::watcher_matches(const Watcher& w, const std::string& resource,
                                        const Json& obj) const {
  if (w.resource != resource) return false;
  const Json& m = obj["metadata"];
  if (!w.ns.empty() && m.value("namespace", "") != w.ns) return false;
  if (!w.field_name.empty() && m.value("name", "") != w.field_name) return false;
  if (!w.field_namespace.empty() && m.value("namespace", "") != w.field_namespace) return false;
  return w.labels.matches(m.contains("labels") ? m["labels"] : Json::object());
}

void KubeStandin::Impl::send_event(Watcher& w, const std::string& type, const Json& obj) {
  auto s = w.session.lock();
  if (!s || s->closed) return;
  s->send_chunk(Json{{"type", type}, {"object", obj}}.dump() + "\n");
}

void KubeStandin::Impl::emit(const std::string& resource, const std::string& type, Json& obj) {
  obj["metadata"]["resourceVersion"] = std::to_string(++rv);
  Event e{rv, resource, obj["metadata"].value("namespace", ""), type, obj};
  history.push_back(e);
  while (history.size() > options.history) {
    oldest_rv = history.front().rv;
    history.pop_front();
  }
  std::erase_if(watchers, [](const auto& w) {
    auto s = w->session.lock();
    return !s || s->closed;
  });
  // A lost event: in the history (a LIST, and a watch started from an older version, see it),
  // never sent to the watches open now.
  if (auto lost = lost_events.find(resource); lost != lost_events.end() && lost->second > 0) {
    --lost->second;
    return;
  }
  for (auto& w : watchers)
    if (watcher_matches(*w, resource, obj)) send_event(*w, type, obj);
}

// ---------------------------------------------------------------------------------------------
// Requests

void KubeStandin::Impl::handle(const std::shared_ptr<Session>& s,
                               http::request<http::string_body>& req, bool allow_faults) {
  const std::string method(req.method_string());
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const std::string path = target.substr(0, qpos);
  const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
  LoggedRequest entry{
      method,     path, query, std::string(req[http::field::authorization]), s->client_cert_ok,
      req.body(), 0};
  // Faults first.
  for (auto& f : faults) {
    if (!allow_faults) break;
    if (f.count <= 0) continue;
    if (!f.method.empty() && f.method != method) continue;
    if (path.find(f.path_contains) == std::string::npos) continue;
    if (!f.query_contains.empty() && query.find(f.query_contains) == std::string::npos) continue;
    --f.count;
    if (f.kind == FaultRule::Kind::kReset) {
      log.push_back(entry);
      s->reset();
      sessions.erase(s);
      return;
    }
    if (f.kind == FaultRule::Kind::kDelay) {
      auto timer = oneshot_timer(f.delay);
      auto r = std::make_shared<http::request<http::string_body>>(std::move(req));
      timer->async_wait([self = shared_from_this(), s, r, timer](const error_code& ec) {
        std::lock_guard lock(self->mu);
        if (ec || self->stopping || s->closed) return;
        self->handle(s, *r, /*allow_faults=*/false);
      });
      return;
    }
    if (f.kind == FaultRule::Kind::kCutStream) {
      s->cut_after_first = true;
      break;
    }
    Reply r = error_reply(f.status, f.reason.empty() ? "InternalError" : f.reason,
                          f.message.empty() ? "injected fault" : f.message);
    if (f.retry_after) {
      r.headers.emplace_back("Retry-After", std::to_string(*f.retry_after));
      Json body = Json::parse(r.body);
      body["details"] = {{"retryAfterSeconds", *f.retry_after}};
      r.body = body.dump();
    }
    entry.status = r.status;
    log.push_back(entry);
    s->write_reply(std::move(r), req.keep_alive());
    return;
  }
  // Auth. Like kube-apiserver, a token that does not check out is refused; no credential at
  // all is refused too when auth is required.
  const std::string auth(req[http::field::authorization]);
  bool authorized = !auth_required();
  if (auth.rfind("Bearer ", 0) == 0)
    authorized = options.tokens.count(auth.substr(7)) > 0;
  else if (s->client_cert_ok)
    authorized = true;
  if (!authorized && path != "/healthz") {
    Reply r = error_reply(401, "Unauthorized", "Unauthorized");
    entry.status = 401;
    log.push_back(entry);
    s->write_reply(std::move(r), req.keep_alive());
    return;
  }
  auto q = parse_query(query);
  bool streamed = false;
  Reply r;
  try {
    r = route(s, method, path, q, req, streamed);
  } catch (const std::exception& e) {
    r = error_reply(500, "InternalError", std::string("stand-in error: ") + e.what());
  }
  entry.status = streamed ? 200 : r.status;
  if (trace)
    std::fprintf(stderr, "standin: %s %s -> %d%s\n", method.c_str(), target.c_str(), entry.status,
                 streamed ? " (stream)" : "");
  log.push_back(entry);
  if (!streamed) s->write_reply(std::move(r), req.keep_alive());
}

Reply KubeStandin::Impl::discovery(const std::string& path) {
  const std::string minor = std::to_string(options.minor_version);
  if (path == "/version")
    return json_reply(200, {{"major", "1"},
                            {"minor", minor},
                            {"gitVersion", "v1." + minor + ".0-hpo-standin"},
                            {"platform", "linux/amd64"}});
  if (path == "/healthz" || path == "/readyz" || path == "/livez")
    return {200, "ok", "text/plain", {}};
  if (path == "/api")
    return json_reply(200, {{"kind", "APIVersions"},
                            {"versions", {"v1"}},
                            {"serverAddressByClientCIDRs",
                             {{{"clientCIDR", "0.0.0.0/0"},
                               {"serverAddress", "127.0.0.1:" + std::to_string(port)}}}}});
  if (path == "/apis") {
    Json gv = {{"groupVersion", "batch/v1"}, {"version", "v1"}};
    return json_reply(
        200, {{"kind", "APIGroupList"},
              {"apiVersion", "v1"},
              {"groups", {{{"name", "batch"}, {"versions", {gv}}, {"preferredVersion", gv}}}}});
  }
  auto resource = [](const char* name, const char* singular, const char* kind, Json verbs,
                     Json shortNames) {
    Json r = {{"name", name},
              {"singularName", singular},
              {"namespaced", true},
              {"kind", kind},
              {"verbs", verbs}};
    if (!shortNames.is_null()) r["shortNames"] = shortNames;
    return r;
  };
  const Json all = {"create", "delete", "deletecollection", "get",
                    "list",   "patch",  "update",           "watch"};
  if (path == "/api/v1")
    return json_reply(200, {{"kind", "APIResourceList"},
                            {"groupVersion", "v1"},
                            {"resources",
                             {resource("pods", "pod", "Pod", all, Json{"po"}),
                              resource("pods/log", "", "Pod", {"get"}, nullptr),
                              {{"name", "namespaces"},
                               {"singularName", "namespace"},
                               {"namespaced", false},
                               {"kind", "Namespace"},
                               {"verbs", {"get", "list"}},
                               {"shortNames", {"ns"}}}}}});
  if (path == "/apis/batch/v1")
    return json_reply(
        200, {{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", "batch/v1"},
              {"resources",
               {resource("jobs", "job", "Job", all, nullptr),
                resource("jobs/status", "", "Job", {"get", "patch", "update"}, nullptr)}}});
  if (path == "/openapi/v2" || path == "/swagger-2.0.0.pb-v1") {
    // OpenAPI v2 Document{swagger: "2.0", info{title: "Kubernetes", version: "v0.0.0"}}.
    std::string doc =
        "\x0a\x03"
        "2.0"
        "\x12\x14"
        "\x0a\x0a"
        "Kubernetes"
        "\x12\x06"
        "v0.0.0";
    return {200, doc, "application/octet-stream", {}};
  }
  return error_reply(404, "NotFound", "the server could not find the requested resource");
}

Reply KubeStandin::Impl::route(const std::shared_ptr<Session>& s, const std::string& method,
                               const std::string& path, std::map<std::string, std::string>& q,
                               const http::request<http::string_body>& req, bool& streamed) {
  const auto parts = split(path.size() > 1 ? path.substr(1) : "", '/');
  const bool watch = q.count("watch") && is_true(q["watch"]);
  // /apis/batch/v1/namespaces/{ns}/jobs[/{name}]  and  /apis/batch/v1/jobs
  if (parts.size() >= 4 && parts[0] == "apis" && parts[1] == "batch" && parts[2] == "v1") {
    if (parts.size() == 4 && parts[3] == "jobs" && method == "GET")
      return watch ? start_watch(s, "jobs", "", q, streamed) : list("jobs", "", q);
    if (parts.size() >= 6 && parts[3] == "namespaces" && parts[5] == "jobs") {
      const std::string& ns = parts[4];
      if (parts.size() == 6) {
        if (method == "POST") return create_job(ns, req.body());
        if (method == "GET")
          return watch ? start_watch(s, "jobs", ns, q, streamed) : list("jobs", ns, q);
        return error_reply(405, "MethodNotAllowed", "method not allowed");
      }
      const std::string key = ns + "/" + parts[6];
      if (method == "GET") {
        if (Json* j = job_obj(key)) return json_reply(200, *j);
        return error_reply(404, "NotFound", "jobs.batch \"" + parts[6] + "\" not found",
                           {{"name", parts[6]}, {"group", "batch"}, {"kind", "jobs"}});
      }
      if (method == "DELETE") {
        std::string policy = q.count("propagationPolicy") ? q["propagationPolicy"] : "";
        std::optional<int> grace;
        if (q.count("gracePeriodSeconds")) grace = std::stoi(q["gracePeriodSeconds"]);
        if (!req.body().empty()) {
          Json b = Json::parse(req.body(), nullptr, false);
          if (b.is_object()) {
            if (b.contains("propagationPolicy") && b["propagationPolicy"].is_string())
              policy = b["propagationPolicy"];
            if (b.contains("gracePeriodSeconds") && b["gracePeriodSeconds"].is_number())
              grace = b["gracePeriodSeconds"].get<int>();
          }
        }
        return delete_job_req(ns, parts[6], policy, grace);
      }
      return error_reply(405, "MethodNotAllowed", "method not allowed");
    }
  }
  if (parts.size() >= 3 && parts[0] == "api" && parts[1] == "v1") {
    if (parts.size() == 3 && parts[2] == "pods" && method == "GET")
      return watch ? start_watch(s, "pods", "", q, streamed) : list("pods", "", q);
    if (parts.size() == 4 && parts[2] == "namespaces" && method == "GET")
      return json_reply(200, {{"kind", "Namespace"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"name", parts[3]}}},
                              {"status", {{"phase", "Active"}}}});
    if (parts.size() >= 5 && parts[2] == "namespaces" && parts[4] == "pods") {
      const std::string& ns = parts[3];
      if (parts.size() == 5 && method == "GET")
        return watch ? start_watch(s, "pods", ns, q, streamed) : list("pods", ns, q);
      if (parts.size() >= 6) {
        const std::string key = ns + "/" + parts[5];
        if (parts.size() == 7 && parts[6] == "log" && method == "GET")
          return pod_log(s, ns, parts[5], q, streamed);
        auto it = pods.find(key);
        if (it == pods.end())
          return error_reply(404, "NotFound", "pods \"" + parts[5] + "\" not found",
                             {{"name", parts[5]}, {"kind", "pods"}});
        if (method == "GET") return json_reply(200, it->second->obj);
        if (method == "DELETE") {
          Json obj = it->second->obj;
          std::optional<int> grace;
          if (q.count("gracePeriodSeconds")) grace = std::stoi(q["gracePeriodSeconds"]);
          remove_pod(key, grace);
          return json_reply(200, obj);
        }
      }
    }
  }
  if (method == "GET") return discovery(path);
  return error_reply(404, "NotFound", "the server could not find the requested resource");
}

Reply KubeStandin::Impl::create_job(const std::string& ns, const std::string& body) {
  Json job = Json::parse(body, nullptr, false);
  if (!job.is_object())
    return error_reply(400, "BadRequest", "the body of the request was in an unknown format");
  Json& meta = job["metadata"];
  if (!meta.is_object()) meta = Json::object();
  std::string name = meta.value("name", "");
  if (name.empty() && meta.contains("generateName"))
    name = meta.value("generateName", "") + random_suffix(5);
  Json causes = Json::array();
  auto invalid = [&](const std::string& reason, const std::string& message,
                     const std::string& field) {
    causes.push_back({{"reason", reason}, {"message", message}, {"field", field}});
  };
  if (name.empty())
    invalid("FieldValueRequired", "Required value: name or generateName is required",
            "metadata.name");
  else if (!is_dns_subdomain(name, 63))
    invalid("FieldValueInvalid",
            "Invalid value: \"" + name +
                "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character "
                "(must be no more than 63 characters)",
            "metadata.name");
  if (meta.contains("namespace") && meta["namespace"] != ns)
    return error_reply(400, "BadRequest",
                       "the namespace of the provided object does not match the namespace sent "
                       "on the request");
  Json& spec = job["spec"];
  if (!spec.is_object()) spec = Json::object();
  Json& tmpl = spec["template"];
  if (!tmpl.is_object()) tmpl = Json::object();
  Json& pspec = tmpl["spec"];
  if (!pspec.is_object()) pspec = Json::object();
  const std::string restart = pspec.value("restartPolicy", "");
  if (restart != "Never" && restart != "OnFailure")
    invalid("FieldValueNotSupported",
            "Unsupported value: \"" + restart + "\": supported values: \"OnFailure\", \"Never\"",
            "spec.template.spec.restartPolicy");
  if (!pspec.contains("containers") || !pspec["containers"].is_array() ||
      pspec["containers"].empty()) {
    invalid("FieldValueRequired", "Required value", "spec.template.spec.containers");
  } else {
    for (std::size_t i = 0; i < pspec["containers"].size(); ++i) {
      const Json& c = pspec["containers"][i];
      const std::string f = "spec.template.spec.containers[" + std::to_string(i) + "]";
      if (!c.is_object() || c.value("name", "").empty())
        invalid("FieldValueRequired", "Required value", f + ".name");
      if (!c.is_object() || c.value("image", "").empty())
        invalid("FieldValueRequired", "Required value", f + ".image");
    }
  }
  if (!causes.empty()) {
    std::string msg = "Job.batch \"" + name + "\" is invalid: ";
    for (std::size_t i = 0; i < causes.size(); ++i)
      msg += (i ? ", " : "[") + causes[i]["field"].get<std::string>() + ": " +
             causes[i]["message"].get<std::string>();
    msg += "]";
    return error_reply(422, "Invalid", msg,
                       {{"name", name}, {"group", "batch"}, {"kind", "Job"}, {"causes", causes}});
  }
  const std::string key = ns + "/" + name;
  if (jobs.count(key))
    return error_reply(409, "AlreadyExists", "jobs.batch \"" + name + "\" already exists",
                       {{"name", name}, {"group", "batch"}, {"kind", "jobs"}});
  // Server defaults.
  const std::string u = uid();
  meta["name"] = name;
  meta["namespace"] = ns;
  meta["uid"] = u;
  meta["creationTimestamp"] = now_rfc3339();
  meta["generation"] = 1;
  if (!meta["labels"].is_object()) meta["labels"] = Json::object();
  meta["labels"]["controller-uid"] = u;
  meta["labels"]["job-name"] = name;
  meta["labels"]["batch.kubernetes.io/controller-uid"] = u;
  meta["labels"]["batch.kubernetes.io/job-name"] = name;
  job["apiVersion"] = "batch/v1";
  job["kind"] = "Job";
  if (!spec.contains("backoffLimit")) spec["backoffLimit"] = 6;
  if (!spec.contains("completions")) spec["completions"] = 1;
  if (!spec.contains("parallelism")) spec["parallelism"] = 1;
  if (!spec.contains("suspend")) spec["suspend"] = false;
  if (!spec.contains("completionMode")) spec["completionMode"] = "NonIndexed";
  spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", u}}}};
  Json& tmeta = tmpl["metadata"];
  if (!tmeta.is_object()) tmeta = Json::object();
  if (!tmeta["labels"].is_object()) tmeta["labels"] = Json::object();
  for (const char* k : {"controller-uid", "job-name", "batch.kubernetes.io/controller-uid",
                        "batch.kubernetes.io/job-name"})
    tmeta["labels"][k] = meta["labels"][k];
  if (!pspec.contains("terminationGracePeriodSeconds")) pspec["terminationGracePeriodSeconds"] = 30;
  if (!pspec.contains("dnsPolicy")) pspec["dnsPolicy"] = "ClusterFirst";
  if (!pspec.contains("schedulerName")) pspec["schedulerName"] = "default-scheduler";
  for (auto& c : pspec["containers"]) {
    if (!c.contains("imagePullPolicy")) c["imagePullPolicy"] = "IfNotPresent";
    if (!c.contains("terminationMessagePath")) c["terminationMessagePath"] = "/dev/termination-log";
  }
  job["status"] = Json::object();
  auto rt = std::make_unique<JobRt>(io);
  rt->obj = job;
  JobRt& j = *rt;
  jobs[key] = std::move(rt);
  emit("jobs", "ADDED", j.obj);
  if (!j.obj["spec"].value("suspend", false)) {
    start_job(j);
  } else {
    set_condition(j.obj, "Suspended", "JobSuspended", "Job suspended");
    touch_job(j);
  }
  return json_reply(201, j.obj);
}

Reply KubeStandin::Impl::list(const std::string& resource, const std::string& ns,
                              std::map<std::string, std::string>& q) {
  const Selector sel = Selector::parse(q["labelSelector"]);
  std::string field_name, field_ns;
  for (const auto& term : split(q["fieldSelector"], ',')) {
    const auto eq = term.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(term.substr(0, eq)), v = trim(term.substr(eq + 1));
    if (!v.empty() && v[0] == '=') v = v.substr(1);
    if (k == "metadata.name") field_name = v;
    if (k == "metadata.namespace") field_ns = v;
  }
  std::size_t limit = q.count("limit") && !q["limit"].empty() ? std::stoul(q["limit"]) : 0;
  std::string after;
  if (q.count("continue") && !q["continue"].empty()) {
    const std::string token = q["continue"];
    const auto colon = token.find(':');
    const std::int64_t token_rv = std::stoll(token.substr(0, colon));
    if (token_rv < oldest_rv)
      return error_reply(410, "Expired",
                         "The provided continue parameter is too old to display a consistent "
                         "list result. You can start a new list without the continue parameter.");
    after = token.substr(colon + 1);
  }
  Json items = Json::array();
  std::string next;
  std::string last_key_;
  auto add = [&](const std::string& key, const Json& obj) {
    const Json& m = obj["metadata"];
    if (!ns.empty() && m.value("namespace", "") != ns) return true;
    if (!field_name.empty() && m.value("name", "") != field_name) return true;
    if (!field_ns.empty() && m.value("namespace", "") != field_ns) return true;
    if (!sel.matches(m.contains("labels") ? m["labels"] : Json::object())) return true;
    if (!after.empty() && key <= after) return true;
    if (limit && items.size() == limit) {
      next = std::to_string(rv) + ":" + after;
      return false;
    }
    items.push_back(obj);
    after.clear();
    last_key_ = key;
    return true;
  };
  if (resource == "jobs") {
    for (const auto& [key, j] : jobs)
      if (!add(key, j->obj)) break;
  } else {
    for (const auto& [key, p] : pods)
      if (!add(key, p->obj)) break;
  }
  if (!next.empty()) next = std::to_string(rv) + ":" + last_key_;
  Json metaj = {{"resourceVersion", std::to_string(rv)}};
  if (!next.empty()) metaj["continue"] = next;
  return json_reply(200, {{"kind", resource == "jobs" ? "JobList" : "PodList"},
                          {"apiVersion", resource == "jobs" ? "batch/v1" : "v1"},
                          {"metadata", metaj},
                          {"items", items}});
}

Reply KubeStandin::Impl::start_watch(const std::shared_ptr<Session>& s, const std::string& resource,
                                     const std::string& ns, std::map<std::string, std::string>& q,
                                     bool& streamed) {
  auto w = std::make_shared<Watcher>();
  w->session = s;
  w->resource = resource;
  w->ns = ns;
  w->labels = Selector::parse(q["labelSelector"]);
  for (const auto& term : split(q["fieldSelector"], ',')) {
    const auto eq = term.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(term.substr(0, eq)), v = trim(term.substr(eq + 1));
    if (!v.empty() && v[0] == '=') v = v.substr(1);
    if (k == "metadata.name") w->field_name = v;
    if (k == "metadata.namespace") w->field_namespace = v;
  }
  w->bookmarks = is_true(q["allowWatchBookmarks"]);
  const std::string from = q["resourceVersion"];
  const std::int64_t since = from.empty() ? 0 : std::stoll(from);
  const bool too_old = since != 0 && since < oldest_rv;
  const std::string kind = resource == "jobs" ? "Job" : "Pod";
  const std::string api = resource == "jobs" ? "batch/v1" : "v1";
  const Json expired = status_body(
      410, "Expired", "too old resource version: " + from + " (" + std::to_string(oldest_rv) + ")");
  if (too_old && !options.expired_in_stream) return json_reply(410, expired);
  streamed = true;
  s->begin_stream("application/json");
  if (too_old) {
    s->send_chunk(Json{{"type", "ERROR"}, {"object", expired}}.dump() + "\n");
    s->end_stream();
    return {};
  }
  if (since == 0) {
    // No resourceVersion: the current objects first, as ADDED.
    auto each = [&](const Json& obj) {
      if (watcher_matches(*w, resource, obj)) send_event(*w, "ADDED", obj);
    };
    if (resource == "jobs")
      for (const auto& [k, j] : jobs) each(j->obj);
    else
      for (const auto& [k, p] : pods) each(p->obj);
  } else {
    for (const auto& e : history)
      if (e.rv > since && watcher_matches(*w, e.resource, e.obj)) send_event(*w, e.type, e.obj);
  }
  watchers.push_back(w);
  const int timeout = q.count("timeoutSeconds") && !q["timeoutSeconds"].empty()
                          ? std::stoi(q["timeoutSeconds"])
                          : 1800;
  std::weak_ptr<Watcher> weak = w;
  w->timeout = std::make_unique<asio::steady_timer>(io, std::chrono::seconds(timeout));
  w->timeout->async_wait([self = shared_from_this(), weak](const error_code& ec) {
    std::lock_guard lock(self->mu);
    auto w = weak.lock();
    if (ec || !w) return;
    if (auto s = w->session.lock()) s->end_stream();
    std::erase(self->watchers, w);
  });
  if (w->bookmarks) {
    w->bookmark = std::make_unique<asio::steady_timer>(io);
    // The pending wait owns the next tick; the tick itself holds only a weak reference, or it
    // would own itself and never be freed.
    auto tick = std::make_shared<std::function<void()>>();
    *tick = [self = shared_from_this(), weak, kind, api,
             weak_tick = std::weak_ptr<std::function<void()>>(tick)] {
      auto tick = weak_tick.lock();
      auto w = weak.lock();
      if (!tick) return;
      if (!w || !w->bookmark) return;
      w->bookmark->expires_after(self->options.bookmark_interval);
      w->bookmark->async_wait([self, weak, kind, api, tick](const error_code& ec) {
        std::lock_guard lock(self->mu);
        auto w = weak.lock();
        if (ec || !w) return;
        auto s = w->session.lock();
        if (!s || s->closed) return;
        self->send_event(*w, "BOOKMARK",
                         {{"kind", kind},
                          {"apiVersion", api},
                          {"metadata", {{"resourceVersion", std::to_string(self->rv)}}}});
        (*tick)();
      });
    };
    (*tick)();
  }
  return {};
}

Reply KubeStandin::Impl::delete_job_req(const std::string& ns, const std::string& name,
                                        const std::string& policy, std::optional<int> grace) {
  const std::string key = ns + "/" + name;
  auto it = jobs.find(key);
  if (it == jobs.end())
    return error_reply(404, "NotFound", "jobs.batch \"" + name + "\" not found",
                       {{"name", name}, {"group", "batch"}, {"kind", "jobs"}});
  const std::string uid_ = it->second->obj["metadata"].value("uid", "");
  if (policy == "Foreground") {
    Json obj = it->second->obj;
    obj["metadata"]["deletionTimestamp"] = now_rfc3339();
    obj["metadata"]["finalizers"] = {"foregroundDeletion"};
    it->second->obj = obj;
    touch_job(*it->second);
    Json answer = it->second->obj;
    auto timer = oneshot_timer(std::chrono::milliseconds(50));
    timer->async_wait([self = shared_from_this(), key, grace, timer](const error_code& ec) {
      std::lock_guard lock(self->mu);
      if (!ec && !self->stopping) self->remove_job(key, "Background", grace);
    });
    return json_reply(202, answer);
  }
  Reply r = json_reply(
      200, status_body(200, "", "",
                       {{"name", name}, {"group", "batch"}, {"kind", "jobs"}, {"uid", uid_}}));
  if (policy.empty())
    r.headers.emplace_back("Warning",
                           "299 - \"child pods are preserved by default when jobs are deleted; "
                           "set propagationPolicy=Background to remove them or set "
                           "propagationPolicy=Orphan to suppress this warning\"");
  remove_job(key, policy.empty() ? "Orphan" : policy, grace);
  return r;
}

Reply KubeStandin::Impl::pod_log(const std::shared_ptr<Session>& s, const std::string& ns,
                                 const std::string& name, std::map<std::string, std::string>& q,
                                 bool& streamed) {
  auto it = pods.find(ns + "/" + name);
  if (it == pods.end())
    return error_reply(404, "NotFound", "pods \"" + name + "\" not found",
                       {{"name", name}, {"kind", "pods"}});
  PodRt& p = *it->second;
  const Json& containers = p.obj["spec"]["containers"];
  std::string container = q["container"];
  if (container.empty()) {
    if (containers.size() > 1)
      return error_reply(400, "BadRequest", "a container name must be specified for pod " + name);
    container = containers[0].value("name", "");
  }
  bool known = false;
  for (const auto& c : containers) known = known || c.value("name", "") == container;
  if (!known)
    return error_reply(400, "BadRequest",
                       "container " + container + " is not valid for pod " + name);
  if (!p.running && !p.done)
    return error_reply(400, "BadRequest",
                       "container \"" + container + "\" in pod \"" + name +
                           "\" is waiting to start: ContainerCreating");
  const bool primary = containers[0].value("name", "") == container;
  std::string text = primary ? p.log : "";
  if (q.count("tailLines") && !q["tailLines"].empty()) {
    const long n = std::stol(q["tailLines"]);
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    long seen = 0;
    while (pos > 0 && seen < n) {
      const auto nl = text.rfind('\n', pos - 1);
      if (nl == std::string::npos) {
        pos = 0;
        break;
      }
      ++seen;
      if (seen == n) {
        pos = nl + 1;
        break;
      }
      pos = nl;
    }
    if (n <= 0) pos = text.size();
    text = text.substr(pos);
  }
  std::int64_t limit = -1;
  if (q.count("limitBytes") && !q["limitBytes"].empty()) limit = std::stoll(q["limitBytes"]);
  if (limit >= 0 && static_cast<std::int64_t>(text.size()) > limit)
    text = text.substr(0, static_cast<std::size_t>(limit));
  const bool follow = is_true(q["follow"]);
  if (!follow) return {200, text, "text/plain", {}};
  streamed = true;
  s->begin_stream("text/plain");
  s->send_chunk(text);
  if (limit >= 0) limit -= static_cast<std::int64_t>(text.size());
  if (p.done || !primary || limit == 0) {
    s->end_stream();
    return {};
  }
  auto f = std::make_shared<Follower>();
  f->session = s;
  f->limit_left = limit;
  p.followers.push_back(f);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

void KubeStandin::Impl::set_condition(Json& job, const std::string& type, const std::string& reason,
                                      const std::string& message) {
  Json& st = job["status"];
  if (!st["conditions"].is_array()) st["conditions"] = Json::array();
  for (auto& c : st["conditions"])
    if (c["type"] == type) {
      c["status"] = "True";
      c["reason"] = reason;
      c["message"] = message;
      return;
    }
  const std::string now = now_rfc3339();
  st["conditions"].push_back({{"type", type},
                              {"status", "True"},
                              {"reason", reason},
                              {"message", message},
                              {"lastProbeTime", now},
                              {"lastTransitionTime", now}});
}

void KubeStandin::Impl::start_job(JobRt& j) {
  if (j.started) return;
  j.started = true;
  Json& st = j.obj["status"];
  st["startTime"] = now_rfc3339();
  if (st.contains("conditions")) {
    Json kept = Json::array();
    for (const auto& c : st["conditions"])
      if (c["type"] != "Suspended") kept.push_back(c);
    st["conditions"] = kept;
  }
  const Json& spec = j.obj["spec"];
  if (spec.contains("activeDeadlineSeconds") && spec["activeDeadlineSeconds"].is_number()) {
    const std::string key =
        j.obj["metadata"].value("namespace", "") + "/" + j.obj["metadata"].value("name", "");
    j.deadline.expires_after(std::chrono::seconds(spec["activeDeadlineSeconds"].get<long>()));
    j.deadline.async_wait([self = shared_from_this(), key](const error_code& ec) {
      std::lock_guard lock(self->mu);
      if (ec || self->stopping) return;
      auto it = self->jobs.find(key);
      if (it == self->jobs.end() || it->second->finished) return;
      JobRt& j = *it->second;
      for (const auto& pod : j.pods) {
        auto pt = self->pods.find(key.substr(0, key.find('/')) + "/" + pod);
        if (pt != self->pods.end() && !pt->second->done)
          self->kill_pod(*pt->second, 0, "DeadlineExceeded");
      }
      self->finish_job(j, false, "DeadlineExceeded",
                       "Job was active longer than specified deadline");
    });
  }
  new_pod(j);
}

void KubeStandin::Impl::update_job_counts(JobRt& j) {
  int active = 0, ready = 0;
  const std::string ns = j.obj["metadata"].value("namespace", "");
  for (const auto& name : j.pods) {
    auto it = pods.find(ns + "/" + name);
    if (it == pods.end() || it->second->done) continue;
    ++active;
    ready += it->second->running ? 1 : 0;
  }
  Json& st = j.obj["status"];
  st["active"] = active;
  st["ready"] = ready;
  st["terminating"] = 0;
  if (j.failed) st["failed"] = j.failed;
}

void KubeStandin::Impl::new_pod(JobRt& j) {
  const Json& jm = j.obj["metadata"];
  const std::string ns = jm.value("namespace", ""), job = jm.value("name", "");
  auto p = std::make_unique<PodRt>(io);
  p->ns = ns;
  p->job = job;
  p->name = job + "-" + random_suffix(5);
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  Json meta = j.obj["spec"]["template"].value("metadata", Json::object());
  meta["name"] = p->name;
  meta["namespace"] = ns;
  meta["uid"] = uid();
  meta["generateName"] = job + "-";
  meta["creationTimestamp"] = now_rfc3339();
  meta["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                              {"kind", "Job"},
                              {"name", job},
                              {"uid", jm.value("uid", "")},
                              {"controller", true},
                              {"blockOwnerDeletion", true}}};
  pod["metadata"] = meta;
  pod["spec"] = j.obj["spec"]["template"]["spec"];
  pod["spec"]["nodeName"] = "standin-node";
  pod["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  p->obj = pod;
  if (options.script) {
    p->scripted = true;
    p->script = options.script(j.obj);
  }
  PodRt& ref = *p;
  j.pods.push_back(p->name);
  pods[ns + "/" + p->name] = std::move(p);
  update_job_counts(j);
  touch_job(j);
  const std::string container = ref.obj["spec"]["containers"][0].value("name", "");
  const std::string stuck = ref.scripted ? ref.script.stuck_reason : "";
  if (stuck == "Unschedulable") {
    ref.obj["status"]["conditions"] = {
        {{"type", "PodScheduled"},
         {"status", "False"},
         {"reason", "Unschedulable"},
         {"message", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}}};
  } else {
    ref.obj["status"]["conditions"] = {{{"type", "PodScheduled"}, {"status", "True"}}};
    ref.obj["status"]["containerStatuses"] = {
        {{"name", container},
         {"ready", false},
         {"restartCount", 0},
         {"imageID", ""},
         {"image", ref.obj["spec"]["containers"][0].value("image", "")},
         {"state",
          {{"waiting", stuck.empty() ? Json{{"reason", "ContainerCreating"}}
                                     : Json{{"reason", stuck},
                                            {"message", "Back-off pulling image \"" +
                                                            ref.obj["spec"]["containers"][0].value(
                                                                "image", "") +
                                                            "\""}}}}}}};
  }
  emit("pods", "ADDED", ref.obj);
  if (!stuck.empty()) return;
  const auto wait = ref.scripted ? ref.script.pending_for : options.pending_for;
  const std::string key = ns + "/" + ref.name;
  ref.timer.expires_after(wait);
  ref.timer.async_wait([self = shared_from_this(), key](const error_code& ec) {
    std::lock_guard lock(self->mu);
    if (ec || self->stopping) return;
    auto it = self->pods.find(key);
    if (it != self->pods.end() && !it->second->done && !it->second->running)
      self->run_pod(*it->second);
  });
}

void KubeStandin::Impl::run_pod(PodRt& p) {
  p.running = true;
  const std::string container = p.obj["spec"]["containers"][0].value("name", "");
  p.obj["status"]["phase"] = "Running";
  p.obj["status"]["startTime"] = now_rfc3339();
  p.obj["status"]["containerStatuses"] = {
      {{"name", container},
       {"ready", true},
       {"restartCount", 0},
       {"imageID", ""},
       {"started", true},
       {"image", p.obj["spec"]["containers"][0].value("image", "")},
       {"state", {{"running", {{"startedAt", now_rfc3339()}}}}}}};
  emit("pods", "MODIFIED", p.obj);
  if (auto jt = jobs.find(p.ns + "/" + p.job); jt != jobs.end()) {
    update_job_counts(*jt->second);
    touch_job(*jt->second);
  }
  if (p.scripted) {
    append_log(p, p.script.log);
    const std::string key = p.ns + "/" + p.name;
    p.timer.expires_after(p.script.run_for);
    p.timer.async_wait([self = shared_from_this(), key](const error_code& ec) {
      std::lock_guard lock(self->mu);
      if (ec || self->stopping) return;
      auto it = self->pods.find(key);
      if (it == self->pods.end() || it->second->done) return;
      PodRt& p = *it->second;
      self->pod_finished(p, p.script.oom_killed ? 137 : p.script.exit_code,
                         p.script.oom_killed ? "OOMKilled" : "");
    });
    return;
  }
  spawn(p);
}

void KubeStandin::Impl::spawn(PodRt& p) {
  namespace fs = std::filesystem;
  const Json& c = p.obj["spec"]["containers"][0];
  std::vector<std::string> argv;
  for (const char* key : {"command", "args"})
    if (c.contains(key) && c[key].is_array())
      for (const auto& a : c[key]) argv.push_back(a.is_string() ? a.get<std::string>() : a.dump());
  if (argv.empty()) {
    append_log(p,
               "hpo-kube-standin: the container has no command (the stand-in runs command + "
               "args; images are not run)\n");
    return pod_finished(p, 127, "StartError");
  }
  const fs::path dir = options.work_dir / "pods" / p.name;
  fs::create_directories(dir);
  // Volume mounts of persistentVolumeClaims become directories of the work dir.
  std::vector<std::pair<std::string, std::string>> mounts;
  const Json& pspec = p.obj["spec"];
  if (c.contains("volumeMounts") && c["volumeMounts"].is_array() && pspec.contains("volumes")) {
    for (const auto& m : c["volumeMounts"]) {
      for (const auto& v : pspec["volumes"]) {
        if (v.value("name", "") != m.value("name", "") || !v.contains("persistentVolumeClaim"))
          continue;
        fs::path local = options.work_dir / "pvc" /
                         v["persistentVolumeClaim"].value("claimName", "") / m.value("subPath", "");
        fs::create_directories(local);
        mounts.emplace_back(m.value("mountPath", ""), local.string());
      }
    }
  }
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir.string(),
                                  "HOSTNAME=" + p.name};
  if (c.contains("env") && c["env"].is_array()) {
    for (const auto& e : c["env"]) {
      std::string value = e.value("value", "");
      for (const auto& [mount, local] : mounts)
        if (!mount.empty() && value.rfind(mount, 0) == 0)
          value = local + value.substr(mount.size());
      env.push_back(e.value("name", "") + "=" + value);
    }
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return pod_finished(p, 128, "StartError");
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  ::posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  sigset_t none, all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    append_log(p, "hpo-kube-standin: cannot start " + argv[0] + ": " + std::strerror(rc) + "\n");
    return pod_finished(p, 127, "StartError");
  }
  p.pid = pid;
  error_code ec;
  p.out.assign(fds[0], ec);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) p.pidfd.assign(pidfd, ec);
  read_output(p);
  watch_exit(p);
}

void KubeStandin::Impl::read_output(PodRt& p) {
  const std::string key = p.ns + "/" + p.name;
  p.out.async_read_some(asio::buffer(p.buf),
                        [self = shared_from_this(), key](const error_code& ec, std::size_t n) {
                          std::lock_guard lock(self->mu);
                          auto it = self->pods.find(key);
                          if (it == self->pods.end() || self->stopping) return;
                          PodRt& p = *it->second;
                          if (n > 0) self->append_log(p, std::string_view(p.buf.data(), n));
                          if (!ec) return self->read_output(p);
                          error_code ignored;
                          p.out.close(ignored);
                          p.out_done = true;
                          self->maybe_pod_done(p);
                        });
}

void KubeStandin::Impl::watch_exit(PodRt& p) {
  const std::string key = p.ns + "/" + p.name;
  if (!p.pidfd.is_open()) {
    // No pidfd: poll.
    p.timer.expires_after(std::chrono::milliseconds(20));
    p.timer.async_wait([self = shared_from_this(), key](const error_code& ec) {
      std::lock_guard lock(self->mu);
      auto it = self->pods.find(key);
      if (ec || it == self->pods.end() || self->stopping) return;
      PodRt& p = *it->second;
      int status = 0;
      if (::waitpid(p.pid, &status, WNOHANG) == p.pid) {
        p.exited = true;
        p.exit_status = status;
        ::killpg(p.pid, SIGKILL);
        self->maybe_pod_done(p);
      } else {
        self->watch_exit(p);
      }
    });
    return;
  }
  p.pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this(), key](const error_code& ec) {
                       std::lock_guard lock(self->mu);
                       auto it = self->pods.find(key);
                       if (ec || it == self->pods.end() || self->stopping) return;
                       PodRt& p = *it->second;
                       int status = 0;
                       while (::waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
                       }
                       p.exited = true;
                       p.exit_status = status;
                       ::killpg(p.pid, SIGKILL);  // what it left in its group dies with it
                       error_code ignored;
                       p.pidfd.close(ignored);
                       self->maybe_pod_done(p);
                     });
}

void KubeStandin::Impl::maybe_pod_done(PodRt& p) {
  if (!p.exited || !p.out_done || p.done) return;
  const int status = p.exit_status;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string reason;
  if (!p.kill_reason.empty()) reason = p.kill_reason;
  pod_finished(p, code, reason);
}

void KubeStandin::Impl::append_log(PodRt& p, std::string_view data) {
  if (p.log.size() < (256u << 20)) p.log.append(data);
  for (auto& f : p.followers) {
    auto s = f->session.lock();
    if (!s || s->closed) continue;
    std::string_view piece = data;
    if (f->limit_left >= 0) {
      piece = piece.substr(0, static_cast<std::size_t>(f->limit_left));
      f->limit_left -= static_cast<std::int64_t>(piece.size());
    }
    s->send_chunk(std::string(piece));
    if (f->limit_left == 0) s->end_stream();
  }
}

void KubeStandin::Impl::end_followers(PodRt& p) {
  for (auto& f : p.followers)
    if (auto s = f->session.lock()) s->end_stream();
  p.followers.clear();
}

void KubeStandin::Impl::pod_finished(PodRt& p, int exit_code, const std::string& reason) {
  if (p.done) return;
  p.done = true;
  p.running = false;
  p.timer.cancel();
  end_followers(p);
  const std::string container = p.obj["spec"]["containers"][0].value("name", "");
  const std::string why = !reason.empty() ? reason : exit_code == 0 ? "Completed" : "Error";
  const std::string phase = exit_code == 0 && reason != "DeadlineExceeded" ? "Succeeded" : "Failed";
  p.obj["status"]["phase"] = phase;
  if (reason == "DeadlineExceeded") {
    p.obj["status"]["reason"] = "DeadlineExceeded";
    p.obj["status"]["message"] = "Pod was active on the node longer than the specified deadline";
  }
  p.obj["status"]["containerStatuses"] = {
      {{"name", container},
       {"ready", false},
       {"restartCount", 0},
       {"imageID", ""},
       {"started", false},
       {"image", p.obj["spec"]["containers"][0].value("image", "")},
       {"state",
        {{"terminated",
          {{"exitCode", exit_code},
           {"reason", why},
           {"startedAt", p.obj["status"].value("startTime", now_rfc3339())},
           {"finishedAt", now_rfc3339()}}}}}}};
  emit("pods", "MODIFIED", p.obj);
  job_pod_ended(p.ns + "/" + p.job, p, exit_code);
}

void KubeStandin::Impl::job_pod_ended(const std::string& job_key, PodRt& p, int exit_code) {
  auto it = jobs.find(job_key);
  if (it == jobs.end() || it->second->finished) return;
  JobRt& j = *it->second;
  const bool ok = p.obj["status"]["phase"] == "Succeeded";
  if (ok) {
    j.obj["status"]["succeeded"] = 1;
    update_job_counts(j);
    return finish_job(j, true, "CompletionsReached", "Reached expected number of succeeded pods");
  }
  if (p.kill_reason == "DeadlineExceeded") return;  // the deadline handler finishes the Job
  ++j.failed;
  update_job_counts(j);
  // podFailurePolicy: FailJob on listed exit codes.
  const Json& spec = j.obj["spec"];
  if (spec.contains("podFailurePolicy") && spec["podFailurePolicy"].contains("rules")) {
    for (const auto& rule : spec["podFailurePolicy"]["rules"]) {
      if (rule.value("action", "") != "FailJob" || !rule.contains("onExitCodes")) continue;
      const Json& on = rule["onExitCodes"];
      bool in = false;
      for (const auto& v : on.value("values", Json::array())) in = in || v == exit_code;
      if ((on.value("operator", "In") == "In") == in)
        return finish_job(j, false, "PodFailurePolicy",
                          "Container " + p.obj["spec"]["containers"][0].value("name", "") +
                              " for pod " + p.ns + "/" + p.name + " failed with exit code " +
                              std::to_string(exit_code) + " matching FailJob rule at index 0");
    }
  }
  if (j.failed <= spec.value("backoffLimit", 6)) {
    touch_job(j);
    return new_pod(j);
  }
  finish_job(j, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
}

void KubeStandin::Impl::finish_job(JobRt& j, bool success, const std::string& reason,
                                   const std::string& message) {
  if (j.finished) return;
  j.finished = true;
  j.deadline.cancel();
  update_job_counts(j);
  const std::string key =
      j.obj["metadata"].value("namespace", "") + "/" + j.obj["metadata"].value("name", "");
  auto terminal = [self = shared_from_this(), key, success, reason, message] {
    auto it = self->jobs.find(key);
    if (it == self->jobs.end()) return;
    JobRt& j = *it->second;
    self->set_condition(j.obj, success ? "Complete" : "Failed", reason, message);
    if (success) j.obj["status"]["completionTime"] = now_rfc3339();
    self->update_job_counts(j);
    self->touch_job(j);
    const Json& spec = j.obj["spec"];
    if (spec.contains("ttlSecondsAfterFinished") && spec["ttlSecondsAfterFinished"].is_number()) {
      j.ttl.expires_after(std::chrono::seconds(spec["ttlSecondsAfterFinished"].get<long>()));
      j.ttl.async_wait([self, key](const error_code& ec) {
        std::lock_guard lock(self->mu);
        if (!ec && !self->stopping) self->remove_job(key, "Background", std::nullopt);
      });
    }
  };
  if (options.minor_version >= 31) {
    // 1.31: the interim condition at once, the terminal one once the pods are gone.
    set_condition(j.obj, success ? "SuccessCriteriaMet" : "FailureTarget", reason, message);
    touch_job(j);
    j.settle.expires_after(std::chrono::milliseconds(30));
    j.settle.async_wait([self = shared_from_this(), terminal](const error_code& ec) {
      std::lock_guard lock(self->mu);
      if (!ec && !self->stopping) terminal();
    });
    return;
  }
  terminal();
}

void KubeStandin::Impl::kill_pod(PodRt& p, std::optional<int> grace, const std::string& reason) {
  if (p.done) return;
  p.kill_reason = reason;
  if (p.pid > 0 && !p.exited) {
    ::killpg(p.pid, SIGTERM);
    ::killpg(p.pid, SIGCONT);
    const int g = grace.value_or(p.obj["spec"].value("terminationGracePeriodSeconds", 30));
    const auto wait =
        std::min<std::chrono::milliseconds>(std::chrono::seconds(g), options.max_grace);
    if (wait.count() == 0) {
      ::killpg(p.pid, SIGKILL);
    } else {
      auto timer = oneshot_timer(wait);
      const pid_t pid = p.pid;
      const std::string key = p.ns + "/" + p.name;
      timer->async_wait([self = shared_from_this(), timer, pid, key](const error_code& ec) {
        std::lock_guard lock(self->mu);
        if (ec) return;
        auto it = self->pods.find(key);
        if (it != self->pods.end() && !it->second->exited) ::killpg(pid, SIGKILL);
      });
    }
    return;  // the exit handler finishes the pod
  }
  pod_finished(p, reason == "DeadlineExceeded" ? 137 : 137, reason.empty() ? "Error" : reason);
}

void KubeStandin::Impl::remove_pod(const std::string& key, std::optional<int> grace) {
  auto it = pods.find(key);
  if (it == pods.end()) return;
  std::unique_ptr<PodRt> p = std::move(it->second);
  pods.erase(it);
  end_followers(*p);
  if (p->pid > 0 && !p->exited) {
    ::killpg(p->pid, SIGTERM);
    ::killpg(p->pid, SIGCONT);
    const int g = grace.value_or(p->obj["spec"].value("terminationGracePeriodSeconds", 30));
    p->timer.cancel();
    error_code ignored;
    p->out.close(ignored);
    p->pidfd.close(ignored);
    p->obj["metadata"]["deletionTimestamp"] = now_rfc3339();
    emit("pods", "DELETED", p->obj);
    const auto kill_at = Clock::now() + std::min<std::chrono::milliseconds>(std::chrono::seconds(g),
                                                                            options.max_grace);
    if (g == 0) ::killpg(p->pid, SIGKILL);
    dying.push_back({std::move(p), kill_at});
    reap_dying();
    return;
  }
  p->timer.cancel();
  emit("pods", "DELETED", p->obj);
}

// Reaps deleted pods' processes, killing those past their grace period; polls while any is
// left (a deleted pod's process is no longer watched through its pod).
void KubeStandin::Impl::reap_dying() {
  const auto now = Clock::now();
  std::erase_if(dying, [&](Dying& d) {
    int status = 0;
    if (::waitpid(d.pod->pid, &status, WNOHANG) == d.pod->pid) {
      ::killpg(d.pod->pid, SIGKILL);
      return true;
    }
    if (now >= d.kill_at) ::killpg(d.pod->pid, SIGKILL);
    return false;
  });
  if (dying.empty() || stopping) return;
  if (!reaper) reaper = std::make_unique<asio::steady_timer>(io);
  reaper->expires_after(std::chrono::milliseconds(5));
  reaper->async_wait([self = shared_from_this()](const error_code& ec) {
    std::lock_guard lock(self->mu);
    if (!ec && !self->stopping) self->reap_dying();
  });
}

void KubeStandin::Impl::remove_job(const std::string& key, const std::string& policy,
                                   std::optional<int> grace) {
  auto it = jobs.find(key);
  if (it == jobs.end()) return;
  std::unique_ptr<JobRt> j = std::move(it->second);
  jobs.erase(it);
  j->deadline.cancel();
  j->ttl.cancel();
  j->settle.cancel();
  const std::string ns = key.substr(0, key.find('/'));
  if (policy == "Background" || policy == "Foreground") {
    for (const auto& pod : j->pods) remove_pod(ns + "/" + pod, grace);
  } else {
    for (const auto& pod : j->pods) {
      auto pt = pods.find(ns + "/" + pod);
      if (pt == pods.end()) continue;
      pt->second->obj["metadata"].erase("ownerReferences");
      emit("pods", "MODIFIED", pt->second->obj);
    }
  }
  j->obj["metadata"]["deletionTimestamp"] = now_rfc3339();
  emit("jobs", "DELETED", j->obj);
}

void KubeStandin::Impl::shutdown() {
  {
    std::lock_guard lock(mu);
    stopping = true;
    error_code ec;
    acceptor.close(ec);
    for (auto& s : sessions) s->close();
    for (auto& [k, p] : pods)
      if (p->pid > 0 && !p->exited) ::killpg(p->pid, SIGKILL);
    for (auto& d : dying) ::killpg(d.pod->pid, SIGKILL);
  }
  io.stop();
  if (thread.joinable()) thread.join();
  std::lock_guard lock(mu);
  auto reap = [](pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  for (auto& [k, p] : pods)
    if (p->pid > 0 && !p->exited) reap(p->pid);
  for (auto& d : dying) reap(d.pod->pid);
  for (auto& t : oneshots)
    if (auto timer = t.lock()) timer->cancel();
  oneshots.clear();
  // Destroying the objects aborts their pending operations; running the aborted handlers
  // releases what they hold (this Impl included).
  dying.clear();
  reaper.reset();
  watchers.clear();
  pods.clear();
  jobs.clear();
  sessions.clear();
  io.restart();
  io.poll();
}

// ---------------------------------------------------------------------------------------------

namespace {

void accept_loop(const std::shared_ptr<KubeStandin::Impl>& impl) {
  impl->acceptor.async_accept([impl](const error_code& ec, tcp::socket sock) {
    std::lock_guard lock(impl->mu);
    if (ec || impl->stopping) return;
    error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
    auto s = std::make_shared<Session>(impl, std::move(sock), impl->tls.get());
    impl->sessions.insert(s);
    s->start();
    accept_loop(impl);
  });
}

}  // namespace

KubeStandin::KubeStandin(StandinOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  Impl& i = *impl_;
  if (!i.options.script && i.options.work_dir.empty())
    throw std::invalid_argument("KubeStandin: local processes need options.work_dir");
  if (i.options.tls) {
    i.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    i.tls->use_certificate_chain_file(i.options.cert_file.string());
    i.tls->use_private_key_file(i.options.key_file.string(), ssl::context::pem);
    if (!i.options.client_ca_file.empty()) {
      i.tls->load_verify_file(i.options.client_ca_file.string());
      // Ask for a certificate; a client without one may still use a token.
      i.tls->set_verify_mode(ssl::verify_peer);
      i.tls->set_verify_callback([](bool, ssl::verify_context&) { return true; });
    }
  }
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), i.options.port);
  i.acceptor.open(ep.protocol());
  i.acceptor.set_option(tcp::acceptor::reuse_address(true));
  i.acceptor.bind(ep);
  i.acceptor.listen();
  i.port = i.acceptor.local_endpoint().port();
  accept_loop(impl_);
  i.thread = std::thread([impl = impl_] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception&) {
        // A handler's bug must not take the server down in the middle of a test.
      }
    }
  });
}

KubeStandin::~KubeStandin() { impl_->shutdown(); }

unsigned short KubeStandin::port() const { return impl_->port; }

std::string KubeStandin::url() const {
  return std::string(impl_->options.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port);
}

void KubeStandin::add_fault(FaultRule rule) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.push_back(std::move(rule));
}

void KubeStandin::set_tokens(std::set<std::string> tokens) {
  std::lock_guard lock(impl_->mu);
  impl_->options.tokens = std::move(tokens);
}

std::vector<LoggedRequest> KubeStandin::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

void KubeStandin::clear_requests() {
  std::lock_guard lock(impl_->mu);
  impl_->log.clear();
}

std::optional<nlohmann::json> KubeStandin::job(const std::string& ns,
                                               const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  if (const Json* j = impl_->job_obj(ns + "/" + name)) return *j;
  return std::nullopt;
}

std::vector<nlohmann::json> KubeStandin::jobs(const std::string& ns) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Json> out;
  for (const auto& [k, j] : impl_->jobs)
    if (k.rfind(ns + "/", 0) == 0) out.push_back(j->obj);
  return out;
}

std::vector<nlohmann::json> KubeStandin::pods(const std::string& ns) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Json> out;
  for (const auto& [k, p] : impl_->pods)
    if (k.rfind(ns + "/", 0) == 0) out.push_back(p->obj);
  return out;
}

void KubeStandin::admit(const std::string& ns, const std::string& name) {
  std::promise<void> done;
  asio::post(impl_->io, [impl = impl_, ns, name, &done] {
    {
      std::lock_guard lock(impl->mu);
      auto it = impl->jobs.find(ns + "/" + name);
      if (it != impl->jobs.end() && it->second->obj["spec"].value("suspend", false)) {
        it->second->obj["spec"]["suspend"] = false;
        impl->touch_job(*it->second);
        impl->start_job(*it->second);
      }
    }
    done.set_value();
  });
  done.get_future().wait();
}

void KubeStandin::delete_job(const std::string& ns, const std::string& name) {
  std::promise<void> done;
  asio::post(impl_->io, [impl = impl_, ns, name, &done] {
    {
      std::lock_guard lock(impl->mu);
      impl->remove_job(ns + "/" + name, "Background", std::nullopt);
    }
    done.set_value();
  });
  done.get_future().wait();
}

void KubeStandin::lose_watch_events(const std::string& resource, int count) {
  std::lock_guard lock(impl_->mu);
  impl_->lost_events[resource] = count;
}

void KubeStandin::compact() {
  std::lock_guard lock(impl_->mu);
  impl_->oldest_rv = impl_->rv + 1;
  impl_->history.clear();
}

int KubeStandin::live_processes() const {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  for (const auto& [k, p] : impl_->pods) n += p->pid > 0 && !p->exited ? 1 : 0;
  return n;
}

}  // namespace hpo::testing

namespace hpo::testing {

std::size_t KubeStandin::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

}  // namespace hpo::testing
