// Routing, validation and rendering of the Acts API (see api.hpp).
#include "workloads/acts/api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <optional>

#include "log/log.hpp"
#include "workloads/acts/page.hpp"
#include "workloads/acts/validate.hpp"

namespace json = boost::json;

namespace acts {

namespace log = corral::log;

namespace {

/// The most acts one listing may return; longer lists are 413.
constexpr std::int64_t max_listing = 100;

constexpr std::string_view health_path = "/api/v1/_health";
constexpr std::string_view count_path = "/api/v1/_count";

api_response json_response(unsigned status, std::string body) {
  return api_response{status, "application/json", std::move(body), {}};
}

api_response error(unsigned status, std::string_view message) {
  return json_response(status, json::serialize(json::object{{"error", message}}));
}

api_response empty_success(unsigned status = 200) {
  return json_response(status, "{}");
}

api_response no_content() {
  return api_response{204, {}, {}, {}};
}

// "[n]": the shape of every count the API returns.
api_response count_response(std::int64_t n) {
  return json_response(200, "[" + std::to_string(n) + "]");
}

// Splits "/a/b/c" into {"a", "b", "c"}; "/" gives {}. A path that does not
// start with "/" gives {""}, which no route matches.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/')
    return {std::string_view{}};
  if (path == "/")
    return segments;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      return segments;
    path.remove_prefix(slash + 1);
  }
}

std::optional<int> hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return std::nullopt;
}

// Decodes %XX escapes (names with spaces or slashes arrive encoded in the
// path); nothing when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size())
      return std::nullopt;
    auto high = hex_digit(text[i + 1]);
    auto low = hex_digit(text[i + 2]);
    if (!high || !low)
      return std::nullopt;
    decoded.push_back(static_cast<char>(*high * 16 + *low));
    i += 2;
  }
  return decoded;
}

// The decoded value of `key` in a query string "a=1&b=2", if present.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != key)
      continue;
    auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    // An undecodable value is kept raw: it then fails number validation.
    return percent_decode(value).value_or(std::string{value});
  }
  return std::nullopt;
}

// Parses a request body as JSON; nothing when it is not JSON.
std::optional<json::value> parse_json(std::string_view body) {
  json::error_code ec;
  auto value = json::parse(body, ec);
  if (ec)
    return std::nullopt;
  return value;
}

// A body of the form ["<string>"]: the single string, if that is what it is.
std::optional<std::string> single_string(std::string_view body) {
  auto value = parse_json(body);
  if (!value || !value->is_array() || value->as_array().size() != 1 || !value->as_array()[0].is_string())
    return std::nullopt;
  return std::string{value->as_array()[0].as_string()};
}

// A JSON number that is a non-negative integer representable as int64.
// 1.0 and 1e3 are doubles in JSON terms and are refused, as is -1.
std::optional<std::int64_t> non_negative_integer(const json::value& value) {
  if (value.is_int64() && value.as_int64() >= 0)
    return value.as_int64();
  if (value.is_uint64() && value.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(value.as_uint64());
  return std::nullopt;
}

std::string json_string(std::string_view text) {
  return json::serialize(json::string_view{text.data(), text.size()});
}

// Renders acts as the JSON list clients read. Written by hand rather than
// through json::value so that megabytes of base64 are not copied twice.
std::string render_acts(const std::vector<act>& acts) {
  std::string out = "[";
  for (const auto& a : acts) {
    if (out.size() > 1)
      out += ',';
    out += "{\"actId\":" + std::to_string(a.act_id);
    out += ",\"username\":" + json_string(a.username);
    out += ",\"timestamp\":" + json_string(a.timestamp);
    out += ",\"caption\":" + json_string(a.caption);
    out += ",\"upvotes\":" + std::to_string(a.upvotes);
    out += ",\"imgB64\":\"";
    out += encode_base64(a.image); // base64 needs no JSON escaping
    out += "\"}";
  }
  out += ']';
  return out;
}

// Reads and checks the body of POST /api/v1/acts into `result`; returns the
// reason it is not acceptable, or nothing when it is.
std::optional<std::string> parse_new_act(std::string_view body, new_act& result) {
  auto value = parse_json(body);
  if (!value || !value->is_object())
    return "the body must be a JSON object";
  const auto& fields = value->as_object();
  if (fields.contains("upvotes"))
    return "upvotes must not be set: every act starts with 0";
  static constexpr std::array<std::string_view, 6> known = {"actId", "username", "timestamp",
                                                            "caption", "categoryName", "imgB64"};
  for (const auto& field : fields)
    if (std::find(known.begin(), known.end(), std::string_view{field.key()}) == known.end())
      return "unknown field " + json_string(field.key());
  auto string_field = [&](std::string_view name) -> const json::string* {
    auto it = fields.find(name);
    return it != fields.end() && it->value().is_string() ? &it->value().as_string() : nullptr;
  };
  auto id = fields.find("actId");
  if (id == fields.end())
    return "actId is missing";
  auto act_id = non_negative_integer(id->value());
  if (!act_id)
    return "actId must be a non-negative integer";
  for (auto name : {"username", "timestamp", "caption", "categoryName", "imgB64"})
    if (string_field(name) == nullptr)
      return std::string{name} + " is missing or not a string";
  std::string_view timestamp = *string_field("timestamp");
  auto posted_at = parse_timestamp(timestamp);
  if (!posted_at)
    return "timestamp must be a real date and time as DD-MM-YYYY:SS-MM-HH";
  std::string_view image_b64 = *string_field("imgB64");
  if (image_b64.empty())
    return "imgB64 is empty";
  auto image = decode_base64(image_b64);
  if (!image)
    return "imgB64 is not valid base64";
  result.act_id = *act_id;
  result.username = *string_field("username");
  result.timestamp = timestamp;
  result.posted_at = *posted_at;
  result.caption = *string_field("caption");
  result.category = *string_field("categoryName");
  result.image = std::move(*image);
  return std::nullopt;
}

} // namespace

