// The slot life cycle's transitions. Each phase lists the events it reacts to;
// everything else is ignored (a late or stale message changes nothing).
#include "actors/slot_lifecycle.hpp"

#include "actors/slot_policy.hpp"

namespace corral {

const char* to_string(slot_phase phase) {
  switch (phase) {
    case slot_phase::creating:
      return "creating";
    case slot_phase::adopting:
      return "adopting";
    case slot_phase::starting:
      return "starting";
    case slot_phase::ready:
      return "ready";
    case slot_phase::checking:
      return "checking";
    case slot_phase::draining:
      return "draining";
    case slot_phase::stopping:
      return "stopping";
    case slot_phase::backoff:
      return "backoff";
    case slot_phase::failed:
      return "failed";
  }
  return "unknown";
}

const char* to_string(slot_event event) {
  switch (event) {
    case slot_event::started:
      return "started";
    case slot_event::start_failed:
      return "start_failed";
    case slot_event::start_refused:
      return "start_refused";
    case slot_event::healthy:
      return "healthy";
    case slot_event::unhealthy:
      return "unhealthy";
    case slot_event::suspect:
      return "suspect";
    case slot_event::retire:
      return "retire";
    case slot_event::keep:
      return "keep";
    case slot_event::drained:
      return "drained";
    case slot_event::released:
      return "released";
    case slot_event::gone:
      return "gone";
    case slot_event::backoff_passed:
      return "backoff_passed";
    case slot_event::retry:
      return "retry";
    case slot_event::shutdown:
      return "shutdown";
  }
  return "unknown";
}

const char* to_string(slot_action action) {
  switch (action) {
    case slot_action::route_down:
      return "route_down";
    case slot_action::unwatch:
      return "unwatch";
    case slot_action::watch:
      return "watch";
    case slot_action::recheck:
      return "recheck";
    case slot_action::route_up:
      return "route_up";
    case slot_action::drain:
      return "drain";
    case slot_action::stop:
      return "stop";
    case slot_action::kill:
      return "kill";
    case slot_action::detach:
      return "detach";
    case slot_action::launch:
      return "launch";
    case slot_action::schedule_restart:
      return "schedule_restart";
    case slot_action::erase:
      return "erase";
  }
  return "unknown";
}

namespace {

using action = slot_action;

/// Builds steps: the facts start as they were.
struct stepper {
  slot_step step;

  explicit stepper(const slot_facts& facts) {
    step.facts = facts;
  }

