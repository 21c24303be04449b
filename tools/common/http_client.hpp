// A blocking keep-alive HTTP client over libcurl for the tools and tests, which talk to loopback only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral::http {

/// How long a request may take, connecting included, unless the caller says.
inline constexpr std::chrono::milliseconds default_timeout{10'000};

/// One HTTP response, or why none arrived. Every member has a default
/// initializer, so a brace list naming only the first few (as tests write
/// them) leaves the rest empty without a missing-initializer warning.
struct response {
  /// The status code; 0 when no response arrived.
  long status = 0;
  /// The body; empty when no response arrived.
  std::string body{};
  /// libcurl's short reason when no response arrived ("Timeout was
  /// reached"), else empty. It carries no per-request particulars, so callers
  /// can count failures by it.
  std::string error{};
  /// libcurl's longer message for the same failure, with its particulars
  /// (host, port, milliseconds); else empty.
  std::string detail{};
  /// The response's headers by lower-cased name; a repeated header keeps its last value.
  std::map<std::string, std::string> headers{};

  /// Whether a response arrived at all.
  bool answered() const { return status != 0; }
  /// Whether a 2xx response arrived.
  bool success() const { return status >= 200 && status < 300; }
};

/// Initializes libcurl for the process, once however often it is called.
/// curl_global_init is not thread-safe: a program whose threads make clients
/// calls this from main before starting them. Every client calls it too.
void init();

/// Sends requests over one libcurl easy handle, which keeps connections open
/// for the next request to the same host. Not thread-safe: every thread owns
/// its own client. It takes no proxy from the environment and follows no
/// redirect, so a loopback URL keeps the traffic on the machine.
class client {
public:
  /// `connect_timeout` bounds connecting alone; zero leaves only each
  /// request's own timeout.
  explicit client(std::chrono::milliseconds connect_timeout = std::chrono::milliseconds::zero());
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `method` to `url` and waits up to `timeout` for the whole answer.
  /// `body` goes out when it is not empty, and (empty) with every POST, PUT
  /// and PATCH; `headers` are extra lines such as "Content-Type: application/json".
  response request(std::string_view method, const std::string& url, std::string_view body = {},
                   const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = default_timeout);

  /// GET `url`.
  response get(const std::string& url, std::chrono::milliseconds timeout = default_timeout);

  /// POST an empty body to `url`.
  response post(const std::string& url, std::chrono::milliseconds timeout = default_timeout);

private:
  void* handle_ = nullptr; // CURL*, kept opaque so that users need no curl.h
  std::chrono::milliseconds connect_timeout_;
};

/// Percent-encodes `text` for one URL path segment or query value: everything
/// but RFC 3986's unreserved characters (ASCII letters, digits, "-._~").
std::string percent_encode(std::string_view text);

/// A host:port on the loopback interface, the only place the tools send traffic.
struct loopback_endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;

  /// "http://host:port" followed by `path`.
  std::string url(std::string_view path) const;
  /// "host:port".
  std::string text() const;
};

/// Parses "HOST:PORT": HOST is 127.a.b.c (each part a number up to 255) or
/// "localhost", PORT is 1 to 65535. Returns nullopt for anything else, so a
/// tool can refuse to send traffic off the machine. "localhost" comes back as
/// 127.0.0.1: it may resolve to ::1 first, where corral does not listen.
std::optional<loopback_endpoint> parse_loopback_endpoint(std::string_view text);

/// Checks that `url` is "http://HOST" or "http://HOST:PORT", with HOST and
/// PORT as parse_loopback_endpoint takes them (optionally with a trailing
/// slash), and returns it as written without the slash; nullopt for anything else.
std::optional<std::string> loopback_base_url(std::string_view url);

} // namespace corral::http
