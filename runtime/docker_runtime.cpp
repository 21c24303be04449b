// docker_runtime: libcurl over the engine's unix socket, one easy handle per
// call; the bodies are built and parsed by docker_api.
#include "runtime/docker_runtime.hpp"

#include "log/log.hpp"
#include "runtime/docker_api.hpp"
#include "runtime/local_failure.hpp"

#include <curl/curl.h>

#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

namespace corral {

namespace {

using namespace std::chrono_literals;

// The host part is ignored over a unix socket; the version is pinned because
// newer prefixes get 400 "too new" from the daemons corral was verified on.
constexpr std::string_view base_url = "http://docker/v1.41";

// How often watch_events looks at its stop flag while the stream is idle.
constexpr auto event_poll_interval = 50ms;

// The stream's lines are the events feed's input: its lines carry its name.
constexpr std::string_view log_component = "events";

// curl_global_init is not thread-safe: run it once, before the first handle,
// under the guarantee of a function-local static.
void init_curl_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void) rc;
}

struct easy_cleanup {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using easy_ptr = std::unique_ptr<CURL, easy_cleanup>;

struct slist_cleanup {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using slist_ptr = std::unique_ptr<curl_slist, slist_cleanup>;

// Removes the stream's easy handle from its multi handle before either dies,
// as libcurl requires; removing a running transfer also aborts it.
struct multi_guard {
  CURLM* multi;
  CURL* easy;
  ~multi_guard() {
    curl_multi_remove_handle(multi, easy);
    curl_multi_cleanup(multi);
  }
};

enum class verb { get, post, del };

/// The engine's answer to one call.
struct reply {
  long status = 0;
  std::string body;
};

size_t append_to_string(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

easy_ptr new_handle(const std::string& socket_path,
                    std::chrono::milliseconds connect_timeout) {
  init_curl_once();
  easy_ptr handle{curl_easy_init()};
  if (!handle)
    return handle;
  curl_easy_setopt(handle.get(), CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
  curl_easy_setopt(handle.get(), CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(connect_timeout.count()));
  // Signals for timeouts are not safe in a multithreaded program.
  curl_easy_setopt(handle.get(), CURLOPT_NOSIGNAL, 1L);
  return handle;
}

runtime_error no_handle() {
  return {runtime_errc::engine_error, "libcurl could not create a handle", 0};
}

// Turns a failed transfer into an error a user can act on. The OS error says
// more than libcurl's text ("No such file or directory" vs "Permission
// denied"), and libcurl's own detail would name a meaningless "port 80".
runtime_error transport_error(CURL* handle, CURLcode rc,
                              const std::string& socket_path) {
  long os_errno = 0;
  curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno);
  return transport_failure(curl_easy_strerror(rc), static_cast<int>(os_errno),
                           rc == CURLE_OPERATION_TIMEDOUT, socket_path);
}

} // namespace

runtime_error transport_failure(std::string reason, int os_errno, bool timed_out,
                                const std::string& socket_path) {
  if (os_errno != 0)
    reason += " (" + std::error_code(os_errno, std::generic_category()).message() + ")";
  // corral could not even open the socket: its own trouble, said as such,
  // never held against the daemon.
  if (is_local_errno(os_errno))
    return {runtime_errc::local_resources,
            "corral could not call the Docker daemon at " + socket_path
              + ": it is out of resources itself: " + reason,
            0};
  if (timed_out)
    return {runtime_errc::timeout,
            "the Docker daemon at " + socket_path
              + " did not answer in time: " + reason,
            0};
  std::string hint = os_errno == EACCES
                       ? " — may this user use it (group docker)?"
                       : " — is dockerd running?";
  return {runtime_errc::daemon_unreachable,
          "cannot reach the Docker daemon at " + socket_path + ": " + reason
            + hint,
          0};
}

namespace {

// An answer the engine gave but corral did not want, with the engine's text.
runtime_error refused(const reply& answer, runtime_errc code,
                      const std::string& what) {
  return {code, what + ": " + docker::error_message(answer.body),
          static_cast<int>(answer.status)};
}

runtime_error image_missing(const std::string& image, int http_status) {
  return {runtime_errc::image_missing,
          "image \"" + image
            + "\" is not present locally: build it (scripts/build-images); "
              "corral never pulls",
          http_status};
}

runtime_error invalid_name(std::string_view what, const std::string& name) {
  return {runtime_errc::engine_error,
          "invalid " + std::string{what} + " \"" + name
            + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
          0};
}

// The outcome of a call whose answer carries no data: `done` lists the
// statuses that mean the goal state holds (the engine answers 304 for a
// start of a running container, 404 for a removal of a missing one, ...);
// otherwise 404 is not_found, 409 is `on_conflict`, the rest engine_error.
result<void> settle(const result<reply>& answer, std::initializer_list<long> done,
                    const std::string& what,
                    runtime_errc on_conflict = runtime_errc::engine_error) {
  if (!answer)
    return answer.error();
  for (auto status : done)
    if (answer->status == status)
      return {};
  switch (answer->status) {
    case 404:
      return refused(*answer, runtime_errc::not_found, what);
    case 409:
      return refused(*answer, on_conflict, what);
    default:
      return refused(*answer, runtime_errc::engine_error, what);
  }
}

// One blocking request and its answer. Any HTTP status is a value here; the
// caller decides which ones are errors.
result<reply> perform(const std::string& socket_path,
                      const docker_timeouts& timeouts, verb method,
                      std::string_view path, std::chrono::milliseconds total,
                      std::string_view json_body = {}) {
  auto handle = new_handle(socket_path, timeouts.connect);
  if (!handle)
    return no_handle();
  auto* h = handle.get();
  std::string url{base_url};
  url.append(path);
  reply answer;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
  slist_ptr headers;
  switch (method) {
    case verb::get:
      break;
    case verb::post: {
      // The engine rejects bodies of any other type with 400; "Expect:" stops
      // libcurl from waiting for a 100 Continue on large bodies.
      auto* list = curl_slist_append(nullptr, "Content-Type: application/json");
      headers.reset(list);
      if (list == nullptr || curl_slist_append(list, "Expect:") == nullptr)
        return no_handle();
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(json_body.size()));
      break;
    }
    case verb::del:
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }
  if (auto rc = curl_easy_perform(h); rc != CURLE_OK)
    return transport_error(h, rc, socket_path);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

// What the events stream's callbacks fill in; read by the polling loop, which
// calls the user's callbacks outside of libcurl's.
struct event_stream {
  std::string buffer;
  bool headers_done = false;
};

size_t on_stream_data(char* data, size_t size, size_t count, void* user) {
  static_cast<event_stream*>(user)->buffer.append(data, size * count);
  return size * count;
}

size_t on_stream_header(char* data, size_t size, size_t count, void* user) {
  // The blank line ends the header block: the status is final from here on.
  std::string_view line{data, size * count};
  if (line == "\r\n" || line == "\n")
    static_cast<event_stream*>(user)->headers_done = true;
  return size * count;
}

// Hands every complete line in the buffer to on_event and keeps the rest.
result<void>
dispatch_lines(event_stream& stream,
               const std::function<void(const runtime_event&)>& on_event) {
  return docker::take_event_lines(stream.buffer, [&](const result<runtime_event>& event) {
    if (!event) {
      // One odd line must not cost the whole stream: the next resync heals
      // whatever this event would have told.
      log::warn(log_component, "skipping an event", {{"error", event.error().message}});
      return;
    }
    if (on_event)
      on_event(*event);
  });
}

} // namespace

docker_runtime::docker_runtime(std::string socket_path,
                               docker_timeouts timeouts)
  : socket_path_(std::move(socket_path)), timeouts_(timeouts) {
  init_curl_once();
}

result<void> docker_runtime::ping() {
  auto answer = perform(socket_path_, timeouts_, verb::get, "/_ping",
                        timeouts_.call);
  if (!answer)
    return answer.error();
  if (answer->status != 200)
    return refused(*answer, runtime_errc::engine_error,
                   "the Docker daemon at " + socket_path_
                     + " answered its ping with HTTP "
                     + std::to_string(answer->status));
  return {};
}

result<std::string> docker_runtime::image_id(const std::string& image) {
  if (!docker::is_valid_image_reference(image))
    return invalid_name("image reference", image);
  auto answer = perform(socket_path_, timeouts_, verb::get,
                        "/images/" + image + "/json", timeouts_.call);
  if (!answer)
    return answer.error();
  if (answer->status == 404)
    return image_missing(image, 404);
  if (answer->status != 200)
    return refused(*answer, runtime_errc::engine_error,
                   "cannot inspect image \"" + image + "\"");
  return docker::parse_image_id(answer->body);
}

result<std::string> docker_runtime::create(const container_spec& spec) {
  if (!docker::is_valid_object_name(spec.name))
    return invalid_name("container name", spec.name);
  auto body = docker::create_body(spec);
  auto answer = perform(socket_path_, timeouts_, verb::post,
                        "/containers/create?name="
                          + docker::url_encode(spec.name),
                        timeouts_.call, body);
  if (!answer)
    return answer.error();
  switch (answer->status) {
    case 201:
      return docker::parse_created_id(answer->body);
    case 404:
      // The engine never pulls on create: a 404 here is the missing image.
      return image_missing(spec.image, 404);
    case 409:
      return refused(*answer, runtime_errc::name_conflict,
                     "container name \"" + spec.name + "\" is already in use");
    default:
      return refused(*answer, runtime_errc::engine_error,
                     "cannot create container \"" + spec.name + "\"");
  }
}

result<void> docker_runtime::start(const std::string& id) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  // 304: running already.
  return settle(perform(socket_path_, timeouts_, verb::post,
                        "/containers/" + id + "/start", timeouts_.call),
                {204, 304}, "cannot start container \"" + id + "\"");
}

result<void> docker_runtime::stop(const std::string& id,
                                  std::chrono::seconds timeout) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  // The engine answers once the container exited: allow for the full grace
  // period plus the SIGKILL that follows it. 304: not running.
  auto total = std::chrono::duration_cast<std::chrono::milliseconds>(timeout)
               + timeouts_.stop_margin;
  return settle(perform(socket_path_, timeouts_, verb::post,
                        "/containers/" + id + "/stop?t="
                          + std::to_string(timeout.count()),
                        total),
                {204, 304}, "cannot stop container \"" + id + "\"");
}

