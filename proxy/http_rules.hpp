// Pure HTTP decisions of the proxy: header rewriting and the retry rule.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace corral {

/// Where an attempt to forward a request to a backend went wrong.
enum class failure_point {
  /// No connection: refused, unreachable or connect timeout. The request was
  /// never sent, so any method may go to another backend.
  connect_failed,
  /// The request was written (maybe partly), then the connection hit EOF or
  /// a reset before any response byte: the backend may have acted on it.
  connection_broke_before_response,
  /// Some of the response arrived, then it broke or was malformed.
  response_started,
  /// The backend did not answer within backend_timeout.
  timeout,
};

/// Renders a failure point for logs ("connect_failed").
const char* to_string(failure_point point);

/// Removes the hop-by-hop fields of RFC 9110 §7.6.1 (Connection, Keep-Alive,
/// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
/// Proxy-Authenticate, Proxy-Authorization) and every field named by a
/// Connection token. Works for requests and responses alike.
void strip_hop_by_hop(boost::beast::http::fields& fields);

/// Appends `client` to X-Forwarded-For, keeping the list a client or an
/// earlier proxy sent (several X-Forwarded-For lines fold into one).
void append_forwarded_for(boost::beast::http::fields& fields,
                          std::string_view client);

/// What the backend learns about the request's way here. Untrusted (the
/// default): a client's own Forwarded and X-Forwarded-* fields are dropped
/// and X-Forwarded-For is exactly `client`. Trusted (corral behind another
/// proxy): X-Forwarded-For gets `client` appended and the rest stays. Either
/// way X-Forwarded-Proto is "http", X-Forwarded-Host the request's Host (when
/// not trusted, or none came), and Via gains "1.1 corral".
void set_forwarding_fields(boost::beast::http::fields& fields, std::string_view client,
                           bool trusted);

/// Why a request head must be refused before it goes anywhere (RFC 9110 and
/// 9112, as nginx and HAProxy refuse them), or nullopt when it is fine.
struct request_refusal {
  /// 400, 405 or 501.
  unsigned status = 400;
  std::string_view reason;
};

/// Checks a parsed request head: HTTP/1.1 without Host or with two (400);
/// Content-Length together with Transfer-Encoding, or a Transfer-Encoding
/// whose last coding is not chunked (400, a smuggling vector); a Connection
/// field naming Host, Content-Length or Transfer-Encoding (400); TRACE
/// (405); CONNECT (501).
std::optional<request_refusal> refuse_request(const boost::beast::http::fields& fields,
                                              boost::beast::http::verb method,
                                              unsigned version);

/// True for methods a backend may see twice without harm (RFC 9110 §9.2.2:
/// GET, HEAD, OPTIONS, TRACE, PUT, DELETE).
bool is_idempotent(boost::beast::http::verb method);

/// Decides whether a failed attempt goes to the next backend. Idempotent
/// methods retry after connect_failed and connection_broke_before_response;
/// all others (POST, PATCH, ...) only after connect_failed, since only then
/// was the request certainly not seen. A started response or a timeout is
/// never retried. `attempts_made` counts the attempts so far, the failed one
/// included; at most `max_retries` further attempts follow the first.
bool may_retry(boost::beast::http::verb method, failure_point point,
               unsigned attempts_made, unsigned max_retries);

/// True when the failure means the backend could not take the request at
/// all, so its port is reported `failed` (it leaves the rotation at once)
/// rather than `finished`: a refused connect, or a fresh connection broken
/// before any response. A pooled connection that breaks proves little (the
/// backend may have closed it while idle, just as the request went out), and
/// a timeout or a broken response came from a backend that did accept the
/// request: the health checker judges those. A truly dead backend is still
/// caught at once: its next attempt connects afresh and is refused.
bool backend_unreachable(failure_point point, bool pooled_connection);

/// Appends a request head as it goes on the wire: "METHOD target HTTP/1.1",
/// each field as it is stored, and the blank line. Written into a string the
/// session reuses, and sent with the body in one gather write.
void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const boost::beast::http::fields& fields);

/// Appends a response head as it goes on the wire: "HTTP/1.x status reason"
/// (version 10 or 11), each field as it is stored, and the blank line.
void append_response_head(std::string& out, unsigned version, unsigned status,
                          std::string_view reason, const boost::beast::http::fields& fields);

/// Appends the size line of a chunk of `size` bytes ("1f40\r\n") to `out`.
void append_chunk_size(std::string& out, std::size_t size);

/// The status a client gets when a failure is final: 504 for a timeout, 502
/// for everything else.
unsigned status_for(failure_point point);

} // namespace corral
