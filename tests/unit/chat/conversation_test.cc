#include "peer/chat/conversation.h"

#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

#include "chat_fixture.h"

namespace confab::peer::chat {
namespace {

using Code = Status::Code;
using testing::GroupIdOf;
using testing::People;

Conversation Group(const People& p, const Bytes& id,
                   std::vector<std::string> members = {"alice", "bob", "carol", "dave"},
                   std::vector<std::string> admins = {"alice"}) {
  auto c = Conversation::FromCreate(p.Create("alice", id, members, admins));
  REQUIRE(c.ok());
  return std::move(*c);
}

TEST_CASE("A member's next entry is stored and shown in (lamport, author, seq) order",
          "[chat][conversation]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  REQUIRE(*c.Accept(p.Text("bob", GroupIdOf(1), 1, 3, "b1"), p.lookup()) == AcceptOutcome::kStored);
  REQUIRE(*c.Accept(p.Text("alice", GroupIdOf(1), 2, 2, "a2"), p.lookup()) ==
          AcceptOutcome::kStored);
  CHECK(*c.Accept(p.Text("alice", GroupIdOf(1), 2, 2, "a2"), p.lookup()) ==
        AcceptOutcome::kDuplicate);
  auto shown = c.Ordered();
  REQUIRE(shown.size() == 3);
  CHECK(shown[1]->body.text() == "a2");
  CHECK(shown[2]->body.text() == "b1");
  CHECK(c.vector() == Vector{{"alice", 2}, {"bob", 1}});
  CHECK(c.TakeNewlyStored().size() == 3);
  CHECK(c.TakeNewlyStored().empty());
}

TEST_CASE("An entry whose author is not a member is refused and nothing is stored",
          "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1), {"alice", "bob"});
  auto r = c.Accept(p.Text("erin", GroupIdOf(1), 1, 2), p.lookup());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(c.held("erin") == 0);
  CHECK(c.Ordered().size() == 1);
}

TEST_CASE("An entry claiming Alice but signed by Carol's key is refused",
          "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text("I am alice");
  b.set_conversation(std::string(AsChars(GroupIdOf(1))));
  b.set_author("alice");
  b.set_seq(2);
  b.set_lamport(2);
  auto forged = VerifyEntry(*SignEntry(p.key("carol"), b));  // valid signature by carol's key
  REQUIRE(forged.ok());
  CHECK(c.Accept(std::move(*forged), p.lookup()).status().code() == Code::kAuthFailed);
  CHECK(c.held("alice") == 1);
}

TEST_CASE("Later entries wait for a gap to fill, and a gap far ahead is refused",
          "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  CHECK(*c.Accept(p.Text("bob", GroupIdOf(1), 3, 5), p.lookup()) == AcceptOutcome::kPending);
  CHECK(*c.Accept(p.Text("bob", GroupIdOf(1), 2, 4), p.lookup()) == AcceptOutcome::kPending);
  CHECK(c.held("bob") == 0);
  CHECK(c.pending_count("bob") == 2);
  CHECK(*c.Accept(p.Text("bob", GroupIdOf(1), 1, 3), p.lookup()) == AcceptOutcome::kStored);
  CHECK(c.held("bob") == 3);
  CHECK(c.pending_count("bob") == 0);
  auto far = c.Accept(p.Text("bob", GroupIdOf(1), 3 + kPendingPerAuthor + 1, 9), p.lookup());
  CHECK(far.status().code() == Code::kInvalidArgument);
  CHECK(c.pending_count("bob") == 0);
}

TEST_CASE("Two different entries at one author's seq are refused", "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  REQUIRE(c.Accept(p.Text("bob", GroupIdOf(1), 1, 2, "one"), p.lookup()).ok());
  CHECK(c.Accept(p.Text("bob", GroupIdOf(1), 1, 2, "other"), p.lookup()).status().code() ==
        Code::kInvalidArgument);
  CHECK(c.Ordered()[1]->body.text() == "one");
}

TEST_CASE("An unknown group is learnt only from its creation entry by a listed admin",
          "[chat][conversation][error]") {
  People p;
  CHECK(!Conversation::FromCreate(p.Text("alice", GroupIdOf(2), 1, 1)).ok());
  CHECK(!Conversation::FromCreate(p.Create("alice", GroupIdOf(2), {"alice", "bob"}, {"bob"})).ok());
  CHECK(
      !Conversation::FromCreate(p.Create("erin", GroupIdOf(2), {"alice", "bob"}, {"alice"})).ok());
  CHECK(!Conversation::FromCreate(p.Create("alice", GroupIdOf(2), {"alice"}, {"alice"})).ok());
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxGroupMembers; ++i)
    many.push_back("p" + std::to_string(i));
  many.push_back("alice");
  CHECK(!Conversation::FromCreate(p.Create("alice", GroupIdOf(2), many, {"alice"})).ok());
  // A second creation entry inside a known group is refused.
  Conversation c = Group(p, GroupIdOf(2));
  auto again = c.Accept(p.Create("bob", GroupIdOf(2), {"bob", "alice"}, {"bob"}), p.lookup());
  CHECK(again.status().code() == Code::kInvalidArgument);
}

TEST_CASE("A removed member's entries written after the removal are refused",
          "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  REQUIRE(c.Accept(p.Text("dave", GroupIdOf(1), 1, 2, "before"), p.lookup()).ok());
  REQUIRE(c.Accept(p.Remove("alice", GroupIdOf(1), 2, 3, "dave", 1), p.lookup()).ok());
  CHECK(c.CurrentMembership().members.count("dave") == 0);
  // After the removal in order: not a member.
  CHECK(c.Accept(p.Text("dave", GroupIdOf(1), 2, 4, "after"), p.lookup()).status().code() ==
        Code::kInvalidArgument);
  // Backdated below the removal: cut by cut_seq = 1.
  CHECK(c.Accept(p.Text("dave", GroupIdOf(1), 2, 2, "backdated"), p.lookup()).status().code() ==
        Code::kInvalidArgument);
  CHECK(c.held("dave") == 1);
  CHECK(c.Ordered().size() == 3);
  // A removed member is sent nothing written after the removal.
  REQUIRE(c.Accept(p.Text("bob", GroupIdOf(1), 1, 5, "secret"), p.lookup()).ok());
  for (const VerifiedEntry* e : c.MissingFor("dave", {{"alice", 1}, {"dave", 1}})) {
    CHECK(e->body.text() != "secret");
  }
  CHECK(c.MissingFor("carol", {{"alice", 2}, {"dave", 1}}).size() == 1);
}

TEST_CASE("A membership change by a non-admin is refused", "[chat][conversation][error]") {
  People p;
  Conversation c = Group(p, GroupIdOf(1));
  CHECK(c.Accept(p.Remove("bob", GroupIdOf(1), 1, 2, "carol", 0), p.lookup()).status().code() ==
        Code::kInvalidArgument);
  CHECK(c.CurrentMembership().members.count("carol") == 1);
}

// Every permutation-consistent delivery order of the same entries gives the
// same membership: two admins remove each other and add people while apart.
TEST_CASE("Concurrent admin changes converge to one membership in any delivery order",
          "[chat][conversation][convergence]") {
  People p;
  Bytes id = GroupIdOf(7);
  std::vector<VerifiedEntry> all = {
      p.Remove("alice", id, 2, 2, "bob", 0), p.Add("alice", id, 3, 3, "erin"),
      p.Remove("bob", id, 1, 2, "alice", 1), p.Add("bob", id, 2, 3, "carol"),
      p.Text("dave", id, 1, 2, "d1"),        p.Text("dave", id, 2, 4, "d2"),
      p.Text("bob", id, 3, 4, "b-after"),    p.Text("alice", id, 4, 4, "a-after"),
  };
  std::optional<Membership> first;
  std::optional<std::vector<EntryId>> first_order;
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> idx(all.size());
    for (size_t i = 0; i < idx.size(); ++i)
      idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), rng);
    auto c =
        Conversation::FromCreate(p.Create("alice", id, {"alice", "bob", "dave"}, {"alice", "bob"}));
    REQUIRE(c.ok());
    for (size_t i : idx)
      (void)c->Accept(all[i], p.lookup());
    Membership m = c->CurrentMembership();
    std::vector<EntryId> order;
    for (auto* e : c->Ordered())
      order.push_back(e->id);
    if (!first) {
      first = m;
      first_order = order;
    }
    CHECK(m == *first);
    CHECK(order == *first_order);
  }
  // bob's removal of alice (lamport 2, "bob" > "alice") is ordered after
  // alice's removal of bob, so it is ignored; alice's add of erin applies.
  CHECK(first->members == std::set<std::string>{"alice", "dave", "erin"});
  CHECK(first->admins == std::set<std::string>{"alice"});
}

