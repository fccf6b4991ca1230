#include "common/wire/frame.h"

#include <catch2/catch.hpp>

namespace confab::wire {
namespace {

TEST_CASE("EncodeFrame writes a big-endian length then the payload", "[wire][frame]") {
  Result<Bytes> frame = EncodeFrame(AsBytes("abc"));
  REQUIRE(frame.ok());
  CHECK(*frame == Bytes{0x00, 0x03, 'a', 'b', 'c'});

  Bytes big(0x1234, 0x5a);
  Result<Bytes> framed = EncodeFrame(big);
  REQUIRE(framed.ok());
  REQUIRE(framed->size() == 2 + big.size());
  CHECK((*framed)[0] == 0x12);
  CHECK((*framed)[1] == 0x34);
}

TEST_CASE("EncodeFrame accepts exactly the maximum and refuses one more", "[wire][frame][error]") {
  Bytes max(kMaxFramePayloadBytes, 1);
  Result<Bytes> ok = EncodeFrame(max);
  REQUIRE(ok.ok());
  CHECK((*ok)[0] == 0xff);
  CHECK((*ok)[1] == 0xff);

  Bytes over(kMaxFramePayloadBytes + 1, 1);
  Result<Bytes> refused = EncodeFrame(over);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("EncodeFrame honours a smaller configured limit", "[wire][frame][error]") {
  CHECK(EncodeFrame(Bytes(100, 0), 100).ok());
  Result<Bytes> refused = EncodeFrame(Bytes(101, 0), 100);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  // A limit above what the header can express is clamped, not trusted.
  CHECK_FALSE(EncodeFrame(Bytes(70000, 0), 100000).ok());
}

TEST_CASE("EncodeFrame refuses a zero-length frame", "[wire][frame][error]") {
  Result<Bytes> refused = EncodeFrame(ByteView());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("AppendFrame batches frames and leaves the buffer alone on error", "[wire][frame]") {
  Bytes out;
  REQUIRE(AppendFrame(AsBytes("hi"), &out).ok());
  REQUIRE(AppendFrame(AsBytes("there"), &out).ok());
  CHECK(out == Bytes{0, 2, 'h', 'i', 0, 5, 't', 'h', 'e', 'r', 'e'});
  const Bytes before = out;
  CHECK_FALSE(AppendFrame(ByteView(), &out).ok());
  CHECK_FALSE(AppendFrame(Bytes(10, 0), &out, 9).ok());
  CHECK(out == before);
}

}  // namespace
}  // namespace confab::wire
