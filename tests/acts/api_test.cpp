// Tests of every Acts endpoint and status code through the API function, without sockets.
#include "workloads/acts/api.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>

#include "tests/acts/temp_dir.hpp"
#include "workloads/acts/validate.hpp"

namespace json = boost::json;

namespace {

using namespace acts;

constexpr const char* password = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

class acts_api : public ::testing::Test {
protected:
  void SetUp() override { stores.open_first(); }

  api_response call(std::string_view method, std::string_view target, std::string_view body = {}) {
    return service.handle(api_request{method, target, body});
  }

  // A user "alice" and a category "cats", which most act tests need.
  void add_alice_and_cats() {
    ASSERT_EQ(call("POST", "/api/v1/users", R"({"username":"alice","password":")" + std::string{password} + "\"}").status,
              201u);
    ASSERT_EQ(call("POST", "/api/v1/categories", R"(["cats"])").status, 201u);
  }

  // The body of a valid act; `edit` may change it before it is serialized.
  static std::string act_body(std::int64_t id, const std::function<void(json::object&)>& edit = {}) {
    json::object act{{"actId", id},
                     {"username", "alice"},
                     {"timestamp", "01-02-2024:05-06-07"},
                     {"caption", "act " + std::to_string(id)},
                     {"categoryName", "cats"},
                     {"imgB64", encode_base64("image " + std::to_string(id))}};
    if (edit)
      edit(act);
    return json::serialize(act);
  }

  api_response post_act(std::int64_t id, const std::function<void(json::object&)>& edit = {}) {
    return call("POST", "/api/v1/acts", act_body(id, edit));
  }

  // actIds of a listing, in order.
  std::vector<std::int64_t> ids_of(const api_response& response) {
    std::vector<std::int64_t> ids;
    auto listing = json::parse(response.body);
    for (const auto& item : listing.as_array())
      ids.push_back(item.at("actId").as_int64());
    return ids;
  }

  acts_test::temp_dir dir;
  std::string path = dir.file("acts.db");
  store_pool stores{path};
  api service{stores};
};

// -- health, crash and count ---------------------------------------------------

TEST_F(acts_api, health_is_200_ok) {
  auto r = call("GET", "/api/v1/_health");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(acts_api, after_crash_every_endpoint_is_500) {
  EXPECT_EQ(call("POST", "/api/v1/_crash").status, 200u);
  EXPECT_TRUE(service.crashed());
  for (auto [method, target] : std::vector<std::pair<std::string_view, std::string_view>>{
         {"GET", "/api/v1/_health"}, {"GET", "/api/v1/_count"}, {"DELETE", "/api/v1/_count"},
         {"POST", "/api/v1/_crash"}, {"GET", "/api/v1/categories"}, {"GET", "/api/v1/users"},
         {"GET", "/api/v1/acts/count"}, {"GET", "/"}, {"GET", "/no/such/path"}}) {
    auto r = call(method, target);
    EXPECT_EQ(r.status, 500u) << method << " " << target;
    EXPECT_NE(r.body.find("error"), std::string::npos);
  }
}

TEST_F(acts_api, count_counts_every_request_but_health_and_count) {
  call("GET", "/api/v1/_health");
  call("GET", "/api/v1/categories");
  call("GET", "/no/such/path");
  call("PUT", "/api/v1/users");
  call("GET", "/api/v1/_count");
  call("GET", "/api/v1/_count?x=1");
  call("POST", "/api/v1/_count");
  call("GET", "/api/v1/_health?verbose");
  auto r = call("GET", "/api/v1/_count");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "[3]");
  EXPECT_EQ(service.served(), 3u);
}

TEST_F(acts_api, crash_itself_is_counted) {
  call("POST", "/api/v1/_crash");
  EXPECT_EQ(service.served(), 1u);
}

