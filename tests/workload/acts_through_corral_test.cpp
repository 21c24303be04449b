// The Acts API through corral: every endpoint and every status code of
// workloads/acts/README.md, sent through the proxy to a pool of three
// containers that share one database, and writes read back from each
// container directly.
#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

using namespace corral::test;
namespace json = boost::json;

namespace {

/// The "error" text of an Acts error answer ("" when there is none).
std::string error_of(const http_response& answer) {
  auto value = parse_json(answer.body);
  if (value.is_object())
    if (auto* text = value.as_object().if_contains("error"); text && text->is_string())
      return std::string{text->as_string()};
  return {};
}

/// Sends `bytes` on a fresh connection to 127.0.0.1:`port` and returns what
/// comes back until the peer closes (or 5 s pass).
std::string raw_exchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
      && ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
      answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

} // namespace

/// One corral with three containers for every test of the suite (ctest runs
/// each test in a process of its own, so each still gets a fresh pool; run
/// directly, the binary shares one). Names are unique per test, and tests
/// that need an empty service empty it first.
class acts_through_corral : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!docker_available())
      return; // SetUp skips or fails each test
    pool_ = std::make_unique<acts_pool>("wl-api", 22000);
    problem_ = pool_->start();
  }

  static void TearDownTestSuite() {
    if (pool_)
      pool_->stop();
    pool_.reset(); // removes the containers and the volume
  }

  void SetUp() override {
    CORRAL_NEED_DOCKER();
    ASSERT_TRUE(pool_ && problem_.empty()) << problem_;
  }

  acts_pool& pool() {
    return *pool_;
  }

  /// One request through the proxy.
  http_response proxy(const std::string& method, const std::string& path,
                      const std::string& body = {}) {
    return pool_->proxy(method, path, body);
  }

  /// Deletes every category (and so every act) and every user.
  void empty_the_service() {
    auto categories = parse_json(proxy("GET", "/api/v1/categories").body);
    if (categories.is_object()) {
      for (auto& [name, count] : categories.as_object())
        ASSERT_EQ(proxy("DELETE", "/api/v1/categories/" + encode_segment(name)).status, 200);
    }
    auto users = parse_json(proxy("GET", "/api/v1/users").body);
    if (users.is_array()) {
      for (auto& name : users.as_array())
        ASSERT_EQ(proxy("DELETE", "/api/v1/users/" + encode_segment(name.as_string())).status,
                  200);
    }
  }

  /// Creates a user and a category with fresh names; returns {user, category}.
  std::pair<std::string, std::string> user_and_category(const std::string& tag) {
    auto user = unique_name(tag + "-user");
    auto category = unique_name(tag + "-cat");
    EXPECT_EQ(proxy("POST", "/api/v1/users", user_body(user)).status, 201);
    EXPECT_EQ(proxy("POST", "/api/v1/categories", category_body(category)).status, 201);
    return {user, category};
  }

  static inline std::unique_ptr<acts_pool> pool_;
  static inline std::string problem_;
};

