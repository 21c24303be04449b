// The integration-test harness: corral as a child process, the shared client for HTTP,
// docker_runtime for looking at and cleaning up the daemon.
#include "tests/support/harness.hpp"

#include "runtime/docker_runtime.hpp"
#include "tests/support/docker_env.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

#ifndef CORRAL_BINARY
#  error "CORRAL_BINARY must name the corral executable"
#endif

namespace corral::test {

bool wait_until(std::chrono::milliseconds deadline, const std::function<bool()>& ok,
                std::chrono::milliseconds step) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (ok())
      return true;
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(step);
  }
}

// -- HTTP --------------------------------------------------------------------------

http_response http(const std::string& method, const std::string& url, const std::string& body,
                   const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  http_client client;
  return client.request(method, url, body, headers, timeout);
}

int64_t json_count(const std::string& body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_array() || value.as_array().size() != 1
      || !value.as_array()[0].is_int64())
    return -1;
  return value.as_array()[0].as_int64();
}

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

double metric_sum(const std::string& text, const std::string& name,
                  const std::vector<std::string>& labels) {
  double sum = 0;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0)
      continue;
    auto rest = line.substr(name.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' '))
      continue; // another family that starts with the same name
    auto space = rest.rfind(' ');
    auto label_text = rest.substr(0, space);
    bool all = true;
    for (auto& l : labels)
      all = all && label_text.find(l) != std::string::npos;
    if (all)
      sum += std::stod(rest.substr(space + 1));
  }
  return sum;
}

// -- load -----------------------------------------------------------------------------

namespace {

http::load_options load_shape(std::string url, unsigned threads, std::chrono::milliseconds pause) {
  http::load_options shape;
  shape.url = std::move(url);
  shape.threads = threads;
  shape.pause = pause; // pacing, not synchronisation
  return shape;
}

} // namespace

load_generator::load_generator(std::string url, unsigned threads,
                               std::chrono::milliseconds pause)
  : load_{load_shape(std::move(url), threads, pause)} {
  load_.start();
}

// -- Docker -----------------------------------------------------------------------------

namespace {

docker_runtime& daemon() {
  static docker_runtime runtime{docker_socket()};
  return runtime;
}

} // namespace

std::vector<container_info> pool_containers(const std::string& pool) {
  auto found = daemon().list({{labels::pool, pool}});
  return found ? *found : std::vector<container_info>{};
}

std::vector<std::string> running_names(const std::string& pool) {
  std::vector<std::string> names;
  for (auto& c : pool_containers(pool))
    if (c.status == container_status::running)
      names.push_back(c.name);
  std::sort(names.begin(), names.end());
  return names;
}

void remove_pool(const std::string& pool, const std::string& volume) {
  for (auto& c : pool_containers(pool))
    daemon().remove(c.id, true);
  if (!volume.empty())
    daemon().remove_volume(volume);
}

bool docker_kill(const std::string& name_or_id) {
  return static_cast<bool>(daemon().kill(name_or_id, "SIGKILL"));
}

double unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

int shell(const std::string& command) {
  auto status = std::system(command.c_str());
  return status < 0 ? -1 : WEXITSTATUS(status);
}

int pool_events_since(const std::string& pool, double since, const std::string& event) {
  char window[96];
  std::snprintf(window, sizeof window, "--since %.3f --until %.3f", since, unix_seconds());
  auto command = "docker events " + std::string{window} + " --filter label=corral.pool=" + pool
                 + " --filter type=container --filter event=" + event
                 + " --format '{{.ID}}' 2>/dev/null";
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return -1;
  int lines = 0;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr)
    ++lines;
  return ::pclose(pipe) == 0 ? lines : -1;
}

// -- corral ------------------------------------------------------------------------------

std::string test_config(const std::string& pool, const test_ports& ports,
                        const std::string& pool_extra, const std::string& extra) {
  std::ostringstream out;
  out << "[proxy]\nlisten = \"127.0.0.1:" << ports.proxy << "\"\n"
      << "[admin]\nlisten = \"127.0.0.1:" << ports.admin << "\"\n"
      << "[pool]\nname = \"" << pool << "\"\nimage = \"acts:latest\"\n"
      << "start_port = " << ports.pool_start << "\nvolume = \"" << pool << "-data\"\n"
      << "stop_timeout = \"2s\"\n"
      << pool_extra << "\n"
      << "[docker]\nsocket = \"" << docker_socket() << "\"\n"
      << extra << "\n";
  return out.str();
}

