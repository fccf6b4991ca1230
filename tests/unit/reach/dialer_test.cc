// The Dialer with a fake clock, fake transports and a fake tracker: every
// path and every way of failing, without a socket.
#include "peer/reach/dialer.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/reach/dialer_fakes.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fakes

TEST_CASE("The Dialer reaches a contact over LAN TCP and reports the path", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  CHECK(f.transports.dials[0]->transport == Transport::kTcp);
  CHECK(f.transports.dials[0]->to == kLan);
  CHECK(f.transports.dials[0]->purpose == proto::PURPOSE_CHAT);
  auto derived = crypto::X25519FromEd25519(f.bob_key.public_key());
  REQUIRE(derived.ok());
  CHECK(f.transports.dials[0]->remote_static == *derived);
  CHECK(f.directory.kept.count("bob") == 1);  // a fresh answer that checked out is kept
  f.transports.Succeed(0);
  REQUIRE(f.requester.reached == std::vector<std::string>{"bob"});
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  CHECK(f.requester.last->address == kLan);
  CHECK(f.requester.last->reason == "direct TCP");
  CHECK(f.requester.last_session == 0);
  // The head start's alarm went with the attempt: no UDP dial follows.
  f.clock.Advance(60'000);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  CHECK(f.directory.punches.size() == 1);  // asked as TCP began, in case
  CHECK(f.dialer->attempts_in_flight() == 0);
  CHECK(f.clock.armed() == 0);
}

TEST_CASE("The Dialer falls back from a failed LAN dial to public TCP", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/true, /*udp=*/false);
  f.transports.Fail(0, "connection refused");
  REQUIRE(f.transports.dials.size() == 2);
  CHECK(f.transports.dials[1]->to == kPublic);
  f.transports.Succeed(1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  CHECK(f.requester.last->address == kPublic);
  CHECK(f.requester.last->reason ==
        "direct TCP after: tcp " + std::string(kLan) + ": connection refused");
}

TEST_CASE("The Dialer gives each TCP dial tcp_dial_timeout_ms, then UDP wins", "[reach][dialer]") {
  Fixture f;
  f.transports.refuse_tcp.insert(kLan);  // fails at once, as in the lab
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);  // the public TCP dial
  CHECK(f.transports.dials[0]->to == kPublic);
  // The punch request goes as TCP begins; the head start passes, and the
  // UDP dial starts beside TCP.
  CHECK(f.directory.punches == std::vector<std::string>{"bob"});
  f.clock.Advance(299);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  f.clock.Advance(1);
  REQUIRE(f.transports.Count(Transport::kUdp) == 1);
  CHECK(f.directory.punches.size() == 1);  // once per attempt
  CHECK(f.transports.dials[1]->to == std::string(kUdpLan) + "," + kUdpPublic);
  // TCP times out first; UDP still runs and wins.
  f.clock.Advance(2700);
  CHECK(f.transports.dials[0]->abandoned);
  CHECK(f.requester.reached.empty());
  f.transports.Succeed(1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kUdp);
  CHECK(f.requester.last_session == 42);
  CHECK(f.requester.last->reason == "UDP hole punching after: tcp " + std::string(kLan) +
                                        ": connect to " + kLan + ": ENETUNREACH; tcp " + kPublic +
                                        ": no answer in time");
}

TEST_CASE("UDP that answers first wins the race and the TCP dial is abandoned", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 2);
  REQUIRE(f.transports.dials[1]->transport == Transport::kUdp);
  f.transports.Succeed(1);  // LAN TCP is still dialing
  CHECK(f.transports.dials[0]->abandoned);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kUdp);
  CHECK(f.requester.last->reason ==
        "UDP hole punching (first to answer; tcp " + std::string(kLan) + " was still dialing)");
  // The TCP timer went with it: nothing more is dialed or reported.
  f.clock.Advance(60'000);
  CHECK(f.transports.dials.size() == 2);
  CHECK(f.requester.reached.size() == 1);
  CHECK(f.requester.failed.empty());
}

