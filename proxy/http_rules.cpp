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

} // namespace corral
