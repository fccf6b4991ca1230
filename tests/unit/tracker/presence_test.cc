#include "tracker/presence.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace confab::tracker {
namespace {

std::vector<std::string> Names(const std::vector<Notification>& notes) {
  std::vector<std::string> out;
  for (const auto& n : notes)
    out.push_back(std::to_string(n.subscriber) + ":" + n.entry.name);
  return out;
}

TEST_CASE("Followers hear a member come online, change status and leave", "[presence]") {
  Presence p;
  p.Attach("bob", 2, 100);
  auto initial = p.Subscribe("bob", {"alice"});
  REQUIRE(initial.ok());
  REQUIRE(initial->size() == 1);
  CHECK((*initial)[0].status == proto::PRESENCE_OFFLINE);
  CHECK(p.TakeNotifications().empty());

  p.Attach("alice", 1, 101);
  auto notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].subscriber == 2);
  CHECK(notes[0].entry.name == "alice");
  CHECK(notes[0].entry.status == proto::PRESENCE_ONLINE);

  REQUIRE(p.SetStatus("alice", proto::PRESENCE_AWAY, "lunch", 102).ok());
  notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].entry.status == proto::PRESENCE_AWAY);
  CHECK(notes[0].entry.text == "lunch");

  p.Detach("alice", 1, 103);
  notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].entry.status == proto::PRESENCE_OFFLINE);
  CHECK(notes[0].entry.text.empty());
  CHECK(notes[0].entry.last_seen_unix == 103);
}

TEST_CASE("Only changes are pushed, never a repeat of the same view", "[presence]") {
  Presence p;
  p.Attach("bob", 2, 1);
  REQUIRE(p.Subscribe("bob", {"alice"}).ok());
  p.Attach("alice", 1, 1);
  p.TakeNotifications();
  REQUIRE(p.SetStatus("alice", proto::PRESENCE_ONLINE, "", 2).ok());
  CHECK(p.TakeNotifications().empty());
  // Re-subscribing to the same list sends nothing new.
  auto again = p.Subscribe("bob", {"alice"});
  REQUIRE(again.ok());
  CHECK(again->empty());
}

TEST_CASE("Invisible members look offline and hide their endpoints", "[presence]") {
  Presence p;
  p.Attach("bob", 2, 1);
  REQUIRE(p.Subscribe("bob", {"alice"}).ok());
  p.Attach("alice", 1, 1);
  proto::Endpoint e;
  e.set_address("127.0.0.1");
  e.set_port(7651);
  REQUIRE(p.SetEndpoints("alice", {e}).ok());
  CHECK(p.Endpoints("alice").size() == 1);
  p.TakeNotifications();
  REQUIRE(p.SetStatus("alice", proto::PRESENCE_INVISIBLE, "secret", 2).ok());
  auto notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].entry.status == proto::PRESENCE_OFFLINE);
  CHECK(notes[0].entry.text.empty());
  CHECK(p.View("alice").status == proto::PRESENCE_OFFLINE);
  CHECK(p.Endpoints("alice").empty());
}

TEST_CASE("A second session replaces the first and a late detach of the old one is ignored",
          "[presence]") {
  Presence p;
  CHECK_FALSE(p.Attach("alice", 1, 1).has_value());
  auto replaced = p.Attach("alice", 5, 2);
  REQUIRE(replaced.has_value());
  CHECK(*replaced == 1);
  p.Detach("alice", 1, 3);
  CHECK(p.SessionOf("alice") == std::optional<SessionId>(5));
  CHECK(p.online_count() == 1);
}

TEST_CASE("Subscriptions end with the session and respect the cap", "[presence][error]") {
  Presence p(PresenceLimits{.max_subscriptions_per_member = 2});
  p.Attach("bob", 2, 1);
  auto over = p.Subscribe("bob", {"a", "b", "c"});
  CHECK(over.status().code() == Status::Code::kResourceExhausted);
  REQUIRE(p.Subscribe("bob", {"a", "b"}).ok());
  CHECK(p.subscription_count() == 2);
  REQUIRE(p.Subscribe("bob", {"b"}).ok());
  CHECK(p.subscription_count() == 1);
  p.Detach("bob", 2, 2);
  CHECK(p.subscription_count() == 0);
  p.Attach("b", 3, 3);
  CHECK(p.TakeNotifications().empty());  // bob no longer follows b
}

