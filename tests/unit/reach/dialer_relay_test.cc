// The Dialer's third lane (issue 15): the relay through the tracker, after
// the direct lanes fail or beside them after relay_after_ms. Fakes only.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "peer/reach/dialer.h"

#include "tests/unit/reach/dialer_fakes.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fakes
using Catch::Contains;

bool Contains_(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("When both direct lanes fail the relay is tried at once and reported as relay",
          "[reach][dialer][relay]") {
  Fixture f(PathPolicy::kAuto, 300, /*relay=*/true);
  f.ReachAndAnswer();
  f.transports.Fail(0, "connection refused");  // LAN TCP
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 3);  // public TCP, UDP
  f.transports.Fail(2, "no answer from any address");
  f.transports.Fail(1, "connection refused");
  // Well before relay_after_ms: the direct lanes ended, the relay goes now.
  REQUIRE(f.transports.dials.size() == 4);
  const auto& relay = *f.transports.dials[3];
  CHECK(relay.transport == Transport::kRelay);
  CHECK(relay.to == "bob");
  CHECK(relay.remote_static == f.bob_key.DeriveX25519().public_key);  // the pinned key, inside
  CHECK(f.requester.reached.empty());
  f.transports.Succeed(3);
  REQUIRE(f.requester.reached == std::vector<std::string>{"bob"});
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kRelay);
  CHECK(TransportName(f.requester.last->transport) == "relay");
  CHECK_THAT(f.requester.last->reason, Contains("relay (through the tracker) after: tcp "));
  CHECK_THAT(f.requester.last->reason, Contains("udp "));
  CHECK(f.requester.last_session == 0);
  CHECK(f.dialer->attempts_in_flight() == 0);
}

TEST_CASE("After relay_after_ms the relay runs beside the direct lanes and the first wins",
          "[reach][dialer][relay]") {
  Fixture f(PathPolicy::kAuto, 300, /*relay=*/true);
  f.ReachAndAnswer();
  f.clock.Advance(1999);
  CHECK(f.transports.Count(Transport::kRelay) == 0);
  f.clock.Advance(1);  // relay_after_ms (2000) since the route was known
  REQUIRE(f.transports.Count(Transport::kRelay) == 1);
  const size_t relay = f.transports.dials.size() - 1;
  SECTION("the relay establishes first: the direct dials are abandoned") {
    f.transports.Succeed(relay);
    REQUIRE(f.requester.last);
    CHECK(f.requester.last->transport == Transport::kRelay);
    CHECK(f.transports.dials[0]->abandoned);  // LAN TCP, still dialing
    CHECK(f.transports.dials[1]->abandoned);  // UDP
  }
  SECTION("TCP establishes first: the relay dial is abandoned") {
    f.transports.Succeed(0);
    REQUIRE(f.requester.last);
    CHECK(f.requester.last->transport == Transport::kTcp);
    CHECK(f.transports.dials[relay]->abandoned);
  }
}

TEST_CASE("A relay that fails too leaves no direct path, saying what the relay said",
          "[reach][dialer][relay]") {
  SECTION("the tracker refused the relay") {
    Fixture f(PathPolicy::kAuto, 300, /*relay=*/true);
    f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
    REQUIRE(f.transports.dials.size() == 1);  // UDP at once
    f.transports.Fail(0, "no answer from any address");
    REQUIRE(f.transports.dials.size() == 2);
    f.transports.Fail(1, "relay: bob is not online");
    REQUIRE(f.requester.failed == std::vector<std::string>{"bob"});
    REQUIRE(f.requester.last);
    CHECK(f.requester.last->transport == Transport::kNone);
    CHECK(Contains_(f.requester.last->reason, "no direct path ("));
    CHECK(Contains_(f.requester.last->reason, "relay: relay: bob is not online"));
  }
  SECTION("the relay cannot be asked (an old tracker)") {
    Fixture f(PathPolicy::kAuto, 300, /*relay=*/true);
    f.transports.refuse_relay = true;
    f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
    f.transports.Fail(0, "no answer from any address");
    REQUIRE(f.requester.last);
    CHECK(Contains_(f.requester.last->reason, "relay: relay: the tracker is too old"));
  }
  SECTION("without the relay nothing is relayed") {
    Fixture f(PathPolicy::kAuto, 300, /*relay=*/false);
    f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
    f.transports.Fail(0, "no answer from any address");
    REQUIRE(f.requester.last);
    CHECK(f.transports.Count(Transport::kRelay) == 0);
    CHECK_FALSE(Contains_(f.requester.last->reason, "relay"));
  }
}

TEST_CASE("A direct-only request never tries the relay, not even after relay_after_ms",
          "[reach][dialer][relay]") {
  Fixture f(PathPolicy::kAuto, 300, /*relay=*/true);
  Dialer::Request request;
  request.name = "bob";
  request.initiator.purpose = proto::PURPOSE_CHAT;
  request.direct_only = true;
  request.hold_after_no_path = false;
  REQUIRE(f.dialer->Reach(std::move(request), &f.requester).ok());
  REQUIRE(f.directory.lookups.size() == 1);
  f.dialer->OnLookupResult(f.Answer(f.directory.next_id - 1, f.bob_key, /*tcp=*/false, true));
  REQUIRE(f.transports.dials.size() == 1);  // UDP at once
  f.clock.Advance(5000);                    // well past relay_after_ms
  CHECK(f.transports.Count(Transport::kRelay) == 0);
  f.transports.Fail(0, "no answer from any address");
  REQUIRE(f.requester.failed == std::vector<std::string>{"bob"});
  CHECK(f.transports.Count(Transport::kRelay) == 0);
  REQUIRE(f.requester.last);
  CHECK_FALSE(Contains_(f.requester.last->reason, "relay"));
  // No hold: the next direct try may start at once.
  CHECK(f.Reach().ok());
}

TEST_CASE("network.path = relay dials only the relay, at once", "[reach][dialer][relay]") {
  Fixture f(PathPolicy::kRelayOnly, 300, /*relay=*/true);
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  CHECK(f.transports.dials[0]->transport == Transport::kRelay);
  f.transports.Succeed(0);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kRelay);
  CHECK_THAT(f.requester.last->reason, Contains("(network.path = relay)"));
}

TEST_CASE("A relayed channel not established in relay_dial_timeout_ms fails",
          "[reach][dialer][relay]") {
  Fixture f(PathPolicy::kRelayOnly, 300, /*relay=*/true);
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  f.clock.Advance(20000);
  CHECK(f.transports.dials[0]->abandoned);
  REQUIRE(f.requester.last);
  CHECK(Contains_(f.requester.last->reason, "relay: no handshake in time"));
}

}  // namespace
}  // namespace confab::peer
