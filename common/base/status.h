// Status: the outcome of an operation, as LevelDB's leveldb::Status.
//
// An OK status carries no allocation and is cheap to copy; a failed one holds
// a code and a human-readable message. Functions that can fail return a
// Status (or a Result<T>, see result.h); nothing on a data path throws.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace confab {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // the caller passed something malformed
    kCorruption,          // bad frame, bad protobuf, bad file contents
    kAuthFailed,          // AEAD tag, signature, certificate or pin mismatch
    kNotFound,            // the named thing does not exist
    kIoError,             // the operating system said no
    kResourceExhausted,   // a limit was hit, or backpressure
    kUnavailable,         // try again later (peer offline, port busy)
    kFailedPrecondition,  // called in the wrong state
    kClosed,              // the other side or this side closed
    kPermissionDenied,    // refused by policy (file mode, revocation, block list)
  };

  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return {Code::kInvalidArgument, msg}; }
  static Status Corruption(std::string_view msg) { return {Code::kCorruption, msg}; }
  static Status AuthFailed(std::string_view msg) { return {Code::kAuthFailed, msg}; }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status IoError(std::string_view msg) { return {Code::kIoError, msg}; }
  static Status ResourceExhausted(std::string_view msg) { return {Code::kResourceExhausted, msg}; }
  static Status Unavailable(std::string_view msg) { return {Code::kUnavailable, msg}; }
  static Status FailedPrecondition(std::string_view msg) {
    return {Code::kFailedPrecondition, msg};
  }
  static Status Closed(std::string_view msg) { return {Code::kClosed, msg}; }
  static Status PermissionDenied(std::string_view msg) { return {Code::kPermissionDenied, msg}; }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  // The message alone; empty when OK.
  std::string_view message() const { return state_ ? std::string_view(state_->message) : ""; }
  // "Corruption: frame of 70000 bytes exceeds the limit", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status WithContext(std::string_view context) const;

  static std::string_view CodeName(Code code);

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg)
      : state_(std::make_shared<const State>(State{code, std::string(msg)})) {}

  // Shared and immutable: copying a failed Status costs one refcount.
  std::shared_ptr<const State> state_;
};

// Returns early from the enclosing function when `expr` is not OK.
#define CONFAB_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::confab::Status confab_status_ = (expr); \
    if (!confab_status_.ok())                 \
      return confab_status_;                  \
  } while (0)

}  // namespace confab
