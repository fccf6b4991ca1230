// Replicas: the node's conversation model over a real confab.db per node.
// Nodes are synced through the ReplicaView calls a reconcile session makes
// (vectors, MissingFor, Receive, OnAcked), without a network.
#include "peer/chat/replicas.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

#include "peer/store/peer_database.h"

#include "chat_fixture.h"
#include "replicas_fixture.h"

namespace confab::peer::chat {
namespace {

using testing::Dir;
using testing::LastText;
using testing::Node;
using testing::People;
using testing::Sync;
using testing::Texts;

TEST_CASE("A composed message is durable and queued before Compose returns, across a restart") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  auto conv = alice.r().EnsureDirect("bob");
  REQUIRE(conv.ok());
  auto sent = alice.r().Compose(*conv, "hello bob", 1000);
  REQUIRE(sent.ok());
  CHECK(sent->entry.state == MessageState::kQueued);
  CHECK(sent->entry.seq == 1);
  alice.Restart();
  auto h = alice.r().History(*conv);
  REQUIRE(h.ok());
  REQUIRE(h->size() == 1);
  CHECK(h->at(0).entry.text == "hello bob");
  CHECK(h->at(0).entry.state == MessageState::kQueued);
  CHECK(h->at(0).entry.id == sent->entry.id);
  CHECK(h->at(0).delivered_to.empty());
  auto outbox = alice.r().Outbox();
  REQUIRE(outbox.ok());
  REQUIRE(outbox->size() == 1);
  CHECK(outbox->at(0).entry.text == "hello bob");
  // The next entry continues the sequence after the restart.
  auto next = alice.r().Compose(*conv, "again", 1100);
  REQUIRE(next.ok());
  CHECK(next->entry.seq == 2);
  CHECK(next->entry.lamport > sent->entry.lamport);
}

TEST_CASE("ComposeBatch writes every text in order in one commit, or none of them") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  auto team = alice.r().CreateGroup("team", {"bob"}, 1000);
  REQUIRE(team.ok());
  const std::string bad[] = {"fine", std::string(kMaxEntryBytes, 'x')};
  auto refused = alice.r().ComposeBatch(*team, bad, 1001);
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  CHECK(Texts(*alice.r().History(*team)).empty());
  const std::string good[] = {"one", "two", "three"};
  auto written = alice.r().ComposeBatch(*team, good, 1002);
  REQUIRE(written.ok());
  REQUIRE(written->size() == 3);
  CHECK(written->at(0).entry.seq == 2);  // after the creation entry
  CHECK(written->at(2).entry.seq == 4);
  alice.Restart();
  CHECK(Texts(*alice.r().History(*team)) ==
        std::vector<std::string>{"alice: one", "alice: two", "alice: three"});
}

TEST_CASE("A direct message is delivered to the peer once its node acknowledges it") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  auto conv = alice.r().EnsureDirect("bob");
  REQUIRE(conv.ok());
  REQUIRE(alice.r().Compose(*conv, "one", 1000).ok());
  REQUIRE(alice.r().Compose(*conv, "two", 1001).ok());
  auto lacking = alice.r().MembersLacking();
  REQUIRE(lacking.ok());
  CHECK(*lacking == std::set<std::string>{"bob"});

  // Bob's node has never heard of the conversation: it is the direct one
  // with the authenticated peer, so it is created.
  CHECK(Sync(alice, bob) == 0);
  auto at_bob = bob.r().History(*conv);
  REQUIRE(at_bob.ok());
  CHECK(Texts(*at_bob) == std::vector<std::string>{"alice: one", "alice: two"});
  CHECK(at_bob->at(0).entry.state == MessageState::kReceived);

  alice.Restart();
  auto h = alice.r().History(*conv);
  REQUIRE(h.ok());
  for (const auto& e : *h) {
    CHECK(e.entry.state == MessageState::kDelivered);
    CHECK(e.delivered_to == std::vector<std::string>{"bob"});
  }
  CHECK(alice.r().Outbox()->empty());
  CHECK(alice.r().MembersLacking()->empty());

  // Bob answers; both show the same order.
  REQUIRE(bob.r().Compose(*conv, "three", 1002).ok());
  CHECK(Sync(bob, alice) == 0);
  CHECK(Texts(*alice.r().History(*conv)) == Texts(*bob.r().History(*conv)));
}

