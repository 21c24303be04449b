// The Acts database: users, categories and acts in one SQLite file shared by many processes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace acts {

/// An act as submitted: everything but the upvotes, which start at zero.
struct new_act {
  std::int64_t act_id = 0;
  std::string username;
  std::string timestamp;        ///< as submitted, "DD-MM-YYYY:SS-MM-HH"
  std::int64_t posted_at = 0;   ///< the timestamp in seconds since the epoch, for ordering
  std::string caption;
  std::string category;
  std::string image;            ///< decoded image bytes
};

/// An act as listed in a category.
struct act {
  std::int64_t act_id = 0;
  std::string username;
  std::string timestamp;
  std::string caption;
  std::int64_t upvotes = 0;
  std::string image;            ///< decoded image bytes
};

/// Why an act was not stored.
enum class insert_result { stored, duplicate_id, unknown_user, unknown_category };

/// A failure of the database itself (I/O, corruption, a full disk), as
/// opposed to a request the data does not allow. The API answers 500.
class store_failure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Another process held the write lock for longer than the busy timeout.
/// Nothing was written; the API answers 503 so that clients retry.
class store_busy : public store_failure {
public:
  using store_failure::store_failure;
};

/// One connection to the Acts database. Not thread-safe: use one per thread
/// (store_pool hands them out). Every write runs in its own BEGIN IMMEDIATE
/// transaction and has been committed (and, with synchronous=FULL in WAL
/// mode, fsynced) when the method returns.
class store {
public:
  /// Opens (creating if needed) the database at `path`, switches it to WAL,
  /// and creates the schema if this is the first process to get there.
  /// Throws store_failure when the file cannot be opened or set up.
  explicit store(const std::string& path);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Adds a user; false when the name is taken.
  bool add_user(const std::string& name, const std::string& password_sha1);
  /// Removes a user and, through the foreign key, all of their acts; false when unknown.
  bool remove_user(const std::string& name);
  /// All user names in byte order.
  std::vector<std::string> users();

  /// Adds a category; false when it exists.
  bool add_category(const std::string& name);
  /// Removes a category and all of its acts; false when unknown.
  bool remove_category(const std::string& name);
  /// Every category with its number of acts, in byte order of the names.
  std::vector<std::pair<std::string, std::int64_t>> categories();
  /// The number of acts in a category, or nothing when it does not exist.
  std::optional<std::int64_t> category_size(const std::string& name);
  /// Which part of a category to read, decided from its size: {offset,
  /// limit}, or nothing to read no acts at all.
  using page_chooser = std::function<std::optional<std::pair<std::int64_t, std::int64_t>>(std::int64_t size)>;
  /// Reads a category's size, hands it to `choose`, and returns the page it
  /// chose: up to `limit` acts after skipping `offset`, newest first (by
  /// timestamp, then the most recently stored first). Size and page come
  /// from one snapshot, so the page always matches the size it was chosen
  /// from; the caller keeps that size from `choose` if it needs it. Nothing
  /// when the category does not exist.
  std::optional<std::vector<act>> read_category(const std::string& name, const page_chooser& choose);

  /// Stores an act, unless its id is taken or its user or category is unknown.
  insert_result add_act(const new_act& act);
  /// Adds one upvote; false when the act is unknown.
  bool upvote(std::int64_t act_id);
  /// Removes an act; false when unknown.
  bool remove_act(std::int64_t act_id);
  /// The number of acts in all categories.
  std::int64_t act_count();

private:
  sqlite3* db_ = nullptr;
};

/// Connections for the server's threads: hands out an idle connection or
/// opens a new one, and takes it back when the lease ends. Safe to use from
/// any thread.
class store_pool {
public:
  /// Remembers the path; the first connection is opened by open_first().
  explicit store_pool(std::string path);

  /// Opens one connection now, so that a bad path or a broken database stops
  /// the service at start instead of failing every request. Throws store_failure.
  void open_first();

  /// A connection for the duration of one request.
  class lease {
  public:
    lease(store_pool& pool, std::unique_ptr<store> connection);
    ~lease();
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    store* operator->() const { return connection_.get(); }
    store& operator*() const { return *connection_; }

  private:
    store_pool& pool_;
    std::unique_ptr<store> connection_;
  };

  /// Leases a connection; throws store_failure when a new one cannot be opened.
  lease acquire();

private:
  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<store>> idle_;
};

} // namespace acts