TEST_CASE("Presence refuses bad statuses and calls for members that are offline",
          "[presence][error]") {
  Presence p;
  CHECK(p.SetStatus("ghost", proto::PRESENCE_AWAY, "", 1).code() ==
        Status::Code::kFailedPrecondition);
  CHECK(p.Subscribe("ghost", {"a"}).status().code() == Status::Code::kFailedPrecondition);
  CHECK(p.SetEndpoints("ghost", {}).code() == Status::Code::kFailedPrecondition);
  p.Attach("alice", 1, 1);
  CHECK(p.SetStatus("alice", proto::PRESENCE_OFFLINE, "", 1).code() ==
        Status::Code::kInvalidArgument);
  CHECK(p.SetStatus("alice", proto::PRESENCE_AWAY, std::string(141, 'x'), 1).code() ==
        Status::Code::kInvalidArgument);
  CHECK(p.SetEndpoints("alice", std::vector<proto::Endpoint>(17)).code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("A status change reaches every online follower once", "[presence]") {
  Presence p;
  p.Attach("alice", 1, 1);
  for (SessionId s = 100; s < 1100; ++s) {
    std::string name = "m" + std::to_string(s);
    p.Attach(name, s, 1);
    REQUIRE(p.Subscribe(name, {"alice"}).ok());
  }
  p.TakeNotifications();
  REQUIRE(p.SetStatus("alice", proto::PRESENCE_BUSY, "", 2).ok());
  auto notes = p.TakeNotifications();
  CHECK(notes.size() == 1000);
  auto names = Names(notes);
  std::sort(names.begin(), names.end());
  CHECK(std::unique(names.begin(), names.end()) == names.end());
}

TEST_CASE("A member on another tracker shows to followers here, and a local session wins",
          "[presence]") {
  Presence p;
  p.Attach("bob", 2, 100);
  REQUIRE(p.Subscribe("bob", {"alice"}).ok());
  proto::Endpoint e;
  e.set_address("10.1.2.3");
  e.set_port(7651);
  p.SetRemote("alice", Presence::RemoteEntry{proto::PRESENCE_AWAY, "lunch", {e}}, 101);
  auto notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].subscriber == 2);
  CHECK(notes[0].entry.status == proto::PRESENCE_AWAY);
  CHECK(notes[0].entry.text == "lunch");
  CHECK(p.Endpoints("alice").size() == 1);
  CHECK_FALSE(p.SessionOf("alice"));  // no punch through this tracker
  CHECK(p.RemoteNames() == std::vector<std::string>{"alice"});

  // The same view again is no news.
  p.SetRemote("alice", Presence::RemoteEntry{proto::PRESENCE_AWAY, "lunch", {e}}, 102);
  CHECK(p.TakeNotifications().empty());

  // alice connects here too: the local session is what followers see.
  p.Attach("alice", 3, 103);
  notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].entry.status == proto::PRESENCE_ONLINE);
  p.Detach("alice", 3, 104);
  notes = p.TakeNotifications();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].entry.status == proto::PRESENCE_AWAY);  // still there, remotely

  // An offline or invisible remote entry shows offline, without endpoints.
  p.SetRemote("alice", Presence::RemoteEntry{proto::PRESENCE_INVISIBLE, "x", {e}}, 105);
  CHECK(p.View("alice").status == proto::PRESENCE_OFFLINE);
  CHECK(p.View("alice").text.empty());
  CHECK(p.Endpoints("alice").empty());
  p.TakeNotifications();
  p.SetRemote("alice", Presence::RemoteEntry{proto::PRESENCE_ONLINE, "", {}}, 106);
  p.SetRemote("alice", std::nullopt, 107);
  notes = p.TakeNotifications();
  REQUIRE(notes.size() == 2);
  CHECK(notes[1].entry.status == proto::PRESENCE_OFFLINE);
  CHECK(notes[1].entry.last_seen_unix == 107);
  CHECK(p.RemoteNames().empty());
}

}  // namespace
}  // namespace confab::tracker
