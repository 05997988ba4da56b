#include "tests/integration/chromium.h"

#include <utility>  // before Boost: Boost 1.74 with GCC 12 in C++20 needs it

#include <csignal>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/process.hpp>

namespace hpo::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace bp = boost::process;
using tcp = asio::ip::tcp;
using nlohmann::json;

HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& host) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host.empty() ? "127.0.0.1:" + std::to_string(port) : host);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  http::read(stream, buffer, parser);
  HttpResult r;
  r.status = static_cast<int>(parser.get().result_int());
  r.content_type = std::string(parser.get()[http::field::content_type]);
  r.body = parser.get().body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return r;
}

namespace {

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0;
  int bits = -8;
  for (char c : in) {
    const std::size_t d = kAlphabet.find(c);
    if (d == std::string::npos) continue;  // '=' and whitespace
    value = (value << 6) + static_cast<int>(d);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((value >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string describe_remote(const json& obj) {
  if (obj.contains("value"))
    return obj["value"].is_string() ? obj["value"].get<std::string>() : obj["value"].dump();
  if (obj.contains("description")) return obj["description"].get<std::string>();
  return obj.dump();
}

}  // namespace

class HeadlessChromium::Impl {
 public:
  Impl(const std::filesystem::path& binary, const std::filesystem::path& profile, int width,
       int height)
      : ws_(io_) {
    std::filesystem::create_directories(profile);
    const auto log = profile / "chromium.log";
    child_ = bp::child(
        binary.string(),
        bp::args({"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-extensions", "--disable-default-apps", "--mute-audio",
                  "--remote-debugging-port=0", "--user-data-dir=" + profile.string(),
                  "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                  "about:blank"}),
        bp::std_out > log.string(), bp::std_err > log.string(), bp::std_in < bp::null);
    // Chromium writes its port and browser path to DevToolsActivePort when it listens.
    const auto port_file = profile / "DevToolsActivePort";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::uint16_t port = 0;
    while (port == 0) {
      if (std::chrono::steady_clock::now() > deadline || !child_.running())
        throw std::runtime_error("chromium did not start (see " + log.string() + ")");
      std::ifstream in(port_file);
      int p = 0;
      if (in >> p && p > 0) port = static_cast<std::uint16_t>(p);
      if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // The page target's WebSocket, from the /json/list endpoint.
    std::string ws_path;
    while (ws_path.empty()) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("chromium shows no page target");
      try {
        const json targets = json::parse(http_request(port, "GET", "/json/list").body);
        for (const auto& t : targets)
          if (t.value("type", "") == "page") {
            const std::string url = t["webSocketDebuggerUrl"];
            ws_path = url.substr(url.find('/', std::string("ws://").size()));
            break;
          }
      } catch (const std::exception&) {
        // not ready yet
      }
      if (ws_path.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    ws_.read_message_max(256 * 1024 * 1024);
    ws_.handshake("127.0.0.1:" + std::to_string(port), ws_path);
    for (const char* domain : {"Runtime.enable", "Log.enable", "Network.enable", "Page.enable"})
      call(domain, json::object());
  }

  ~Impl() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    if (child_.running()) {
      ::kill(child_.id(), SIGKILL);
      std::error_code wait_ec;
      child_.wait(wait_ec);
    }
  }

  json call(const std::string& method, const json& params,
            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const int id = ++next_id_;
    ws_.text(true);
    ws_.write(asio::buffer(json{{"id", id}, {"method", method}, {"params", params}}.dump()));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::optional<json> message = next(deadline);
      if (!message) throw std::runtime_error(method + ": no answer from chromium");
      if (message->contains("id") && (*message)["id"] == id) {
        if (message->contains("error"))
          throw std::runtime_error(method + ": " + (*message)["error"].dump());
        return message->value("result", json::object());
      }
      handle_event(*message);
    }
  }

  // Handles events until `done` holds (true) or the deadline passes (false).
  bool pump_until(const std::function<bool()>& done,
                  std::chrono::steady_clock::time_point deadline) {
    while (!done()) {
      std::optional<json> message = next(deadline);
      if (!message) return done();
      handle_event(*message);
    }
    return true;
  }

  bool loaded = false;
  std::vector<std::string> errors;
  std::vector<std::string> requests;

 private:
  // One read is always outstanding; messages queue in inbox_. Nothing is ever cancelled, so
  // the WebSocket stays usable after a wait that timed out.
  void arm() {
    if (reading_ || !read_error_.empty()) return;
    reading_ = true;
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      reading_ = false;
      if (ec) {
        read_error_ = ec.message();
        return;
      }
      inbox_.push_back(json::parse(beast::buffers_to_string(buffer_.data())));
      buffer_.consume(buffer_.size());
      arm();
    });
  }

  std::optional<json> next(std::chrono::steady_clock::time_point deadline) {
    while (inbox_.empty()) {
      if (!read_error_.empty()) throw std::runtime_error("chromium connection: " + read_error_);
      arm();
      io_.restart();
      if (io_.run_one_until(deadline) == 0) return std::nullopt;
    }
    json m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }

  void handle_event(const json& m) {
    const std::string method = m.value("method", "");
    const json& p = m.contains("params") ? m["params"] : json::object();
    if (method == "Page.loadEventFired") {
      loaded = true;
    } else if (method == "Runtime.consoleAPICalled") {
      const std::string type = p.value("type", "");
      if (type == "error" || type == "assert") {
        std::string text = "console." + type + ":";
        for (const auto& a : p["args"]) text += " " + describe_remote(a);
        errors.push_back(text);
      }
    } else if (method == "Runtime.exceptionThrown") {
      const json& d = p["exceptionDetails"];
      errors.push_back("exception: " + (d.contains("exception") ? describe_remote(d["exception"])
                                                                : d.value("text", "?")));
    } else if (method == "Log.entryAdded") {
      const json& e = p["entry"];
      if (e.value("level", "") == "error")
        errors.push_back("log: " + e.value("text", "") + " " + e.value("url", ""));
    } else if (method == "Network.requestWillBeSent") {
      requests.push_back(p["request"].value("url", ""));
    }
  }

  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<json> inbox_;
  bool reading_ = false;
  std::string read_error_;
  bp::child child_;
  int next_id_ = 0;
};

std::optional<std::filesystem::path> HeadlessChromium::find() {
  if (const char* env = std::getenv("HPO_CHROMIUM"); env && *env) return std::filesystem::path(env);
  for (const char* name : {"chromium", "chromium-browser"}) {
    const auto path = bp::search_path(name);
    if (!path.empty()) return std::filesystem::path(path.string());
  }
  return std::nullopt;
}

HeadlessChromium::HeadlessChromium(const std::filesystem::path& binary,
                                   const std::filesystem::path& profile_dir, int width, int height)
    : impl_(std::make_unique<Impl>(binary, profile_dir, width, height)) {}

HeadlessChromium::~HeadlessChromium() = default;

void HeadlessChromium::navigate(const std::string& url) {
  impl_->loaded = false;
  impl_->call("Page.navigate", {{"url", url}});
  const bool ok = impl_->pump_until([&] { return impl_->loaded; },
                                    std::chrono::steady_clock::now() + std::chrono::seconds(30));
  if (!ok) throw std::runtime_error("page did not load: " + url);
}

nlohmann::json HeadlessChromium::evaluate(const std::string& expression) {
  const json r =
      impl_->call("Runtime.evaluate",
                  {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (r.contains("exceptionDetails"))
    throw std::runtime_error("evaluate(" + expression + "): " + r["exceptionDetails"].dump());
  return r["result"].value("value", json(nullptr));
}

bool HeadlessChromium::wait_until(const std::string& expression,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (evaluate("!!(" + expression + ")") == true) return true;
    impl_->pump_until([] { return false; },
                      std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  }
  return false;
}

std::string HeadlessChromium::screenshot_png() {
  const json r = impl_->call("Page.captureScreenshot", {{"format", "png"}});
  return base64_decode(r.value("data", ""));
}

const std::vector<std::string>& HeadlessChromium::errors() const { return impl_->errors; }

const std::vector<std::string>& HeadlessChromium::requests() const { return impl_->requests; }

}  // namespace hpo::testing
