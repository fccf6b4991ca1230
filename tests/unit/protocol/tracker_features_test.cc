#include "common/protocol/tracker_features.h"

#include <catch2/catch.hpp>

namespace confab::protocol {
namespace {

TEST_CASE("A node asks for a relay only from a tracker whose welcome offers one",
          "[protocol][relay]") {
  proto::SessionWelcome welcome;
  welcome.set_accepted(true);
  SECTION("a tracker from before the protocol version is too old") {
    Status s = RelayOffered(welcome);
    CHECK(s.code() == Status::Code::kFailedPrecondition);
    CHECK(s.message() == "relay: the tracker is too old");
    welcome.add_features("relay");  // a feature list alone does not make it new
    CHECK(RelayOffered(welcome).message() == "relay: the tracker is too old");
  }
  SECTION("a current tracker with the relay disabled says so") {
    welcome.set_protocol_version(kTrackerRelayVersion);
    welcome.add_features("something-else");
    CHECK(RelayOffered(welcome).message() == "relay: disabled on the tracker");
  }
  SECTION("a current tracker that lists relay offers it") {
    welcome.set_protocol_version(kTrackerProtocolVersion);
    welcome.add_features(std::string(kFeatureRelay));
    CHECK(RelayOffered(welcome).ok());
    CHECK(HasFeature(welcome, "relay"));
    CHECK_FALSE(HasFeature(welcome, "rela"));
  }
}

TEST_CASE("A node asks to use the mailbox only of a tracker whose welcome offers it",
          "[protocol][mailbox]") {
  proto::SessionWelcome welcome;
  welcome.set_accepted(true);
  SECTION("a relay-era tracker (protocol 2) is too old, whatever it lists") {
    welcome.set_protocol_version(kTrackerRelayVersion);
    welcome.add_features(std::string(kFeatureMailbox));
    Status s = MailboxOffered(welcome);
    CHECK(s.code() == Status::Code::kFailedPrecondition);
    CHECK(s.message() == "mailbox: the tracker is too old");
  }
  SECTION("a tracker from before the protocol version is too old") {
    CHECK(MailboxOffered(welcome).message() == "mailbox: the tracker is too old");
  }
  SECTION("a current tracker without the feature has it disabled") {
    welcome.set_protocol_version(kTrackerMailboxVersion);
    welcome.add_features(std::string(kFeatureRelay));
    CHECK(MailboxOffered(welcome).message() == "mailbox: disabled on the tracker");
  }
  SECTION("a current tracker that lists mailbox offers it") {
    welcome.set_protocol_version(kTrackerProtocolVersion);
    welcome.add_features(std::string(kFeatureMailbox));
    CHECK(MailboxOffered(welcome).ok());
  }
}

}  // namespace
}  // namespace confab::protocol