// Replicas exchange what the other lacks until nothing is missing.
void Sync(Conversation& from, const std::string& to_name, Conversation& to, const KeyLookup& keys) {
  for (;;) {
    auto batch = from.MissingFor(to_name, to.vector(), 2);
    if (batch.empty())
      return;
    for (const VerifiedEntry* e : batch)
      REQUIRE(to.Accept(*e, keys).ok());
  }
}

TEST_CASE("Bob gets Alice's message from Carol while Alice is away",
          "[chat][conversation][reconcile]") {
  People p;
  Bytes id = GroupIdOf(9);
  VerifiedEntry create = p.Create("alice", id, {"alice", "bob", "carol"}, {"alice"});
  auto alice = Conversation::FromCreate(create);
  auto carol = Conversation::FromCreate(create);
  auto bob = Conversation::FromCreate(create);
  REQUIRE(alice.ok());
  REQUIRE(carol.ok());
  REQUIRE(bob.ok());
  for (uint64_t s = 2; s <= 6; ++s) {
    REQUIRE(alice->Accept(p.Text("alice", id, s, s, "a" + std::to_string(s)), p.lookup()).ok());
  }
  REQUIRE(carol->Accept(p.Text("carol", id, 1, 7, "c1"), p.lookup()).ok());
  Sync(*alice, "carol", *carol, p.lookup());
  // Alice is gone; Carol passes on Alice's entries to Bob, in small batches.
  Sync(*carol, "bob", *bob, p.lookup());
  Sync(*bob, "carol", *carol, p.lookup());
  CHECK(bob->vector() == carol->vector());
  CHECK(bob->vector() == Vector{{"alice", 6}, {"carol", 1}});
  std::vector<EntryId> b_ids, c_ids;
  for (auto* e : bob->Ordered())
    b_ids.push_back(e->id);
  for (auto* e : carol->Ordered())
    c_ids.push_back(e->id);
  CHECK(b_ids == c_ids);
  CHECK(bob->MissingFor("carol", carol->vector()).empty());
}

TEST_CASE("A direct conversation accepts only its two persons", "[chat][conversation][error]") {
  People p;
  auto c = Conversation::Direct("alice", "bob");
  REQUIRE(c.ok());
  REQUIRE(c->Accept(p.Text("bob", c->id(), 1, 1), p.lookup()).ok());
  CHECK(c->Accept(p.Text("carol", c->id(), 1, 2), p.lookup()).status().code() ==
        Code::kInvalidArgument);
  CHECK(c->Accept(p.Text("bob", GroupIdOf(3), 2, 2), p.lookup()).status().code() ==
        Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer::chat
