// All atoms corral defines. CAF 0.17: an atom is a type made from at most ten
// characters, and equal text means the same type, so they live in one place.
// CAF's own get/put/tick/timeout/ok atoms are reused where they fit. Each
// atom type comes with a `<name>_v` value to send.
#pragma once

#include <caf/atom.hpp>

namespace corral::atom {

using count = caf::atom_constant<caf::atom("count")>;
constexpr count count_v{};
using died = caf::atom_constant<caf::atom("died")>;
constexpr died died_v{};
using down = caf::atom_constant<caf::atom("down")>;
constexpr down down_v{};
using drain = caf::atom_constant<caf::atom("drain")>;
constexpr drain drain_v{};
using freeze = caf::atom_constant<caf::atom("freeze")>;
constexpr freeze freeze_v{};
using healthy = caf::atom_constant<caf::atom("healthy")>;
constexpr healthy healthy_v{};
using helpers = caf::atom_constant<caf::atom("helpers")>;
constexpr helpers helpers_v{};
using kill = caf::atom_constant<caf::atom("kill")>;
constexpr kill kill_v{};
using launch = caf::atom_constant<caf::atom("launch")>;
constexpr launch launch_v{};
using next = caf::atom_constant<caf::atom("next")>;
constexpr next next_v{};
using probe = caf::atom_constant<caf::atom("probe")>;
constexpr probe probe_v{};
using fast_tick = caf::atom_constant<caf::atom("fast_tick")>;
constexpr fast_tick fast_tick_v{};
using released = caf::atom_constant<caf::atom("released")>;
constexpr released released_v{};
using recheck = caf::atom_constant<caf::atom("recheck")>;
constexpr recheck recheck_v{};
using restart = caf::atom_constant<caf::atom("restart")>;
constexpr restart restart_v{};
using reload = caf::atom_constant<caf::atom("reload")>;
constexpr reload reload_v{};
using resync = caf::atom_constant<caf::atom("resync")>;
constexpr resync resync_v{};
using scale = caf::atom_constant<caf::atom("scale")>;
constexpr scale scale_v{};
using shutdown = caf::atom_constant<caf::atom("shutdown")>;
constexpr shutdown shutdown_v{};
using start_failed = caf::atom_constant<caf::atom("startfail")>;
constexpr start_failed start_failed_v{};
using started = caf::atom_constant<caf::atom("started")>;
constexpr started started_v{};
using status = caf::atom_constant<caf::atom("status")>;
constexpr status status_v{};
using stop = caf::atom_constant<caf::atom("stop")>;
constexpr stop stop_v{};
using suspect = caf::atom_constant<caf::atom("suspect")>;
constexpr suspect suspect_v{};
using traffic = caf::atom_constant<caf::atom("traffic")>;
constexpr traffic traffic_v{};
using unhealthy = caf::atom_constant<caf::atom("unhealthy")>;
constexpr unhealthy unhealthy_v{};
using unwatch = caf::atom_constant<caf::atom("unwatch")>;
constexpr unwatch unwatch_v{};
using up = caf::atom_constant<caf::atom("up")>;
constexpr up up_v{};
using watch = caf::atom_constant<caf::atom("watch")>;
constexpr watch watch_v{};

} // namespace corral::atom