TEST_F(acts_api, delete_count_resets_it_to_zero) {
  call("GET", "/api/v1/users");
  call("GET", "/api/v1/users");
  EXPECT_EQ(call("DELETE", "/api/v1/_count").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/_count").body, "[0]");
  call("GET", "/api/v1/users");
  EXPECT_EQ(call("GET", "/api/v1/_count").body, "[1]");
}

// -- routing ---------------------------------------------------------------------

TEST_F(acts_api, unknown_path_is_404) {
  EXPECT_EQ(call("GET", "/api/v1/nothing").status, 404u);
  EXPECT_EQ(call("GET", "/api/v2/users").status, 404u);
  EXPECT_EQ(call("GET", "/api/v1/users/").status, 404u);
  EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts/size/more").status, 404u);
  EXPECT_EQ(call("GET", "").status, 404u);
}

TEST_F(acts_api, known_path_with_wrong_method_is_405_with_allow) {
  auto r = call("PUT", "/api/v1/categories");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.allow, "GET, POST");
  EXPECT_EQ(call("GET", "/api/v1/_crash").allow, "POST");
  EXPECT_EQ(call("POST", "/api/v1/_count").allow, "GET, DELETE");
  EXPECT_EQ(call("GET", "/api/v1/categories/cats").allow, "DELETE");
  EXPECT_EQ(call("POST", "/").allow, "GET");
}

TEST_F(acts_api, literal_act_paths_win_over_act_ids) {
  auto count = call("DELETE", "/api/v1/acts/count");
  EXPECT_EQ(count.status, 405u);
  EXPECT_EQ(count.allow, "GET");
  auto upvote = call("GET", "/api/v1/acts/upvote");
  EXPECT_EQ(upvote.status, 405u);
  EXPECT_EQ(upvote.allow, "POST");
  EXPECT_EQ(call("GET", "/api/v1/acts/5").allow, "DELETE");
}

TEST_F(acts_api, root_serves_the_web_page) {
  auto r = call("GET", "/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<html"), std::string::npos);
  for (const char* id : {"id=\"username\"", "id=\"password\"", "id=\"create-user\"", "id=\"category-name\"",
                         "id=\"create-category\"", "id=\"category-select\"", "id=\"file\"", "id=\"caption\"",
                         "id=\"upload\"", "\"thumb\"", "\"upvote\""})
    EXPECT_NE(r.body.find(id), std::string::npos) << id;
}

TEST_F(acts_api, malformed_percent_encoding_in_a_name_is_400) {
  EXPECT_EQ(call("DELETE", "/api/v1/categories/%zz").status, 400u);
  EXPECT_EQ(call("DELETE", "/api/v1/categories/a%2").status, 400u);
}

// Found by fuzz/acts_fuzzer: the name was echoed into the error as it was, so
// the answer was not valid JSON (JSON text is UTF-8).
TEST_F(acts_api, a_name_in_the_path_that_is_not_utf8_is_400_with_a_json_answer) {
  for (auto target : {"/api/v1/users/alice%C9", "/api/v1/categories/%FF", "/api/v1/categories/%C0%AF/acts"}) {
    auto r = call(target == std::string_view{"/api/v1/categories/%C0%AF/acts"} ? "GET" : "DELETE", target);
    EXPECT_EQ(r.status, 400u) << target;
    json::error_code ec;
    auto body = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << target << ": " << r.body;
    EXPECT_EQ(body.at("error").as_string(), "a name in the path must be UTF-8 text") << target;
  }
  // Percent-encoded UTF-8 is a name like any other.
  EXPECT_EQ(call("DELETE", "/api/v1/users/k%C3%A4tzchen").status, 400u);
  EXPECT_NE(call("DELETE", "/api/v1/users/k%C3%A4tzchen").body.find("no user"), std::string::npos);
}

// -- users -------------------------------------------------------------------------

TEST_F(acts_api, users_list_is_204_when_empty) {
  auto r = call("GET", "/api/v1/users");
  EXPECT_EQ(r.status, 204u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.content_type.empty());
}

TEST_F(acts_api, post_user_is_201_and_listed) {
  EXPECT_EQ(call("POST", "/api/v1/users", R"({"username":"bob","password":")" + std::string{password} + "\"}").status,
            201u);
  EXPECT_EQ(call("POST", "/api/v1/users", R"({"username":"al ice","password":")" + std::string{password} + "\"}").status,
            201u);
  auto r = call("GET", "/api/v1/users");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"(["al ice","bob"])");
}

TEST_F(acts_api, post_user_taken_is_400) {
  auto body = R"({"username":"bob","password":")" + std::string{password} + "\"}";
  EXPECT_EQ(call("POST", "/api/v1/users", body).status, 201u);
  auto r = call("POST", "/api/v1/users", body);
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("already exists"), std::string::npos);
}

