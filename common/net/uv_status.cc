#include "common/net/uv_status.h"

#include <string>

#include <uv.h>

namespace confab::net {
namespace {

Status::Code CodeFor(int rc) {
  switch (rc) {
    case UV_EOF:
    case UV_ECONNRESET:
    case UV_EPIPE:
    case UV_ECONNABORTED:
    case UV_ECANCELED:
      return Status::Code::kClosed;
    case UV_ECONNREFUSED:
    case UV_ETIMEDOUT:
    case UV_EADDRINUSE:
    case UV_EADDRNOTAVAIL:
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EAGAIN:
      return Status::Code::kUnavailable;
    case UV_EINVAL:
    case UV_EAFNOSUPPORT:
      return Status::Code::kInvalidArgument;
    case UV_ENOMEM:
    case UV_ENOBUFS:
    case UV_EMFILE:
    case UV_ENFILE:
      return Status::Code::kResourceExhausted;
    case UV_EACCES:
    case UV_EPERM:
      return Status::Code::kPermissionDenied;
    default:
      return Status::Code::kIoError;
  }
}

}  // namespace

Status FromUv(int rc, std::string_view what) {
  if (rc >= 0)
    return Status::Ok();
  std::string msg(what);
  msg += ": ";
  msg += uv_err_name(rc);
  msg += " (";
  msg += uv_strerror(rc);
  msg += ")";
  switch (CodeFor(rc)) {
    case Status::Code::kClosed:
      return Status::Closed(msg);
    case Status::Code::kUnavailable:
      return Status::Unavailable(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kResourceExhausted:
      return Status::ResourceExhausted(msg);
    case Status::Code::kPermissionDenied:
      return Status::PermissionDenied(msg);
    default:
      return Status::IoError(msg);
  }
}

}  // namespace confab::net
