// The relay's requests through TrackerService (issue 15): the protocol
// version in the welcome, relay requests, offers and notices, the relay
// hello's checks, revocation. Sans-I/O: the service is driven directly.
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/protocol/tracker_features.h"
#include "tracker/service.h"

#include "service_world.h"

namespace confab::tracker {
namespace {

using testing::kNow;
using testing::Serialize;

// Members' certificates last a day here.
struct RelayWorld : testing::ServiceWorld {
  explicit RelayWorld(const std::string& extra_toml = "") : ServiceWorld(extra_toml, 86400) {}
};

TEST_CASE("The welcome names the tracker's protocol version and offers the relay",
          "[service][relay]") {
  RelayWorld w;
  auto alice = w.Enroll("alice");
  w.Connect(alice);
  CHECK(w.welcome.protocol_version() == protocol::kTrackerProtocolVersion);
  CHECK(protocol::RelayOffered(w.welcome).ok());
}

TEST_CASE("A tracker with the relay disabled in tracker.toml does not offer it",
          "[service][relay]") {
  RelayWorld w("[relay]\nenabled = false");
  auto alice = w.Enroll("alice");
  w.Connect(alice);
  CHECK(w.welcome.protocol_version() == protocol::kTrackerProtocolVersion);
  CHECK(protocol::RelayOffered(w.welcome).message() == "relay: disabled on the tracker");
}

TEST_CASE("A request this tracker does not know is answered with an error and the session goes on",
          "[service][relay][error]") {
  RelayWorld w;
  auto alice = w.Enroll("alice");
  SessionId a = w.Connect(alice);
  // The session's first frame may bring a certificate renewal (or the
  // notice that one needs a newer node): out of the way first.
  proto::ToTracker first;
  first.mutable_keepalive()->set_sequence(6);
  REQUIRE(w.Send(a, first).ok());
  w.service->TakeOutgoing();
  // A ToTracker whose only field is one this build has never heard of
  // (field 99, varint 1), as a newer node would send.
  const Bytes from_the_future = {0x98, 0x06, 0x01};
  REQUIRE(w.service->OnMessage(a, from_the_future, kNow).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].message.has_error());
  CHECK(out[0].message.error().message().find("unknown request") != std::string::npos);
  CHECK(w.service->TakeToClose().empty());
  // The session still answers.
  proto::ToTracker keepalive;
  keepalive.mutable_keepalive()->set_sequence(7);
  REQUIRE(w.Send(a, keepalive).ok());
  out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.keepalive_ack().sequence() == 7);
}

}  // namespace
}  // namespace confab::tracker
