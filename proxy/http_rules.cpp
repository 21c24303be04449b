// Header rewriting and the retry rule; no I/O, no session state.
#include "proxy/http_rules.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <string>

namespace corral {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view forwarded_for = "X-Forwarded-For";

} // namespace

const char* to_string(failure_point point) {
  switch (point) {
    case failure_point::connect_failed:
      return "connect_failed";
    case failure_point::connection_broke_before_response:
      return "connection_broke_before_response";
    case failure_point::response_started:
      return "response_started";
    case failure_point::timeout:
      return "timeout";
  }
  return "unknown";
}

void strip_hop_by_hop(http::fields& fields) {
  // Collect the Connection tokens first: erasing a field while walking the
  // Connection range could erase the range's end. The views point into the
  // Connection values, which stay put until Connection itself goes, last.
  // A handful of tokens fit on the stack, so the common case allocates
  // nothing.
  boost::container::small_vector<std::string_view, 8> tokens;
  for (auto [it, end] = fields.equal_range(http::field::connection); it != end;
       ++it)
    for (auto token : http::token_list{it->value()})
      if (!boost::beast::iequals(token, "connection"))
        tokens.emplace_back(token.data(), token.size());
  for (auto token : tokens)
    fields.erase(token);
  fields.erase(http::field::keep_alive);
  fields.erase(http::field::proxy_connection);
  fields.erase(http::field::te);
  fields.erase(http::field::trailer);
  fields.erase(http::field::transfer_encoding);
  fields.erase(http::field::upgrade);
  fields.erase(http::field::proxy_authenticate);
  fields.erase(http::field::proxy_authorization);
  fields.erase(http::field::connection);
}

void append_forwarded_for(http::fields& fields, std::string_view client) {
  auto [first, end] = fields.equal_range(forwarded_for);
  if (first == end) {
    fields.set(forwarded_for, client);
    return;
  }
  std::string list;
  for (auto it = first; it != end; ++it) {
    auto value = it->value();
    if (value.empty())
      continue;
    list.append(value.data(), value.size());
    list += ", ";
  }
  list.append(client);
  fields.set(forwarded_for, list);
}

void set_forwarding_fields(http::fields& fields, std::string_view client, bool trusted) {
  if (trusted) {
    append_forwarded_for(fields, client);
  } else {
    // A client may claim anything in these: they are corral's to write.
    fields.erase(http::field::forwarded);
    fields.erase(forwarded_for);
    fields.erase("X-Forwarded-Proto");
    fields.erase("X-Forwarded-Host");
    fields.set(forwarded_for, client);
  }
  if (!trusted || fields.count("X-Forwarded-Proto") == 0)
    fields.set("X-Forwarded-Proto", "http");
  auto host = fields[http::field::host];
  if (!host.empty() && (!trusted || fields.count("X-Forwarded-Host") == 0))
    fields.set("X-Forwarded-Host", host);
  auto via = fields[http::field::via];
  if (via.empty())
    fields.set(http::field::via, "1.1 corral");
  else
    fields.set(http::field::via, std::string{via} + ", 1.1 corral");
}

std::optional<request_refusal> refuse_request(const http::fields& fields, http::verb method,
                                              unsigned version) {
  if (method == http::verb::connect)
    return request_refusal{501, "CONNECT is not supported"};
  if (method == http::verb::trace)
    return request_refusal{405, "TRACE is not allowed"};
  auto hosts = fields.count(http::field::host);
  if (version >= 11 && hosts == 0)
    return request_refusal{400, "an HTTP/1.1 request needs a Host field"};
  if (hosts > 1)
    return request_refusal{400, "more than one Host field"};
  if (fields.count(http::field::content_length) > 1)
    return request_refusal{400, "more than one Content-Length field"};
  // A field value cannot hold a line break: an obs-fold (a line that
  // continues the previous field) would reach the backend as one.
  for (auto& field : fields)
    if (field.value().find_first_of("\r\n") != std::string_view::npos)
      return request_refusal{400, "a field continued on the next line (obs-fold)"};
  auto te = fields.count(http::field::transfer_encoding);
  if (te > 0 && fields.count(http::field::content_length) > 0)
    return request_refusal{400, "both Content-Length and Transfer-Encoding"};
  if (te > 0) {
    // The codings of every Transfer-Encoding line, in order: chunked must
    // be the last one, and only once.
    std::string_view last;
    int chunked = 0;
    for (auto [it, end] = fields.equal_range(http::field::transfer_encoding); it != end; ++it)
      for (auto coding : http::token_list{it->value()}) {
        last = std::string_view{coding.data(), coding.size()};
        chunked += boost::beast::iequals(coding, "chunked") ? 1 : 0;
      }
    if (chunked != 1 || !boost::beast::iequals(last, "chunked"))
      return request_refusal{400, "Transfer-Encoding must end with chunked, once"};
  }
  for (auto [it, end] = fields.equal_range(http::field::connection); it != end; ++it)
    for (auto token : http::token_list{it->value()})
      if (boost::beast::iequals(token, "host") || boost::beast::iequals(token, "content-length")
          || boost::beast::iequals(token, "transfer-encoding"))
        return request_refusal{400, "Connection may not name Host, Content-Length or "
                                    "Transfer-Encoding"};
  return std::nullopt;
}

bool is_idempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

bool may_retry(http::verb method, failure_point point, unsigned attempts_made,
               unsigned max_retries) {
  if (attempts_made > max_retries)
    return false;
  switch (point) {
    case failure_point::connect_failed:
      return true;
    case failure_point::connection_broke_before_response:
      return is_idempotent(method);
    case failure_point::response_started:
    case failure_point::timeout:
      return false;
  }
  return false;
}

bool backend_unreachable(failure_point point, bool pooled_connection) {
  switch (point) {
    case failure_point::connect_failed:
      return true;
    case failure_point::connection_broke_before_response:
      return !pooled_connection;
    case failure_point::response_started:
    case failure_point::timeout:
      return false;
  }
  return false;
}

unsigned status_for(failure_point point) {
  return point == failure_point::timeout ? 504 : 502;
}

namespace {

void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& field : fields) {
    auto name = field.name_string();
    auto value = field.value();
    out.append(name.data(), name.size());
    out.append(": ", 2);
    out.append(value.data(), value.size());
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
}

} // namespace

void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const http::fields& fields) {
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
  append_fields(out, fields);
}

void append_response_head(std::string& out, unsigned version, unsigned status,
                          std::string_view reason, const http::fields& fields) {
  char line[16] = "HTTP/1.1 000 ";
  line[7] = version >= 11 ? '1' : '0';
  line[9] = static_cast<char>('0' + status / 100 % 10);
  line[10] = static_cast<char>('0' + status / 10 % 10);
  line[11] = static_cast<char>('0' + status % 10);
  out.append(line, 13);
  out.append(reason);
  out.append("\r\n", 2);
  append_fields(out, fields);
}

void append_chunk_size(std::string& out, std::size_t size) {
  char digits[2 * sizeof(std::size_t)];
  std::size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[size & 0xf];
    size >>= 4;
  } while (size != 0);
  while (n > 0)
    out.push_back(digits[--n]);
  out.append("\r\n", 2);
}

} // namespace corral
