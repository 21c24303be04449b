// One client connection of the reverse proxy (the class lives in
// client_session.cpp, its backend half in upstream_exchange.cpp, so that only
// those translation units pay for Beast's HTTP headers).
#pragma once

#include "proxy/upstream_pool.hpp"

namespace corral::proxy {

class io_thread;

/// Serves the accepted client connection `socket` on `thread`: reads its
/// requests, forwards each to a backend the thread's port source names and
/// relays the answers, until the client or the server closes. Call on the
/// io thread; the session keeps itself alive through its pending operations.
void start_session(io_thread& thread, upstream_pool::socket_type&& socket);

} // namespace corral::proxy