TEST_F(acts_api, post_user_malformed_is_400) {
  std::string good_password = password;
  for (const std::string& body : std::vector<std::string>{"", "not json", "[]",
                           R"({"username":"bob"})", R"({"password":")" + good_password + "\"}",
                           R"({"username":"bob","password":"abc"})",
                           R"({"username":"bob","password":")" + good_password + "0\"}",
                           R"({"username":"bob","password":")" + std::string(40, 'g') + "\"}",
                           R"({"username":7,"password":")" + good_password + "\"}",
                           R"({"username":"","password":")" + good_password + "\"}",
                           R"({"username":"bob","password":")" + good_password + R"(","admin":true})"})
    EXPECT_EQ(call("POST", "/api/v1/users", body).status, 400u) << body;
  EXPECT_EQ(call("GET", "/api/v1/users").status, 204u);
}

TEST_F(acts_api, delete_user_is_200_then_400) {
  add_alice_and_cats();
  EXPECT_EQ(call("DELETE", "/api/v1/users/alice").status, 200u);
  EXPECT_EQ(call("DELETE", "/api/v1/users/alice").status, 400u);
  EXPECT_EQ(call("DELETE", "/api/v1/users/nobody").status, 400u);
}

TEST_F(acts_api, delete_user_deletes_their_acts) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(1).status, 201u);
  EXPECT_EQ(call("DELETE", "/api/v1/users/alice").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/acts/count").body, "[0]");
}

// -- categories --------------------------------------------------------------------

TEST_F(acts_api, categories_list_is_204_when_empty) {
  EXPECT_EQ(call("GET", "/api/v1/categories").status, 204u);
}

TEST_F(acts_api, categories_list_maps_names_to_act_counts) {
  add_alice_and_cats();
  ASSERT_EQ(call("POST", "/api/v1/categories", R"(["dogs & more"])").status, 201u);
  ASSERT_EQ(post_act(1).status, 201u);
  ASSERT_EQ(post_act(2).status, 201u);
  auto r = call("GET", "/api/v1/categories");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"cats":2,"dogs & more":0})"));
}

TEST_F(acts_api, post_category_is_201_and_existing_is_400) {
  EXPECT_EQ(call("POST", "/api/v1/categories", R"(["cats"])").status, 201u);
  auto r = call("POST", "/api/v1/categories", R"(["cats"])");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("already exists"), std::string::npos);
}

TEST_F(acts_api, post_category_malformed_is_400) {
  for (std::string_view body : {"", "cats", R"("cats")", "[]", R"(["a","b"])", "[7]", R"([""])", R"({"name":"cats"})",
                                R"(["cats")"})
    EXPECT_EQ(call("POST", "/api/v1/categories", body).status, 400u) << body;
  EXPECT_EQ(call("GET", "/api/v1/categories").status, 204u);
}

TEST_F(acts_api, delete_category_is_200_then_400_and_takes_its_acts) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(1).status, 201u);
  EXPECT_EQ(call("DELETE", "/api/v1/categories/cats").status, 200u);
  EXPECT_EQ(call("DELETE", "/api/v1/categories/cats").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/acts/count").body, "[0]");
}

TEST_F(acts_api, category_names_in_paths_are_percent_decoded) {
  ASSERT_EQ(call("POST", "/api/v1/categories", R"(["cats & dogs/2024"])").status, 201u);
  EXPECT_EQ(call("GET", "/api/v1/categories/cats%20%26%20dogs%2F2024/acts/size").body, "[0]");
  EXPECT_EQ(call("DELETE", "/api/v1/categories/cats%20%26%20dogs%2F2024").status, 200u);
}

// -- category acts -------------------------------------------------------------------

TEST_F(acts_api, category_acts_of_unknown_category_is_400) {
  EXPECT_EQ(call("GET", "/api/v1/categories/birds/acts").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/categories/birds/acts?start=1&end=1").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/categories/birds/acts/size").status, 400u);
}

TEST_F(acts_api, category_acts_is_204_when_empty) {
  add_alice_and_cats();
  auto r = call("GET", "/api/v1/categories/cats/acts");
  EXPECT_EQ(r.status, 204u);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(acts_api, category_acts_lists_every_field_newest_first) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(1, [](json::object& a) { a["timestamp"] = "01-01-2024:00-00-00"; }).status, 201u);
  ASSERT_EQ(post_act(2, [](json::object& a) { a["timestamp"] = "01-01-2025:00-00-00"; }).status, 201u);
  ASSERT_EQ(post_act(3, [](json::object& a) { a["timestamp"] = "31-12-2024:59-59-23"; }).status, 201u);
  ASSERT_EQ(call("POST", "/api/v1/acts/upvote", "[2]").status, 200u);
  auto r = call("GET", "/api/v1/categories/cats/acts");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{2, 3, 1}));
  auto first = json::parse(r.body).as_array()[0];
  EXPECT_EQ(first, json::parse(R"({"actId":2,"username":"alice","timestamp":"01-01-2025:00-00-00","caption":"act 2",
                                   "upvotes":1,"imgB64":")" + encode_base64("image 2") + "\"}"));
}

