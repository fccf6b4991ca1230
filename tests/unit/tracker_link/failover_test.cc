// A node's tracker addresses (issue 16): enrollment.toml's tracker.address
// may name several trackers of one cluster, and TrackerLink moves on to the
// next when one cannot be reached, against the real tracker in process.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/tcp_listener.h"
#include "peer/tracker_link/join.h"
#include "peer/tracker_link/tracker_link.h"

#include "tests/unit/tracker_link/tracker_fixture.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fixture

TEST_CASE("tracker.address names one tracker or several separated by commas",
          "[tracker_link][issue-16]") {
  using V = std::vector<std::string>;
  CHECK(SplitTrackerAddresses("tracker.example:7650") == V{"tracker.example:7650"});
  CHECK(SplitTrackerAddresses("a:1, b:2 ,c:3") == V{"a:1", "b:2", "c:3"});
  CHECK(SplitTrackerAddresses(" a:1 ,, ") == V{"a:1"});
  CHECK(SplitTrackerAddresses("").empty());
  CHECK(SplitTrackerAddresses(" , ").empty());
}

TEST_CASE("TrackerLink moves on to the next tracker of its list when one cannot be reached",
          "[tracker_link][issue-16]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  TrackerLinkParams params = f.tracker.ParamsFor(alice);
  const net::Address real = params.tracker;
  // The first address: a port nothing listens on (bound once, then closed).
  struct Ignore final : net::TcpListener::Delegate {
    void OnIncoming(Status) override {}
  } ignore;
  auto at = net::Address::FromIp("127.0.0.1", 0);
  REQUIRE(at.ok());
  auto listener = net::TcpListener::Create(*f.loop, *at, &ignore, 16);
  REQUIRE(listener.ok());
  auto dead = net::Address::FromIp("127.0.0.1", (*listener)->port());
  REQUIRE(dead.ok());
  (*listener)->Close();
  f.RunFor(10);
  params.tracker = *dead;
  params.other_trackers = {real};
  Client& a = f.Add(std::move(params));
  CHECK(a.link->tracker_address().ToString() == dead->ToString());
  a.link->Start();
  REQUIRE(f.Run([&] { return !a.rec.welcomes.empty(); }));
  CHECK(a.link->connected());
  CHECK(a.link->tracker_address().ToString() == real.ToString());
  REQUIRE_FALSE(a.rec.disconnects.empty());
  CHECK_FALSE(a.rec.disconnects[0].was_connected);
}

}  // namespace
}  // namespace confab::peer
