// The port_source backed by the BALANCER actor: one per io thread.
#pragma once

#include "proxy/port_source.hpp"
#include "proxy/stats.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace corral {

/// Creates the port_source of the io thread that runs `ioc`, asking
/// `balancer` (a balancer_actor handle, e.g.
/// `caf::actor_cast<caf::actor>(balancer)`) for ports. It records each
/// port's round trip and each ask's size into `counters` (the io thread's).
///
/// The cheapest correct shape of DESIGN.md, "The hot path": at most one
/// port_ask is in flight per io thread; sessions that want a port meanwhile
/// wait and go together in the next ask (k ports for k sessions, consecutive
/// in the balancer's round robin). Reports ride along with the next ask;
/// failed and bad ones (which change the rotation) go at once in one
/// coalesced message when nobody waits, finished ones wait up to
/// `report_delay` for an ask to ride along with (under load, one message per
/// batch instead of two; a drain learns of the last request at most that
/// much later). Asks
/// are one-way sends without a timeout; the answer is posted back onto
/// `ioc`. When the balancer is dead or drops an ask, the waiting sessions get
/// nullopt (503) rather than hanging.
///
/// Call and destroy the source on the io thread only. `ioc` must outlive
/// the balancer actor's last reference to an ask (guides/caf-0.17.md §11:
/// stop io, then the actors, then destroy the io_context).
std::unique_ptr<port_source> make_balancer_client(boost::asio::io_context& ioc,
                                                  const caf::actor& balancer,
                                                  thread_counters& counters,
                                                  std::chrono::milliseconds report_delay =
                                                    std::chrono::milliseconds{2});

} // namespace corral