  stepper& to(slot_phase phase) {
    step.facts.phase = phase;
    return *this;
  }
  stepper& then(std::initializer_list<action> actions) {
    step.actions.insert(step.actions.end(), actions);
    return *this;
  }
  slot_step done() {
    return std::move(step);
  }
};

slot_step ignored(const slot_facts& facts) {
  slot_step step;
  step.facts = facts;
  step.ignored = true;
  return step;
}

/// The slot's container is gone (or renamed away, its removal under way):
/// erase a slot that leaves, otherwise start the next container, at once the
/// first time, then after the backoff while the slot keeps failing.
slot_step after_container(stepper s, const restart_settings& restart) {
  auto& f = s.step.facts;
  if (f.shutting_down || f.leaving)
    return s.then({action::erase}).done();
  ++f.streak;
  ++f.restarts;
  auto delay = restart_delay(f.streak, restart.backoff, restart.max_backoff);
  s.step.replaced = true;
  if (delay.count() == 0)
    return s.to(slot_phase::creating).then({action::launch}).done();
  s.step.delay = delay;
  return s.to(slot_phase::backoff).then({action::schedule_restart}).done();
}

/// corral exits: the container is stopped and removed, or left running.
slot_step on_shutdown(stepper s, bool keep_on_exit, std::initializer_list<action> first) {
  s.step.facts.shutting_down = true;
  s.then(first);
  return s.to(slot_phase::stopping).then({keep_on_exit ? action::detach : action::stop}).done();
}

} // namespace

slot_step next_step(const slot_facts& facts, slot_event event,
                    const restart_settings& restart, bool keep_on_exit) {
  stepper s{facts};
  switch (facts.phase) {
    case slot_phase::creating:
      switch (event) {
        case slot_event::started:
          return s.to(slot_phase::starting).then({action::watch}).done();
        case slot_event::start_failed:
          return s.done(); // the actor's end (gone) decides what follows
        case slot_event::start_refused:
          return s.to(slot_phase::failed).done();
        case slot_event::retire:
          s.step.facts.leaving = true;
          return s.to(slot_phase::stopping).then({action::stop}).done();
        case slot_event::gone:
          return after_container(s, restart);
        case slot_event::shutdown:
          return on_shutdown(s, keep_on_exit, {});
        default:
          return ignored(facts);
      }
    case slot_phase::adopting:
    case slot_phase::starting: {
      // An adopted container is not routed until it passes, like a new one.
      switch (event) {
        case slot_event::healthy:
          s.step.facts.streak = 0;
          return s.to(slot_phase::ready).then({action::route_up}).done();
        case slot_event::unhealthy:
          return s.to(slot_phase::stopping)
            .then({action::route_down, action::unwatch, action::kill})
            .done();
        case slot_event::retire:
          s.step.facts.leaving = true;
          return s.to(slot_phase::stopping)
            .then({action::route_down, action::unwatch, action::stop})
            .done();
        case slot_event::gone:
          s.then({action::route_down, action::unwatch});
          return after_container(s, restart);
        case slot_event::shutdown:
          return on_shutdown(s, keep_on_exit, {action::route_down, action::unwatch});
        default:
          return ignored(facts);
      }
    }
    case slot_phase::ready:
    case slot_phase::checking:
      switch (event) {
        case slot_event::suspect:
          if (facts.phase == slot_phase::checking)
            return ignored(facts);
          return s.to(slot_phase::checking).then({action::recheck}).done();
        case slot_event::healthy:
          if (facts.phase == slot_phase::ready)
            return ignored(facts);
          s.step.facts.streak = 0;
          return s.to(slot_phase::ready).then({action::route_up}).done();
        case slot_event::unhealthy:
          return s.to(slot_phase::stopping)
            .then({action::route_down, action::unwatch, action::kill})
            .done();
        case slot_event::retire:
          s.step.facts.leaving = true;
          return s.to(slot_phase::draining).then({action::drain}).done();
        case slot_event::gone:
          s.then({action::route_down, action::unwatch});
          return after_container(s, restart);
        case slot_event::shutdown:
          return on_shutdown(s, keep_on_exit, {action::route_down, action::unwatch});
        default:
          return ignored(facts);
      }
    case slot_phase::draining:
      switch (event) {
        case slot_event::drained:
          if (!facts.leaving)
            return ignored(facts);
          return s.to(slot_phase::stopping).then({action::unwatch, action::stop}).done();
        case slot_event::keep:
          s.step.facts.leaving = false;
          return s.to(slot_phase::ready).then({action::route_up}).done();
        case slot_event::unhealthy:
          return s.to(slot_phase::stopping)
            .then({action::route_down, action::unwatch, action::kill})
            .done();
        case slot_event::gone:
          s.then({action::route_down, action::unwatch});
          return after_container(s, restart);
        case slot_event::shutdown:
          return on_shutdown(s, keep_on_exit, {action::route_down, action::unwatch});
        default:
          return ignored(facts);
      }
    case slot_phase::stopping:
      switch (event) {
        case slot_event::released:
        case slot_event::gone:
          return after_container(s, restart);
        case slot_event::retire:
          s.step.facts.leaving = true; // on its way out already: just no replacement
          return s.done();
        case slot_event::shutdown:
          s.step.facts.shutting_down = true;
          return s.done();
        default:
          return ignored(facts);
      }
    case slot_phase::backoff:
      switch (event) {
        case slot_event::backoff_passed:
        case slot_event::retry:
          return s.to(slot_phase::creating).then({action::launch}).done();
        case slot_event::retire:
          s.step.facts.leaving = true;
          return s.then({action::erase}).done();
        case slot_event::shutdown:
          s.step.facts.shutting_down = true;
          return s.then({action::erase}).done();
        default:
          return ignored(facts);
      }
    case slot_phase::failed:
      switch (event) {
        case slot_event::retry:
          s.step.facts.streak = 0;
          return s.to(slot_phase::creating).then({action::launch}).done();
        case slot_event::gone:
          return s.done(); // the refused start's actor ended: nothing to replace
        case slot_event::retire:
          s.step.facts.leaving = true;
          return s.then({action::erase}).done();
        case slot_event::shutdown:
          s.step.facts.shutting_down = true;
          return s.then({action::erase}).done();
        default:
          return ignored(facts);
      }
  }
  return ignored(facts);
}

} // namespace corral
