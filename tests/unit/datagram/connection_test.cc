#include "common/datagram/connection.h"

#include <catch2/catch.hpp>

#include "tests/unit/datagram/sim_link.h"
#include "tests/unit/datagram/transfer_util.h"

namespace confab::datagram {
namespace {

using testing::ChatFlow;
using testing::FileFlow;
using testing::LinkSpec;
using testing::SimNetwork;

LinkSpec Path(double rate_mbit, uint64_t delay_ms, double loss) {
  LinkSpec s;
  s.rate_bits_per_s = rate_mbit * 1e6;
  s.delay_us = delay_ms * 1000;
  s.loss = loss;
  // A bottleneck queue of one bandwidth-delay product of the round trip.
  s.queue_bytes = static_cast<size_t>(rate_mbit * 1e6 / 8 * 2 * delay_ms / 1000);
  return s;
}

TEST_CASE("Connection delivers a file and chat exactly once and in order under 0-10% loss",
          "[datagram][connection]") {
  const double loss = GENERATE(0.0, 0.01, 0.05, 0.10);
  const uint64_t seed = GENERATE(1, 2);
  LinkSpec link = Path(20, 10, loss);
  link.duplicate = 0.01;
  link.reorder = 0.02;
  link.reorder_extra_us = 5000;
  SimNetwork net(link, link, seed);
  FileFlow file(net.a(), net.b(), 2 << 20);
  ChatFlow chat(net.a(), net.b(), net, 200, 20'000);
  ChatFlow reply(net.b(), net.a(), net, 100, 40'000);
  const bool ok = net.Run(
      [&] {
        file.Step();
        chat.Step();
        reply.Step();
      },
      [&] { return file.done() && chat.done() && reply.done(); }, 600'000'000);
  INFO("loss " << loss << " seed " << seed << " file " << file.received() << " chat "
               << chat.received() << " reply " << reply.received() << " at " << net.now_us() / 1000
               << " ms");
  REQUIRE(ok);
  CHECK(file.mismatches() == 0);
  CHECK(chat.out_of_order() == 0);
  CHECK(reply.out_of_order() == 0);
  CHECK_FALSE(net.a().closed());
  CHECK_FALSE(net.b().closed());
}

TEST_CASE("Connection runs through real packet protection with duplicates dropped by the window",
          "[datagram][connection]") {
  LinkSpec link = Path(50, 5, 0.02);
  link.duplicate = 0.05;
  link.reorder = 0.05;
  link.reorder_extra_us = 3000;
  SimNetwork net(link, link, 7, /*encrypt=*/true);
  FileFlow file(net.a(), net.b(), 4 << 20);
  const bool ok = net.Run([&] { file.Step(); }, [&] { return file.done(); }, 120'000'000);
  REQUIRE(ok);
  CHECK(file.mismatches() == 0);
  CHECK(net.rejected() > 0);  // the duplicates, refused before reaching the connection
}

}  // namespace
}  // namespace confab::datagram

namespace confab::datagram {
namespace {

using testing::ChatFlow;
using testing::FileFlow;
using testing::LinkSpec;
using testing::SimNetwork;

TEST_CASE("Connection keeps chat moving while a file fills the link", "[datagram][connection]") {
  LinkSpec link;
  link.rate_bits_per_s = 100e6;
  link.delay_us = 20'000;
  link.queue_bytes = 500'000;
  SimNetwork net(link, link, 3);
  FileFlow file(net.a(), net.b(), 32 << 20);
  ChatFlow chat(net.a(), net.b(), net, 40, 50'000);
  REQUIRE(net.Run(
      [&] {
        file.Step();
        chat.Step();
      },
      [&] { return chat.done(); }, 60'000'000));
  CHECK_FALSE(file.done());  // the file was still going the whole time
  CHECK(chat.out_of_order() == 0);
  // Chat jumps the file's send buffer (strict priority) but shares the
  // bottleneck queue: one-way delay 20 ms plus at most one full queue (40 ms)
  // plus pacing and loss recovery. Without priority it would wait behind
  // 4 MiB of buffered file data: 335 ms at 100 Mbit/s.
  WARN("chat latency max " << chat.max_latency_us() / 1000.0 << " ms during a file transfer");
  CHECK(chat.max_latency_us() < 150'000);
}

TEST_CASE("Connection with CUBIC cuts its window to 70% when the queue overflows",
          "[datagram][connection]") {
  LinkSpec clean;
  clean.rate_bits_per_s = 50e6;
  clean.delay_us = 10'000;
  clean.queue_bytes = 1 << 20;
  ConnectionConfig cubic;
  cubic.congestion_control = CongestionControl::kCubic;
  SimNetwork net(clean, clean, 4, /*encrypt=*/false, cubic);
  FileFlow file(net.a(), net.b(), 64 << 20);
  // Slow start until the bottleneck queue overflows: the first congestion
  // event cuts the window to 70% of what it was (RFC 9438 beta).
  size_t before = 0;
  REQUIRE(net.Run(
      [&] {
        file.Step();
        if (net.a().stats().congestion_events == 0)
          before = net.a().stats().cwnd_bytes;
      },
      [&] { return net.a().stats().congestion_events > 0; }, 30'000'000));
  const ConnectionStats after = net.a().stats();
  INFO("cwnd before loss " << before << ", after " << after.cwnd_bytes);
  CHECK(after.packets_lost > 0);
  CHECK(before > 100'000);
  // The ACK that reported the loss may first have grown the window a little.
  CHECK(after.cwnd_bytes <= before * 0.7 * 1.05);
  CHECK(after.cwnd_bytes >= before * 0.7);
  // And it stays in congestion avoidance, below the window that overflowed.
  (void)net.Run([&] { file.Step(); }, [] { return false; }, net.now_us() + 2'000'000);
  CHECK(net.a().stats().cwnd_bytes < before);
  CHECK(file.mismatches() == 0);
}

// Drives one connection by hand: what a hostile or broken peer can cause.
struct Lone {
  Connection conn{ConnectionConfig{}, 0};
  Bytes buf = Bytes(2048);

  Bytes Payload(const std::function<void(FrameWriter&)>& fill) {
    Bytes p(1200);
    FrameWriter w(p);
    fill(w);
    p.resize(w.size());
    return p;
  }
};

TEST_CASE("Connection closes on an ACK for a packet never sent", "[datagram][connection][error]") {
  Lone l;
  RangeSet fake;
  fake.Add(0, 5);
  Bytes p = l.Payload([&](FrameWriter& w) { w.AddAck(fake, 0); });
  CHECK(l.conn.OnPacket(1000, 0, p).code() == Status::Code::kCorruption);
  CHECK(l.conn.closed());
  // It says why, once, in a CLOSE frame.
  auto out = l.conn.NextPacket(2000, l.buf);
  REQUIRE(out);
  auto frames = ParseFrames(ByteView(l.buf.data(), out->size));
  REQUIRE(frames.ok());
  CHECK(std::holds_alternative<CloseFrame>(frames->front()));
  CHECK_FALSE(l.conn.NextPacket(3000, l.buf));
  CHECK(l.conn.Write(kChatStream, AsBytes("late")) == 0);
}

TEST_CASE("Connection closes when the peer overruns the flow-control window",
          "[datagram][connection][error]") {
  Lone l;
  Bytes data(1000, 'x');
  const uint64_t window = ConnectionConfig{}.receive_window_bytes;
  Bytes p = l.Payload([&](FrameWriter& w) { w.AddStream(kFileStream, window - 10, data); });
  CHECK(l.conn.OnPacket(1000, 0, p).code() == Status::Code::kResourceExhausted);
  CHECK(l.conn.closed());
}

TEST_CASE("Connection closes on a malformed payload and ignores later packets",
          "[datagram][connection][error]") {
  Lone l;
  Bytes garbage = {0x77, 1, 2};
  CHECK(l.conn.OnPacket(1000, 0, garbage).code() == Status::Code::kCorruption);
  Bytes ping = l.Payload([](FrameWriter& w) { w.AddPing(); });
  CHECK(l.conn.OnPacket(2000, 1, ping).code() == Status::Code::kClosed);
}

TEST_CASE("Connection reports a CLOSE from the peer", "[datagram][connection]") {
  Lone l;
  Bytes p = l.Payload([](FrameWriter& w) { w.AddClose("shutting down"); });
  REQUIRE(l.conn.OnPacket(1000, 0, p).ok());
  CHECK(l.conn.closed());
  CHECK(l.conn.close_status().code() == Status::Code::kClosed);
  CHECK(l.conn.close_status().message().find("shutting down") != std::string_view::npos);
}

TEST_CASE("Connection sends keepalives when idle and gives up on a silent peer",
          "[datagram][connection]") {
  Lone l;
  const ConnectionConfig& c = l.conn.config();
  CHECK(l.conn.NextDeadlineUs() == c.keepalive_us);
  CHECK_FALSE(l.conn.NextPacket(1000, l.buf));  // nothing to say yet
  l.conn.OnTimeout(c.keepalive_us);
  auto out = l.conn.NextPacket(c.keepalive_us, l.buf);
  REQUIRE(out);
  auto frames = ParseFrames(ByteView(l.buf.data(), out->size));
  REQUIRE(frames.ok());
  CHECK(std::holds_alternative<PingFrame>(frames->front()));
  // Nobody answers: probes back off, and the idle timeout ends it.
  uint64_t now = c.keepalive_us;
  while (!l.conn.closed() && now < 2 * c.idle_timeout_us) {
    now = std::max(now + 1, l.conn.NextDeadlineUs());
    l.conn.OnTimeout(now);
    while (l.conn.NextPacket(now, l.buf)) {
    }
  }
  CHECK(l.conn.closed());
  CHECK(l.conn.close_status().code() == Status::Code::kUnavailable);
  CHECK(now == c.idle_timeout_us);
}

// ---- Path MTU discovery -----------------------------------------------------

// A clean path (no rate limit, no queue losses): every loss is the MTU's.
LinkSpec CleanPath(size_t mtu_bytes) {
  LinkSpec s;
  s.delay_us = 10'000;
  s.mtu_bytes = mtu_bytes;
  return s;
}

// Both ends with NextPacket buffers big enough to probe.
void AllowProbes(SimNetwork& net) {
  net.set_payload_buffer_bytes(ConnectionConfig{}.max_packet_payload_bytes());
}

TEST_CASE("Path MTU probes that are acknowledged raise the datagram size to the ceiling",
          "[datagram][connection][pmtu]") {
  SimNetwork net(CleanPath(0), CleanPath(0), 11, /*encrypt=*/true);
  AllowProbes(net);
  CHECK(net.a().stats().max_datagram_bytes == 1200);
  FileFlow file(net.a(), net.b(), 4 << 20);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return file.done(); }, 60'000'000));
  CHECK(file.mismatches() == 0);
  const ConnectionStats a = net.a().stats();
  CHECK(a.max_datagram_bytes == 1452);
  CHECK(a.mtu_probes_sent == 1);  // the ceiling, straight away
  CHECK(a.mtu_probes_lost == 0);
  CHECK(a.congestion_events == 0);
}

TEST_CASE("Path MTU discovery settles below a 1300-byte link and the data still flows",
          "[datagram][connection][pmtu]") {
  const auto cc = GENERATE(CongestionControl::kBbr, CongestionControl::kCubic);
  ConnectionConfig config;
  config.congestion_control = cc;
  // 20 Mbit/s with an unbounded queue: the file takes a few seconds, longer
  // than the chat, and still nothing is dropped but what is too big.
  LinkSpec path = CleanPath(1300);
  path.rate_bits_per_s = 20e6;
  SimNetwork net(path, path, 12, /*encrypt=*/true, config);
  AllowProbes(net);
  FileFlow file(net.a(), net.b(), 8 << 20);
  ChatFlow chat(net.a(), net.b(), net, 40, 20'000);
  const bool ok = net.Run(
      [&] {
        file.Step();
        chat.Step();
      },
      [&] {
        return file.done() && chat.done() && net.a().stats().mtu_probes_sent > 0 &&
               net.a().mtu_search_done();
      },
      120'000'000);
  const ConnectionStats a = net.a().stats();
  INFO("settled at " << a.max_datagram_bytes << " after " << a.mtu_probes_sent << " probes, "
                     << a.mtu_probes_lost << " lost; file " << file.received() << " chat "
                     << chat.received() << " at " << net.now_us() / 1000 << " ms");
  REQUIRE(ok);
  CHECK(file.mismatches() == 0);
  CHECK(chat.out_of_order() == 0);
  CHECK(a.max_datagram_bytes <= 1300);
  CHECK(a.max_datagram_bytes > 1300 - Connection::kMtuSearchStepBytes);
  // Each size that failed was tried kMtuProbeAttempts times, no more.
  CHECK(a.mtu_probes_lost >= Connection::kMtuProbeAttempts);
  CHECK(a.mtu_probes_lost % Connection::kMtuProbeAttempts == 0);
  // Lost probes are neither congestion nor lost data.
  CHECK(a.congestion_events == 0);
  CHECK(a.packets_lost == 0);
  CHECK(a.bytes_retransmitted == 0);
  CHECK(a.mtu_black_holes == 0);
  CHECK(net.a_to_b().too_big() == a.mtu_probes_lost);  // only probes were too big
}

TEST_CASE("Path MTU discovery falls back to 1200 when big packets stop getting through",
          "[datagram][connection][pmtu]") {
  SimNetwork net(CleanPath(0), CleanPath(0), 13, /*encrypt=*/true);
  AllowProbes(net);
  FileFlow file(net.a(), net.b(), 16 << 20);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return net.a().stats().max_datagram_bytes == 1452; },
                  10'000'000));
  // The route changes: from now on only 1280 bytes pass.
  net.a_to_b().set_mtu_bytes(1280);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return file.done(); }, 300'000'000));
  CHECK(file.mismatches() == 0);
  CHECK(net.a().stats().mtu_black_holes == 1);
  // Then it searches again below the size that stopped passing.
  REQUIRE(net.Run([] {}, [&] { return net.a().mtu_search_done(); }, net.now_us() + 120'000'000));
  const ConnectionStats a = net.a().stats();
  INFO("now " << a.max_datagram_bytes << ", " << a.mtu_probes_lost << " probes lost");
  CHECK(a.mtu_black_holes == 1);
  CHECK(a.max_datagram_bytes <= 1280);
  CHECK(a.max_datagram_bytes > 1280 - Connection::kMtuSearchStepBytes);
  CHECK_FALSE(net.a().closed());
}

