// Status and Result<T>: how livepoll reports errors. No exception crosses a component boundary;
// a function that can fail returns a Status (or a Result<T> holding a value or a Status).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace livepoll {

class Status {
 public:
  // A closed set: callers switch on it, so a new code is a deliberate change.
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // the caller's input is wrong (unknown query, bad parameter, bad option)
    kNotFound,            // a named thing does not exist
    kMalformed,           // bytes from outside did not decode: count and drop, never fatal
    kUnavailable,         // a peer, database or endpoint cannot be reached now; retry may help
    kIncompatible,        // a plugin or peer speaks another version
    kTimeout,             // no answer within the deadline
    kFailedPrecondition,  // not allowed in this state or configuration (e.g. a disabled feature)
    kPermissionDenied,    // the peer did not prove it may (a refused token, a claim it lacks)
    kInternal,            // a bug or an unexpected failure
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Malformed(std::string m) { return {Code::kMalformed, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Incompatible(std::string m) { return {Code::kIncompatible, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid-argument: unknown query 'x'", or "ok".
  std::string ToString() const;
  static std::string_view CodeName(Code c);

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none. Holding an ok Status is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace livepoll
