// The seam between libuv's negative error numbers and confab's Status
// (STYLE.md A3). Nothing else in confab looks at a raw uv error code.
#pragma once

#include <string_view>

#include "common/base/status.h"

namespace confab::net {

// OK when rc >= 0. Otherwise "what: ECONNREFUSED (connection refused)" with a
// code chosen by what the caller can do about it:
//   Closed             UV_EOF, ECONNRESET, EPIPE, ECONNABORTED, ECANCELED
//   Unavailable        ECONNREFUSED, ETIMEDOUT, EADDRINUSE, EADDRNOTAVAIL,
//                      ENETUNREACH, EHOSTUNREACH, EAGAIN
//   InvalidArgument    EINVAL, EAFNOSUPPORT
//   ResourceExhausted  ENOMEM, ENOBUFS, EMFILE, ENFILE
//   PermissionDenied   EACCES, EPERM
//   IoError            anything else
Status FromUv(int rc, std::string_view what);

}  // namespace confab::net