corral_process::corral_process(std::string pool, std::string toml, test_ports ports,
                               std::string volume, std::string instance)
  : pool_(std::move(pool)), volume_(std::move(volume)), ports_(ports) {
  if (volume_.empty())
    volume_ = pool_ + "-data";
  auto stem = std::string{"/tmp/corral-test-"} + pool_ + (instance.empty() ? "" : "-" + instance);
  config_path_ = stem + ".toml";
  log_path_ = stem + ".log";
  std::ofstream{config_path_} << toml;
  std::ofstream{log_path_, std::ios::trunc};
}

corral_process::~corral_process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  remove_pool(pool_, volume_);
  std::remove(config_path_.c_str());
}

bool corral_process::start(std::chrono::milliseconds deadline, std::vector<std::string> args) {
  exit_status_ = -1;
  std::vector<std::string> argv_text{CORRAL_BINARY, "--config", config_path_};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // A test that crashes or times out must not leave corral, and its pool's
    // containers on fixed ports, behind: when the test dies, corral gets
    // SIGTERM and removes its pool as on any stop. (The signal follows the
    // forking thread: tests start corral from their main thread.)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      std::_Exit(127); // the test died before the line above
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    // corral outlives nothing of the test's: a lock or pipe the test holds
    // must not stay held by it.
    ::close_range(3, ~0U, 0);
    if (open_files_ > 0) {
      rlimit limit{open_files_, open_files_};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::execv(CORRAL_BINARY, argv.data());
    std::_Exit(127);
  }
  return wait_until(deadline, [this] {
    if (!running())
      return true; // exited: no point waiting
    return http("GET", ports_.admin_url("/healthz"), {}, {}, 1s).status == 200;
  }) && running();
}

bool corral_process::running() {
  if (pid_ <= 0 || exit_status_ >= 0)
    return false;
  int status = 0;
  auto rc = ::waitpid(pid_, &status, WNOHANG);
  if (rc == 0)
    return true;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

void corral_process::kill9() {
  if (!running())
    return;
  ::kill(pid_, SIGKILL);
  wait_exit(10s);
}

void corral_process::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

void corral_process::rewrite_config(const std::string& toml) {
  // Written whole, then renamed: a reload never reads half a file.
  auto next = config_path_ + ".next";
  std::ofstream{next} << toml;
  std::rename(next.c_str(), config_path_.c_str());
}

int corral_process::wait_exit(std::chrono::milliseconds deadline) {
  if (!wait_until(deadline, [this] { return !running(); }, 10ms))
    return -1;
  return exit_status_;
}

int corral_process::stop(std::chrono::milliseconds deadline) {
  if (!running())
    return exit_status_;
  ::kill(pid_, SIGTERM);
  auto status = wait_exit(deadline);
  if (status < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  return status;
}

std::string corral_process::log() const {
  std::ifstream in{log_path_};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

boost::json::value corral_process::status() {
  auto answer = http("GET", ports_.admin_url("/status"), {}, {}, 2s);
  if (answer.status != 200)
    return nullptr;
  boost::system::error_code ec;
  auto value = boost::json::parse(answer.body, ec);
  return ec ? boost::json::value{} : value;
}

std::string corral_process::metrics() {
  auto answer = http("GET", ports_.admin_url("/metrics"), {}, {}, 2s);
  return answer.status == 200 ? answer.body : std::string{};
}

std::vector<slot_view> corral_process::slots() {
  auto answer = http("GET", ports_.admin_url("/status"), {}, {}, 2s);
  if (answer.status != 200)
    return {};
  auto view = admin::parse_status(answer.body);
  if (!view) {
    // Schema drift: every wait on the slots would only time out, so say why,
    // once per test process (ctest runs each test in its own).
    static bool reported = false;
    if (!std::exchange(reported, true))
      ADD_FAILURE() << "GET /status answered a document the shared parser "
                       "(tools/common/admin_status) does not read: "
                    << answer.body.substr(0, 300);
    return {};
  }
  return std::move(view->slots);
}

std::vector<uint16_t> corral_process::ready_ports() {
  std::vector<uint16_t> ports;
  for (auto& s : slots())
    if (s.state == "ready")
      ports.push_back(s.port);
  return ports;
}

std::string corral_process::container_on(uint16_t port) {
  for (auto& s : slots())
    if (s.port == port)
      return s.container;
  return {};
}

bool corral_process::wait_pool(const std::vector<uint16_t>& ports,
                               std::chrono::milliseconds deadline) {
  return wait_until(deadline, [&] {
    auto all = slots();
    if (all.size() != ports.size())
      return false;
    for (size_t i = 0; i < ports.size(); ++i)
      if (all[i].port != ports[i] || all[i].state != "ready")
        return false;
    return true;
  });
}

} // namespace corral::test
