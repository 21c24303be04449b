// Errors as values for the runtime layer: result<T> holds a T or a runtime_error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace corral {

/// What went wrong when talking to the container engine. Each kind asks the
/// user for a different action, so callers branch on it, not on the text.
enum class runtime_errc : uint8_t {
  /// Nothing answers on the engine's socket (dockerd not running, wrong path).
  daemon_unreachable = 1,
  /// The image is not present locally; corral never pulls.
  image_missing,
  /// A container with that name exists already.
  name_conflict,
  /// The container (or volume) does not exist.
  not_found,
  /// The engine refused the request (4xx/5xx other than the cases above).
  engine_error,
  /// The engine answered something corral cannot parse.
  protocol_error,
  /// The engine did not answer in time.
  timeout,
  /// The operation was cancelled by corral itself (shutdown).
  cancelled,
  /// corral itself could not make the call (out of file descriptors,
  /// memory or local ports): neither the daemon nor a container is to blame.
  local_resources,
};

/// Renders an error kind as a short, stable identifier ("image_missing").
const char* to_string(runtime_errc code);

/// A runtime failure: its kind plus a message a user can act on.
struct runtime_error {
  runtime_errc code = runtime_errc::engine_error;
  std::string message;
  /// HTTP status of the engine's answer, 0 when there was none.
  int http_status = 0;
};

/// Either a value or a runtime_error. Small on purpose: the runtime layer must
/// not depend on CAF, and C++20 has no std::expected.
template <class T>
class result {
public:
  result(T value) : data_(std::move(value)) {}
  result(runtime_error err) : data_(std::move(err)) {}

  explicit operator bool() const noexcept { return data_.index() == 0; }
  bool has_value() const noexcept { return data_.index() == 0; }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const runtime_error& error() const { return std::get<1>(data_); }

private:
  std::variant<T, runtime_error> data_;
};

/// The result of an operation that yields nothing but may fail.
template <>
class result<void> {
public:
  result() = default;
  result(runtime_error err) : err_(std::move(err)), ok_(false) {}

  explicit operator bool() const noexcept { return ok_; }
  bool has_value() const noexcept { return ok_; }
  const runtime_error& error() const { return err_; }

private:
  runtime_error err_;
  bool ok_ = true;
};

} // namespace corral
