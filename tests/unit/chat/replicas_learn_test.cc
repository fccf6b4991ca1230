// Learning a group one is added to after its creation (issue 12): the
// creation entry does not name the person, the add entry does, and the two
// may come in different batches of one round.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "peer/chat/replicas.h"

#include "chat_fixture.h"
#include "replicas_fixture.h"

namespace confab::peer::chat {
namespace {

using testing::Dir;
using testing::Node;
using testing::People;
using testing::Sync;
using testing::Texts;

// Every entry of `conv` that `to` lacks, sent by `from` in batches of at
// most `size` as a session sends them (one round): what each batch did.
std::vector<ReceivedBatch> SendInBatches(Node& from, Node& to, const Bytes& conv, size_t size) {
  std::vector<ReceivedBatch> out;
  Vector sent;
  while (true) {
    auto missing = from.r().MissingFor(to.name, conv, sent, size);
    REQUIRE(missing.ok());
    if (missing->empty())
      return out;
    proto::EntryBatch batch;
    for (auto& e : *missing) {
      proto::EntryBody body;
      REQUIRE(body.ParseFromString(e.signed_()));
      sent[body.author()] = std::max(sent[body.author()], body.seq());
      *batch.add_entries() = e;
    }
    auto got = to.r().Receive(from.name, batch, 5000);
    REQUIRE(got.ok());
    out.push_back(*got);
  }
}

proto::EntryBody CreateBody(const std::vector<std::string>& members) {
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_GROUP_CREATE);
  b.mutable_create()->set_name("secret");
  for (const std::string& m : members)
    b.mutable_create()->add_members(m);
  b.mutable_create()->add_admins(members.front());
  return b;
}

proto::EntryBody AddBody(const std::string& person) {
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_GROUP_ADD);
  b.mutable_add()->add_members(person);
  return b;
}

proto::EntryBody TextBody(const std::string& text) {
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text(text);
  return b;
}

TEST_CASE("A member added after the creation learns the group and its history from any member") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob"}, 1000);
  REQUIRE(team.ok());
  REQUIRE(alice.r().Compose(*team, "before carol", 1001).ok());
  CHECK(Sync(alice, bob) == 0);
  REQUIRE(alice.r().AddMembers(*team, {"carol"}, 1002).ok());
  // The sender's side: the admin counts carol as a member after the add,
  // so it offers her the group.
  CHECK(alice.r().SharedWith("carol")->count(*team) == 1);
  CHECK(Sync(alice, bob) == 0);
  CHECK(bob.r().SharedWith("carol")->count(*team) == 1);

  // Carol hears of it from bob, not from the admin who added her.
  CHECK(Sync(bob, carol) == 0);
  carol.Restart();
  auto learnt = carol.r().GroupNamed("team");
  REQUIRE(learnt.ok());
  CHECK(learnt->membership.members == std::set<std::string>{"alice", "bob", "carol"});
  CHECK(Texts(*carol.r().History(*team)) == std::vector<std::string>{"alice: before carol"});
  // She is a member like the others: what she writes reaches them.
  REQUIRE(carol.r().Compose(*team, "hello, I am new", 1003).ok());
  CHECK(Sync(carol, alice) == 0);
  CHECK(Texts(*alice.r().History(*team)) ==
        std::vector<std::string>{"alice: before carol", "carol: hello, I am new"});
  // carol acknowledged all she took from bob: he has nothing left for her.
  CHECK(bob.r().MissingFor("carol", *team, *carol.r().VectorOf("bob", *team), 16)->empty());
}