TEST_CASE("The UDP head start is udp_head_start_ms", "[reach][dialer]") {
  Fixture f(PathPolicy::kAuto, /*head_start_ms=*/1000);
  f.ReachAndAnswer();
  f.clock.Advance(999);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  f.clock.Advance(1);
  CHECK(f.transports.Count(Transport::kUdp) == 1);
}

TEST_CASE("TCP that establishes while UDP dials wins, and the UDP dial is abandoned",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(1000);
  REQUIRE(f.transports.dials.size() == 2);
  f.transports.Succeed(0);
  CHECK(f.transports.dials[1]->abandoned);  // the UDP session closes with it
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  f.clock.Advance(60'000);
  CHECK(f.requester.reached.size() == 1);
  CHECK(f.requester.failed.empty());
}

TEST_CASE("When every path fails there is no direct path, held until RetryNow", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Fail(0, "connection refused");  // LAN, before the head start
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 3);  // public TCP, then UDP beside it
  f.transports.Fail(2, "no answer from any address");
  f.clock.Advance(3000);  // public TCP times out
  REQUIRE(f.requester.failed == std::vector<std::string>{"bob"});
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kNone);
  CHECK(TransportName(f.requester.last->transport) == "none");
  const std::string& reason = f.requester.last->reason;
  CHECK(reason.rfind("no direct path (", 0) == 0);
  CHECK(reason.find("tcp " + std::string(kLan) + ": connection refused") != std::string::npos);
  CHECK(reason.find("udp " + std::string(kUdpLan)) != std::string::npos);
  CHECK(reason.find("tcp " + std::string(kPublic) + ": no answer in time") != std::string::npos);
  CHECK(f.requester.last_why.code() == Status::Code::kUnavailable);

  // Held: no lookup, no dial before no_path_retry_ms.
  const size_t lookups = f.directory.lookups.size();
  f.clock.Advance(29'000);
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
  CHECK(f.directory.lookups.size() == lookups);
  // Another purpose (a file) is not held by chat's outcome.
  CHECK(f.Reach(proto::PURPOSE_FILE).ok());
  CHECK(f.directory.lookups.size() == lookups + 1);
  // A presence push lifts the hold.
  f.dialer->RetryNow("bob");
  CHECK(f.Reach().ok());
  CHECK(f.directory.lookups.size() == lookups + 2);
}

