// A blocking keep-alive HTTP client over libcurl for one thread of the chaos tool.
#pragma once

#include <chrono>
#include <string>

namespace corral::chaos {

/// One HTTP answer, or why there was none.
struct http_answer {
  /// 0 when no response arrived.
  long status = 0;
  std::string body;
  /// libcurl's short reason when no response arrived ("Timeout was
  /// reached"); empty otherwise. Stable, so it can name a kind of failure.
  std::string error;
  /// libcurl's longer message for the same failure, with its particulars.
  std::string detail;

  bool success() const { return status >= 200 && status < 300; }
};

/// Sends requests over one reused connection per host. Not thread-safe: every
/// thread owns its own client. Callers build URLs from loopback endpoints
/// only; the client adds no proxy from the environment and follows no
/// redirect, so nothing leaves the machine.
class http_client {
public:
  http_client();
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// GET `url`.
  http_answer get(const std::string& url, std::chrono::milliseconds timeout);

  /// POST an empty body to `url`.
  http_answer post(const std::string& url, std::chrono::milliseconds timeout);

private:
  http_answer perform(const char* method, const std::string& url,
                      std::chrono::milliseconds timeout);

  void* curl_ = nullptr;
};

/// Initializes libcurl for the process; call once from main before any thread starts.
void init_http();

} // namespace corral::chaos