result<void> docker_runtime::kill(const std::string& id,
                                  const std::string& signal) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  // 409: not running, nothing left to signal.
  return settle(perform(socket_path_, timeouts_, verb::post,
                        "/containers/" + id + "/kill?signal="
                          + docker::url_encode(signal),
                        timeouts_.call),
                {204, 409}, "cannot kill container \"" + id + "\"");
}

result<void> docker_runtime::remove(const std::string& id, bool force) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  // v=false: the pool's named volume outlives every container by design.
  // 404: gone already.
  return settle(perform(socket_path_, timeouts_, verb::del,
                        "/containers/" + id + "?v=false&force="
                          + (force ? "true" : "false"),
                        timeouts_.call),
                {204, 404}, "cannot remove container \"" + id + "\"");
}

result<void> docker_runtime::rename(const std::string& id,
                                    const std::string& new_name) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  if (!docker::is_valid_object_name(new_name))
    return invalid_name("container name", new_name);
  return settle(perform(socket_path_, timeouts_, verb::post,
                        "/containers/" + id + "/rename?name="
                          + docker::url_encode(new_name),
                        timeouts_.call),
                {204}, "cannot rename container \"" + id + "\" to \"" + new_name + "\"",
                runtime_errc::name_conflict);
}

result<container_info> docker_runtime::inspect(const std::string& id) {
  if (!docker::is_valid_object_name(id))
    return invalid_name("container reference", id);
  auto answer = perform(socket_path_, timeouts_, verb::get,
                        "/containers/" + id + "/json", timeouts_.call);
  if (!answer)
    return answer.error();
  switch (answer->status) {
    case 200:
      return docker::parse_inspect(answer->body);
    case 404:
      return refused(*answer, runtime_errc::not_found,
                     "cannot inspect container \"" + id + "\"");
    default:
      return refused(*answer, runtime_errc::engine_error,
                     "cannot inspect container \"" + id + "\"");
  }
}

