// Status and Result<T>: the one error mechanism across stages. Messages say what and where;
// context is prepended on the way up ("node 'conv_3' (Conv): input 1 ...").
#pragma once

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

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Status status) : state_(std::move(status)) {}

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status ok_status;
    return is_ok() ? ok_status : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
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
