// Tests of the Acts store against real SQLite files, including several processes writing at once.
#include "workloads/acts/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/acts/temp_dir.hpp"

namespace {

using namespace acts;

constexpr const char* password = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

new_act make_act(std::int64_t id, std::int64_t posted_at, std::string category = "cats",
                 std::string user = "alice") {
  new_act a;
  a.act_id = id;
  a.username = std::move(user);
  a.timestamp = "01-01-2024:00-00-00";
  a.posted_at = posted_at;
  a.caption = "act " + std::to_string(id);
  a.category = std::move(category);
  a.image = std::string{"\x89PNG\0\xff", 6} + std::to_string(id);
  return a;
}

// Reads a whole category (no size policy).
std::vector<act> all_acts(store& s, const std::string& category) {
  auto page = s.read_category(category, [](std::int64_t size) {
    return std::optional{std::pair<std::int64_t, std::int64_t>{0, size}};
  });
  return page ? *page : std::vector<act>{};
}

std::string pragma(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW)
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

class acts_store : public ::testing::Test {
protected:
  void SetUp() override {
    db = std::make_unique<store>(path);
    ASSERT_TRUE(db->add_user("alice", password));
    ASSERT_TRUE(db->add_category("cats"));
  }

  acts_test::temp_dir dir;
  std::string path = dir.file("acts.db");
  std::unique_ptr<store> db;
};

TEST_F(acts_store, database_is_in_wal_mode_with_schema_version_1) {
  EXPECT_EQ(pragma(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma(path, "PRAGMA user_version"), "1");
}

TEST_F(acts_store, reopening_keeps_the_data) {
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  db.reset();
  store again{path};
  EXPECT_EQ(again.act_count(), 1);
  EXPECT_EQ(again.users(), std::vector<std::string>{"alice"});
}

TEST_F(acts_store, refuses_a_database_from_a_newer_schema) {
  db.reset();
  pragma(path, "PRAGMA user_version=2");
  EXPECT_THROW(store{path}, store_failure);
}

TEST(acts_store_open, unopenable_path_is_a_store_failure) {
  EXPECT_THROW(store{"/nonexistent-directory/acts.db"}, store_failure);
}

TEST_F(acts_store, users_are_added_once_listed_and_removed) {
  EXPECT_FALSE(db->add_user("alice", password));
  EXPECT_TRUE(db->add_user("bob", password));
  EXPECT_EQ(db->users(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(db->remove_user("bob"));
  EXPECT_FALSE(db->remove_user("bob"));
  EXPECT_EQ(db->users(), std::vector<std::string>{"alice"});
}

TEST_F(acts_store, categories_are_listed_with_their_act_counts) {
  ASSERT_TRUE(db->add_category("dogs"));
  EXPECT_FALSE(db->add_category("dogs"));
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(2, 100)), insert_result::stored);
  auto categories = db->categories();
  ASSERT_EQ(categories.size(), 2u);
  EXPECT_EQ(categories[0], (std::pair<std::string, std::int64_t>{"cats", 2}));
  EXPECT_EQ(categories[1], (std::pair<std::string, std::int64_t>{"dogs", 0}));
  EXPECT_EQ(db->category_size("cats"), 2);
  EXPECT_EQ(db->category_size("birds"), std::nullopt);
}

TEST_F(acts_store, removing_a_category_removes_its_acts) {
  ASSERT_TRUE(db->add_category("dogs"));
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(2, 100, "dogs")), insert_result::stored);
  EXPECT_TRUE(db->remove_category("cats"));
  EXPECT_FALSE(db->remove_category("cats"));
  EXPECT_EQ(db->act_count(), 1);
  EXPECT_FALSE(db->remove_act(1));
}

TEST_F(acts_store, removing_a_user_removes_their_acts) {
  ASSERT_TRUE(db->add_user("bob", password));
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(2, 100, "cats", "bob")), insert_result::stored);
  EXPECT_TRUE(db->remove_user("bob"));
  EXPECT_EQ(db->act_count(), 1);
  EXPECT_EQ(all_acts(*db, "cats").at(0).act_id, 1);
}

TEST_F(acts_store, add_act_reports_why_it_was_not_stored) {
  EXPECT_EQ(db->add_act(make_act(1, 100, "cats", "nobody")), insert_result::unknown_user);
  EXPECT_EQ(db->add_act(make_act(1, 100, "birds")), insert_result::unknown_category);
  EXPECT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  EXPECT_EQ(db->add_act(make_act(1, 200)), insert_result::duplicate_id);
  EXPECT_EQ(db->act_count(), 1);
}

