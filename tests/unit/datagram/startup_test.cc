// How a fresh connection starts on a LAN-like link, in simulated time (so
// the figures are exact, not a wall-clock measurement): the first RTT
// sample must take over from RFC 9002's 333 ms guess at once, including for
// the packets the pacer had already spaced by the guess.
#include <catch2/catch.hpp>

#include "common/datagram/connection.h"
#include "common/datagram/pacer.h"

#include "tests/unit/datagram/sim_link.h"
#include "tests/unit/datagram/transfer_util.h"

namespace confab::datagram {
namespace {

using testing::FileFlow;
using testing::LinkSpec;
using testing::SimNetwork;

// Simulated microseconds until `bytes` of a file have arrived over a
// 1 Gbit/s link with 100 us one-way delay.
uint64_t TimeToDeliver(CongestionControl cc, uint64_t bytes) {
  LinkSpec link;
  link.rate_bits_per_s = 1e9;
  link.delay_us = 100;
  link.queue_bytes = 1'000'000;
  ConnectionConfig config;
  config.congestion_control = cc;
  SimNetwork net(link, link, 1, /*encrypt=*/true, config);
  FileFlow file(net.a(), net.b(), bytes);
  REQUIRE(net.Run([&] { file.Step(); }, [&] { return file.done(); }, 60'000'000ULL));
  REQUIRE(file.mismatches() == 0);
  return net.now_us();
}

TEST_CASE("A fresh connection on a LAN is not held back by the 333 ms initial RTT guess",
          "[datagram][startup]") {
  for (CongestionControl cc : {CongestionControl::kCubic, CongestionControl::kBbr}) {
    const uint64_t us = TimeToDeliver(cc, 64 << 10);
    WARN((cc == CongestionControl::kBbr ? "BBR" : "CUBIC")
         << ": the first 64 KiB in " << us << " us of simulated time (RTT 200 us)");
    // 64 KiB is about 57 packets: the initial window of 10 and a few
    // doublings, so a handful of round trips. Spacing the packets after the
    // first burst by the 333 ms guess took 29 ms here (145 round trips).
    CHECK(us < 2'000);
  }
}

TEST_CASE("The pacer lets a burst leave at once and then spaces packets at its rate",
          "[datagram][startup]") {
  Pacer pacer;
  pacer.SetRate(1000, /*bytes_per_us=*/1.0, /*burst_bytes=*/3000);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(pacer.NextSendTimeUs() <= 1000);
    pacer.OnSent(1000, 1000);
  }
  // 3000 of burst, 4000 sent: 1000 bytes owed at 1 byte/us.
  CHECK(pacer.NextSendTimeUs() == 2000);
}

TEST_CASE("A rate that rises shortens the wait the pacer had already begun",
          "[datagram][startup]") {
  Pacer pacer;
  pacer.SetRate(0, /*bytes_per_us=*/0.01, /*burst_bytes=*/1000);
  pacer.OnSent(0, 1000);
  pacer.OnSent(0, 1000);
  CHECK(pacer.NextSendTimeUs() == 100'000);  // 1000 bytes owed at 0.01 byte/us
  // At 10 us the first RTT sample arrives: 0.1 bytes were repaid, the rest
  // goes at 10 bytes/us.
  pacer.SetRate(10, /*bytes_per_us=*/10.0, /*burst_bytes=*/1000);
  CHECK(pacer.NextSendTimeUs() == 110);
}

TEST_CASE("An idle pacer refills only up to its burst", "[datagram][startup]") {
  Pacer pacer;
  pacer.SetRate(0, /*bytes_per_us=*/1.0, /*burst_bytes=*/2000);
  pacer.OnSent(0, 2000);
  pacer.OnSent(0, 1000);  // the balance is now -1000
  pacer.OnSent(1'000'000, 1000);
  pacer.OnSent(1'000'000, 1000);
  CHECK(pacer.NextSendTimeUs() <= 1'000'000);  // 2000 of burst, 2000 sent
  pacer.OnSent(1'000'000, 1000);
  CHECK(pacer.NextSendTimeUs() == 1'001'000);
}

}  // namespace
}  // namespace confab::datagram