TEST_CASE("The add entry batches after the creation entry still makes the group learnt") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob"}, 1000);
  REQUIRE(team.ok());
  std::vector<std::string> texts;
  for (int i = 0; i < 250; ++i)
    texts.push_back("history " + std::to_string(i));
  REQUIRE(alice.r().ComposeBatch(*team, texts, 1001).ok());
  REQUIRE(alice.r().AddMembers(*team, {"carol"}, 1002).ok());

  // create + 250 texts + add = 252 entries: the add is in the third batch.
  std::vector<ReceivedBatch> got = SendInBatches(alice, carol, *team, 100);
  REQUIRE(got.size() == 3);
  for (const ReceivedBatch& b : got)
    CHECK(b.refused == 0);
  // Nothing is durable, so nothing is acknowledged, until the add comes.
  CHECK(got[0].ack.ids_size() == 0);
  CHECK(got[1].ack.ids_size() == 0);
  CHECK(got[2].ack.ids_size() == 252);
  carol.Restart();
  auto learnt = carol.r().GroupNamed("team");
  REQUIRE(learnt.ok());
  CHECK(learnt->membership.members == std::set<std::string>{"alice", "bob", "carol"});
  auto h = Texts(*carol.r().History(*team));
  REQUIRE(h.size() == 250);
  CHECK(h.front() == "alice: history 0");
  CHECK(h.back() == "alice: history 249");
}

TEST_CASE(
    "A group passed on that never counts us as a member leaves nothing, and a new round forgets "
    "it") {
  Dir dir;
  People people;
  Node carol(dir, people, "carol");
  const Bytes secret = testing::GroupIdOf(9);

  // alice's group of alice and bob, passed on to carol by alice.
  proto::EntryBatch first;
  *first.add_entries() = people.Sign("alice", secret, 1, 1, CreateBody({"alice", "bob"}));
  *first.add_entries() = people.Sign("alice", secret, 2, 2, TextBody("not for carol"));
  auto got = carol.r().Receive("alice", first, 2000);
  REQUIRE(got.ok());
  CHECK(got->ack.ids_size() == 0);
  CHECK(carol.r().Groups()->empty());
  CHECK(*carol.db->QueryInt64("SELECT count(*) FROM entries") == 0);
  CHECK(*carol.db->QueryInt64("SELECT count(*) FROM pending_entries") == 0);

  // A new round begins: what the last one held of it is gone, so an add
  // naming carol now is an entry of an unknown group, not its creation.
  REQUIRE(carol.r().SharedWith("alice").ok());
  proto::EntryBatch later;
  *later.add_entries() = people.Sign("alice", secret, 3, 3, AddBody("carol"));
  got = carol.r().Receive("alice", later, 2001);
  REQUIRE(got.ok());
  CHECK(got->refused == 1);
  CHECK(got->ack.ids_size() == 0);
  carol.Restart();
  CHECK(carol.r().Groups()->empty());
}

TEST_CASE("A group is not learnt from a person its fold does not count as a member") {
  Dir dir;
  People people;
  Node carol(dir, people, "carol");
  const Bytes secret = testing::GroupIdOf(10);
  // erin passes on alice's group naming carol, but erin is not in it and
  // nothing adds her: carol keeps nothing of it from erin.
  proto::EntryBatch batch;
  *batch.add_entries() = people.Sign("alice", secret, 1, 1, CreateBody({"alice", "carol"}));
  *batch.add_entries() = people.Sign("alice", secret, 2, 2, AddBody("bob"));
  auto got = carol.r().Receive("erin", batch, 2000);
  REQUIRE(got.ok());
  CHECK(got->ack.ids_size() == 0);
  carol.Restart();
  CHECK(carol.r().Groups()->empty());
  CHECK(*carol.db->QueryInt64("SELECT count(*) FROM entries") == 0);

  // The same creation entry from alice, a member, is learnt at once.
  proto::EntryBatch from_alice;
  *from_alice.add_entries() = batch.entries(0);
  got = carol.r().Receive("alice", from_alice, 2001);
  REQUIRE(got.ok());
  CHECK(got->ack.ids_size() == 1);
  CHECK(carol.r().Groups()->size() == 1);
}

}  // namespace
}  // namespace confab::peer::chat
