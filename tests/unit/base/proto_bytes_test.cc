// common/base/proto_bytes.h: the one way messages become bytes and back.
#include "common/base/proto_bytes.h"

#include <catch2/catch.hpp>

#include "proto/tracker.pb.h"

namespace confab {
namespace {

proto::Endpoint Sample() {
  proto::Endpoint e;
  e.set_address("192.0.2.7");
  e.set_port(7651);
  e.set_udp(true);
  return e;
}

TEST_CASE("A message survives SerializeToBytes and ParseFromBytes unchanged", "[base][proto]") {
  const Bytes bytes = SerializeToBytes(Sample());
  CHECK(bytes.size() == Sample().ByteSizeLong());
  proto::Endpoint back;
  REQUIRE(ParseFromBytes(bytes, &back));
  CHECK(back.address() == "192.0.2.7");
  CHECK(back.port() == 7651);
  CHECK(back.udp());
}

TEST_CASE("AppendSerialized keeps what the buffer held before the message", "[base][proto]") {
  Bytes framed = {0x01, 0x02};
  AppendSerialized(Sample(), &framed);
  REQUIRE(framed.size() == 2 + Sample().ByteSizeLong());
  CHECK(framed[0] == 0x01);
  CHECK(framed[1] == 0x02);
  proto::Endpoint back;
  REQUIRE(ParseFromBytes(ByteView(framed).subspan(2), &back));
  CHECK(back.address() == "192.0.2.7");

  Bytes empty_message = {0x7f};
  AppendSerialized(proto::Endpoint{}, &empty_message);  // all defaults: no bytes
  CHECK(empty_message == Bytes{0x7f});
}

TEST_CASE("ParseFromBytes refuses malformed input", "[base][proto][error]") {
  proto::Endpoint e;
  const Bytes truncated = {0x0a, 0x10, 'x'};  // field 1, 16 bytes promised, 1 given
  CHECK_FALSE(ParseFromBytes(truncated, &e));
  const Bytes bad_wire_type = {0x0f};
  CHECK_FALSE(ParseFromBytes(bad_wire_type, &e));
  CHECK(ParseFromBytes(ByteView{}, &e));  // empty is the default message
}

}  // namespace
}  // namespace confab
