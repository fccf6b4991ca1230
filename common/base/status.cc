#include "common/base/status.h"

namespace confab {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "Invalid argument";
    case Code::kCorruption:
      return "Corruption";
    case Code::kAuthFailed:
      return "Authentication failed";
    case Code::kNotFound:
      return "Not found";
    case Code::kIoError:
      return "IO error";
    case Code::kResourceExhausted:
      return "Resource exhausted";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kFailedPrecondition:
      return "Failed precondition";
    case Code::kClosed:
      return "Closed";
    case Code::kPermissionDenied:
      return "Permission denied";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok())
    return "OK";
  std::string out(CodeName(state_->code));
  if (!state_->message.empty()) {
    out += ": ";
    out += state_->message;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok())
    return *this;
  std::string msg(context);
  msg += ": ";
  msg += state_->message;
  return Status(state_->code, msg);
}

}  // namespace confab