TEST_CASE("Creating a group makes us its admin and refuses bad names, clashes and sizes") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  auto team = alice.r().CreateGroup("team", {"bob", "carol"}, 1000);
  REQUIRE(team.ok());
  auto g = alice.r().GroupNamed("team");
  REQUIRE(g.ok());
  CHECK(g->id == *team);
  CHECK(g->membership.members == std::set<std::string>{"alice", "bob", "carol"});
  CHECK(g->membership.admins == std::set<std::string>{"alice"});

  auto again = alice.r().CreateGroup("team", {"dave"}, 1001);
  REQUIRE(!again.ok());
  CHECK(again.status().code() == Status::Code::kFailedPrecondition);
  CHECK(std::string(again.status().message()).find("already a group named #team") !=
        std::string::npos);
  CHECK(alice.r().CreateGroup("bad name", {"bob"}, 1002).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(alice.r().CreateGroup("", {"bob"}, 1002).status().code() == Status::Code::kInvalidArgument);
  CHECK(alice.r().CreateGroup("solo", {}, 1002).status().code() == Status::Code::kInvalidArgument);
  std::vector<std::string> crowd;
  for (int i = 0; i < 256; ++i)
    crowd.push_back("m" + std::to_string(i));
  auto big = alice.r().CreateGroup("crowd", crowd, 1003);
  REQUIRE(!big.ok());
  CHECK(std::string(big.status().message()).find("257") != std::string::npos);
  crowd.pop_back();
  CHECK(alice.r().CreateGroup("crowd", crowd, 1003).ok());

  auto missing = alice.r().GroupNamed("taem");
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(std::string(missing.status().message()) == "no group named #taem (did you mean #team?)");
  // Nothing was stored by the refusals: two groups, each with its creation.
  alice.Restart();
  auto groups = alice.r().Groups();
  REQUIRE(groups.ok());
  REQUIRE(groups->size() == 2);
  CHECK(groups->at(0).name == "crowd");
  CHECK(groups->at(0).membership.members.size() == 256);
  CHECK(groups->at(1).name == "team");
}

TEST_CASE("A group message moves from queued to sent to delivered as members' nodes hold it") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob", "carol"}, 1000);
  REQUIRE(team.ok());
  auto msg = alice.r().Compose(*team, "hello team", 1001);
  REQUIRE(msg.ok());
  CHECK(*alice.r().MembersLacking() == std::set<std::string>{"bob", "carol"});

  CHECK(Sync(alice, bob) == 0);
  auto learnt = bob.r().GroupNamed("team");
  REQUIRE(learnt.ok());
  CHECK(learnt->membership.admins == std::set<std::string>{"alice"});
  auto h = alice.r().History(*team);
  REQUIRE(h.ok());
  CHECK(LastText(*h).entry.state == MessageState::kSent);
  CHECK(LastText(*h).delivered_to == std::vector<std::string>{"bob"});

  // Carol gets it from Bob while Alice is away: any member passes it on.
  CHECK(Sync(bob, carol) == 0);
  auto at_carol = carol.r().History(*team);
  REQUIRE(at_carol.ok());
  CHECK(Texts(*at_carol) == std::vector<std::string>{"alice: hello team"});
  // Alice learns what Carol holds from Carol's vector.
  REQUIRE(alice.r().OnPeerVector("carol", *team, *carol.r().VectorOf("alice", *team)).ok());
  alice.Restart();
  h = alice.r().History(*team);
  CHECK(LastText(*h).entry.state == MessageState::kDelivered);
  CHECK(LastText(*h).delivered_to == std::vector<std::string>{"bob", "carol"});
  CHECK(alice.r().MembersLacking()->empty());
}