TEST_F(acts_api, category_acts_ties_list_the_most_recently_posted_first) {
  add_alice_and_cats();
  for (int id : {5, 3, 9})
    ASSERT_EQ(post_act(id).status, 201u);
  EXPECT_EQ(ids_of(call("GET", "/api/v1/categories/cats/acts")), (std::vector<std::int64_t>{9, 3, 5}));
}

TEST_F(acts_api, category_acts_above_100_is_413_but_a_range_works) {
  add_alice_and_cats();
  for (int id = 1; id <= 101; ++id)
    ASSERT_EQ(post_act(id).status, 201u);
  EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts").status, 413u);
  auto r = call("GET", "/api/v1/categories/cats/acts?start=1&end=100");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(ids_of(r).size(), 100u);
  EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts?start=1&end=101").status, 413u);
  EXPECT_EQ(ids_of(call("GET", "/api/v1/categories/cats/acts?start=101&end=101")), std::vector<std::int64_t>{1});
  EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts/size").body, "[101]");
}

TEST_F(acts_api, category_acts_range_is_one_based_inclusive_newest_first) {
  add_alice_and_cats();
  for (int id = 1; id <= 5; ++id)
    ASSERT_EQ(post_act(id).status, 201u);
  EXPECT_EQ(ids_of(call("GET", "/api/v1/categories/cats/acts?start=2&end=4")), (std::vector<std::int64_t>{4, 3, 2}));
  EXPECT_EQ(ids_of(call("GET", "/api/v1/categories/cats/acts?end=5&start=5")), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ids_of(call("GET", "/api/v1/categories/cats/acts?start=1&end=5")).size(), 5u);
}

TEST_F(acts_api, category_acts_invalid_range_is_400) {
  add_alice_and_cats();
  for (int id = 1; id <= 5; ++id)
    ASSERT_EQ(post_act(id).status, 201u);
  for (std::string_view query : {"start=0&end=2", "start=3&end=2", "start=1&end=6", "start=a&end=2", "start=1&end=",
                                 "start=1", "end=2", "start=-1&end=2", "start=1.5&end=2", "start=1&end=2x"})
    EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts?" + std::string{query}).status, 400u) << query;
}

TEST_F(acts_api, category_size_is_a_one_element_list) {
  add_alice_and_cats();
  EXPECT_EQ(call("GET", "/api/v1/categories/cats/acts/size").body, "[0]");
  ASSERT_EQ(post_act(1).status, 201u);
  auto r = call("GET", "/api/v1/categories/cats/acts/size");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "[1]");
}

// -- acts ------------------------------------------------------------------------------

TEST_F(acts_api, post_act_is_201_and_counted) {
  add_alice_and_cats();
  auto r = post_act(0);
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(call("GET", "/api/v1/acts/count").body, "[1]");
}

TEST_F(acts_api, post_act_with_upvotes_field_is_400) {
  add_alice_and_cats();
  auto r = post_act(1, [](json::object& a) { a["upvotes"] = 0; });
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("upvotes"), std::string::npos);
}

TEST_F(acts_api, post_act_with_used_act_id_is_400) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(1).status, 201u);
  auto r = post_act(1);
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("already used"), std::string::npos);
}

TEST_F(acts_api, post_act_by_unknown_user_or_into_unknown_category_is_400) {
  add_alice_and_cats();
  EXPECT_EQ(post_act(1, [](json::object& a) { a["username"] = "nobody"; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["categoryName"] = "birds"; }).status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/acts/count").body, "[0]");
}

TEST_F(acts_api, post_act_with_a_missing_field_is_400) {
  add_alice_and_cats();
  for (const char* field : {"actId", "username", "timestamp", "caption", "categoryName", "imgB64"})
    EXPECT_EQ(post_act(1, [&](json::object& a) { a.erase(field); }).status, 400u) << field;
}

TEST_F(acts_api, post_act_with_a_wrong_type_is_400) {
  add_alice_and_cats();
  for (const char* field : {"username", "timestamp", "caption", "categoryName", "imgB64"}) {
    EXPECT_EQ(post_act(1, [&](json::object& a) { a[field] = 5; }).status, 400u) << field;
    EXPECT_EQ(post_act(1, [&](json::object& a) { a[field] = nullptr; }).status, 400u) << field;
  }
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = "1"; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = 1.0; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = 1.5; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = -1; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = 18446744073709551615ull; }).status, 400u);
  EXPECT_EQ(post_act(1, [](json::object& a) { a["actId"] = json::array{1}; }).status, 400u);
}