TEST_F(acts_store, images_are_stored_byte_for_byte) {
  auto a = make_act(7, 100);
  a.image = std::string{"\0\x01\x02\xff\0", 5};
  ASSERT_EQ(db->add_act(a), insert_result::stored);
  auto listed = all_acts(*db, "cats");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].image, a.image);
  EXPECT_EQ(listed[0].caption, "act 7");
  EXPECT_EQ(listed[0].username, "alice");
  EXPECT_EQ(listed[0].timestamp, "01-01-2024:00-00-00");
  EXPECT_EQ(listed[0].upvotes, 0);
}

TEST_F(acts_store, acts_list_newest_first_and_ties_most_recently_stored_first) {
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(2, 300)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(3, 200)), insert_result::stored);
  ASSERT_EQ(db->add_act(make_act(4, 200)), insert_result::stored);
  std::vector<std::int64_t> ids;
  for (const auto& a : all_acts(*db, "cats"))
    ids.push_back(a.act_id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{2, 4, 3, 1}));
}

TEST_F(acts_store, read_category_returns_the_chosen_page_and_the_size) {
  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(db->add_act(make_act(i, i)), insert_result::stored);
  // The size reaches the caller through the chooser, exactly once, and is
  // the one the page was cut from.
  std::vector<std::int64_t> seen_sizes;
  auto page = db->read_category("cats", [&](std::int64_t size) {
    seen_sizes.push_back(size);
    return std::optional{std::pair<std::int64_t, std::int64_t>{1, 2}};
  });
  ASSERT_TRUE(page);
  EXPECT_EQ(seen_sizes, std::vector<std::int64_t>{5});
  EXPECT_EQ(db->category_size("cats"), 5);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].act_id, 4);
  EXPECT_EQ((*page)[1].act_id, 3);
  auto none = db->read_category("cats", [](std::int64_t) { return std::nullopt; });
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(db->read_category("birds", [](std::int64_t) { return std::nullopt; }));
}

TEST_F(acts_store, upvotes_count_up_and_unknown_acts_are_reported) {
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  EXPECT_TRUE(db->upvote(1));
  EXPECT_TRUE(db->upvote(1));
  EXPECT_FALSE(db->upvote(2));
  EXPECT_EQ(all_acts(*db, "cats").at(0).upvotes, 2);
}

TEST_F(acts_store, removing_an_act_frees_its_id) {
  ASSERT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
  EXPECT_TRUE(db->remove_act(1));
  EXPECT_FALSE(db->remove_act(1));
  EXPECT_EQ(db->act_count(), 0);
  EXPECT_EQ(db->add_act(make_act(1, 100)), insert_result::stored);
}

TEST_F(acts_store, pool_hands_out_distinct_connections_and_reuses_them) {
  store_pool pool{path};
  pool.open_first();
  std::set<store*> opened;
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_NE(&*a, &*b);
    opened = {&*a, &*b};
    EXPECT_EQ(a->act_count(), 0);
    EXPECT_EQ(b->users(), std::vector<std::string>{"alice"});
  }
  auto c = pool.acquire();
  auto d = pool.acquire();
  EXPECT_EQ((std::set<store*>{&*c, &*d}), opened);
}

// Several containers write to one database on the shared volume: every
// acknowledged insert must be there exactly once, whichever process made it.
// The children also race to create the schema, user and category.
TEST(acts_store_processes, concurrent_writers_in_three_processes_lose_and_duplicate_nothing) {
  acts_test::temp_dir dir;
  auto path = dir.file("shared.db");
  constexpr int writers = 3;
  constexpr int acts_per_writer = 200;
  std::vector<pid_t> children;
  for (int w = 0; w < writers; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: no gtest here, only an exit status.
      int status = 0;
      try {
        store s{path};
        s.add_user("alice", password);
        s.add_category("cats");
        for (int i = 0; i < acts_per_writer; ++i)
          if (s.add_act(make_act(w * 1000 + i, i)) != insert_result::stored)
            status = 2;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (auto pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  store s{path};
  EXPECT_EQ(s.act_count(), writers * acts_per_writer);
  EXPECT_EQ(s.category_size("cats"), writers * acts_per_writer);
  auto acts = all_acts(s, "cats");
  std::set<std::int64_t> ids;
  for (const auto& a : acts) {
    EXPECT_TRUE(ids.insert(a.act_id).second) << "duplicate act " << a.act_id;
    EXPECT_EQ(a.caption, "act " + std::to_string(a.act_id));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(writers * acts_per_writer));
  for (int w = 0; w < writers; ++w)
    for (int i = 0; i < acts_per_writer; ++i)
      EXPECT_EQ(ids.count(w * 1000 + i), 1u) << "missing act " << w * 1000 + i;
}

} // namespace
