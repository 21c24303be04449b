// The Acts database over SQLite: schema, transactions and queries (see store.hpp).
#include "workloads/acts/store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <string_view>
#include <thread>

namespace acts {

namespace {

/// The schema version this code writes; PRAGMA user_version holds it.
constexpr int schema_version = 1;

/// How long a connection waits for another process's write lock before the
/// request fails with 503. Writes are short (one row), so 5 s means something
/// is stuck, not busy.
constexpr int busy_timeout_ms = 5000;

// Everything the service stores. Acts carry their own insertion sequence
// (`seq`, AUTOINCREMENT so it never goes back after deletes) because the
// client picks act_id: listings order by timestamp, then by seq.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS users (
  name     TEXT PRIMARY KEY,
  password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS categories (
  name TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS acts (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  act_id    INTEGER NOT NULL UNIQUE,
  username  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  category  TEXT NOT NULL REFERENCES categories(name) ON DELETE CASCADE,
  posted_at INTEGER NOT NULL,
  timestamp TEXT NOT NULL,
  caption   TEXT NOT NULL,
  upvotes   INTEGER NOT NULL DEFAULT 0,
  image     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS acts_by_category ON acts(category, posted_at DESC, seq DESC);
CREATE INDEX IF NOT EXISTS acts_by_user ON acts(username);
)sql";

// Throws the exception that matches an SQLite result code.
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string message{what};
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    throw store_busy(message);
  throw store_failure(message);
}

// Runs SQL that returns no rows.
void exec(sqlite3* db, const char* sql) {
  if (int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr); rc != SQLITE_OK)
    fail(db, rc, sql);
}

/// One prepared statement, finalized on scope exit.
class statement {
public:
  statement(sqlite3* db, std::string_view sql) : db_{db} {
    if (int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
        rc != SQLITE_OK)
      fail(db, rc, "preparing a statement");
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  statement& bind_blob(int index, std::string_view bytes) {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    check(sqlite3_bind_blob64(stmt_, index, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC));
    return *this;
  }

  /// Advances to the next row: true when there is one, false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    fail(db_, rc, sqlite3_sql(stmt_));
  }