/// One entry of the routing table: a path pattern in which "{}" matches one
/// segment (handed to the handler, percent-decoded), a method, a handler.
struct api::route {
  std::string_view pattern;
  std::string_view method;
  api_response (api::*handler)(const api_request&, const std::vector<std::string>&);
};

api::api(store_pool& stores) : stores_{stores} {
}

api_response api::handle(const api_request& request) {
  auto path = request.target.substr(0, request.target.find('?'));
  // The orchestrator's probes must not disturb the count they read.
  if (path != health_path && path != count_path)
    ++served_;
  if (crashed_)
    return error(500, "the service has crashed (POST /api/v1/_crash)");
  try {
    return dispatch(request);
  } catch (const store_busy& e) {
    log::warn("acts", "database busy", {{"error", e.what()}});
    return error(503, "the database is busy, retry later");
  } catch (const std::exception& e) {
    log::error("acts", "internal error", {{"error", e.what()}});
    return error(500, "internal error");
  } catch (...) {
    log::error("acts", "internal error", {{"error", "unknown exception"}});
    return error(500, "internal error");
  }
}

api_response api::dispatch(const api_request& request) {
  // Literal patterns come before the parameterized ones they overlap with:
  // the first pattern that matches a path owns it, so /acts/count is never
  // taken for an act id, and DELETE /acts/count is 405 rather than 400.
  static constexpr route routes[] = {
    {"/", "GET", &api::get_page},
    {"/api/v1/_health", "GET", &api::get_health},
    {"/api/v1/_crash", "POST", &api::post_crash},
    {"/api/v1/_count", "GET", &api::get_count},
    {"/api/v1/_count", "DELETE", &api::delete_count},
    {"/api/v1/categories", "GET", &api::get_categories},
    {"/api/v1/categories", "POST", &api::post_category},
    {"/api/v1/categories/{}", "DELETE", &api::delete_category},
    {"/api/v1/categories/{}/acts", "GET", &api::get_category_acts},
    {"/api/v1/categories/{}/acts/size", "GET", &api::get_category_size},
    {"/api/v1/acts", "POST", &api::post_act},
    {"/api/v1/acts/upvote", "POST", &api::post_upvote},
    {"/api/v1/acts/count", "GET", &api::get_act_count},
    {"/api/v1/acts/{}", "DELETE", &api::delete_act},
    {"/api/v1/users", "GET", &api::get_users},
    {"/api/v1/users", "POST", &api::post_user},
    {"/api/v1/users/{}", "DELETE", &api::delete_user},
  };
  auto path = request.target.substr(0, request.target.find('?'));
  auto segments = split_path(path);
  std::string_view owner; // the first pattern that matches the path
  std::string allow;
  for (const auto& r : routes) {
    if (!owner.empty() && r.pattern != owner)
      continue;
    auto pattern = split_path(r.pattern);
    if (pattern.size() != segments.size())
      continue;
    std::vector<std::string> params;
    bool matches = true;
    for (std::size_t i = 0; i < pattern.size() && matches; ++i) {
      if (pattern[i] == "{}") {
        // "/users/" names no user: an empty segment is not a parameter.
        if (segments[i].empty()) {
          matches = false;
          break;
        }
        auto decoded = percent_decode(segments[i]);
        if (!decoded)
          return error(400, "malformed percent-encoding in the path");
        // Every stored name came in a JSON body, so it is UTF-8; a name in
        // the path that is not could match nothing, and echoed into the
        // error it would make the answer invalid JSON.
        if (!is_utf8(*decoded))
          return error(400, "a name in the path must be UTF-8 text");
        params.push_back(std::move(*decoded));
      } else {
        matches = pattern[i] == segments[i];
      }
    }
    if (!matches)
      continue;
    owner = r.pattern;
    if (r.method == request.method)
      return (this->*r.handler)(request, params);
    if (allow.find(r.method) == std::string::npos)
      allow += allow.empty() ? std::string{r.method} : ", " + std::string{r.method};
  }
  if (owner.empty())
    return error(404, "no such resource");
  auto response = error(405, "method not allowed");
  response.allow = std::move(allow);
  return response;
}

