// ChatSessions speaking chat protocol 2 (reconcile over a ReplicaView) over
// real loopback connections, and refusing a protocol 1 peer with the
// upgrade notice on both sides.
#include <catch2/catch.hpp>

#include "peer/chat/sessions.h"

#include "sessions_fixture.h"
#include "tests/unit/chat/memory_replicas.h"

namespace confab::peer {
namespace {

using namespace sessions_testing;
using chat::testing::MemoryReplicas;
using chat::testing::People;

bool Holds(const std::vector<std::string>& texts, const std::string& text) {
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

bool HistoryHas(Member& m, const std::string& contact, const std::string& needle) {
  auto all = m.state.messenger->History(contact, 0, 100);
  REQUIRE(all.ok());
  for (const StoredMessage& s : *all) {
    if (s.text.find(needle) != std::string::npos)
      return true;
  }
  return false;
}

TEST_CASE("A message written on one protocol 2 node reaches the other and is acknowledged",
          "[peer][sessions][reconcile]") {
  People people;
  MemoryReplicas alice_view(people, "alice"), bob_view(people, "bob");
  Bytes id = alice_view.AddDirect("bob");
  bob_view.AddDirect("alice");
  Fixture f;
  f.alice.replicas = &alice_view;
  f.bob.replicas = &bob_view;
  f.Start(f.alice);
  f.Start(f.bob);
  chat::VerifiedEntry hi = alice_view.Write(id, "hi bob");
  f.alice.sessions->Deliver("bob");
  Bytes hi_id(hi.id.begin(), hi.id.end());
  REQUIRE(f.Run([&] { return alice_view.acked_by["bob"].count(hi_id) > 0; }));
  CHECK(bob_view.Texts(id) == std::vector<std::string>{"alice:hi bob"});
  CHECK(alice_view.peer_vectors["bob"][id] == chat::Vector{{"alice", 1}});
  // Bob answers on the same connection.
  bob_view.Write(id, "hi alice");
  f.bob.sessions->Deliver("alice");
  REQUIRE(f.Run([&] { return Holds(alice_view.Texts(id), "bob:hi alice"); }));
  REQUIRE(f.Run([&] { return bob_view.acked_by["alice"].size() == 1; }));
  CHECK(alice_view.Texts(id) == bob_view.Texts(id));
  CHECK(f.alice.outdated.empty());
  CHECK(f.bob.outdated.empty());
  REQUIRE(f.Run([&] { return f.alice.rounds >= 2 && f.bob.rounds >= 2; }));
  // Protocol 2 leaves Messenger alone: nothing in either history.
  CHECK(f.bob.state.messenger->History("alice", 0, 10)->empty());
}

TEST_CASE(
    "1,500 entries cross a real connection, and a connection dropped mid-round "
    "converges on the next one",
    "[peer][sessions][reconcile]") {
  People people;
  MemoryReplicas alice_view(people, "alice"), bob_view(people, "bob");
  std::vector<Bytes> groups;
  for (uint8_t i = 1; i <= 15; ++i) {
    groups.push_back(alice_view.CreateGroup(chat::testing::GroupIdOf(i), {"bob"}));
    bob_view.CopyFrom(alice_view, groups.back());
  }
  for (size_t n = 0; n < 1500; ++n)
    alice_view.Write(groups[n % groups.size()], "entry " + std::to_string(n));
  auto held = [&] {
    uint64_t sum = 0;
    for (const Bytes& g : groups)
      sum += bob_view.conv(g).held("alice") - 1;
    return sum;
  };
  Fixture f;
  f.alice.replicas = &alice_view;
  f.bob.replicas = &bob_view;
  f.Start(f.alice);
  f.Start(f.bob);
  f.alice.sessions->Deliver("bob");
  REQUIRE(f.Run([&] { return held() >= chat::kEntriesPerBatch; }));
  f.alice.sessions->DropSessions("bob", Status::Closed("dropped by the test"));
  REQUIRE(f.Run([&] { return !f.alice.sessions->HasSession("bob"); }));
  CHECK(held() < 1500);
  f.alice.sessions->Deliver("bob");
  // What the dropped connection committed but never acknowledged is known
  // from bob's vector on the next one, not by an ack (so delivered_to must
  // follow vectors too).
  auto known = [&] {
    uint64_t sum = 0;
    for (const Bytes& g : groups)
      sum += alice_view.peer_vectors["bob"][g]["alice"] - 1;
    return sum;
  };
  bool converged = f.Run([&] { return held() == 1500 && known() == 1500; }, 20000);
  INFO("held " << held() << ", known " << known() << ", acked "
               << alice_view.acked_by["bob"].size());
  REQUIRE(converged);
  CHECK(alice_view.acked_by["bob"].size() <= 1500);
  for (const Bytes& g : groups)
    CHECK(bob_view.Texts(g) == alice_view.Texts(g));
  CHECK(bob_view.refused == 0);
}

TEST_CASE("The node that was dialed reports the path it was reached on",
          "[peer][sessions][reconcile]") {
  People people;
  MemoryReplicas alice_view(people, "alice"), bob_view(people, "bob");
  Bytes id = alice_view.AddDirect("bob");
  bob_view.AddDirect("alice");
  Fixture f;
  f.alice.replicas = &alice_view;
  f.bob.replicas = &bob_view;
  f.Start(f.alice);
  f.Start(f.bob);
  CHECK(!f.bob.sessions->PathTo("alice").has_value());
  chat::VerifiedEntry hi = alice_view.Write(id, "hi bob");
  f.alice.sessions->Deliver("bob");
  Bytes hi_id(hi.id.begin(), hi.id.end());
  REQUIRE(f.Run([&] { return alice_view.acked_by["bob"].count(hi_id) > 0; }));
  std::optional<PathReport> inbound = f.bob.sessions->PathTo("alice");
  REQUIRE(inbound.has_value());
  CHECK(inbound->transport == Transport::kTcp);
  CHECK(inbound->reason == "they reached us (inbound tcp)");
  std::optional<PathReport> outbound = f.alice.sessions->PathTo("bob");
  REQUIRE(outbound.has_value());
  CHECK(outbound->transport == Transport::kTcp);
}

TEST_CASE("A protocol 2 node dials only members it shares a conversation with",
          "[peer][sessions][reconcile]") {
  People people;
  MemoryReplicas alice_view(people, "alice"), bob_view(people, "bob");
  Fixture f;
  f.alice.replicas = &alice_view;
  f.bob.replicas = &bob_view;
  f.Start(f.alice);
  f.Start(f.bob);
  f.alice.sessions->Deliver("bob");
  f.Run([] { return false; }, 300);
  CHECK(!f.alice.sessions->HasSession("bob"));
  CHECK(!f.alice.sessions->PathTo("bob").has_value());  // never tried
  Bytes id = alice_view.AddDirect("bob");
  bob_view.AddDirect("alice");
  f.alice.sessions->RetryNow("bob");  // e.g. bob just came online
  REQUIRE(f.Run([&] { return f.alice.rounds >= 1 && f.bob.rounds >= 1; }));
  CHECK(f.alice.sessions->HasSession("bob"));
}

TEST_CASE("A protocol 1 node that a protocol 2 node dials stores and shows the upgrade notice",
          "[peer][sessions][reconcile][upgrade]") {
  People people;
  MemoryReplicas alice_view(people, "alice");
  alice_view.AddDirect("bob");
  Fixture f;
  f.alice.replicas = &alice_view;  // bob runs protocol 1
  f.Start(f.alice);
  f.Start(f.bob);
  f.alice.sessions->Deliver("bob");
  REQUIRE(f.Run([&] { return !f.alice.outdated.empty() && !f.bob.received.empty(); }));
  CHECK(f.alice.outdated == std::vector<std::string>{"bob: bob runs an older confab; ask them "
                                                     "to upgrade"});
  CHECK_THAT(f.bob.received.front(), Catch::Contains("alice: [confab] alice runs a newer confab"));
  CHECK(HistoryHas(f.bob, "alice", "Upgrade confab to chat with alice"));
  // Alice closes once bob acknowledged the notice.
  REQUIRE(f.Run([&] { return !f.alice.sessions->HasSession("bob"); }));
  // Another connection: the notice is shown once, the person told once.
  f.alice.sessions->Deliver("bob");
  f.Run([] { return false; }, 500);
  auto all = f.bob.state.messenger->History("alice", 0, 10);
  REQUIRE(all.ok());
  CHECK(all->size() == 1);
  CHECK(f.alice.outdated.size() == 1);
}

TEST_CASE(
    "A protocol 1 node that dials a protocol 2 node is refused with the notice, and its "
    "messages stay queued",
    "[peer][sessions][reconcile][upgrade]") {
  People people;
  MemoryReplicas alice_view(people, "alice");
  alice_view.AddDirect("bob");
  Fixture f;
  f.alice.replicas = &alice_view;
  f.Start(f.alice);
  f.Start(f.bob);
  const StoredMessage hi = f.Send(f.bob, "alice", "hi alice");
  REQUIRE(f.Run([&] { return !f.alice.outdated.empty() && !f.bob.received.empty(); }));
  CHECK(f.alice.outdated.front() == "bob: bob runs an older confab; ask them to upgrade");
  CHECK_THAT(f.bob.received.front(), Catch::Contains("alice runs a newer confab"));
  REQUIRE(f.Run([&] { return !f.bob.sessions->HasSession("alice"); }));
  // Nothing of bob's was taken: still in his outbox, never delivered.
  CHECK(f.StateOf(f.bob, "alice", hi.id) != MessageState::kDelivered);
  auto pending = f.bob.state.messenger->PendingFor("alice");
  REQUIRE(pending.ok());
  CHECK(pending->size() == 1);
}

TEST_CASE("A node of a newer chat protocol and one of an older refuse each other with the reason",
          "[peer][sessions][reconcile][upgrade]") {
  People people;
  MemoryReplicas alice_view(people, "alice"), bob_view(people, "bob");
  alice_view.AddDirect("bob");
  bob_view.AddDirect("alice");
  Fixture f;
  f.alice.replicas = &alice_view;
  f.bob.replicas = &bob_view;
  f.bob.protocol_version = kChatProtocolVersion + 1;  // bob plays a later release
  f.Start(f.alice);
  f.Start(f.bob);
  f.alice.sessions->Deliver("bob");
  REQUIRE(f.Run([&] { return !f.alice.outdated.empty() && !f.bob.outdated.empty(); }));
  CHECK(f.alice.outdated.front() ==
        "bob: bob runs a newer confab (chat protocol 3); upgrade confab to chat with them");
  CHECK(f.bob.outdated.front() == "alice: alice runs an older confab; ask them to upgrade");
  REQUIRE(f.Run([&] { return !f.alice.sessions->HasSession("bob"); }));
  CHECK(f.alice.rounds == 0);
  CHECK(f.bob.rounds == 0);
}

}  // namespace
}  // namespace confab::peer
