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