TEST_CASE("Only an admin changes membership, and a removed member's later entries are refused") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob", "carol"}, 1000);
  REQUIRE(team.ok());
  Sync(alice, bob);
  Sync(alice, carol);
  auto refused = bob.r().AddMembers(*team, {"dave"}, 1001);
  CHECK(refused.code() == Status::Code::kPermissionDenied);
  CHECK(std::string(refused.message()) ==
        "only an admin of #team can add members; you are not one");
  CHECK(alice.r().AddMembers(*team, {"bob"}, 1001).code() == Status::Code::kInvalidArgument);
  CHECK(alice.r().RemoveMembers(*team, {"dave"}, 1001).code() == Status::Code::kInvalidArgument);

  REQUIRE(carol.r().Compose(*team, "before", 1002).ok());
  Sync(carol, alice);
  REQUIRE(alice.r().RemoveMembers(*team, {"carol"}, 1003).ok());
  CHECK(alice.r().Group(*team)->membership.members == std::set<std::string>{"alice", "bob"});
  Sync(alice, bob);
  CHECK(bob.r().Group(*team)->membership.members == std::set<std::string>{"alice", "bob"});

  // Carol has not heard of her removal and writes again: Bob refuses it,
  // and Alice sends her nothing more.
  REQUIRE(carol.r().Compose(*team, "after", 1004).ok());
  auto mine = carol.r().MissingFor("bob", *team, *bob.r().VectorOf("alice", *team), 16);
  REQUIRE(mine.ok());
  proto::EntryBatch batch;
  for (auto& e : *mine)
    *batch.add_entries() = e;
  auto got = bob.r().Receive("carol", batch, 1005);
  REQUIRE(got.ok());
  CHECK(got->refused == 1);
  CHECK(got->ack.ids_size() == 0);
  CHECK(Texts(*bob.r().History(*team)) == std::vector<std::string>{"carol: before"});
  CHECK(alice.r().SharedWith("carol")->count(*team) == 0);

  // Adding dave: the rest of the group sees him (how he learns the group is
  // in replicas_learn_test).
  REQUIRE(alice.r().AddMembers(*team, {"dave"}, 1006).ok());
  CHECK(alice.r().Group(*team)->membership.members ==
        std::set<std::string>{"alice", "bob", "dave"});
  REQUIRE(bob.r().Leave(*team, 1007).ok());
  CHECK(bob.r().Compose(*team, "gone", 1008).status().code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("An admin promotes a member, who then changes membership on every node alike") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob", "carol"}, 1000);
  REQUIRE(team.ok());
  CHECK(bob.r().Promote(*team, {"carol"}, 1001).code() == Status::Code::kNotFound);
  Sync(alice, bob);
  CHECK(bob.r().Promote(*team, {"carol"}, 1001).code() == Status::Code::kPermissionDenied);
  CHECK(alice.r().Promote(*team, {"dave"}, 1001).code() == Status::Code::kInvalidArgument);
  CHECK(alice.r().Promote(*team, {"alice"}, 1001).code() == Status::Code::kInvalidArgument);
  REQUIRE(alice.r().Promote(*team, {"bob"}, 1002).ok());
  Sync(alice, bob);
  Sync(alice, carol);
  CHECK(bob.r().Group(*team)->membership.admins == std::set<std::string>{"alice", "bob"});
  REQUIRE(bob.r().RemoveMembers(*team, {"carol"}, 1003).ok());
  Sync(bob, alice);
  const std::set<std::string> left{"alice", "bob"};
  CHECK(alice.r().Group(*team)->membership.members == left);
  CHECK(bob.r().Group(*team)->membership.members == left);
}