TEST_CASE("Path MTU discovery stays off when NextPacket's buffer cannot hold a probe",
          "[datagram][connection][pmtu]") {
  SimNetwork net(CleanPath(0), CleanPath(0), 14);  // max_payload_bytes() buffers
  FileFlow file(net.a(), net.b(), 1 << 20);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return file.done(); }, 60'000'000));
  CHECK(net.a().stats().mtu_probes_sent == 0);
  CHECK(net.a().stats().max_datagram_bytes == 1200);
}

TEST_CASE("Path MTU discovery stays off when the ceiling is the base size",
          "[datagram][connection][pmtu]") {
  ConnectionConfig config;
  config.max_probe_datagram_bytes = config.max_datagram_bytes;
  CHECK(config.max_packet_payload_bytes() == config.max_payload_bytes());
  SimNetwork net(CleanPath(0), CleanPath(0), 15, /*encrypt=*/true, config);
  net.set_payload_buffer_bytes(2048);
  FileFlow file(net.a(), net.b(), 1 << 20);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return file.done(); }, 60'000'000));
  CHECK(net.a().stats().mtu_probes_sent == 0);
  CHECK(net.a().stats().max_datagram_bytes == 1200);
}

// Drives one sender by hand, with the ACKs a peer would send.
struct Sender {
  Connection conn{ConnectionConfig{}, 0};
  Bytes buf = Bytes(ConnectionConfig{}.max_packet_payload_bytes());
  uint64_t now = 0;
  uint64_t peer_number = 0;