// GET /: the web page.
api_response api::get_page(const api_request&, const std::vector<std::string>&) {
  return api_response{200, "text/html; charset=utf-8", std::string{page_html()}, {}};
}

// GET /api/v1/_health: 200 until crashed (handle() answers 500 after that).
api_response api::get_health(const api_request&, const std::vector<std::string>&) {
  return json_response(200, R"({"status":"ok"})");
}

// POST /api/v1/_crash: every later request answers 500.
api_response api::post_crash(const api_request&, const std::vector<std::string>&) {
  crashed_ = true;
  log::warn("acts", "crashed on request (POST /api/v1/_crash): answering 500 from now on");
  return empty_success();
}

// GET /api/v1/_count: [requests served].
api_response api::get_count(const api_request&, const std::vector<std::string>&) {
  return count_response(static_cast<std::int64_t>(served_.load()));
}

// DELETE /api/v1/_count: restart counting from zero.
api_response api::delete_count(const api_request&, const std::vector<std::string>&) {
  served_ = 0;
  return empty_success();
}

// GET /api/v1/categories: {"name": number of acts, ...}, 204 when none.
api_response api::get_categories(const api_request&, const std::vector<std::string>&) {
  auto categories = stores_.acquire()->categories();
  if (categories.empty())
    return no_content();
  json::object result;
  for (auto& [name, size] : categories)
    result[name] = size;
  return json_response(200, json::serialize(result));
}

// POST /api/v1/categories ["name"].
api_response api::post_category(const api_request& request, const std::vector<std::string>&) {
  auto name = single_string(request.body);
  if (!name)
    return error(400, "the body must be a JSON list holding one category name");
  if (!is_valid_name(*name))
    return error(400, "a category name has 1 to 128 characters and no control characters");
  if (!stores_.acquire()->add_category(*name))
    return error(400, "category " + json_string(*name) + " already exists");
  return empty_success(201);
}

// DELETE /api/v1/categories/{name}: the category and all of its acts.
api_response api::delete_category(const api_request&, const std::vector<std::string>& params) {
  if (!stores_.acquire()->remove_category(params[0]))
    return error(400, "no category " + json_string(params[0]));
  return empty_success();
}

// GET /api/v1/categories/{name}/acts[?start=S&end=E]: acts newest first.
api_response api::get_category_acts(const api_request& request, const std::vector<std::string>& params) {
  auto query_start = request.target.find('?');
  auto query = query_start == std::string_view::npos ? std::string_view{} : request.target.substr(query_start + 1);
  auto start_text = query_value(query, "start");
  auto end_text = query_value(query, "end");
  bool ranged = start_text || end_text;
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
  if (ranged) {
    if (!start_text || !end_text)
      return error(400, "a range needs both start and end");
    start = parse_non_negative(*start_text);
    end = parse_non_negative(*end_text);
    if (!start || !end)
      return error(400, "start and end must be whole numbers");
  }
  // The verdict depends on the category's size, which the store reads in
  // the same snapshot as the acts it then returns. Set, it is the answer
  // and no acts are read.
  std::optional<api_response> verdict;
  auto decide = [&](api_response answer) {
    verdict = std::move(answer);
    return std::nullopt;
  };
  auto choose = [&](std::int64_t size) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
    if (ranged) {
      if (*start < 1 || *end < *start || *end > size)
        return decide(error(400, "invalid range: need 1 <= start <= end <= " + std::to_string(size)));
      if (*end - *start + 1 > max_listing)
        return decide(error(413, "a range may span at most " + std::to_string(max_listing) + " acts"));
      return std::pair{*start - 1, *end - *start + 1};
    }
    if (size == 0)
      return decide(no_content());
    if (size > max_listing)
      return decide(
        error(413, "more than " + std::to_string(max_listing) + " acts: ask for a range with start and end"));
    return std::pair{std::int64_t{0}, size};
  };
  auto page = stores_.acquire()->read_category(params[0], choose);
  if (!page)
    return error(400, "no category " + json_string(params[0]));
  if (verdict)
    return std::move(*verdict);
  return json_response(200, render_acts(*page));
}

