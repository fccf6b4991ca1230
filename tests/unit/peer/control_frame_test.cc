#include "peer/control/control_frame.h"

#include <catch2/catch.hpp>

#include "proto/control.pb.h"

namespace confab::peer {
namespace {

TEST_CASE("A control frame round-trips split at every byte", "[peer][control]") {
  proto::Request request;
  request.mutable_send()->set_to("bob");
  request.mutable_send()->set_text("hi");
  auto frame = EncodeControlFrame(request);
  REQUIRE(frame.ok());
  for (size_t split = 0; split <= frame->size(); ++split) {
    ControlFrameReader reader;
    REQUIRE(reader.Feed(ByteView(frame->data(), split)).ok());
    if (split < frame->size()) {
      CHECK_FALSE(reader.Take().has_value());
      REQUIRE(reader.Feed(ByteView(frame->data() + split, frame->size() - split)).ok());
    }
    auto message = reader.Take();
    REQUIRE(message.has_value());
    proto::Request parsed;
    REQUIRE(parsed.ParseFromArray(message->data(), static_cast<int>(message->size())));
    CHECK(parsed.send().to() == "bob");
    CHECK_FALSE(reader.Take().has_value());
  }
}

TEST_CASE("A control frame announcing more than 1 MiB is refused", "[peer][control][error]") {
  ControlFrameReader reader;
  const uint8_t header[] = {0x00, 0x10, 0x00, 0x01};  // 1 MiB + 1
  CHECK(reader.Feed(header).code() == Status::Code::kResourceExhausted);
  CHECK_FALSE(reader.Take().has_value());
}

TEST_CASE("An empty message is a valid frame of four zero bytes", "[peer][control]") {
  proto::Request empty;
  auto frame = EncodeControlFrame(empty);
  REQUIRE(frame.ok());
  CHECK(*frame == Bytes{0, 0, 0, 0});
}

}  // namespace
}  // namespace confab::peer
