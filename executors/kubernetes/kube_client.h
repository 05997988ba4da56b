// KubeClient: an asynchronous HTTP/1.1 client for the Kubernetes API (Boost.Beast, OpenSSL),
// driven by the run's io_context: no thread of its own, no thread per request.
//
//  * Requests share a pool of keep-alive connections (at most max_connections; more wait in
//    a queue). A stream (a watch, a followed log) gets a connection of its own.
//  * TLS as the kubeconfig says: its CA (or the system's), insecure-skip-tls-verify,
//    tls-server-name (SNI and the name checked), client certificates. Credentials come from
//    KubeCredentials and are sent over TLS only.
//  * Retries, for requests (streams are retried by their owner): 429 and 5xx after the
//    Retry-After the server gave (capped), else after a jittered exponential backoff;
//    connection failures the same way; a request that fails on a reused keep-alive connection
//    (the server closed it while idle) once more at once; a 401 once after refreshing the
//    credential when that can help (exec plugin, token file). Creating a Job twice is safe:
//    the caller turns 409 into adoption.
//  * Error answers become messages from their Status body: "Forbidden: jobs.batch is
//    forbidden: exceeded quota ..." or "Invalid: Job.batch \"x\" is invalid (spec...:
//    Unsupported value ...)"; a body that is not a Status (a proxy's HTML) is quoted, cut
//    short.
//
// Threading: not thread-safe; call it and get its callbacks on the io_context thread.
// Callbacks are never called from inside request()/stream(), and never after the client is
// destroyed (destruction closes every connection and drops pending callbacks).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "executors/kubernetes/kube_credentials.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace hpo {

// The answer to one request.
struct ApiResponse {
  int status = 0;  // HTTP status; 0 when no answer came (connection failed, timed out)
  std::string body;
  std::string warning;  // the Warning header, if any
  // Empty for a 2xx answer (and for a stream that ended cleanly); else what went wrong, ready
  // for a message: the transport error, or the Status reason and message with its causes.
  std::string error;
  std::string reason;  // Status.reason ("AlreadyExists", "Invalid", "Expired", ...) or ""
  // The Retry-After the server gave with it (429, 503), for a caller that retries itself
  // (streams); nullopt when none.
  std::optional<std::chrono::milliseconds> retry_after;
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

struct KubeClientOptions {
  std::size_t max_connections = 8;  // pooled connections for requests (streams not counted)
  int max_attempts = 10;            // tries of one request, retries included
  std::chrono::milliseconds request_timeout{30000};  // connect + send + answer of a request
  std::chrono::milliseconds backoff_base{250};       // first retry delay (jittered)
  std::chrono::milliseconds backoff_max{30000};      // cap of delays, Retry-After included
};

class KubeClient {
 public:
  using Callback = std::function<void(ApiResponse)>;
  using DataCallback = std::function<void(std::string_view)>;

  // `credentials` must outlive the client; `io` too.
  KubeClient(boost::asio::io_context& io, KubeCredentials& credentials,
             KubeClientOptions options = {});
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // Sends `method` `target` (path and query, without the server's path prefix) with a JSON
  // `body` (none when empty); `done` gets the final answer after retries.
  void request(const std::string& method, const std::string& target, std::string body,
               Callback done);

  // GETs `target` and hands its body to `on_data` as it arrives (chunk boundaries are
  // arbitrary). `on_end` follows once: error empty when the body ended cleanly; a non-2xx
  // answer carries its status and message; a dropped connection keeps status 200 and says
  // so in `error`. Returns an id for cancel_stream().
  std::uint64_t stream(const std::string& target, DataCallback on_data, Callback on_end);
  // Closes the stream; its callbacks are not called any more. Unknown ids are ignored.
  void cancel_stream(std::uint64_t id);

  // Closes the idle pooled connections (requests in flight keep theirs).
  void close_idle();
  // Requests queued or in flight, plus open streams.
  std::size_t busy() const;
  // Requests and streams sent to the server so far, retries included.
  std::uint64_t requests_sent() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight handlers
};

// "Reason: message (field: cause; ...)" from a Kubernetes Status body, or the body's start
// when it is not one; `status` names the HTTP code when nothing better is known.
struct ApiError {
  std::string message;
  std::string reason;
};
ApiError describe_api_error(int status, const std::string& body);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters are kept).
std::string url_encode(std::string_view text);

}  // namespace hpo
