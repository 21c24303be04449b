// The pool's database from the host (see database.hpp).
#include "tests/workload/database.hpp"

#include "tests/support/docker_env.hpp"
#include "tests/workload/acts_pool.hpp"

#include <curl/curl.h>
#include <sqlite3.h>

namespace corral::test {

namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

} // namespace

std::string volume_mountpoint(const std::string& volume) {
  std::string body;
  CURL* curl = curl_easy_init();
  auto url = "http://localhost/v1.41/volumes/" + volume;
  auto socket = docker_socket();
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  auto doc = parse_json(body);
  if (status != 200 || !doc.is_object() || !doc.as_object().contains("Mountpoint")
      || !doc.at("Mountpoint").is_string())
    return {};
  return std::string{doc.at("Mountpoint").as_string()};
}

outside_writer::outside_writer(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db_);
    db_ = nullptr;
    return;
  }
  // A container may be committing just then: wait for it as a container would.
  sqlite3_busy_timeout(db_, 5000);
}

outside_writer::~outside_writer() {
  if (db_ == nullptr)
    return;
  if (sqlite3_get_autocommit(db_) == 0)
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

bool outside_writer::exec(const char* sql) {
  return db_ != nullptr && sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

} // namespace corral::test