TEST_CASE("Receive refuses hostile entries, stores nothing of them and keeps the rest") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  auto conv = bob.r().EnsureDirect("alice");
  REQUIRE(conv.ok());
  proto::EntryBatch batch;
  // A bad signature.
  proto::Entry bad = people.Sign("alice", *conv, 1, 1, [] {
    proto::EntryBody b;
    b.set_kind(proto::ENTRY_TEXT);
    b.set_text("forged");
    return b;
  }());
  bad.mutable_signature()->at(0) ^= 1;
  *batch.add_entries() = bad;
  // Carol's entry claiming to be Alice's: the key is not Alice's.
  proto::EntryBody claim;
  claim.set_kind(proto::ENTRY_TEXT);
  claim.set_text("I am alice");
  claim.set_conversation(std::string(AsChars(*conv)));
  claim.set_author("alice");
  claim.set_seq(1);
  claim.set_lamport(1);
  *batch.add_entries() = *SignEntry(people.key("carol"), claim);
  // A group we have never heard of, not by its creation entry.
  proto::EntryBody text;
  text.set_kind(proto::ENTRY_TEXT);
  text.set_text("?");
  *batch.add_entries() = people.Sign("alice", testing::GroupIdOf(7), 2, 2, text);
  // A group creation that does not name us.
  proto::EntryBody create;
  create.set_kind(proto::ENTRY_GROUP_CREATE);
  create.mutable_create()->set_name("secret");
  create.mutable_create()->add_members("alice");
  create.mutable_create()->add_members("carol");
  create.mutable_create()->add_admins("alice");
  *batch.add_entries() = people.Sign("alice", testing::GroupIdOf(8), 1, 1, create);
  // A gap far ahead.
  *batch.add_entries() = people.Sign("alice", *conv, 1000, 1000, text);
  // And one good entry.
  *batch.add_entries() = people.Sign("alice", *conv, 1, 1, text);
  auto got = bob.r().Receive("alice", batch, 2000);
  REQUIRE(got.ok());
  // The creation not naming us is not refused as such (a later add in the
  // round could name us), but nothing of it is kept or acknowledged.
  CHECK(got->refused == 4);
  CHECK(got->ack.ids_size() == 1);
  bob.Restart();
  CHECK(Texts(*bob.r().History(*conv)) == std::vector<std::string>{"alice: ?"});
  CHECK(bob.r().Groups()->empty());
  CHECK(*bob.db->QueryInt64("SELECT count(*) FROM pending_entries") == 0);
}

TEST_CASE("An entry ahead of a gap is held durably, acknowledged, and shown once the gap fills") {
  Dir dir;
  People people;
  Node bob(dir, people, "bob");
  auto conv = bob.r().EnsureDirect("alice");
  REQUIRE(conv.ok());
  proto::EntryBody text;
  text.set_kind(proto::ENTRY_TEXT);
  text.set_text("second");
  proto::EntryBatch later;
  *later.add_entries() = people.Sign("alice", *conv, 2, 2, text);
  auto got = bob.r().Receive("alice", later, 2000);
  REQUIRE(got.ok());
  CHECK(got->ack.ids_size() == 1);
  CHECK(Texts(*bob.r().History(*conv)).empty());
  bob.Restart();  // the held entry survives
  text.set_text("first");
  proto::EntryBatch gap;
  *gap.add_entries() = people.Sign("alice", *conv, 1, 1, text);
  REQUIRE(bob.r().Receive("alice", gap, 2001).ok());
  CHECK(Texts(*bob.r().History(*conv)) ==
        std::vector<std::string>{"alice: first", "alice: second"});
  bob.Restart();
  CHECK(Texts(*bob.r().History(*conv)).size() == 2);
  CHECK(*bob.db->QueryInt64("SELECT count(*) FROM pending_entries") == 0);
}

TEST_CASE("A crash before the commit of a composed message leaves nothing of it") {
  Dir dir;
  People people;
  {
    Node alice(dir, people, "alice");
    REQUIRE(alice.r().Compose(*alice.r().EnsureDirect("bob"), "kept", 1000).ok());
  }
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ConversationStore::Options crash;
    crash.before_commit = [] { ::_exit(7); };
    Node alice(dir, people, "alice", std::move(crash));
    (void)alice.r().Compose(*DirectConversationId("alice", "bob"), "lost", 1001);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);
  Node alice(dir, people, "alice");
  auto conv = DirectConversationId("alice", "bob");
  CHECK(Texts(*alice.r().History(*conv)) == std::vector<std::string>{"alice: kept"});
  auto next = alice.r().Compose(*conv, "next", 1002);
  REQUIRE(next.ok());
  CHECK(next->entry.seq == 2);
}

