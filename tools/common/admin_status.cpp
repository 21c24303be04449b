// Parsing of corral's GET /status (see admin_status.hpp).
#include "tools/common/admin_status.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace corral::admin {

namespace json = boost::json;

const slot_view* pool_view::find(uint16_t port) const {
  for (auto& s : slots)
    if (s.port == port)
      return &s;
  return nullptr;
}

std::size_t pool_view::ready_count() const {
  return static_cast<std::size_t>(
    std::count_if(slots.begin(), slots.end(), [](const slot_view& s) { return s.ready(); }));
}

proxy_counters proxy_counters::since(const proxy_counters& earlier) const {
  // Counters only grow; a restarted corral would start over, never below 0 here.
  auto delta = [](uint64_t now, uint64_t then) { return now >= then ? now - then : now; };
  return {delta(requests, earlier.requests), delta(retries, earlier.retries),
          delta(bad_gateway, earlier.bad_gateway), delta(no_backend, earlier.no_backend),
          delta(gateway_timeout, earlier.gateway_timeout)};
}

bool pool_view::whole() const {
  return slots.size() == desired && ready_count() == desired;
}

namespace {

/// The string at `key`, "" when missing or not a string.
std::string string_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

/// The non-negative integer at `key`, nullopt when missing or not one.
std::optional<uint64_t> number_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_uint64())
    return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0)
    return static_cast<uint64_t>(v->get_int64());
  return std::nullopt;
}

} // namespace

std::optional<pool_view> parse_status(std::string_view body) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object())
    return std::nullopt;
  auto* pool = doc.get_object().if_contains("pool");
  if (pool == nullptr || !pool->is_object())
    return std::nullopt;
  auto& p = pool->get_object();
  auto desired = number_at(p, "desired");
  auto* slots = p.if_contains("slots");
  if (!desired || slots == nullptr || !slots->is_array())
    return std::nullopt;
  pool_view view;
  view.name = string_at(p, "name");
  view.desired = static_cast<uint32_t>(*desired);
  for (auto& item : slots->get_array()) {
    if (!item.is_object())
      return std::nullopt;
    auto& s = item.get_object();
    auto port = number_at(s, "port");
    if (!port || *port == 0 || *port > 65535)
      return std::nullopt;
    slot_view slot;
    slot.port = static_cast<uint16_t>(*port);
    slot.state = string_at(s, "state");
    slot.container = string_at(s, "container");
    slot.restarts = static_cast<uint32_t>(number_at(s, "restarts").value_or(0));
    slot.last_error = string_at(s, "last_error");
    view.slots.push_back(std::move(slot));
  }
  if (auto* proxy = doc.get_object().if_contains("proxy"); proxy && proxy->is_object()) {
    auto& p = proxy->get_object();
    view.proxy = proxy_counters{number_at(p, "requests").value_or(0),
                                number_at(p, "retries").value_or(0),
                                number_at(p, "bad_gateway").value_or(0),
                                number_at(p, "no_backend").value_or(0),
                                number_at(p, "gateway_timeout").value_or(0)};
  }
  return view;
}

} // namespace corral::admin