  // The next packet, once the pacer lets it go (no timers run meanwhile).
  Connection::Outgoing Next() {
    std::optional<Connection::Outgoing> out;
    for (int i = 0; i < 200 && !out; ++i) {
      now += 5'000;
      out = conn.NextPacket(now, buf);
    }
    REQUIRE(out);
    return *out;
  }
  void Ack(uint64_t begin, uint64_t end) {
    RangeSet acked;
    acked.Add(begin, end);
    Bytes p(64);
    FrameWriter w(p);
    REQUIRE(w.AddAck(acked, 0));
    p.resize(w.size());
    now += 10'000;
    REQUIRE(conn.OnPacket(now, peer_number++, p).ok());
  }
};

TEST_CASE("Path MTU discovery falls back when big packets are lost while small ones get through",
          "[datagram][connection][pmtu]") {
  Sender s;
  const Bytes big(1300, 'b');
  const Bytes small(10, 's');
  REQUIRE(s.conn.Write(kChatStream, small) == small.size());
  const Connection::Outgoing first = s.Next();
  s.Ack(first.number, first.number + 1);  // the path works: an RTT sample
  const Connection::Outgoing probe = s.Next();
  CHECK(probe.size + kDataOverheadBytes == 1452);
  CHECK(s.conn.stats().mtu_probes_sent == 1);
  s.Ack(probe.number, probe.number + 1);
  REQUIRE(s.conn.stats().max_datagram_bytes == 1452);

  // Three big packets vanish; three small ones after them are acknowledged.
  uint64_t first_big = 0;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(s.conn.Write(kChatStream, big) == big.size());
    const Connection::Outgoing out = s.Next();
    CHECK(out.size > 1200);
    if (i == 0)
      first_big = out.number;
  }
  uint64_t last_small = 0;
  for (int i = 0; i < 3; ++i) {
    s.conn.RequestPing();
    const Connection::Outgoing out = s.Next();
    CHECK(out.size < 100);
    last_small = out.number;
  }
  CHECK(s.conn.stats().mtu_black_holes == 0);
  s.Ack(first_big + 3, last_small + 1);
  const ConnectionStats after = s.conn.stats();
  CHECK(after.packets_lost == 3);
  CHECK(after.mtu_black_holes == 1);
  CHECK(after.max_datagram_bytes == 1200);
  // What was lost goes again in packets of the base size.
  const Connection::Outgoing again = s.Next();
  CHECK(again.size + kDataOverheadBytes <= 1200);
}

TEST_CASE("Path MTU discovery keeps the size when a later big packet gets through",
          "[datagram][connection][pmtu]") {
  Sender s;
  const Bytes big(1300, 'b');
  REQUIRE(s.conn.Write(kChatStream, Bytes(10, 's')) == 10);
  const Connection::Outgoing first = s.Next();
  s.Ack(first.number, first.number + 1);
  const Connection::Outgoing probe = s.Next();
  s.Ack(probe.number, probe.number + 1);
  REQUIRE(s.conn.stats().max_datagram_bytes == 1452);
  // A burst of four big packets; the queue drops the first three.
  uint64_t numbers[4];
  for (uint64_t& n : numbers) {
    REQUIRE(s.conn.Write(kChatStream, big) == big.size());
    n = s.Next().number;
  }
  s.Ack(numbers[3], numbers[3] + 1);
  const ConnectionStats after = s.conn.stats();
  CHECK(after.packets_lost == 3);
  CHECK(after.mtu_black_holes == 0);
  CHECK(after.max_datagram_bytes == 1452);
}

}  // namespace
}  // namespace confab::datagram
