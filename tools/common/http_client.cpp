// The shared loopback HTTP client over libcurl (see http_client.hpp).
#include "tools/common/http_client.hpp"

#include <curl/curl.h>

#include <stdexcept>

namespace corral::http {

namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One header line per call, status line and the blank end line included:
// those have no colon and are skipped.
size_t collect_header(char* data, size_t size, size_t count, void* user) {
  std::string_view line{data, size * count};
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name{line.substr(0, colon)};
    for (auto& c : name)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = std::string{value};
  }
  return size * count;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
         || c == '_' || c == '~';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

void init() {
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

client::client(std::chrono::milliseconds connect_timeout) : connect_timeout_{connect_timeout} {
  init();
  handle_ = curl_easy_init();
  if (handle_ == nullptr)
    throw std::runtime_error("curl_easy_init failed");
}

client::~client() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

response client::request(std::string_view method, const std::string& url, std::string_view body,
                         const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  auto* curl = static_cast<CURL*>(handle_);
  // Reset clears the options but keeps the connection cache, so the next
  // request to the same host reuses the open connection.
  curl_easy_reset(curl);
  response out;
  std::string method_text{method};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
  // Loopback only: never through a proxy named in the environment. Redirects
  // stay off (the reset default), so no answer sends us elsewhere either.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  // Timeouts without SIGALRM: the callers run several clients on threads.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (connect_timeout_.count() > 0)
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out.headers);
  if (method == "HEAD")
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    // Never a null pointer: with POSTFIELDS null libcurl would read the body
    // from its read callback, which defaults to stdin.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  // An empty "Expect:" stops libcurl from asking for 100-continue before a
  // larger body: not every server answers it, and the wait costs a second.
  curl_slist* header_list = curl_slist_append(nullptr, "Expect:");
  for (const auto& header : headers)
    header_list = curl_slist_append(header_list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  auto rc = curl_easy_perform(curl);
  // The buffer dies with this frame; libcurl must not write to it later
  // (closing a cached connection can report an error).
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(header_list);
  if (rc != CURLE_OK) {
    // The short text is stable ("Timeout was reached"); the buffer has the
    // particulars ("Operation timed out after 2001 milliseconds ...").
    out.error = curl_easy_strerror(rc);
    out.detail = error_text[0] != '\0' ? error_text : out.error;
    out.body.clear();
    out.headers.clear();
    return out;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

response client::get(const std::string& url, std::chrono::milliseconds timeout) {
  return request("GET", url, {}, {}, timeout);
}

response client::post(const std::string& url, std::chrono::milliseconds timeout) {
  return request("POST", url, {}, {}, timeout);
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
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
    // ":" and one to five digits; anything else (a path, "127.0.0.1.example.com") is refused.
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
      return std::nullopt;
    for (char c : rest.substr(1))
      if (!is_digit(c))
        return std::nullopt;
    return text;
  }
  return std::nullopt;
}

} // namespace corral::http
