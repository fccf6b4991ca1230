#include "common/datagram/cubic.h"

#include <cmath>

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

constexpr size_t kMds = 1200;
constexpr uint64_t kRtt = 40'000;

TEST_CASE("Cubic grows by the bytes acknowledged in slow start", "[datagram][cubic]") {
  Cubic c(kMds);
  CHECK(c.cwnd() == 10 * kMds);
  CHECK(c.in_slow_start());
  c.OnAcked(1000, 0, kMds, kRtt, true);
  CHECK(c.cwnd() == 11 * kMds);
  c.OnAcked(1000, 0, kMds, kRtt, /*cwnd_limited=*/false);
  CHECK(c.cwnd() == 11 * kMds);  // application-limited: no growth
}

TEST_CASE("Cubic reduces by beta once per round of losses", "[datagram][cubic]") {
  Cubic c(kMds);
  for (int i = 0; i < 90; ++i)
    c.OnAcked(1000, 0, kMds, kRtt, true);
  REQUIRE(c.cwnd() == 100 * kMds);
  c.OnLost(50'000, 40'000);
  CHECK(c.cwnd() == 70 * kMds);
  CHECK(c.ssthresh() == 70 * kMds);
  CHECK_FALSE(c.in_slow_start());
  CHECK(c.congestion_events() == 1);
  // Another loss from the same flight (sent before recovery began): no change.
  c.OnLost(51'000, 45'000);
  CHECK(c.cwnd() == 70 * kMds);
  // ACKs of packets from before recovery do not grow the window either.
  c.OnAcked(52'000, 49'000, kMds, kRtt, true);
  CHECK(c.cwnd() == 70 * kMds);
  // A loss of a packet sent after recovery began is a new event.
  c.OnLost(200'000, 60'000);
  CHECK(c.cwnd() == 49 * kMds);
  CHECK(c.congestion_events() == 2);
}

TEST_CASE("Cubic climbs back to W_max along the cubic curve in about K seconds",
          "[datagram][cubic]") {
  // A large window and a long RTT, so the cubic curve (not the Reno-friendly
  // estimate, which wins at short RTTs) sets the pace.
  constexpr uint64_t kLongRtt = 100'000;
  Cubic c(kMds);
  for (int i = 0; i < 990; ++i)
    c.OnAcked(1000, 0, kMds, kLongRtt, true);
  REQUIRE(c.cwnd() == 1000 * kMds);
  c.OnLost(100'000, 90'000);  // W_max = 1000, cwnd = 700
  REQUIRE(c.cwnd() == 700 * kMds);
  // K = cbrt((1000 - 700) / 0.4) = 9.09 s. A window of ACKs per RTT.
  const double k_seconds = std::cbrt(300.0 / Cubic::kC);
  uint64_t now = 100'000;
  size_t at_half_k = 0;
  while (now < 100'000 + static_cast<uint64_t>(k_seconds * 1e6)) {
    const size_t acks = c.cwnd() / kMds;
    for (size_t i = 0; i < acks; ++i)
      c.OnAcked(now, now, kMds, kLongRtt, true);
    now += kLongRtt;
    if (at_half_k == 0 && now >= 100'000 + static_cast<uint64_t>(k_seconds * 5e5))
      at_half_k = c.cwnd();
  }
  // Concave: W_cubic(K/2) = 1000 - 0.4 * 4.55^3 = 962 segments; at K, W_max.
  CHECK(at_half_k >= 950 * kMds);
  CHECK(at_half_k <= 975 * kMds);
  CHECK(c.cwnd() >= 990 * kMds);
  CHECK(c.cwnd() <= 1010 * kMds);
}

TEST_CASE("Cubic follows the Reno-friendly estimate at short RTTs", "[datagram][cubic]") {
  Cubic c(kMds);
  for (int i = 0; i < 10; ++i)
    c.OnAcked(1000, 0, kMds, kRtt, true);
  c.OnLost(100'000, 90'000);  // 20 -> 14 segments, K = cbrt(6 / 0.4) = 2.47 s
  uint64_t now = 100'000;
  for (int rtt = 0; rtt < 25; ++rtt, now += kRtt) {
    const size_t acks = c.cwnd() / kMds;
    for (size_t i = 0; i < acks; ++i)
      c.OnAcked(now, now, kMds, kRtt, true);
  }
  // 1 s in, the cubic curve is at 20 - 0.4 * 1.47^3 = 18.7 segments, but the
  // Reno estimate (RFC 9438 4.3) has grown by alpha = 3 (1 - 0.7) / (1 + 0.7)
  // = 0.53 per RTT up to the old window (11.3 RTTs), then by 1 per RTT: 33.7.
  CHECK(c.cwnd() >= 31 * kMds);
  CHECK(c.cwnd() <= 35 * kMds);
}

TEST_CASE("Cubic paces a window over an RTT, with a bounded burst", "[datagram][cubic]") {
  Cubic c(kMds);
  c.OnLost(1, 0);  // leave slow start: N = 1.25
  const size_t cwnd = c.cwnd();
  uint64_t now = 1'000'000;
  int sent_at_once = 0;
  while (c.NextSendTimeUs() <= now && sent_at_once < 100) {
    c.OnPacketSent(now, kMds, kRtt);
    ++sent_at_once;
  }
  CHECK(sent_at_once == static_cast<int>(Cubic::kPacingBurstPackets));
  const double interval = static_cast<double>(kRtt) * kMds / (1.25 * static_cast<double>(cwnd));
  const uint64_t before = c.NextSendTimeUs();
  c.OnPacketSent(before, kMds, kRtt);
  CHECK(c.NextSendTimeUs() - before == static_cast<uint64_t>(interval));
}

}  // namespace
}  // namespace confab::datagram
