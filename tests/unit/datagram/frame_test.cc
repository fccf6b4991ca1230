#include "common/datagram/frame.h"

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

TEST_CASE("Frames round-trip through FrameWriter and ParseFrames", "[datagram][frame]") {
  Bytes buf(1200);
  FrameWriter w(buf);
  RangeSet received;
  received.Add(0, 10);
  received.Add(12, 13);
  received.Add(20, 40);
  REQUIRE(w.AddAck(received, 1234));
  REQUIRE(w.AddStream(1, 99, AsBytes("data")));
  REQUIRE(w.AddMaxStreamData(0, 1 << 20));
  REQUIRE(w.AddPing());
  REQUIRE(w.AddClose("bye"));
  auto frames = ParseFrames(ByteView(buf.data(), w.size()));
  REQUIRE(frames.ok());
  REQUIRE(frames->size() == 5);
  const auto& ack = std::get<AckFrame>((*frames)[0]);
  CHECK(ack.delay_us == 1234);
  REQUIRE(ack.ranges.size() == 3);
  CHECK(ack.ranges[0] == Range{20, 40});
  CHECK(ack.ranges[1] == Range{12, 13});
  CHECK(ack.ranges[2] == Range{0, 10});
  const auto& s = std::get<StreamFrame>((*frames)[1]);
  CHECK(s.stream == 1);
  CHECK(s.offset == 99);
  CHECK(AsChars(s.data) == "data");
  CHECK(std::get<MaxStreamDataFrame>((*frames)[2]).max_offset == 1 << 20);
  CHECK(std::holds_alternative<PingFrame>((*frames)[3]));
  CHECK(std::get<CloseFrame>((*frames)[4]).reason == "bye");
}

TEST_CASE("An ACK frame carries at most the highest 32 ranges", "[datagram][frame]") {
  RangeSet received;
  for (uint64_t i = 0; i < 100; ++i)
    received.Add(i * 3, i * 3 + 1);
  Bytes buf(1200);
  FrameWriter w(buf);
  REQUIRE(w.AddAck(received, 0));
  auto frames = ParseFrames(ByteView(buf.data(), w.size()));
  REQUIRE(frames.ok());
  const auto& ack = std::get<AckFrame>((*frames)[0]);
  REQUIRE(ack.ranges.size() == kMaxAckRangesPerFrame);
  CHECK(ack.ranges.front() == Range{297, 298});
  CHECK(ack.ranges.back() == Range{204, 205});
}

TEST_CASE("FrameWriter writes nothing for a frame that does not fit", "[datagram][frame]") {
  Bytes buf(12);
  FrameWriter w(buf);
  CHECK_FALSE(w.AddStream(0, 0, AsBytes("x")));  // 12-byte header + 1
  CHECK(w.size() == 0);
  CHECK(w.StreamRoom() == 0);
  CHECK(w.AddMaxStreamData(0, 1));
  CHECK_FALSE(w.AddMaxStreamData(0, 1));
  CHECK(w.size() == kMaxStreamDataFrameBytes);
  RangeSet empty;
  CHECK_FALSE(w.AddAck(empty, 0));
}

// Every error path of ParseFrames.
TEST_CASE("ParseFrames rejects malformed payloads", "[datagram][frame][error]") {
  auto parse = [](std::initializer_list<uint8_t> bytes) {
    Bytes b(bytes);
    return ParseFrames(b).status();
  };
  CHECK(parse({0x09}).code() == Status::Code::kCorruption);        // unknown type
  CHECK(parse({0x02, 0, 0}).code() == Status::Code::kCorruption);  // truncated ACK
  // ACK: largest 1, first range 2 would go below zero.
  CHECK(parse({0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2}).code() ==
        Status::Code::kCorruption);
  // ACK: largest 5, first 0, one more range with gap 4: below zero.
  CHECK(parse({0x02, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0})
            .code() == Status::Code::kCorruption);
  // STREAM for stream 4 (only 0..3 exist).
  CHECK(parse({0x03, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).code() == Status::Code::kCorruption);
  // STREAM announcing 5 bytes, carrying 1.
  CHECK(parse({0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'x'}).code() == Status::Code::kCorruption);
  // STREAM whose end overflows 64 bits.
  CHECK(parse({0x03, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 2, 'x', 'y'}).code() ==
        Status::Code::kCorruption);
  CHECK(parse({0x04, 7, 0, 0, 0, 0, 0, 0, 0, 1}).code() == Status::Code::kCorruption);
  CHECK(parse({0x04, 0, 0}).code() == Status::Code::kCorruption);
  CHECK(parse({0x05, 0, 9, 'a'}).code() == Status::Code::kCorruption);
  CHECK(ParseFrames({}).ok());  // an empty payload is just empty
}

TEST_CASE("PADDING frames are skipped and a padded PING is one PING", "[datagram][frame]") {
  Bytes buf(1400);
  FrameWriter w(buf);
  REQUIRE(w.AddPing());
  REQUIRE(w.AddPadding(buf.size() - 1));
  CHECK(w.remaining() == 0);
  CHECK_FALSE(w.AddPadding(1));  // nothing written when it does not fit
  CHECK(w.size() == buf.size());
  auto frames = ParseFrames(ByteView(buf.data(), w.size()));
  REQUIRE(frames.ok());
  REQUIRE(frames->size() == 1);
  CHECK(std::holds_alternative<PingFrame>(frames->front()));
  // Padding alone is a valid, empty payload (not ack-eliciting).
  const Bytes zeros(10, 0);
  auto none = ParseFrames(zeros);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

}  // namespace
}  // namespace confab::datagram
