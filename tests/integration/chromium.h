// Headless Chromium for tests, driven over the DevTools protocol (a WebSocket, Boost.Beast):
// open a page, evaluate JavaScript in it, take a screenshot, and collect every console error,
// uncaught exception, browser log error (failed loads, Content-Security-Policy violations) and
// every URL the page requested. Also a plain HTTP GET for talking to `hpo dashboard`.
// Not thread-safe; one page per HeadlessChromium.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hpo::testing {

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:`port` (Host header `host`, default "127.0.0.1:PORT").
// Throws std::runtime_error when the connection fails.
HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& host = "");

class HeadlessChromium {
 public:
  // The chromium binary (HPO_CHROMIUM, else chromium or chromium-browser on PATH); nullopt
  // when there is none, and the tests that need it are skipped with a message.
  static std::optional<std::filesystem::path> find();

  // Starts chromium headless with a fresh profile in `profile_dir` and a window of the given
  // size, and attaches to its page. Throws std::runtime_error when it does not come up.
  HeadlessChromium(const std::filesystem::path& binary, const std::filesystem::path& profile_dir,
                   int width = 1280, int height = 1600);
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // Loads `url` and waits for its load event.
  void navigate(const std::string& url);
  // The value of `expression` (awaited when it is a promise). Throws std::runtime_error with
  // the exception's text when it throws.
  nlohmann::json evaluate(const std::string& expression);
  // Polls `expression` every 50 ms until it is true; false after `timeout`.
  bool wait_until(const std::string& expression,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // A PNG of the viewport.
  std::string screenshot_png();

  // Console errors, uncaught exceptions and browser log errors seen so far.
  const std::vector<std::string>& errors() const;
  // URLs the page requested so far.
  const std::vector<std::string>& requests() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpo::testing
