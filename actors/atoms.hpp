// All atoms corral defines. CAF 0.17: an atom is a type made from at most ten
// characters, and equal text means the same type, so they live in one place.
// CAF's own get/put/tick/timeout/ok atoms are reused where they fit.
#pragma once

#include <caf/atom.hpp>

namespace corral::atom {

using balancer = caf::atom_constant<caf::atom("balancer")>;
using count = caf::atom_constant<caf::atom("count")>;
using died = caf::atom_constant<caf::atom("died")>;
using down = caf::atom_constant<caf::atom("down")>;
using drain = caf::atom_constant<caf::atom("drain")>;
using healthy = caf::atom_constant<caf::atom("healthy")>;
using kill = caf::atom_constant<caf::atom("kill")>;
using launch = caf::atom_constant<caf::atom("launch")>;
using next = caf::atom_constant<caf::atom("next")>;
using probe = caf::atom_constant<caf::atom("probe")>;
using fast_tick = caf::atom_constant<caf::atom("fast_tick")>;
using recheck = caf::atom_constant<caf::atom("recheck")>;
using restart = caf::atom_constant<caf::atom("restart")>;
using resync = caf::atom_constant<caf::atom("resync")>;
using scale = caf::atom_constant<caf::atom("scale")>;
using shutdown = caf::atom_constant<caf::atom("shutdown")>;
using start_failed = caf::atom_constant<caf::atom("startfail")>;
using started = caf::atom_constant<caf::atom("started")>;
using status = caf::atom_constant<caf::atom("status")>;
using stop = caf::atom_constant<caf::atom("stop")>;
using suspect = caf::atom_constant<caf::atom("suspect")>;
using traffic = caf::atom_constant<caf::atom("traffic")>;
using unhealthy = caf::atom_constant<caf::atom("unhealthy")>;
using unwatch = caf::atom_constant<caf::atom("unwatch")>;
using up = caf::atom_constant<caf::atom("up")>;
using watch = caf::atom_constant<caf::atom("watch")>;

} // namespace corral::atom
