#include "common/protocol/presence_names.h"

#include <catch2/catch.hpp>

namespace confab::protocol {
namespace {

TEST_CASE("Presence words round-trip for the statuses a member can set", "[protocol]") {
  for (auto s : {proto::PRESENCE_ONLINE, proto::PRESENCE_AWAY, proto::PRESENCE_BUSY,
                 proto::PRESENCE_INVISIBLE}) {
    auto parsed = ParseSettableStatus(PresenceStatusName(s));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == s);
  }
  CHECK(PresenceStatusName(proto::PRESENCE_OFFLINE) == "offline");
  CHECK(PresenceStatusName(proto::PRESENCE_UNKNOWN) == "offline");
  CHECK_FALSE(ParseSettableStatus("offline").has_value());
  CHECK_FALSE(ParseSettableStatus("Away").has_value());
  CHECK_FALSE(ParseSettableStatus("").has_value());
}

TEST_CASE("Away and busy members still show as online", "[protocol]") {
  CHECK(ShowsOnline(proto::PRESENCE_AWAY));
  CHECK(ShowsOnline(proto::PRESENCE_BUSY));
  CHECK_FALSE(ShowsOnline(proto::PRESENCE_INVISIBLE));
  CHECK_FALSE(ShowsOnline(proto::PRESENCE_OFFLINE));
}

}  // namespace
}  // namespace confab::protocol