// GET /api/v1/categories/{name}/acts/size: [n].
api_response api::get_category_size(const api_request&, const std::vector<std::string>& params) {
  auto size = stores_.acquire()->category_size(params[0]);
  if (!size)
    return error(400, "no category " + json_string(params[0]));
  return count_response(*size);
}

// POST /api/v1/acts: a new act; 201 once it is committed.
api_response api::post_act(const api_request& request, const std::vector<std::string>&) {
  new_act act;
  if (auto problem = parse_new_act(request.body, act))
    return error(400, *problem);
  switch (stores_.acquire()->add_act(act)) {
    case insert_result::stored:
      return empty_success(201);
    case insert_result::duplicate_id:
      return error(400, "actId " + std::to_string(act.act_id) + " is already used");
    case insert_result::unknown_user:
      return error(400, "no user " + json_string(act.username));
    case insert_result::unknown_category:
      return error(400, "no category " + json_string(act.category));
  }
  return error(500, "internal error");
}

// POST /api/v1/acts/upvote [actId].
api_response api::post_upvote(const api_request& request, const std::vector<std::string>&) {
  auto value = parse_json(request.body);
  std::optional<std::int64_t> act_id;
  if (value && value->is_array() && value->as_array().size() == 1)
    act_id = non_negative_integer(value->as_array()[0]);
  if (!act_id)
    return error(400, "the body must be a JSON list holding one actId");
  if (!stores_.acquire()->upvote(*act_id))
    return error(400, "no act " + std::to_string(*act_id));
  return empty_success();
}

// DELETE /api/v1/acts/{actId}.
api_response api::delete_act(const api_request&, const std::vector<std::string>& params) {
  auto act_id = parse_non_negative(params[0]);
  if (!act_id)
    return error(400, "an actId is a non-negative integer");
  if (!stores_.acquire()->remove_act(*act_id))
    return error(400, "no act " + std::to_string(*act_id));
  return empty_success();
}

// GET /api/v1/acts/count: [acts in all categories].
api_response api::get_act_count(const api_request&, const std::vector<std::string>&) {
  return count_response(stores_.acquire()->act_count());
}

// GET /api/v1/users: ["name", ...], 204 when none.
api_response api::get_users(const api_request&, const std::vector<std::string>&) {
  auto names = stores_.acquire()->users();
  if (names.empty())
    return no_content();
  json::array result;
  for (auto& name : names)
    result.emplace_back(name);
  return json_response(200, json::serialize(result));
}

// POST /api/v1/users {"username", "password"}: password is SHA-1 hex.
api_response api::post_user(const api_request& request, const std::vector<std::string>&) {
  auto value = parse_json(request.body);
  if (!value || !value->is_object())
    return error(400, "the body must be a JSON object with username and password");
  const auto& fields = value->as_object();
  auto username = fields.find("username");
  auto password = fields.find("password");
  if (fields.size() != 2 || username == fields.end() || password == fields.end()
      || !username->value().is_string() || !password->value().is_string())
    return error(400, "the body must hold exactly username and password, both strings");
  std::string name{username->value().as_string()};
  std::string_view digest = password->value().as_string();
  if (!is_valid_name(name))
    return error(400, "a username has 1 to 128 characters and no control characters");
  if (!is_sha1_hex(digest))
    return error(400, "password must be a SHA-1 digest: 40 hexadecimal digits");
  if (!stores_.acquire()->add_user(name, std::string{digest}))
    return error(400, "user " + json_string(name) + " already exists");
  return empty_success(201);
}

// DELETE /api/v1/users/{name}: the user and all of their acts.
api_response api::delete_user(const api_request&, const std::vector<std::string>& params) {
  if (!stores_.acquire()->remove_user(params[0]))
    return error(400, "no user " + json_string(params[0]));
  return empty_success();
}

} // namespace acts
