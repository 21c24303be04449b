// Checks made before corral creates anything, so that a dead daemon, a
// missing image or a taken port stops it with one clear line and no
// container left behind.
#pragma once

#include "actors/settings.hpp"
#include "proxy/settings.hpp"
#include "runtime/container_runtime.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace corral {

/// Nullopt when `ep` can be bound now; otherwise why not, e.g.
/// "cannot listen on 127.0.0.1:8080 (proxy): address already in use".
std::optional<std::string> check_listen(const endpoint& ep, std::string_view what);

/// The ID of the pool's image when the engine answers and has it; otherwise
/// the runtime's error, whose message says what to do.
result<std::string> check_docker(container_runtime& runtime, const pool_settings& pool);


} // namespace corral
