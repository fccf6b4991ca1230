#include <vector>

#include <catch2/catch.hpp>

#include "common/datagram/receive_stream.h"
#include "common/datagram/send_stream.h"

namespace confab::datagram {
namespace {

TEST_CASE("SendStream bounds its buffer and frees it as acknowledgements arrive",
          "[datagram][stream]") {
  SendStream s(100);
  Bytes data(150, 'x');
  CHECK(s.Write(data) == 100);
  CHECK(s.writable() == 0);
  auto c1 = s.NextChunk(60, 1000);
  REQUIRE(c1);
  CHECK(c1->offset == 0);
  CHECK(c1->data.size() == 60);
  auto c2 = s.NextChunk(60, 1000);
  REQUIRE(c2);
  CHECK(c2->offset == 60);
  CHECK(c2->data.size() == 40);
  CHECK_FALSE(s.NextChunk(60, 1000));
  s.OnAcked(60, 40);  // out of order: nothing freed yet
  CHECK(s.writable() == 0);
  s.OnAcked(0, 60);
  CHECK(s.acked_end() == 100);
  CHECK(s.writable() == 100);
}

TEST_CASE("SendStream resends lost ranges first, minus what was acknowledged meanwhile",
          "[datagram][stream]") {
  SendStream s(1000);
  Bytes data(300);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i);
  REQUIRE(s.Write(data) == 300);
  REQUIRE(s.NextChunk(100, 1000));
  REQUIRE(s.NextChunk(100, 1000));
  s.OnAcked(50, 20);
  s.OnLost(0, 100);
  auto r1 = s.NextChunk(100, 1000);
  REQUIRE(r1);
  CHECK(r1->retransmission);
  CHECK(r1->offset == 0);
  CHECK(r1->data.size() == 50);
  CHECK(r1->data[49] == 49);
  auto r2 = s.NextChunk(100, 1000);
  REQUIRE(r2);
  CHECK(r2->offset == 70);
  CHECK(r2->data.size() == 30);
  auto fresh = s.NextChunk(100, 1000);
  REQUIRE(fresh);
  CHECK_FALSE(fresh->retransmission);
  CHECK(fresh->offset == 200);
  CHECK(s.retransmitted_bytes() == 80);
}

TEST_CASE("SendStream honours the peer's flow-control limit", "[datagram][stream]") {
  SendStream s(1000);
  Bytes data(500, 'y');
  REQUIRE(s.Write(data) == 500);
  auto c = s.NextChunk(1000, 200);
  REQUIRE(c);
  CHECK(c->data.size() == 200);
  CHECK_FALSE(s.NextChunk(1000, 200));
  CHECK(s.BlockedByFlowControl(200));
  CHECK(s.HasDataToSend(300));
}

TEST_CASE("ReceiveStream reassembles out of order and delivers each byte once",
          "[datagram][stream]") {
  ReceiveStream r(1000);
  REQUIRE(r.OnData(5, AsBytes("fghij")).ok());
  REQUIRE(r.OnData(3, AsBytes("defg")).ok());  // overlaps the early chunk
  CHECK(r.readable() == 0);
  REQUIRE(r.OnData(0, AsBytes("abc")).ok());
  REQUIRE(r.OnData(0, AsBytes("ab")).ok());  // duplicate
  REQUIRE(r.readable() == 10);
  uint8_t out[16];
  REQUIRE(r.Read(out) == 10);
  CHECK(AsChars(ByteView(out, 10)) == "abcdefghij");
  REQUIRE(r.OnData(8, AsBytes("ijk")).ok());  // partly old
  REQUIRE(r.Read(out) == 1);
  CHECK(out[0] == 'k');
}

TEST_CASE("ReceiveStream refuses data beyond its window and advertises as it is read",
          "[datagram][stream][error]") {
  ReceiveStream r(100);
  Bytes big(101, 'z');
  CHECK(r.OnData(0, big).code() == Status::Code::kResourceExhausted);
  CHECK(r.readable() == 0);
  REQUIRE(r.OnData(0, ByteView(big.data(), 100)).ok());
  CHECK_FALSE(r.ShouldAdvertise());
  uint8_t out[60];
  REQUIRE(r.Read(out) == 60);
  CHECK(r.ShouldAdvertise());
  CHECK(r.Advertise() == 160);
  CHECK_FALSE(r.ShouldAdvertise());
  REQUIRE(r.OnData(100, ByteView(big.data(), 60)).ok());
}

TEST_CASE("ReceiveStream bounds overlapping out-of-order chunks", "[datagram][stream][error]") {
  ReceiveStream r(1000);
  Bytes chunk(1000, 'q');
  Status last;
  for (uint64_t off = 1; off < 100 && last.ok(); ++off)
    last = r.OnData(off, ByteView(chunk.data(), 1000 - off));
  CHECK(last.code() == Status::Code::kResourceExhausted);
}

}  // namespace
}  // namespace confab::datagram
