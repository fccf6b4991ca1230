#include "common/net/uv_status.h"

#include <string>

#include <catch2/catch.hpp>
#include <uv.h>

namespace confab::net {
namespace {

TEST_CASE("FromUv is OK for non-negative results", "[net][status]") {
  CHECK(FromUv(0, "x").ok());
  CHECK(FromUv(42, "x").ok());
}

TEST_CASE("FromUv names the error and picks a code by what the caller can do",
          "[net][status][error]") {
  const Status refused = FromUv(UV_ECONNREFUSED, "connect to 127.0.0.1:1");
  CHECK(refused.code() == Status::Code::kUnavailable);
  CHECK(std::string(refused.message()).find("connect to 127.0.0.1:1: ECONNREFUSED (") == 0);

  CHECK(FromUv(UV_EOF, "read").code() == Status::Code::kClosed);
  CHECK(FromUv(UV_ECONNRESET, "read").code() == Status::Code::kClosed);
  CHECK(FromUv(UV_ECANCELED, "write").code() == Status::Code::kClosed);
  CHECK(FromUv(UV_EADDRINUSE, "listen").code() == Status::Code::kUnavailable);
  CHECK(FromUv(UV_EINVAL, "x").code() == Status::Code::kInvalidArgument);
  CHECK(FromUv(UV_EMFILE, "accept").code() == Status::Code::kResourceExhausted);
  CHECK(FromUv(UV_EACCES, "bind").code() == Status::Code::kPermissionDenied);
  CHECK(FromUv(UV_EIO, "x").code() == Status::Code::kIoError);
}

}  // namespace
}  // namespace confab::net
