// A plain blocking HTTP client over libcurl (see http_client.hpp).
#include "tools/acts_load/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <stdexcept>

namespace acts_load {

namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// curl_global_init is not thread-safe and must run once per process.
void init_curl_once() {
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

} // namespace

http_client::http_client(std::string base_url) : base_url_{std::move(base_url)} {
  init_curl_once();
  curl_ = curl_easy_init();
  if (curl_ == nullptr)
    throw std::runtime_error("curl_easy_init failed");
}

http_client::~http_client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

http_result http_client::request(std::string_view method, std::string_view path, std::optional<std::string_view> body) {
  auto* curl = static_cast<CURL*>(curl_);
  // Reset clears the options but keeps the open connection for reuse.
  curl_easy_reset(curl);
  http_result result;
  std::string url = base_url_ + std::string{path};
  std::string method_text{method};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
  // Loopback only: never through a proxy from the environment.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_slist* headers = nullptr;
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    // No "Expect: 100-continue": not every server in between answers it,
    // and curl would then stall a second per upload.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    result.error = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
    result.body.clear();
    return result;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

std::optional<std::string> loopback_base_url(std::string_view url) {
  std::string text{url};
  if (!text.empty() && text.back() == '/')
    text.pop_back();
  for (std::string_view host : {"http://127.0.0.1", "http://localhost"}) {
    if (text.compare(0, host.size(), host) != 0)
      continue;
    std::string_view rest = std::string_view{text}.substr(host.size());
    if (rest.empty())
      return text;
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
      return std::nullopt;
    for (char c : rest.substr(1))
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return std::nullopt;
    return text;
  }
  return std::nullopt;
}

} // namespace acts_load
