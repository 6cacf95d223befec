// Status and Result<T>: the one error mechanism across stages. Messages say what and where;
// context is prepended on the way up ("node 'conv_3' (Conv): input 1 ...").
#pragma once

#include <cassert>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tessera {

enum class StatusCode {
  ok = 0,
  invalid_argument,  // bad feed, bad option, bad call
  invalid_model,     // malformed or inconsistent model
  not_implemented,   // valid ONNX that Tessera does not support yet
  io_error,          // file missing or unreadable
  runtime_error,     // failure while computing
  cancelled,         // a run stopped by its RunOptions::terminate flag
  deadline_exceeded, // a run stopped at its RunOptions::deadline
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns this status with "context: " in front of the message; ok stays ok.
  Status with_context(std::string_view context) const {
    if (is_ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

// Concatenates any streamable values into one string: str_cat("node '", name, "' has ", n, " inputs").
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <class... Args>
Status invalid_argument(const Args&... args) { return Status(StatusCode::invalid_argument, str_cat(args...)); }
template <class... Args>
Status invalid_model(const Args&... args) { return Status(StatusCode::invalid_model, str_cat(args...)); }
template <class... Args>
Status not_implemented(const Args&... args) { return Status(StatusCode::not_implemented, str_cat(args...)); }
template <class... Args>
Status io_error(const Args&... args) { return Status(StatusCode::io_error, str_cat(args...)); }
template <class... Args>
Status runtime_error(const Args&... args) { return Status(StatusCode::runtime_error, str_cat(args...)); }

// A value or the Status saying why there is none. Nothing here throws: value(), * and -> require
// is_ok() (check it first, or use value_or); calling them on an error is a programming error,
// caught by an assert in debug builds.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {
    assert(!std::get_if<1>(&state_)->is_ok() && "a Result holding no value needs an error status");
  }

  bool is_ok() const { return state_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  // The error, or an ok Status when there is a value.
  const Status& status() const& {
    static const Status ok_status;
    const Status* error = std::get_if<1>(&state_);
    return error ? *error : ok_status;
  }
  Status status() && {
    Status* error = std::get_if<1>(&state_);
    return error ? std::move(*error) : Status();
  }

  T& value() & { return *checked(); }
  const T& value() const& { return *checked(); }
  T&& value() && { return std::move(*checked()); }
  T value_or(T fallback) const& { return is_ok() ? *checked() : std::move(fallback); }
  T value_or(T fallback) && { return is_ok() ? std::move(*checked()) : std::move(fallback); }

  T* operator->() { return checked(); }
  const T* operator->() const { return checked(); }
  T& operator*() & { return *checked(); }
  const T& operator*() const& { return *checked(); }
  T&& operator*() && { return std::move(*checked()); }

 private:
  T* checked() {
    assert(is_ok() && "Result accessed without a value; check is_ok() first");
    return std::get_if<0>(&state_);
  }
  const T* checked() const {
    assert(is_ok() && "Result accessed without a value; check is_ok() first");
    return std::get_if<0>(&state_);
  }

  std::variant<T, Status> state_;
};

}  // namespace tessera

#define TS_CONCAT_INNER(a, b) a##b
#define TS_CONCAT(a, b) TS_CONCAT_INNER(a, b)

#define TS_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::tessera::Status ts_status_ = (expr);        \
    if (!ts_status_.is_ok()) return ts_status_;   \
  } while (0)

#define TS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

// TS_ASSIGN_OR_RETURN(auto x, make_x()); returns the error status from the enclosing function.
#define TS_ASSIGN_OR_RETURN(lhs, expr) TS_ASSIGN_OR_RETURN_IMPL(TS_CONCAT(ts_result_, __COUNTER__), lhs, expr)