result<std::vector<container_info>>
docker_runtime::list(const std::map<std::string, std::string>& labels) {
  std::string path = "/containers/json?all=1";
  if (!labels.empty())
    path += "&filters=" + docker::url_encode(docker::label_filters(labels));
  auto answer = perform(socket_path_, timeouts_, verb::get, path,
                        timeouts_.call);
  if (!answer)
    return answer.error();
  if (answer->status != 200)
    return refused(*answer, runtime_errc::engine_error,
                   "cannot list containers");
  return docker::parse_list(answer->body);
}

result<void> docker_runtime::remove_volume(const std::string& name) {
  if (!docker::is_valid_object_name(name))
    return invalid_name("volume name", name);
  // 404: gone already. 409 (used, even by a stopped container) is an error.
  return settle(perform(socket_path_, timeouts_, verb::del, "/volumes/" + name,
                        timeouts_.call),
                {204, 404}, "cannot remove volume \"" + name + "\"");
}

result<void> docker_runtime::watch_events(
  const std::map<std::string, std::string>& labels,
  const std::function<void()>& on_connected,
  const std::function<void(const runtime_event&)>& on_event,
  const std::atomic<bool>& stop) {
  auto handle = new_handle(socket_path_, timeouts_.connect);
  if (!handle)
    return no_handle();
  auto* h = handle.get();
  auto url = std::string{base_url} + "/events?filters="
             + docker::url_encode(docker::event_filters(labels));
  event_stream stream;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &stream);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_stream_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &stream);
  // No CURLOPT_TIMEOUT: the stream is meant to stay open for good, and the
  // engine sends nothing while no container changes.
  CURLM* multi = curl_multi_init();
  if (multi == nullptr)
    return no_handle();
  curl_multi_add_handle(multi, h);
  multi_guard guard{multi, h};

  auto cancelled = [] {
    return runtime_error{runtime_errc::cancelled,
                         "watching events was cancelled", 0};
  };
  bool connected = false;
  int running = 1;
  for (;;) {
    if (stop.load())
      return cancelled();
    if (auto mc = curl_multi_perform(multi, &running); mc != CURLM_OK)
      return runtime_error{runtime_errc::protocol_error,
                           std::string{"libcurl failed on the event stream: "}
                             + curl_multi_strerror(mc),
                           0};
    if (!connected && stream.headers_done) {
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      // Any other status carries an error body: read it to the end below.
      if (status == 200) {
        connected = true;
        if (on_connected)
          on_connected();
        // on_connected may cancel the stream (event_feed does when its
        // resync list fails). Lines that came in with the headers are in the
        // buffer already: none of them may reach on_event after that.
        if (stop.load())
          return cancelled();
      }
    }
    if (connected)
      if (auto ok = dispatch_lines(stream, on_event); !ok)
        return ok;
    if (running == 0)
      break;
    curl_multi_poll(multi, nullptr, 0,
                    static_cast<int>(event_poll_interval.count()), nullptr);
  }

  CURLcode rc = CURLE_OK;
  int queued = 0;
  while (auto* msg = curl_multi_info_read(multi, &queued))
    if (msg->msg == CURLMSG_DONE)
      rc = msg->data.result;
  if (!connected) {
    if (rc != CURLE_OK)
      return transport_error(h, rc, socket_path_);
    reply answer;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
    answer.body = std::move(stream.buffer);
    return refused(answer, runtime_errc::engine_error,
                   "the Docker daemon refused the event stream");
  }
  // A healthy stream never ends: the daemon stopped or dropped us.
  std::string reason = rc == CURLE_OK ? "the daemon closed it"
                                      : curl_easy_strerror(rc);
  return runtime_error{runtime_errc::daemon_unreachable,
                       "lost the event stream of the Docker daemon at "
                         + socket_path_ + ": " + reason,
                       0};
}

} // namespace corral
