// One acts-load run: setup, uploads with retries, read-back and verification (see load_run.hpp).
#include "tools/acts_load/load_run.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <iomanip>
#include <ostream>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tools/acts_load/api_client.hpp"
#include "tools/acts_load/png.hpp"
#include "tools/common/http_client.hpp"
#include "workloads/acts/validate.hpp"

namespace json = boost::json;

namespace acts_load {

namespace {

constexpr std::string_view user_name = "acts-load";
/// SHA-1 of "acts-load": the service only stores the digest.
constexpr std::string_view user_password = "656714978e10da151dc5806dc1cda22f77851a7f";

/// Acts per listing request. The API allows 100, but with megabyte images
/// a page of 100 is a 140 MB response; 25 keeps both ends' memory modest.
constexpr std::int64_t page_size = 25;

/// How often a category is read again when it changed while being read.
constexpr int read_attempts = 3;

/// An image this run tried to upload, and what became of it.
struct upload {
  enum class state { acknowledged, ambiguous, failed };
  std::int64_t act_id = 0;
  std::string category;
  std::string caption;
  std::uint64_t hash = 0;
  state outcome = state::failed;
  std::string reason;     ///< why it failed (or why it became ambiguous)
};

/// An act as read back from a listing.
struct listed_act {
  std::int64_t act_id = 0;
  std::string category;
  std::string username;
  std::string caption;
  std::uint64_t hash = 0;
  bool decodable = true;
};

// `text` on one line: every run of whitespace (newlines included) becomes one
// space, and none is left at either end.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ')
        out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

// The "error" text of an error body, or the start of the body when it has
// none (a proxy in between answers in plain text, "backend failed\n").
std::string error_text(const http_result& result) {
  json::error_code ec;
  auto value = json::parse(result.body, ec);
  if (!ec && value.is_object() && value.as_object().contains("error") && value.at("error").is_string())
    return one_line(value.at("error").as_string());
  return one_line(std::string_view{result.body}.substr(0, 120));
}

} // namespace

std::string describe(const http_result& result) {
  // The summary names a failure by libcurl's full message ("Failed to
  // connect to 127.0.0.1 port 8080 ..."), which tells the user where; the
  // short reason stands in for an answer built without one.
  if (!result.answered())
    return "no response: " + one_line(result.detail.empty() ? result.error : result.detail);
  return "HTTP " + std::to_string(result.status) + ": " + error_text(result);
}

namespace {

// Creates a user or category; "exists already" is fine, checked by listing
// (a 400 could also mean a malformed request, which must stop the run).
std::string ensure_exists(api_client& client, std::string_view create_path, const std::string& body,
                          std::string_view list_path, std::string_view name) {
  auto created = client.request("POST", create_path, body);
  if (created.status == 201)
    return {};
  auto listing = client.request("GET", list_path);
  json::error_code ec;
  auto value = json::parse(listing.body, ec);
  if (listing.status == 200 && !ec) {
    if (value.is_array())
      for (const auto& item : value.as_array())
        if (item.is_string() && item.as_string() == name)
          return {};
    if (value.is_object() && value.as_object().contains(name))
      return {};
  }
  return "cannot create " + std::string{name} + " (" + describe(created) + ")";
}

// A JSON body for POST /api/v1/acts.
std::string act_body(const upload& u, std::string_view image) {
  json::object body;
  body["actId"] = u.act_id;
  body["username"] = user_name;
  body["timestamp"] = acts::format_timestamp(
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  body["caption"] = u.caption;
  body["categoryName"] = u.category;
  body["imgB64"] = acts::encode_base64(image);
  return json::serialize(body);
}

// Uploads one act, retrying connection errors and 5xx with the same actId.
// A 400 after such a retry is ambiguous: the earlier attempt may have been
// stored before its answer was lost. Reading decides later.
void upload_act(api_client& client, upload& u, std::string_view image, int attempts, load_summary& summary) {
  auto body = act_body(u, image);
  std::string transient;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) {
      ++summary.retries;
      // Back off a little: the service may be restarting.
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
    auto result = client.request("POST", "/api/v1/acts", body);
    if (result.status == 201) {
      u.outcome = upload::state::acknowledged;
      return;
    }
    if (!result.answered() || result.status >= 500) {
      transient = describe(result);
      continue;
    }
    u.reason = describe(result);
    u.outcome = result.status == 400 && attempt > 1 ? upload::state::ambiguous : upload::state::failed;
    if (u.outcome == upload::state::ambiguous)
      u.reason = "retry after \"" + transient + "\" answered " + u.reason + ", and the act is not stored";
    return;
  }
  u.outcome = upload::state::failed;
  u.reason = transient + " (after " + std::to_string(attempts) + " attempts)";
}

// A "[n]" answer.
std::optional<std::int64_t> read_count(const http_result& result) {
  json::error_code ec;
  auto value = json::parse(result.body, ec);
  if (result.status != 200 || ec || !value.is_array() || value.as_array().size() != 1
      || !value.as_array()[0].is_int64())
    return std::nullopt;
  return value.as_array()[0].as_int64();
}

// Reads every act of a category, page by page. Pages are separate requests,
// so an insert in between would shift them: the size is read before and
// after, and the whole category again if it changed.
std::optional<std::vector<listed_act>> read_category(api_client& client, const std::string& category,
                                                     std::int64_t& size, std::ostream& log) {
  auto base = "/api/v1/categories/" + corral::http::percent_encode(category) + "/acts";
  for (int attempt = 1; attempt <= read_attempts; ++attempt) {
    auto before = read_count(client.request("GET", base + "/size"));
    if (!before) {
      log << "acts-load: cannot read the size of " << category << "\n";
      continue;
    }
    std::vector<listed_act> acts;
    bool complete = true;
    for (std::int64_t start = 1; start <= *before && complete; start += page_size) {
      auto end = std::min(*before, start + page_size - 1);
      auto page = client.request("GET", base + "?start=" + std::to_string(start) + "&end=" + std::to_string(end));
      json::error_code ec;
      auto value = json::parse(page.body, ec);
      if (page.status != 200 || ec || !value.is_array()) {
        log << "acts-load: reading " << category << " acts " << start << "-" << end << ": " << describe(page) << "\n";
        complete = false;
        break;
      }
      for (const auto& item : value.as_array()) {
        listed_act a;
        a.category = category;
        const auto* fields = item.if_object();
        if (fields == nullptr || !fields->contains("actId") || !fields->at("actId").is_int64()) {
          log << "acts-load: " << category << " lists an act without an integer actId\n";
          continue;
        }
        a.act_id = fields->at("actId").as_int64();
        auto text = [&](const char* key) {
          return fields->contains(key) && fields->at(key).is_string() ? std::string{fields->at(key).as_string()}
                                                                      : std::string{};
        };
        a.username = text("username");
        a.caption = text("caption");
        auto image = acts::decode_base64(text("imgB64"));
        a.decodable = image.has_value();
        a.hash = image ? fnv1a64(*image) : 0;
        acts.push_back(std::move(a));
      }
    }
    if (!complete)
      continue;
    auto after = read_count(client.request("GET", base + "/size"));
    if (after && *after == *before) {
      size = *after;
      return acts;
    }
    log << "acts-load: " << category << " changed while being read; reading it again\n";
  }
  return std::nullopt;
}

} // namespace

load_summary run_load(const load_options& options, std::ostream& log) {
  load_summary summary;
  api_client client{options.base_url};

  // Setup: the user and the categories, which earlier runs may have made.
  json::object user_body{{"username", user_name}, {"password", user_password}};
  if (auto problem = ensure_exists(client, "/api/v1/users", json::serialize(user_body), "/api/v1/users", user_name);
      !problem.empty()) {
    summary.setup_error = problem;
    return summary;
  }
  std::vector<std::string> categories;
  for (int i = 1; i <= options.categories; ++i) {
    categories.push_back("acts-load-" + std::to_string(i));
    json::array body{json::string{categories.back()}};
    if (auto problem = ensure_exists(client, "/api/v1/categories", json::serialize(body), "/api/v1/categories",
                                     categories.back());
        !problem.empty()) {
      summary.setup_error = problem;
      return summary;
    }
    summary.categories[categories.back()];
  }

  // Uploads. actIds start at the current time in microseconds, so runs do
  // not collide with each other (or with the web page, which uses ms * 1000
  // plus a random part) on a database that outlives them.
  std::mt19937_64 rng{options.seed};
  std::uniform_int_distribution<std::size_t> size_kb{options.min_kb, options.max_kb};
  std::uniform_int_distribution<std::size_t> extra_bytes{0, 1023};
  auto first_id = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::vector<upload> uploads;
  for (int i = 0; i < options.images; ++i) {
    // Sizes spread over [min, max] KB, not just whole kilobytes.
    auto target = size_kb(rng) * 1024 + (options.max_kb > options.min_kb ? extra_bytes(rng) : 0);
    auto image = noise_png(std::min(target, options.max_kb * 1024), rng);
    upload u;
    u.act_id = first_id + i;
    u.category = categories[static_cast<std::size_t>(i % options.categories)];
    u.caption = "acts-load image " + std::to_string(i + 1) + " of " + std::to_string(options.images) + ", "
                + std::to_string(image.size()) + " bytes";
    u.hash = fnv1a64(image);
    ++summary.uploaded;
    upload_act(client, u, image, options.attempts, summary);
    if (u.outcome == upload::state::failed)
      log << "acts-load: act " << u.act_id << " failed: " << u.reason << "\n";
    uploads.push_back(std::move(u));
    if ((i + 1) % 10 == 0 || i + 1 == options.images)
      log << "acts-load: uploaded " << i + 1 << "/" << options.images << "\n";
  }

  // Read everything back.
  std::unordered_map<std::int64_t, std::vector<listed_act>> found;
  for (const auto& category : categories) {
    auto& tally = summary.categories[category];
    auto acts = read_category(client, category, tally.size, log);
    if (!acts) {
      summary.setup_error = "cannot read category " + category + " consistently";
      return summary;
    }
    tally.listed = static_cast<std::int64_t>(acts->size());
    for (auto& a : *acts)
      found[a.act_id].push_back(std::move(a));
  }
  auto overview = client.request("GET", "/api/v1/categories");
  json::error_code ec;
  auto overview_value = json::parse(overview.body, ec);
  if (overview.status == 200 && !ec && overview_value.is_object())
    for (auto& [name, tally] : summary.categories)
      if (auto* count = overview_value.as_object().if_contains(name); count != nullptr && count->is_int64())
        tally.in_overview = count->as_int64();

  // Verify: resolve the ambiguous uploads, then check every acknowledged one.
  for (auto& u : uploads) {
    auto it = found.find(u.act_id);
    bool stored_intact = it != found.end() && it->second.size() == 1 && it->second[0].hash == u.hash
                         && it->second[0].category == u.category;
    if (u.outcome == upload::state::ambiguous) {
      if (stored_intact) {
        u.outcome = upload::state::acknowledged;
        ++summary.resolved;
      } else {
        u.outcome = upload::state::failed;
      }
    }
    auto& tally = summary.categories[u.category];
    if (it != found.end())
      tally.listed_ours += static_cast<int>(it->second.size());
    if (u.outcome == upload::state::failed) {
      ++summary.failed;
      ++summary.failure_reasons[u.reason];
      if (it != found.end())
        ++summary.stored_unacknowledged;
      continue;
    }
    ++summary.acknowledged;
    ++tally.acknowledged;
    if (it == found.end()) {
      ++summary.missing;
      log << "acts-load: act " << u.act_id << " was acknowledged but is missing\n";
    } else if (it->second.size() > 1) {
      log << "acts-load: act " << u.act_id << " is listed " << it->second.size() << " times\n";
    } else if (const auto& a = it->second[0]; !a.decodable || a.hash != u.hash || a.category != u.category
                                              || a.caption != u.caption || a.username != user_name) {
      ++summary.corrupted;
      log << "acts-load: act " << u.act_id << " was stored with other bytes or fields\n";
    } else {
      ++summary.verified;
    }
  }
  for (const auto& [id, copies] : found)
    if (copies.size() > 1)
      ++summary.duplicates;
  for (const auto& [name, tally] : summary.categories)
    if (tally.size != tally.listed || tally.in_overview != tally.listed)
      ++summary.count_mismatches;
  return summary;
}

void print_summary(const load_options& options, const load_summary& summary, std::ostream& out) {
  out << "acts-load summary: " << options.images << " images of " << options.min_kb << "-" << options.max_kb
      << " KB into " << options.categories << " categories at " << options.base_url << " (seed " << options.seed
      << ")\n";
  if (!summary.setup_error.empty()) {
    out << "  setup failed: " << summary.setup_error << "\nresult: FAILED\n";
    return;
  }
  auto row = [&](std::string_view label, int value, std::string_view note = {}) {
    out << "  " << std::left << std::setw(14) << label << std::right << std::setw(6) << value;
    if (!note.empty())
      out << "  " << note;
    out << "\n";
  };
  row("uploaded", summary.uploaded, summary.retries > 0 ? std::to_string(summary.retries) + " retries" : "");
  row("acknowledged", summary.acknowledged,
      summary.resolved > 0 ? std::to_string(summary.resolved) + " after reading back an ambiguous retry" : "");
  row("failed", summary.failed,
      summary.stored_unacknowledged > 0 ? std::to_string(summary.stored_unacknowledged) + " stored nonetheless"
                                        : "");
  for (const auto& [reason, count] : summary.failure_reasons)
    out << "      " << count << " x " << reason << "\n";
  row("verified", summary.verified);
  row("missing", summary.missing);
  row("corrupted", summary.corrupted);
  row("duplicates", summary.duplicates);
  out << "  per category (acknowledged / listed from this run / listed / size / in overview):\n";
  for (const auto& [name, tally] : summary.categories)
    out << "    " << std::left << std::setw(16) << name << std::right << std::setw(6) << tally.acknowledged
        << std::setw(6) << tally.listed_ours << std::setw(7) << tally.listed << std::setw(7) << tally.size
        << std::setw(7) << tally.in_overview
        << (tally.size != tally.listed || tally.in_overview != tally.listed ? "  MISMATCH" : "") << "\n";
  out << "result: " << (summary.ok() ? "OK" : "FAILED") << "\n";
}

} // namespace acts_load
