#include "peer/chat/reconcile_session.h"

#include <algorithm>
#include <cstdio>
#include <deque>

#include <catch2/catch.hpp>

#include "memory_replicas.h"

namespace confab::peer::chat {
namespace {

// Two sessions back to back: every message is serialized, counted and
// parsed on the way, one at a time each way, so replies interleave as on a
// real connection.
struct Wire {
  Wire(ReconcileSession& x, ReconcileSession& y) : a(x), b(y) {}
  ReconcileSession& a;
  ReconcileSession& b;
  std::deque<std::string> to_a, to_b;
  size_t bytes = 0;
  size_t messages = 0;
  size_t max_in_flight = 0;  // the most EntryBatches either side had unacked
  Status error;              // the first error either side returned

  void Collect() {
    for (auto& m : a.TakeOutgoing())
      Queue(m, to_b);
    for (auto& m : b.TakeOutgoing())
      Queue(m, to_a);
    max_in_flight = std::max({max_in_flight, a.batches_in_flight(), b.batches_in_flight()});
  }
  void Queue(const proto::ReconcileMessage& m, std::deque<std::string>& q) {
    std::string s = m.SerializeAsString();
    bytes += s.size();
    ++messages;
    q.push_back(std::move(s));
  }
  static bool Deliver(std::deque<std::string>& q, ReconcileSession& to, Status& error) {
    if (q.empty())
      return false;
    proto::ReconcileMessage m;
    REQUIRE(m.ParseFromString(q.front()));
    q.pop_front();
    Status s = to.OnMessage(m, 1000);
    if (!s.ok() && error.ok())
      error = s;
    return true;
  }
  // Runs until both queues are empty (or `steps` deliveries, to stop mid-round).
  void Run(size_t steps = SIZE_MAX) {
    Collect();
    for (size_t n = 0; n < steps && error.ok();) {
      bool any = Deliver(to_b, b, error);
      Collect();
      any = Deliver(to_a, a, error) || any;
      Collect();
      if (!any)
        break;
      ++n;
    }
  }
};
bool Holds(const std::vector<std::string>& texts, const std::string& text) {
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

using testing::GroupIdOf;
using testing::MemoryReplicas;
using testing::People;

proto::EntryBody TextBody(const std::string& text = "t") {
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text(text);
  return b;
}

Bytes GroupN(size_t n) {
  Bytes id(kGroupIdBytes, 0x5a);
  id[0] = static_cast<uint8_t>(n);
  id[1] = static_cast<uint8_t>(n >> 8);
  return id;
}

// Starts both sides (a connection just came up) and runs to quiet.
void Connect(Wire& w) {
  REQUIRE(w.a.Start().ok());
  REQUIRE(w.b.Start().ok());
  w.Run();
}

TEST_CASE("Idle shared conversations end the round after the roots, in a few hundred bytes",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  for (size_t i = 0; i < 1000; ++i) {
    Bytes id = alice.CreateGroup(GroupN(i), {"bob"});
    alice.Write(id);
    bob.CopyFrom(alice, id);
  }
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  Connect(w);
  REQUIRE(w.error.ok());
  CHECK(a.rounds_done() == 1);
  CHECK(b.rounds_done() == 1);
  CHECK(a.state() == ReconcileSession::State::kIdle);
  CHECK(w.messages == 2);
  CHECK(w.bytes < 100);
  std::printf("idle reconcile, 1,000 shared conversations: %zu messages, %zu bytes\n", w.messages,
              w.bytes);
}

TEST_CASE("A side that is ahead sends what the other lacks and hears it acknowledged",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  Bytes id = alice.AddDirect("bob");
  bob.AddDirect("alice");
  for (int i = 0; i < 3; ++i)
    alice.Write(id, "m" + std::to_string(i));
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  Connect(w);
  REQUIRE(w.error.ok());
  CHECK(bob.Texts(id) == std::vector<std::string>{"alice:m0", "alice:m1", "alice:m2"});
  CHECK(alice.acked_by["bob"].size() == 3);
  CHECK(alice.peer_vectors["bob"][id] == Vector{{"alice", 3}});
  CHECK(bob.commits == 1);
  CHECK(a.rounds_done() == 1);
  CHECK(b.rounds_done() == 1);
  // Nothing new: the next round is the roots alone.
  size_t before = w.messages;
  REQUIRE(a.OnLocalChange().ok());
  w.Run();
  CHECK(w.messages - before == 2);
  CHECK(a.rounds_done() == 2);
}

TEST_CASE("Both sides ahead in different conversations each get the other's entries",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  Bytes g1 = alice.CreateGroup(GroupIdOf(1), {"bob"});
  Bytes g2 = alice.CreateGroup(GroupIdOf(2), {"bob"});
  bob.CopyFrom(alice, g1);
  bob.CopyFrom(alice, g2);
  alice.Write(g1, "from alice");
  bob.Write(g2, "from bob");
  bob.Write(g2, "again");
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  Connect(w);
  REQUIRE(w.error.ok());
  CHECK(alice.Texts(g1) == bob.Texts(g1));
  CHECK(alice.Texts(g2) == bob.Texts(g2));
  CHECK(bob.Texts(g2).size() == 3);
  CHECK(alice.acked_by["bob"].size() == 1);
  CHECK(bob.acked_by["alice"].size() == 2);
}

TEST_CASE("Carol passes Alice's group entries to Bob while Alice is away",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob"), carol(people, "carol");
  Bytes g = alice.CreateGroup(GroupIdOf(7), {"bob", "carol"});
  alice.Write(g, "one");
  alice.Write(g, "two");
  {
    ReconcileSession a(alice, "carol"), c(carol, "alice");
    Wire w{a, c};
    Connect(w);
    REQUIRE(w.error.ok());
  }
  REQUIRE(carol.Has(g));
  CHECK(!bob.Has(g));
  // Alice is gone; Bob learns the group from its creation entry, from Carol.
  ReconcileSession c(carol, "bob"), b(bob, "carol");
  Wire w{c, b};
  Connect(w);
  REQUIRE(w.error.ok());
  REQUIRE(bob.Has(g));
  CHECK(bob.Texts(g) == alice.Texts(g));
  CHECK(bob.conv(g).CurrentMembership() == alice.conv(g).CurrentMembership());
  CHECK(carol.acked_by["bob"].size() == 3);  // create, one, two
}

TEST_CASE("Ten thousand entries flow in batches with never more than two unacknowledged",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  std::vector<Bytes> groups;
  // Spread over 200 groups: the in-memory Conversation re-sorts a
  // conversation on every Accept, which is not what this test measures.
  for (size_t i = 0; i < 200; ++i) {
    groups.push_back(alice.CreateGroup(GroupN(i), {"bob"}));
    bob.CopyFrom(alice, groups.back());
  }
  for (size_t n = 0; n < 10000; ++n)
    alice.Write(groups[n % groups.size()], "entry " + std::to_string(n));
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  Connect(w);
  REQUIRE(w.error.ok());
  CHECK(w.max_in_flight == kMaxBatchesInFlight);
  CHECK(bob.commits == 10000 / kEntriesPerBatch + 1);
  CHECK(alice.acked_by["bob"].size() == 10000);
  for (const Bytes& g : groups)
    CHECK(bob.Texts(g) == alice.Texts(g));
  CHECK(a.rounds_done() == 1);
  CHECK(b.rounds_done() == 1);
}

TEST_CASE("A session restarted mid-round converges on a new connection",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  std::vector<Bytes> groups;
  for (size_t i = 0; i < 10; ++i) {
    groups.push_back(alice.CreateGroup(GroupN(i), {"bob"}));
    bob.CopyFrom(alice, groups.back());
  }
  for (size_t n = 0; n < 1000; ++n)
    alice.Write(groups[n % groups.size()], std::to_string(n));
  auto held = [&] {
    uint64_t sum = 0;
    for (const Bytes& g : groups)
      sum += bob.conv(g).held("alice") - 1;
    return sum;
  };
  {
    ReconcileSession a(alice, "bob"), b(bob, "alice");
    Wire w{a, b};
    REQUIRE(a.Start().ok());
    REQUIRE(b.Start().ok());
    w.Run(6);  // roots, digests, vectors, then a batch or two: the connection drops
    REQUIRE(w.error.ok());
    CHECK(held() >= kEntriesPerBatch);
    CHECK(held() < 1000);
  }
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  Connect(w);
  REQUIRE(w.error.ok());
  CHECK(held() == 1000);
  for (const Bytes& g : groups)
    CHECK(bob.Texts(g) == alice.Texts(g));
  CHECK(bob.refused == 0);
}

TEST_CASE("A change written during a round starts one more round after it",
          "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), bob(people, "bob");
  Bytes id = alice.AddDirect("bob");
  bob.AddDirect("alice");
  alice.Write(id, "first");
  ReconcileSession a(alice, "bob"), b(bob, "alice");
  Wire w{a, b};
  REQUIRE(a.Start().ok());
  REQUIRE(b.Start().ok());
  w.Run(2);
  alice.Write(id, "second");
  REQUIRE(a.OnLocalChange().ok());
  bob.Write(id, "third");
  REQUIRE(b.OnLocalChange().ok());
  REQUIRE(b.OnLocalChange().ok());  // coalesced with the one before
  w.Run();
  REQUIRE(w.error.ok());
  CHECK(bob.Texts(id) == alice.Texts(id));
  CHECK(bob.Texts(id).size() == 3);
  CHECK(a.rounds_done() == 2);
  CHECK(b.rounds_done() == 2);
}

TEST_CASE(
    "A removed member is sent nothing written after the removal and its later entries "
    "are refused",
    "[chat][reconcile_session]") {
  People people;
  MemoryReplicas alice(people, "alice"), carol(people, "carol");
  Bytes g = alice.CreateGroup(GroupIdOf(5), {"bob", "carol"});
  alice.Write(g, "before");
  carol.CopyFrom(alice, g);
  Conversation& mine = alice.conv(g);
  REQUIRE(
      mine.Accept(people.Remove("alice", g, 3, mine.next_lamport(), "carol", 0), people.lookup())
          .ok());
  mine.TakeNewlyStored();
  alice.Write(g, "after");
  carol.Write(g, "carol after her removal");
  ReconcileSession a(alice, "carol"), c(carol, "alice");
  Wire w{a, c};
  Connect(w);
  REQUIRE(w.error.ok());                    // refusals do not end the connection
  CHECK(carol.conv(g).held("alice") == 2);  // the creation and "before": not the removal
  CHECK(!Holds(carol.Texts(g), "alice:after"));
  CHECK(!Holds(alice.Texts(g), "carol:carol after her removal"));
  CHECK(mine.held("carol") == 0);
  CHECK(alice.refused > 0);
  CHECK(alice.acked_by["carol"].empty());
}

// ---- a hostile or broken peer ---------------------------------------------

// A session of alice's that has exchanged roots and digests with bob's and
// is waiting for vectors; `bob` then speaks by hand.
struct Hostile {
  People people;
  MemoryReplicas alice{people, "alice"};
  MemoryReplicas bob{people, "bob"};
  Bytes id = alice.AddDirect("bob");
  ReconcileSession a{alice, "bob"};

  Hostile() {
    bob.AddDirect("alice");
    bob.Write(id, "x");
    REQUIRE(a.Start().ok());
    proto::ReconcileMessage root;
    root.set_root(std::string(32, '\1'));
    REQUIRE(a.OnMessage(root, 0).ok());
    proto::ReconcileMessage digests;
    auto* d = digests.mutable_digests()->add_items();
    d->set_conversation(std::string(AsChars(id)));
    d->set_digest(std::string(8, '\2'));
    REQUIRE(a.OnMessage(digests, 0).ok());
    REQUIRE(a.state() == ReconcileSession::State::kAwaitVectors);
  }
  Status Send(const proto::ReconcileMessage& m) { return a.OnMessage(m, 0); }
  void ToExchanging() {
    proto::ReconcileMessage v;
    v.mutable_vectors();
    REQUIRE(Send(v).ok());
    REQUIRE(a.state() == ReconcileSession::State::kExchanging);
  }
  proto::ReconcileMessage BatchOf(std::vector<proto::Entry> entries) {
    proto::ReconcileMessage m;
    for (auto& e : entries)
      *m.mutable_entries()->add_entries() = std::move(e);
    return m;
  }
  bool ErrorEvent() {
    for (const ReconcileEvent& e : a.TakeEvents()) {
      if (e.kind == ReconcileEvent::Kind::kProtocolError)
        return true;
    }
    return false;
  }
};

TEST_CASE("Oversize lists from the peer are a protocol error that ends the session",
          "[chat][reconcile_session][error]") {
  Hostile h;
  SECTION("a vector with too many authors") {
    proto::ReconcileMessage v;
    auto* cv = v.mutable_vectors()->add_items();
    cv->set_conversation(std::string(AsChars(h.id)));
    for (size_t i = 0; i <= kMaxVectorAuthors; ++i) {
      auto* item = cv->add_items();
      item->set_author("a" + std::to_string(i));
      item->set_seq(1);
    }
    Status s = h.Send(v);
    CHECK(!s.ok());
    CHECK_THAT(s.ToString(), Catch::Contains("authors"));
  }
  SECTION("a batch over kEntriesPerBatch") {
    h.ToExchanging();
    std::vector<proto::Entry> entries;
    for (size_t i = 0; i <= kEntriesPerBatch; ++i)
      entries.push_back(h.people.Sign("bob", h.id, i + 1, i + 1, TextBody()));
    Status s = h.Send(h.BatchOf(std::move(entries)));
    CHECK(!s.ok());
    CHECK_THAT(s.ToString(), Catch::Contains("batch of 257"));
    CHECK(h.alice.conv(h.id).held("bob") == 0);  // nothing stored
  }
  SECTION("an ack of more ids than a batch") {
    h.alice.Write(h.id);
    h.ToExchanging();
    REQUIRE(h.a.batches_in_flight() == 1);
    proto::ReconcileMessage ack;
    for (size_t i = 0; i <= kMaxAckIds; ++i)
      ack.mutable_ack()->add_ids(std::string(32, '\0'));
    CHECK_THAT(h.Send(ack).ToString(), Catch::Contains("more than 256 ids"));
  }
  CHECK(h.a.state() == ReconcileSession::State::kFailed);
  CHECK(h.ErrorEvent());
  // A failed session refuses everything after.
  proto::ReconcileMessage root;
  root.set_root(std::string(32, '\0'));
  CHECK(!h.Send(root).ok());
}

TEST_CASE("Malformed and out-of-state messages are refused with a reason",
          "[chat][reconcile_session][error]") {
  Hostile h;
  SECTION("a root of the wrong size") {
    proto::ReconcileMessage m;
    m.set_root("short");
    CHECK_THAT(h.Send(m).ToString(), Catch::Contains("root digest of 5 bytes"));
  }
  SECTION("an empty message") {
    CHECK_THAT(h.Send(proto::ReconcileMessage()).ToString(), Catch::Contains("empty"));
  }
  SECTION("entries before the vectors") {
    proto::ReconcileMessage m = h.BatchOf({h.people.Sign("bob", h.id, 1, 1, TextBody())});
    CHECK_THAT(h.Send(m).ToString(), Catch::Contains("entries while awaiting vectors"));
  }
  SECTION("an ack with no batch in flight") {
    h.ToExchanging();
    proto::ReconcileMessage m;
    m.mutable_ack();
    CHECK_THAT(h.Send(m).ToString(), Catch::Contains("no batch in flight"));
  }
  SECTION("a vector naming one author twice") {
    proto::ReconcileMessage v;
    auto* cv = v.mutable_vectors()->add_items();
    cv->set_conversation(std::string(AsChars(h.id)));
    for (int i = 0; i < 2; ++i) {
      auto* item = cv->add_items();
      item->set_author("bob");
      item->set_seq(1);
    }
    CHECK_THAT(h.Send(v).ToString(), Catch::Contains("twice"));
  }
  SECTION("a second done") {
    h.ToExchanging();
    proto::ReconcileMessage done;
    done.mutable_done();
    REQUIRE(h.Send(done).ok());
    // alice had nothing to send: her done went out and the round ended.
    CHECK(h.a.state() == ReconcileSession::State::kIdle);
    CHECK_THAT(h.Send(done).ToString(), Catch::Contains("done while idle"));
  }
  CHECK(h.a.state() == ReconcileSession::State::kFailed);
  CHECK(h.ErrorEvent());
}

TEST_CASE("Entries the view refuses are not acknowledged and the session continues",
          "[chat][reconcile_session][error]") {
  Hostile h;
  h.ToExchanging();
  proto::EntryBody text = TextBody("ok");
  proto::Entry good = h.people.Sign("bob", h.id, 1, 1, text);
  proto::Entry bad_sig = h.people.Sign("bob", h.id, 2, 2, text);
  bad_sig.mutable_signature()->at(0) ^= 1;
  proto::Entry unknown_conv = h.people.Sign("bob", GroupIdOf(9), 2, 2, text);
  proto::EntryBody as_alice = text;  // signed by Carol, claiming Alice
  as_alice.set_conversation(std::string(AsChars(h.id)));
  as_alice.set_author("alice");
  as_alice.set_seq(1);
  as_alice.set_lamport(1);
  proto::Entry carol_as_alice = *SignEntry(h.people.key("carol"), as_alice);
  proto::Entry far_ahead = h.people.Sign("bob", h.id, 1000, 1000, text);
  Status s = h.Send(h.BatchOf({good, bad_sig, unknown_conv, carol_as_alice, far_ahead}));
  REQUIRE(s.ok());
  std::vector<proto::ReconcileMessage> out = h.a.TakeOutgoing();
  REQUIRE(!out.empty());
  REQUIRE(out.back().has_ack());
  CHECK(out.back().ack().ids_size() == 1);
  CHECK(h.alice.refused == 4);
  CHECK(h.alice.Texts(h.id) == std::vector<std::string>{"bob:ok"});
  CHECK(h.a.state() == ReconcileSession::State::kExchanging);
}

TEST_CASE("A store that fails ends the session and acknowledges nothing",
          "[chat][reconcile_session][error]") {
  Hostile h;
  h.ToExchanging();
  h.a.TakeOutgoing();
  h.alice.fail_receive = true;
  Status s = h.Send(h.BatchOf({h.people.Sign("bob", h.id, 1, 1, TextBody())}));
  CHECK_THAT(s.ToString(), Catch::Contains("disk full"));
  for (const auto& m : h.a.TakeOutgoing())
    CHECK(!m.has_ack());
  CHECK(h.a.state() == ReconcileSession::State::kFailed);
}

TEST_CASE("Vectors naming conversations we do not share are ignored",
          "[chat][reconcile_session][error]") {
  Hostile h;
  proto::ReconcileMessage v;
  auto* cv = v.mutable_vectors()->add_items();
  cv->set_conversation(std::string(AsChars(GroupIdOf(8))));
  auto* item = cv->add_items();
  item->set_author("bob");
  item->set_seq(4);
  REQUIRE(h.Send(v).ok());
  CHECK(h.a.state() == ReconcileSession::State::kExchanging);
  CHECK(h.alice.peer_vectors["bob"].count(GroupIdOf(8)) == 0);
  CHECK(h.alice.peer_vectors["bob"].count(h.id) == 1);  // we named it: they hold none
  for (const auto& m : h.a.TakeOutgoing())
    CHECK(!m.has_entries());
}

}  // namespace
}  // namespace confab::peer::chat