TEST_F(acts_through_corral, page_health_unknown_paths_and_wrong_methods) {
  auto page = proxy("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>Acts</title>"), std::string::npos);

  auto health = proxy("GET", "/api/v1/_health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(parse_json(health.body), json::parse(R"({"status":"ok"})"));

  auto missing = proxy("GET", "/api/v1/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_FALSE(error_of(missing).empty()) << missing.body;

  auto wrong = proxy("PUT", "/api/v1/users", "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "GET, POST");
  // A literal path wins over the {actId} pattern: 405, not "bad actId".
  auto count_delete = proxy("DELETE", "/api/v1/acts/count");
  EXPECT_EQ(count_delete.status, 405);
  EXPECT_EQ(count_delete.headers["allow"], "GET");

  EXPECT_EQ(proxy("GET", "/api/v1/categories/bad%zz/acts").status, 400);
}

TEST_F(acts_through_corral, users_are_created_listed_refused_and_deleted) {
  empty_the_service();
  EXPECT_EQ(proxy("GET", "/api/v1/users").status, 204);

  auto name = unique_name("wl user"); // a space: exercises percent-decoding
  EXPECT_EQ(proxy("POST", "/api/v1/users", user_body(name)).status, 201);
  auto listed = proxy("GET", "/api/v1/users");
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(parse_json(listed.body), json::array{json::string{name}});

  auto taken = proxy("POST", "/api/v1/users", user_body(name));
  EXPECT_EQ(taken.status, 400);
  EXPECT_NE(error_of(taken).find("already exists"), std::string::npos) << taken.body;
  EXPECT_EQ(proxy("POST", "/api/v1/users", R"({"username":"x","password":"not-a-digest"})").status,
            400);
  EXPECT_EQ(proxy("POST", "/api/v1/users",
                  R"({"username":"x","password":"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8","admin":true})")
              .status,
            400);

  // Deleting a user deletes their acts.
  auto category = unique_name("wl-cat");
  ASSERT_EQ(proxy("POST", "/api/v1/categories", category_body(category)).status, 201);
  ASSERT_EQ(proxy("POST", "/api/v1/acts", act_body(1, name, category, "mine", base64("img"))).status,
            201);
  auto size_path = "/api/v1/categories/" + category + "/acts/size";
  EXPECT_EQ(json_count(proxy("GET", size_path).body), 1);
  EXPECT_EQ(proxy("DELETE", "/api/v1/users/" + encode_segment(name)).status, 200);
  EXPECT_EQ(json_count(proxy("GET", size_path).body), 0);
  EXPECT_EQ(proxy("DELETE", "/api/v1/users/" + encode_segment(name)).status, 400);
  EXPECT_EQ(proxy("GET", "/api/v1/users").status, 204);
}

TEST_F(acts_through_corral, categories_are_created_listed_refused_and_deleted) {
  empty_the_service();
  EXPECT_EQ(proxy("GET", "/api/v1/categories").status, 204);

  auto [user, category] = user_and_category("wl-cats");
  auto listed = proxy("GET", "/api/v1/categories");
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(parse_json(listed.body), (json::object{{category, 0}}));
  EXPECT_EQ(proxy("POST", "/api/v1/categories", category_body(category)).status, 400);
  EXPECT_EQ(proxy("POST", "/api/v1/categories", R"({"name":"dogs"})").status, 400);

  auto acts = "/api/v1/categories/" + category + "/acts";
  EXPECT_EQ(proxy("GET", acts).status, 204);
  EXPECT_EQ(json_count(proxy("GET", acts + "/size").body), 0);
  EXPECT_EQ(proxy("GET", "/api/v1/categories/no-such-category/acts").status, 400);
  EXPECT_EQ(proxy("GET", "/api/v1/categories/no-such-category/acts/size").status, 400);

  // Deleting a category deletes its acts.
  ASSERT_EQ(proxy("POST", "/api/v1/acts", act_body(2, user, category, "c", base64("img"))).status,
            201);
  EXPECT_EQ(parse_json(proxy("GET", "/api/v1/categories").body), (json::object{{category, 1}}));
  EXPECT_EQ(json_count(proxy("GET", "/api/v1/acts/count").body), 1);
  EXPECT_EQ(proxy("DELETE", "/api/v1/categories/" + category).status, 200);
  EXPECT_EQ(json_count(proxy("GET", "/api/v1/acts/count").body), 0);
  EXPECT_EQ(proxy("DELETE", "/api/v1/categories/" + category).status, 400);
  EXPECT_EQ(proxy("GET", "/api/v1/categories").status, 204);
}

TEST_F(acts_through_corral, acts_are_posted_listed_upvoted_refused_and_deleted) {
  auto [user, category] = user_and_category("wl-acts");
  auto acts = "/api/v1/categories/" + category + "/acts";
  auto before = json_count(proxy("GET", "/api/v1/acts/count").body);
  auto image = base64(random_bytes(3000, 7));

  EXPECT_EQ(proxy("POST", "/api/v1/acts", act_body(10, user, category, "older", image,
                                                   act_timestamp(1)))
              .status,
            201);
  EXPECT_EQ(proxy("POST", "/api/v1/acts", act_body(11, user, category, "newer", image,
                                                   act_timestamp(2)))
              .status,
            201);
  auto duplicate = proxy("POST", "/api/v1/acts", act_body(10, user, category, "again", image));
  EXPECT_EQ(duplicate.status, 400);
  EXPECT_NE(error_of(duplicate).find("already used"), std::string::npos) << duplicate.body;
  EXPECT_EQ(proxy("POST", "/api/v1/acts", act_body(12, "nobody", category, "x", image)).status,
            400);
  EXPECT_EQ(proxy("POST", "/api/v1/acts", act_body(12, user, "nowhere", "x", image)).status, 400);
  auto with_upvotes = act_body(12, user, category, "x", image);
  with_upvotes.insert(1, R"("upvotes":5,)");
  EXPECT_EQ(proxy("POST", "/api/v1/acts", with_upvotes).status, 400);
  EXPECT_EQ(json_count(proxy("GET", "/api/v1/acts/count").body), before + 2);

  // Listed newest first, with upvotes and without categoryName.
  auto listed = proxy("GET", acts);
  ASSERT_EQ(listed.status, 200);
  auto expected = json::array{
    json::object{{"actId", 11}, {"username", user}, {"timestamp", act_timestamp(2)},
                 {"caption", "newer"}, {"upvotes", 0}, {"imgB64", image}},
    json::object{{"actId", 10}, {"username", user}, {"timestamp", act_timestamp(1)},
                 {"caption", "older"}, {"upvotes", 0}, {"imgB64", image}}};
  EXPECT_EQ(parse_json(listed.body), expected);

  EXPECT_EQ(proxy("POST", "/api/v1/acts/upvote", "[10]").status, 200);
  EXPECT_EQ(proxy("POST", "/api/v1/acts/upvote", "[10]").status, 200);
  EXPECT_EQ(proxy("POST", "/api/v1/acts/upvote", "[999999]").status, 400);
  EXPECT_EQ(proxy("POST", "/api/v1/acts/upvote", R"(["10"])").status, 400);
  auto upvoted = parse_json(proxy("GET", acts).body);
  ASSERT_TRUE(upvoted.is_array()) << upvoted;
  EXPECT_EQ(upvoted.as_array().at(1).at("upvotes"), 2);

  EXPECT_EQ(proxy("DELETE", "/api/v1/acts/11").status, 200);
  EXPECT_EQ(proxy("DELETE", "/api/v1/acts/11").status, 400);
  EXPECT_EQ(proxy("DELETE", "/api/v1/acts/eleven").status, 400);
  EXPECT_EQ(json_count(proxy("GET", acts + "/size").body), 1);
}

TEST_F(acts_through_corral, listings_take_ranges_of_at_most_100) {
  auto [user, category] = user_and_category("wl-range");
  auto acts = "/api/v1/categories/" + category + "/acts";
  // 101 acts, act i posted at second i: the newest is 101.
  for (int i = 1; i <= 101; ++i)
    ASSERT_EQ(proxy("POST", "/api/v1/acts",
                    act_body(1000 + i, user, category, std::to_string(i), base64("x"),
                             act_timestamp(1 + i / 60, i % 60)))
                .status,
              201)
      << i;
  EXPECT_EQ(json_count(proxy("GET", acts + "/size").body), 101);

  auto whole = proxy("GET", acts);
  EXPECT_EQ(whole.status, 413) << whole.body;
  EXPECT_EQ(proxy("GET", acts + "?start=1&end=101").status, 413);

  auto hundred = parse_json(proxy("GET", acts + "?start=1&end=100").body);
  ASSERT_TRUE(hundred.is_array());
  EXPECT_EQ(hundred.as_array().size(), 100u);
  EXPECT_EQ(hundred.as_array().front().at("actId"), 1101);
  auto middle = proxy("GET", acts + "?start=2&end=3");
  ASSERT_EQ(middle.status, 200);
  auto two = parse_json(middle.body);
  ASSERT_EQ(two.as_array().size(), 2u);
  EXPECT_EQ(two.as_array()[0].at("actId"), 1100);
  EXPECT_EQ(two.as_array()[1].at("actId"), 1099);
  EXPECT_EQ(proxy("GET", acts + "?start=101&end=101").status, 200);

  for (auto bad : {"?start=0&end=3", "?start=3", "?end=3", "?start=5&end=4", "?start=1&end=102",
                   "?start=a&end=3", "?start=-1&end=3"})
    EXPECT_EQ(proxy("GET", acts + bad).status, 400) << bad;
}

TEST_F(acts_through_corral, request_counts_are_per_container_and_round_robin_is_even) {
  auto ports = pool().container_ports();
  for (auto port : ports)
    ASSERT_EQ(pool().direct(port, "DELETE", "/api/v1/_count").status, 200);
  for (int i = 0; i < 30; ++i)
    ASSERT_EQ(proxy("GET", "/api/v1/acts/count").status, 200);
  // Probes and the counter itself are not counted.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(proxy("GET", "/api/v1/_health").status, 200);
    ASSERT_EQ(proxy("GET", "/api/v1/_count").status, 200);
  }
  for (auto port : ports) {
    auto count = pool().direct(port, "GET", "/api/v1/_count");
    EXPECT_EQ(count.status, 200);
    EXPECT_EQ(json_count(count.body), 10) << port << ": " << count.body;
  }
  EXPECT_EQ(proxy("DELETE", "/api/v1/_count").status, 200);
}

TEST_F(acts_through_corral, a_write_through_one_container_is_read_through_each_other) {
  auto [user, category] = user_and_category("wl-share");
  auto ports = pool().container_ports();
  // For each write, the container whose request count went up served it;
  // round robin sends three consecutive writes to three different ones.
  std::set<uint16_t> writers;
  for (int i = 0; i < 3; ++i) {
    for (auto port : ports)
      ASSERT_EQ(pool().direct(port, "DELETE", "/api/v1/_count").status, 200);
    auto image = base64(random_bytes(200'000 + i, 100 + i));
    int64_t id = 5000 + i;
    ASSERT_EQ(proxy("POST", "/api/v1/acts",
                    act_body(id, user, category, "shared " + std::to_string(i), image))
                .status,
              201);
    uint16_t writer = 0;
    for (auto port : ports)
      if (json_count(pool().direct(port, "GET", "/api/v1/_count").body) == 1)
        writer = port;
    ASSERT_NE(writer, 0) << "no container counted the write";
    writers.insert(writer);
    // Every container, the writer and the two others, lists the same act
    // with the same bytes, at once (the 201 came after the commit).
    for (auto port : ports) {
      auto listed = pool().direct(port, "GET",
                                  "/api/v1/categories/" + category + "/acts?start=1&end=1");
      ASSERT_EQ(listed.status, 200) << port;
      auto acts = parse_json(listed.body);
      ASSERT_TRUE(acts.is_array() && acts.as_array().size() == 1) << listed.body;
      auto& act = acts.as_array()[0];
      EXPECT_EQ(act.at("actId"), id) << "written via " << writer << ", read via " << port;
      EXPECT_TRUE(act.at("imgB64").as_string() == image)
        << "other image bytes: written via " << writer << ", read via " << port;
    }
  }
  EXPECT_EQ(writers.size(), 3u);
  // And the listing is the same byte for byte wherever it is read.
  auto through_proxy = proxy("GET", "/api/v1/categories/" + category + "/acts").body;
  for (auto port : ports)
    EXPECT_EQ(pool().direct(port, "GET", "/api/v1/categories/" + category + "/acts").body,
              through_proxy)
      << port;
}

TEST_F(acts_through_corral, oversized_headers_get_431_and_bytes_that_are_not_http_get_400) {
  // Through corral, both are refused by the proxy before any container sees
  // them (its limits match the service's: 8 KiB of headers).
  auto big = pool().proxy("GET", "/api/v1/users", {},
                          {"X-Padding: " + std::string(10'000, 'a')});
  EXPECT_EQ(big.status, 431) << big.error;
  // A container answers 431 too (in JSON); this text is corral's own.
  EXPECT_EQ(big.body, "request header too large\n");
  auto answer = raw_exchange(pool().ports().proxy, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                                                   "\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  // The pool is untouched and still serves.
  EXPECT_EQ(proxy("GET", "/api/v1/_health").status, 200);
  EXPECT_EQ(pool().corral().ready_ports(), pool().container_ports());
}
