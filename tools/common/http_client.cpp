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

/// A whole decimal number of at most five digits (a port, an address part).
bool parse_decimal(std::string_view text, unsigned& value) {
  if (text.empty() || text.size() > 5)
    return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

/// True for "localhost" and for "127.a.b.c" with every part a number up to 255.
bool is_loopback_host(std::string_view host) {
  if (host == "localhost")
    return true;
  int parts = 0;
  for (;;) {
    auto dot = host.find('.');
    auto part = host.substr(0, dot);
    unsigned value = 0;
    if (part.size() > 3 || !parse_decimal(part, value) || value > 255)
      return false;
    if (parts == 0 && value != 127)
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      break;
    host.remove_prefix(dot + 1); // a trailing dot leaves an empty part, refused above
  }
  return parts == 4;
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

std::string loopback_endpoint::url(std::string_view path) const {
  return "http://" + text() + std::string{path};
}

std::string loopback_endpoint::text() const {
  return host + ":" + std::to_string(port);
}

std::optional<loopback_endpoint> parse_loopback_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto host = text.substr(0, colon);
  unsigned port = 0;
  if (!parse_decimal(text.substr(colon + 1), port) || port == 0 || port > 65535)
    return std::nullopt;
  if (!is_loopback_host(host))
    return std::nullopt;
  return loopback_endpoint{host == "localhost" ? "127.0.0.1" : std::string{host},
                           static_cast<uint16_t>(port)};
}

std::optional<std::string> loopback_base_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    return std::nullopt;
  if (url.ends_with('/'))
    url.remove_suffix(1);
  auto authority = url.substr(scheme.size());
  // Without a port the host alone decides; with one, the endpoint rule does.
  bool fits = authority.find(':') == std::string_view::npos
                ? is_loopback_host(authority)
                : parse_loopback_endpoint(authority).has_value();
  if (!fits)
    return std::nullopt;
  return std::string{url};
}

} // namespace corral::http