  /// Runs a statement that returns no rows and returns how many rows it changed.
  std::int64_t run() {
    while (step()) {
    }
    return sqlite3_changes64(db_);
  }

  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) {
    auto data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data == nullptr ? std::string{} : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::string blob(int column) {
    auto data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return data == nullptr ? std::string{} : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      fail(db_, rc, "binding a parameter");
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs `body` in a write transaction. BEGIN IMMEDIATE takes the write lock
// up front (waiting up to the busy timeout), so two processes never both
// read-then-write and no upgrade can fail half way. COMMIT returning means
// the change is in the WAL and, with synchronous=FULL, fsynced.
template <class Body>
auto write_transaction(sqlite3* db, Body&& body) {
  exec(db, "BEGIN IMMEDIATE");
  try {
    auto result = body();
    exec(db, "COMMIT");
    return result;
  } catch (...) {
    // Harmless when COMMIT already ended the transaction.
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// Whether a row exists for `sql` with one text or integer parameter.
template <class Key>
bool exists(sqlite3* db, std::string_view sql, const Key& key) {
  statement query{db, sql};
  query.bind(1, key);
  return query.step();
}

} // namespace

store::store(const std::string& path) {
  // NOMUTEX: a connection is used by one thread at a time (store_pool leases it).
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open the database " + path + ": "
                          + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    throw store_failure(message);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    // WAL lets readers in every process proceed while one process writes.
    // The mode is stored in the file, so the first process sets it for all.
    // Processes that open a fresh file at once race to switch it: each
    // holds the read lock while it asks for the write lock, and SQLite
    // breaks that deadlock by refusing one of them at once, without the busy
    // timeout. The refused one asks again, as the busy timeout would have.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    for (;;) {
      try {
        statement wal{db_, "PRAGMA journal_mode=WAL"};
        if (!wal.step() || wal.text(0) != "wal")
          throw store_failure("cannot switch " + path
                              + " to WAL mode: the volume must support shared memory (a local filesystem)");
        break;
      } catch (const store_busy&) {
        if (std::chrono::steady_clock::now() >= deadline)
          throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    // FULL: fsync the WAL at every commit, so a 201 survives a power cut,
    // not just a killed container. Both settings are per connection.
    exec(db_, "PRAGMA synchronous=FULL");
    exec(db_, "PRAGMA foreign_keys=ON");
    // A FROM-scratch image has no /tmp: keep SQLite's temporary tables in memory.
    exec(db_, "PRAGMA temp_store=MEMORY");
    // Every process races to create the schema; the write lock serializes
    // them and the version check makes the losers' attempts no-ops. Reading
    // the version first keeps an up-to-date database from being written to
    // (and locked) by every new connection.
    auto read_version = [&] {
      statement query{db_, "PRAGMA user_version"};
      query.step();
      return query.integer(0);
    };
    if (read_version() != schema_version) {
      write_transaction(db_, [&] {
        auto version = read_version();
        if (version > schema_version)
          throw store_failure(path + " has schema version " + std::to_string(version)
                              + ", newer than this acts binary understands ("
                              + std::to_string(schema_version) + ")");
        if (version < schema_version) {
          exec(db_, schema_sql);
          exec(db_, ("PRAGMA user_version=" + std::to_string(schema_version)).c_str());
        }
        return 0;
      });
    }
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

store::~store() {
  sqlite3_close(db_);
}

bool store::add_user(const std::string& name, const std::string& password_sha1) {
  return write_transaction(db_, [&] {
    statement insert{db_, "INSERT INTO users(name, password) VALUES(?, lower(?)) ON CONFLICT DO NOTHING"};
    return insert.bind(1, name).bind(2, password_sha1).run() == 1;
  });
}

bool store::remove_user(const std::string& name) {
  return write_transaction(db_, [&] {
    statement remove{db_, "DELETE FROM users WHERE name = ?"};
    return remove.bind(1, name).run() == 1;
  });
}

std::vector<std::string> store::users() {
  statement query{db_, "SELECT name FROM users ORDER BY name"};
  std::vector<std::string> names;
  while (query.step())
    names.push_back(query.text(0));
  return names;
}

bool store::add_category(const std::string& name) {
  return write_transaction(db_, [&] {
    statement insert{db_, "INSERT INTO categories(name) VALUES(?) ON CONFLICT DO NOTHING"};
    return insert.bind(1, name).run() == 1;
  });
}

bool store::remove_category(const std::string& name) {
  return write_transaction(db_, [&] {
    statement remove{db_, "DELETE FROM categories WHERE name = ?"};
    return remove.bind(1, name).run() == 1;
  });
}

std::vector<std::pair<std::string, std::int64_t>> store::categories() {
  statement query{db_, "SELECT c.name, (SELECT count(*) FROM acts a WHERE a.category = c.name) "
                       "FROM categories c ORDER BY c.name"};
  std::vector<std::pair<std::string, std::int64_t>> result;
  while (query.step())
    result.emplace_back(query.text(0), query.integer(1));
  return result;
}

std::optional<std::int64_t> store::category_size(const std::string& name) {
  statement query{db_, "SELECT (SELECT count(*) FROM acts a WHERE a.category = c.name) "
                       "FROM categories c WHERE c.name = ?"};
  if (!query.bind(1, name).step())
    return std::nullopt;
  return query.integer(0);
}

std::optional<std::vector<act>> store::read_category(const std::string& name, const page_chooser& choose) {
  // A read transaction pins one WAL snapshot for the size and the page.
  exec(db_, "BEGIN");
  try {
    std::optional<std::vector<act>> page;
    if (auto size = category_size(name)) {
      page.emplace();
      if (auto range = choose(*size)) {
        statement query{db_, "SELECT act_id, username, timestamp, caption, upvotes, image FROM acts "
                             "WHERE category = ? ORDER BY posted_at DESC, seq DESC LIMIT ? OFFSET ?"};
        query.bind(1, name).bind(2, range->second).bind(3, range->first);
        while (query.step())
          page->push_back(act{query.integer(0), query.text(1), query.text(2), query.text(3),
                                   query.integer(4), query.blob(5)});
      }
    }
    exec(db_, "COMMIT");
    return page;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

insert_result store::add_act(const new_act& act) {
  return write_transaction(db_, [&] {
    // Checked one by one (rather than from constraint errors) to tell the
    // client exactly what is wrong; the write lock keeps the answers valid
    // until COMMIT.
    if (!exists(db_, "SELECT 1 FROM users WHERE name = ?", act.username))
      return insert_result::unknown_user;
    if (!exists(db_, "SELECT 1 FROM categories WHERE name = ?", act.category))
      return insert_result::unknown_category;
    if (exists(db_, "SELECT 1 FROM acts WHERE act_id = ?", act.act_id))
      return insert_result::duplicate_id;
    statement insert{db_, "INSERT INTO acts(act_id, username, category, posted_at, timestamp, caption, image) "
                          "VALUES(?, ?, ?, ?, ?, ?, ?)"};
    insert.bind(1, act.act_id).bind(2, act.username).bind(3, act.category).bind(4, act.posted_at);
    insert.bind(5, act.timestamp).bind(6, act.caption).bind_blob(7, act.image);
    insert.run();
    return insert_result::stored;
  });
}

bool store::upvote(std::int64_t act_id) {
  return write_transaction(db_, [&] {
    statement update{db_, "UPDATE acts SET upvotes = upvotes + 1 WHERE act_id = ?"};
    return update.bind(1, act_id).run() == 1;
  });
}

bool store::remove_act(std::int64_t act_id) {
  return write_transaction(db_, [&] {
    statement remove{db_, "DELETE FROM acts WHERE act_id = ?"};
    return remove.bind(1, act_id).run() == 1;
  });
}

std::int64_t store::act_count() {
  statement query{db_, "SELECT count(*) FROM acts"};
  query.step();
  return query.integer(0);
}

store_pool::store_pool(std::string path) : path_{std::move(path)} {
}

void store_pool::open_first() {
  auto connection = std::make_unique<store>(path_);
  std::lock_guard guard{mutex_};
  idle_.push_back(std::move(connection));
}

store_pool::lease store_pool::acquire() {
  {
    std::lock_guard guard{mutex_};
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return lease{*this, std::move(connection)};
    }
  }
  // Opened outside the lock: opening may wait on another process's lock.
  return lease{*this, std::make_unique<store>(path_)};
}

store_pool::lease::lease(store_pool& pool, std::unique_ptr<store> connection)
  : pool_{pool}, connection_{std::move(connection)} {
}

store_pool::lease::~lease() {
  std::lock_guard guard{pool_.mutex_};
  pool_.idle_.push_back(std::move(connection_));
}

} // namespace acts
