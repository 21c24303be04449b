// Every corral actor measures itself: `metered<Base>` wraps CAF's message
// loop (scheduled_actor::consume, virtual in 0.17.6, which has no telemetry
// of its own) so that each message handled is counted by kind, timed, and
// the mailbox sampled before and after, into the actor's own meter. A scrape
// reads the meters through the census, never by messaging the actors.
#pragma once

#include "metrics/actor_census.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/system_messages.hpp>
#include <caf/stateful_actor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace corral {

/// The kind of an exit reason, for corral_actors_exited_total.
inline std::string_view exit_reason_kind(const caf::error& reason) {
  if (!reason)
    return "normal";
  // caf::make_error(exit_reason) carries exit_reason's category atom.
  if (reason.category() != caf::make_error(caf::exit_reason::kill).category())
    return "other";
  switch (static_cast<caf::exit_reason>(reason.code())) {
    case caf::exit_reason::normal:
      return "normal";
    case caf::exit_reason::user_shutdown:
      return "user_shutdown";
    case caf::exit_reason::kill:
      return "kill";
    case caf::exit_reason::unreachable:
      return "unreachable";
    case caf::exit_reason::unhandled_exception:
      return "unhandled_exception";
    default:
      return "other";
  }
}

/// An actor base (e.g. `supervisor_actor::base`) that measures every
/// message it handles once enlist() was called.
template <class Base>
class metered : public Base {
public:
  using Base::Base;

  /// Starts measuring as `role` (and `port`, for container actors): called
  /// once, first thing in the behavior function. The census keeps the
  /// figures after the actor is gone and learns its exit reason.
  void enlist(std::shared_ptr<metrics::actor_census> census, std::string role,
              uint16_t port = 0) {
    if (!census)
      return;
    meter_ = census->enlist(std::move(role), port);
    this->attach_functor([census, meter = meter_](const caf::error& reason) {
      census->discharge(meter, exit_reason_kind(reason));
    });
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (!meter_)
      return Base::consume(x);
    auto& m = *meter_;
    // Before the handler: it may move the message's content out.
    auto kind = m.kind(kind_key(x), [&x] { return kind_name(x); });
    // size() counts what waits behind this message; called on the actor's
    // own thread, as VAST's status handlers do.
    m.begin(metrics::actor_census::now_ns(), this->mailbox().size());
    auto result = Base::consume(x);
    m.end(kind, metrics::actor_census::now_ns(), this->mailbox().size());
    return result;
  }

private:
  // Reserved keys for what has no leading atom; atom values never are 1-5.
  static constexpr uint64_t response_key = 1;
  static constexpr uint64_t empty_key = 2;
  static constexpr uint64_t other_key = 3;
  static constexpr uint64_t down_key = 4;
  static constexpr uint64_t exit_key = 5;

  static bool atom_at(const caf::mailbox_element& x, size_t pos) {
    auto& xs = x.content();
    return xs.size() > pos && xs.template match_element<caf::atom_value>(pos);
  }

  static metrics::actor_meter::kind_key kind_key(const caf::mailbox_element& x) {
    if (x.mid.is_response())
      return {0, response_key};
    auto& xs = x.content();
    if (xs.empty())
      return {0, empty_key};
    // A monitored actor's end and a linked one's exit come through here too.
    if (xs.template match_element<caf::down_msg>(0))
      return {0, down_key};
    if (xs.template match_element<caf::exit_msg>(0))
      return {0, exit_key};
    if (!atom_at(x, 0))
      return {0, other_key};
    auto first = static_cast<uint64_t>(xs.template get_as<caf::atom_value>(0));
    auto second = atom_at(x, 1) ? static_cast<uint64_t>(xs.template get_as<caf::atom_value>(1))
                                : uint64_t{0};
    return {first, second};
  }

  /// "next", "tick", or "get_status" for a message led by two atoms.
  static std::string kind_name(const caf::mailbox_element& x) {
    auto [first, second] = kind_key(x);
    if (first == 0)
      switch (second) {
        case response_key:
          return "response";
        case empty_key:
          return "empty";
        case down_key:
          return "down";
        case exit_key:
          return "exit";
        default:
          return "other";
      }
    auto name = caf::to_string(static_cast<caf::atom_value>(first));
    if (second != 0)
      name += "_" + caf::to_string(static_cast<caf::atom_value>(second));
    return name;
  }

  std::shared_ptr<metrics::actor_meter> meter_;
};

/// The self pointer of a measured, stateful typed actor: what a behavior
/// function takes instead of `Handle::stateful_pointer<State>`.
template <class Handle, class State>
using metered_pointer = caf::stateful_actor<State, metered<typename Handle::base>>*;

} // namespace corral
