// The CONTAINER actor's handlers: launch, stop, kill — each a few runtime calls.
#include "actors/container.hpp"

#include "log/log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cmath>

namespace corral {

namespace {

using self_ptr = metered_pointer<container_actor, container_state>;

/// Container actors log as `container:<port>`, one source per slot.
log::source log_source(const container_state& st) {
  return {"container", st.spec.port};
}

/// The first 12 characters of a container id, as `docker ps` shows it.
std::string_view short_id(const std::string& id) {
  return std::string_view{id}.substr(0, 12);
}

/// Creates the container, clearing away a leftover of the same name once: a
/// container of an earlier incarnation whose removal failed (daemon down).
result<std::string> create(container_state& st) {
  auto created = st.runtime->create(st.spec);
  if (!created && created.error().code == runtime_errc::name_conflict) {
    log::warn(log_source(st), "a container of that name exists; removing it",
              {{"name", st.spec.name}});
    if (auto removed = st.runtime->remove(st.spec.name, true); !removed)
      return removed.error();
    created = st.runtime->create(st.spec);
  }
  return created;
}

/// Reports a failed create or start with its kind: whether another attempt
/// may succeed (the daemon was away) or not (the image is missing).
void fail_start(self_ptr self, const runtime_error& error) {
  auto& st = self->state;
  self->send(st.listener, atom::start_failed_v, st.spec.port, error.message, retryable(error));
  self->quit();
}

} // namespace

container_spec make_container_spec(const pool_settings& pool, const std::string& image_id,
                                   const std::string& owner, uint16_t port) {
  container_spec spec;
  spec.name = pool.name + "-" + std::to_string(port);
  spec.image = image_id;
  spec.port = port;
  for (auto& [key, value] : pool.env)
    spec.env.push_back(key + "=" + value);
  spec.volume = pool.volume;
  spec.volume_path = pool.volume_path;
  spec.stop_timeout = std::chrono::ceil<std::chrono::seconds>(pool.stop_timeout);
  spec.init = pool.init;
  spec.cap_drop = pool.cap_drop;
  spec.cap_add = pool.cap_add;
  spec.no_new_privileges = pool.no_new_privileges;
  spec.read_only = pool.read_only;
  spec.tmpfs = pool.tmpfs;
  spec.user = pool.user;
  spec.memory = pool.memory;
  spec.nano_cpus = std::llround(pool.cpus * 1e9);
  spec.pids = pool.pids;
  spec.log_max_size = pool.log_max_size;
  spec.log_max_files = pool.log_max_files;
  spec.labels = {
    {labels::pool, pool.name},
    {labels::port, std::to_string(port)},
    {labels::owner, owner},
    {labels::spec, spec_label(spec_fingerprint(spec))},
  };
  return spec;
}

container_actor::behavior_type container(self_ptr self, container_listener_actor listener,
                                         std::shared_ptr<container_runtime> runtime,
                                         container_spec spec, std::string adopted_id,
                                         std::shared_ptr<metrics::actor_census> census) {
  self->enlist(std::move(census), "container", spec.port);
  auto& st = self->state;
  st.listener = std::move(listener);
  st.runtime = std::move(runtime);
  st.spec = std::move(spec);
  st.id = std::move(adopted_id);
  // Launch from the mailbox, so a stop sent meanwhile is handled right after.
  if (st.id.empty())
    self->send(self, atom::launch_v);
  return {
    // INTERNAL: create and start.
    [=](atom::launch) {
      auto& st = self->state;
      auto created = create(st);
      if (!created) {
        fail_start(self, created.error());
        return;
      }
      st.id = *created;
      if (auto started = st.runtime->start(st.id); !started) {
        st.runtime->remove(st.id, true);
        fail_start(self, started.error());
        return;
      }
      self->send(st.listener, atom::started_v, st.spec.port, st.id);
    },
    // Graceful: SIGTERM, grace period, then remove.
    [=](atom::stop) {
      auto& st = self->state;
      if (auto stopped = st.runtime->stop(st.id, st.spec.stop_timeout); !stopped)
        log::warn(log_source(st), "stop failed",
                  {{"container", short_id(st.id)}, {"error", stopped.error().message}});
      if (auto removed = st.runtime->remove(st.id, true); !removed)
        log::error(log_source(st), "remove failed",
                   {{"container", short_id(st.id)}, {"error", removed.error().message}});
      self->quit();
    },
    // Failed: no grace. The name goes first: the engine takes ~200 ms to
    // kill, reap and remove a container, and the slot's replacement, which
    // needs the name, need not wait for that. Then a forced remove kills and
    // removes in one call.
    [=](atom::kill) {
      auto& st = self->state;
      auto parting_name = st.spec.name + "-gone-" + st.id.substr(0, 12);
      if (auto renamed = st.runtime->rename(st.id, parting_name); renamed)
        self->send(st.listener, atom::released_v, st.spec.port);
      else
        log::debug(log_source(st), "rename failed; the replacement waits for the removal",
                   {{"container", short_id(st.id)}, {"error", renamed.error().message}});
      if (auto removed = st.runtime->remove(st.id, true); !removed)
        log::error(log_source(st), "remove failed",
                   {{"container", short_id(st.id)}, {"error", removed.error().message}});
      self->quit();
    },
  };
}

} // namespace corral