TEST_CASE("A long conversation loads and accepts in order without refolding per entry") {
  // 500 entries: with a fold over everything per Accept this is ~10^5
  // fold steps; with the cached tail it is one step each.
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  auto team = alice.r().CreateGroup("big", {"bob"}, 1000);
  REQUIRE(team.ok());
  for (int i = 0; i < 500; ++i)
    REQUIRE(alice.r().Compose(*team, "m" + std::to_string(i), 1000 + i).ok());
  for (int round = 0; round < 20 && !alice.r().MembersLacking()->empty(); ++round)
    CHECK(Sync(alice, bob) == 0);
  CHECK(alice.r().MembersLacking()->empty());
  bob.Restart();
  auto h = bob.r().History(*team);
  REQUIRE(h.ok());
  CHECK(Texts(*h).size() == 500);
  CHECK(Texts(*h).back() == "alice: m499");
  CHECK(bob.r().VectorOf("alice", *team)->at("alice") == 501);
}

TEST_CASE("Retention forgets old bodies but keeps their place, so members still converge") {
  Dir dir;
  People people;
  Node alice(dir, people, "alice");
  Node bob(dir, people, "bob");
  Node carol(dir, people, "carol");
  auto team = alice.r().CreateGroup("team", {"bob", "carol"}, 1000);
  REQUIRE(team.ok());
  REQUIRE(alice.r().Compose(*team, "old", 1000).ok());
  CHECK(Sync(alice, bob, 1000) == 0);
  REQUIRE(alice.r().Compose(*team, "new", 3000).ok());
  CHECK(Sync(alice, bob, 3000) == 0);
  // Never sent: a queued message is kept however old.
  auto to_dave = alice.r().EnsureDirect("dave");
  REQUIRE(to_dave.ok());
  REQUIRE(alice.r().Compose(*to_dave, "still queued", 1000).ok());

  auto purged = bob.r().PurgeOlderThan(2000);
  REQUIRE(purged.ok());
  CHECK(*purged == 1);
  CHECK(*bob.r().PurgeOlderThan(2000) == 0);
  CHECK(Texts(*bob.r().History(*team)) == std::vector<std::string>{"alice: new"});
  bob.Restart();
  CHECK(Texts(*bob.r().History(*team)) == std::vector<std::string>{"alice: new"});
  CHECK(bob.r().GroupNamed("team")->membership.members ==
        std::set<std::string>{"alice", "bob", "carol"});
  // The purged place still counts as held: Alice sends nothing again, and
  // Bob's vector is what it was.
  auto missing = alice.r().MissingFor("bob", *team, *bob.r().VectorOf("alice", *team), 256);
  REQUIRE(missing.ok());
  CHECK(missing->empty());
  CHECK(bob.r().VectorOf("alice", *team)->at("alice") == 3);
  // Bob writes after the purge, and Alice takes it.
  REQUIRE(bob.r().Compose(*team, "after", 4000).ok());
  CHECK(Sync(bob, alice, 4000) == 0);
  CHECK(Texts(*alice.r().History(*team)) ==
        std::vector<std::string>{"alice: old", "alice: new", "bob: after"});

  // Carol, new to it all, gets from Bob what he can still prove: the
  // group, and Bob's own message, but not Alice's purged one nor what
  // follows it by Alice. From Alice she gets the rest.
  CHECK(Sync(bob, carol, 5000) == 0);
  CHECK(Texts(*carol.r().History(*team)) == std::vector<std::string>{"bob: after"});
  CHECK(Sync(alice, carol, 5000) == 0);
  CHECK(Texts(*carol.r().History(*team)) ==
        std::vector<std::string>{"alice: old", "alice: new", "bob: after"});

  // Alice's own delivered message goes at her node too (once she knows
  // Carol holds it); her queued one stays.
  REQUIRE(alice.r().OnPeerVector("carol", *team, *carol.r().VectorOf("alice", *team)).ok());
  CHECK(*alice.r().PurgeOlderThan(2000) == 1);
  CHECK(Texts(*alice.r().History(*team)) == std::vector<std::string>{"alice: new", "bob: after"});
  CHECK(Texts(*alice.r().History(*to_dave)) == std::vector<std::string>{"alice: still queued"});
  // Carol holds the entry Bob purged, and sends nothing: his place counts.
  CHECK(Sync(carol, bob, 6000) == 0);
  CHECK(Texts(*bob.r().History(*team)) == std::vector<std::string>{"alice: new", "bob: after"});
}

}  // namespace
}  // namespace confab::peer::chat