TEST_CASE("The hold after no direct path ends by itself after no_path_retry_ms",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
  REQUIRE(f.transports.dials.size() == 1);  // no TCP endpoint: UDP at once
  f.transports.Fail(0, "no answer");
  REQUIRE(f.requester.failed.size() == 1);
  f.clock.Advance(29'999);
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
  f.clock.Advance(1);
  CHECK(f.Reach().ok());
}

TEST_CASE("A lookup that finds nobody ends the attempt and holds it", "[reach][dialer]") {
  Fixture f;
  REQUIRE(f.Reach().ok());
  proto::LookupResult r;
  r.set_request_id(1);
  r.set_found(false);
  r.set_error("revoked");
  f.dialer->OnLookupResult(r);
  REQUIRE(f.requester.failed.size() == 1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->reason == "the tracker's lookup failed: revoked");
  CHECK(f.transports.dials.empty());
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
}

TEST_CASE("A revoked key is refused at the dial", "[reach][dialer]") {
  Fixture f;
  f.revoked.insert(std::string(AsChars(f.bob_key.public_key())));
  f.ReachAndAnswer();
  REQUIRE(f.requester.failed.size() == 1);
  CHECK(f.requester.last_why.code() == Status::Code::kPermissionDenied);
  CHECK_FALSE(f.requester.last);  // "not now": nothing for who --verbose
  CHECK(f.transports.dials.empty());
  CHECK(f.directory.kept.empty());
}

TEST_CASE("Without a tracker the Dialer dials the kept lookup answer", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Succeed(0);
  f.directory.down = true;
  REQUIRE(f.Reach().ok());
  REQUIRE(f.transports.dials.size() == 2);
  CHECK(f.transports.dials[1]->to == kLan);
  f.transports.Succeed(1);
  CHECK(f.requester.reached.size() == 2);

  SECTION("and says so when nothing is kept") {
    f.directory.kept.clear();
    REQUIRE(f.Reach().ok());
    REQUIRE(f.requester.failed.size() == 1);  // answered before Reach returned
    CHECK(f.requester.last_why.code() == Status::Code::kUnavailable);
    CHECK_FALSE(f.requester.last);
    CHECK(f.Reach().ok());  // not held: the next retry tick tries again
  }
}

TEST_CASE("A changed identity key is refused and the directory told", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Succeed(0);  // bob's key is pinned now
  crypto::SigningKey impostor = NewKey();
  REQUIRE(f.Reach().ok());
  f.dialer->OnLookupResult(f.Answer(f.directory.next_id - 1, impostor));
  CHECK(f.directory.key_changes == std::vector<std::string>{"bob"});
  CHECK(f.requester.last_why.code() == Status::Code::kAuthFailed);
  CHECK(f.transports.dials.size() == 1);  // nothing dialed to the impostor
}

TEST_CASE("network.path = tcp dials TCP alone", "[reach][dialer]") {
  Fixture f(PathPolicy::kTcpOnly);
  f.ReachAndAnswer();
  f.transports.Fail(0, "refused");
  f.clock.Advance(3000);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  CHECK(f.directory.punches.empty());
  REQUIRE(f.requester.failed.size() == 1);
  CHECK(f.requester.last->reason.rfind("no direct path (tcp ", 0) == 0);
}

TEST_CASE("network.path = udp punches and dials UDP at once, no TCP", "[reach][dialer]") {
  Fixture f(PathPolicy::kUdpOnly);
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  CHECK(f.transports.dials[0]->transport == Transport::kUdp);
  CHECK(f.directory.punches.size() == 1);
  f.transports.Succeed(0);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->reason == "UDP hole punching (network.path = udp)");
}

TEST_CASE("A UDP dial that crossed the peer's own is no failure and holds nothing",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
  f.transports.Finish(0, Status::Unavailable(std::string(kCrossedDial)));
  REQUIRE(f.requester.failed.size() == 1);
  CHECK_FALSE(f.requester.last);  // no "no direct path" shown
  CHECK(f.Reach().ok());          // and no hold
}

TEST_CASE("A second request for the same name and purpose joins the one in flight",
          "[reach][dialer]") {
  Fixture f;
  REQUIRE(f.Reach().ok());
  REQUIRE(f.Reach().ok());
  CHECK(f.directory.lookups.size() == 1);
  CHECK(f.dialer->InFlight("bob", proto::PURPOSE_CHAT, &f.requester));
  f.dialer->OnLookupResult(f.Answer(1, f.bob_key));
  f.transports.Succeed(0);
  CHECK(f.requester.reached.size() == 1);  // one answer, once

  SECTION("while another requester gets an attempt of its own") {
    FakeRequester other;
    REQUIRE(f.Reach(proto::PURPOSE_FILE).ok());
    REQUIRE(f.Reach(proto::PURPOSE_FILE, &other).ok());
    CHECK(f.directory.lookups.size() == 3);
    f.dialer->Cancel(&other);
    CHECK_FALSE(f.dialer->InFlight("bob", proto::PURPOSE_FILE, &other));
    CHECK(f.dialer->InFlight("bob", proto::PURPOSE_FILE, &f.requester));
    const size_t dials = f.transports.dials.size();
    f.dialer->OnLookupResult(f.Answer(3, f.bob_key));  // the cancelled one's: ignored
    CHECK(f.transports.dials.size() == dials);
    CHECK(other.reached.empty());
    CHECK(other.failed.empty());
  }
}

TEST_CASE("Cancel and Close abandon dials without an answer", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 2);
  f.dialer->Close();
  CHECK(f.transports.dials[0]->abandoned);
  CHECK(f.transports.dials[1]->abandoned);
  CHECK(f.clock.armed() == 0);
  CHECK(f.requester.reached.empty());
  CHECK(f.requester.failed.empty());
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
}

}  // namespace
}  // namespace confab::peer
