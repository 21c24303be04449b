// The pool's SQLite database seen from the host: where the named volume keeps
// it, and a writer outside every container that can hold its write lock.
#pragma once

#include <string>

struct sqlite3;

namespace corral::test {

/// Where the daemon keeps the named volume `volume` on this host, from
/// GET /volumes/{name} on the engine socket; "" when it cannot tell.
std::string volume_mountpoint(const std::string& volume);

/// A connection to a pool's database from outside every container, as
/// another process on the host would have. It waits up to 5 s for a lock,
/// like the service; the destructor rolls back whatever is still open.
class outside_writer {
public:
  explicit outside_writer(const std::string& path);
  ~outside_writer();
  outside_writer(const outside_writer&) = delete;
  outside_writer& operator=(const outside_writer&) = delete;

  /// Runs one statement; true on success.
  bool exec(const char* sql);

private:
  sqlite3* db_ = nullptr;
};

} // namespace corral::test