TEST_F(acts_api, post_act_with_a_bad_timestamp_is_400) {
  add_alice_and_cats();
  for (const char* timestamp : {"", "2024-02-01T05:06:07Z", "30-02-2024:00-00-00", "01-02-2024:05-06-24",
                                "1-2-2024:5-6-7"})
    EXPECT_EQ(post_act(1, [&](json::object& a) { a["timestamp"] = timestamp; }).status, 400u) << timestamp;
}

TEST_F(acts_api, post_act_with_bad_base64_is_400) {
  add_alice_and_cats();
  for (const char* image : {"", "abc", "a b=", "@@@@", "Zh==", "data:image/png;base64,iVBORw0KGgo="})
    EXPECT_EQ(post_act(1, [&](json::object& a) { a["imgB64"] = image; }).status, 400u) << image;
}

TEST_F(acts_api, post_act_with_an_unknown_field_or_non_object_is_400) {
  add_alice_and_cats();
  EXPECT_EQ(post_act(1, [](json::object& a) { a["extra"] = true; }).status, 400u);
  for (std::string_view body : {"", "[]", "null", "{", "7"})
    EXPECT_EQ(call("POST", "/api/v1/acts", body).status, 400u) << body;
}

TEST_F(acts_api, upvote_is_200_and_unknown_or_malformed_is_400) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(4).status, 201u);
  EXPECT_EQ(call("POST", "/api/v1/acts/upvote", "[4]").status, 200u);
  EXPECT_EQ(call("POST", "/api/v1/acts/upvote", "[5]").status, 400u);
  for (std::string_view body : {"", "4", "[]", R"(["4"])", "[4,4]", "[-4]", "[4.0]", R"({"actId":4})"})
    EXPECT_EQ(call("POST", "/api/v1/acts/upvote", body).status, 400u) << body;
  auto listed = json::parse(call("GET", "/api/v1/categories/cats/acts").body);
  EXPECT_EQ(listed.as_array()[0].at("upvotes").as_int64(), 1);
}

TEST_F(acts_api, delete_act_is_200_then_400) {
  add_alice_and_cats();
  ASSERT_EQ(post_act(4).status, 201u);
  EXPECT_EQ(call("DELETE", "/api/v1/acts/4").status, 200u);
  EXPECT_EQ(call("DELETE", "/api/v1/acts/4").status, 400u);
  EXPECT_EQ(call("DELETE", "/api/v1/acts/x").status, 400u);
  EXPECT_EQ(call("DELETE", "/api/v1/acts/-4").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/acts/count").body, "[0]");
}

TEST_F(acts_api, act_count_counts_all_categories) {
  add_alice_and_cats();
  ASSERT_EQ(call("POST", "/api/v1/categories", R"(["dogs"])").status, 201u);
  ASSERT_EQ(post_act(1).status, 201u);
  ASSERT_EQ(post_act(2, [](json::object& a) { a["categoryName"] = "dogs"; }).status, 201u);
  auto r = call("GET", "/api/v1/acts/count");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "[2]");
}

// -- database failures ------------------------------------------------------------------

TEST_F(acts_api, database_failure_is_500_and_the_service_keeps_answering) {
  add_alice_and_cats();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE acts", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = call("GET", "/api/v1/acts/count");
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, R"({"error":"internal error"})");
  EXPECT_EQ(call("GET", "/api/v1/_health").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/users").status, 200u);
}

// Another container holding the write lock past the busy timeout must yield a
// retryable 503, never a lost or half-done write.
TEST_F(acts_api, write_lock_held_elsewhere_past_the_busy_timeout_is_503) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = call("POST", "/api/v1/categories", R"(["cats"])");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(call("POST", "/api/v1/categories", R"(["cats"])").status, 201u);
}

} // namespace
