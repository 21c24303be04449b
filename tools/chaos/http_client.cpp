// The chaos tool's keep-alive HTTP client over libcurl (see http_client.hpp).
#include "tools/chaos/http_client.hpp"

#include <curl/curl.h>

#include <stdexcept>
#include <string_view>

namespace corral::chaos {

namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

} // namespace

void init_http() {
  // curl_global_init is not thread-safe: it must run before the load threads.
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

http_client::http_client() {
  init_http();
  curl_ = curl_easy_init();
  if (curl_ == nullptr)
    throw std::runtime_error("curl_easy_init failed");
}

http_client::~http_client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

http_answer http_client::get(const std::string& url, std::chrono::milliseconds timeout) {
  return perform("GET", url, timeout);
}

http_answer http_client::post(const std::string& url, std::chrono::milliseconds timeout) {
  return perform("POST", url, timeout);
}

http_answer http_client::perform(const char* method, const std::string& url,
                                 std::chrono::milliseconds timeout) {
  auto* curl = static_cast<CURL*>(curl_);
  // Reset clears the options but keeps the connection cache, so the next
  // request to the same host reuses the open connection.
  curl_easy_reset(curl);
  http_answer answer;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  if (std::string_view{method} == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  }
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  auto rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    // The short, stable text: it becomes a failure kind, so it must not
    // carry per-request details such as byte counts or milliseconds.
    answer.error = curl_easy_strerror(rc);
    answer.detail = error_text[0] != '\0' ? error_text : answer.error;
    answer.body.clear();
    return answer;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

} // namespace corral::chaos
