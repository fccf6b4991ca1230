// ConversationStore and the confab.db version 4 migration: a database
// written by the version 1-5 HistoryStore at version 3 migrates with every
// message kept, entries round-trip sealed at rest, and a stored batch is
// all or nothing across a crash.
#include "peer/chat/conversation_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <catch2/catch.hpp>

#include "peer/store/peer_database.h"

#include "chat_fixture.h"
#include "v5_history_store.h"

namespace confab::peer::chat {
namespace {

using testing::People;

BodyCipher CipherFor(uint8_t n) {
  return *BodyCipher::FromIdentitySeed(Bytes(32, n));
}

class Dir {
 public:
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "convstore.XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path_ = t;
  }
  ~Dir() { std::filesystem::remove_all(path_); }
  std::string db() const { return path_ + "/confab.db"; }

 private:
  std::string path_;
};

int64_t Count(store::Database& db, const std::string& sql) {
  return *db.QueryInt64(sql);
}

// What a version 3 node holds: every message as Export gives it (the order
// written) and the outgoing counters.
struct OldState {
  std::vector<StoredMessage> messages;
  std::map<std::string, int64_t> next_out_seq;
};

OldState WriteVersion3(const std::string& path) {
  auto db = OpenPeerDatabaseAtVersion(path, 3);
  REQUIRE(db.ok());
  REQUIRE(Count(**db, "PRAGMA user_version") == 3);
  auto history = v5::HistoryStore::Open(db->get(), CipherFor(1));
  REQUIRE(history.ok());
  v5::HistoryStore& h = **history;
  // Interleaved across conversations so the order written is not the order
  // of any one column.
  auto a1 = h.AppendOutgoing("bob", "hello bob", 1000);
  REQUIRE(a1.ok());
  auto id = [](uint8_t n) {
    MessageId m{};
    m.fill(n);
    return m;
  };
  const IncomingMessage from_bob[] = {{id(0xB1), 1, 900, "hi alice"}, {id(0xB2), 2, 950, "how?"}};
  REQUIRE(h.AppendIncoming("bob", from_bob, 1100).ok());
  const IncomingMessage from_carol[] = {{id(0xC1), 7, 500, "carol here, seq 7"}};
  REQUIRE(h.AppendIncoming("carol", from_carol, 1200).ok());
  const std::string more[] = {"second", "third", ""};
  auto batch = h.AppendOutgoingBatch("bob", more, 1300);
  REQUIRE(batch.ok());
  auto to_dave = h.AppendOutgoing("dave", "queued for dave", 1400);
  REQUIRE(to_dave.ok());
  // States: a1 delivered, "second" sent, "third" and "" and dave queued.
  const MessageId delivered[] = {a1->id};
  const MessageState from_q[] = {MessageState::kQueued};
  REQUIRE(*h.UpdateOutgoingState("bob", delivered, from_q, MessageState::kDelivered, 1500) == 1);
  const MessageId sent[] = {(*batch)[0].id};
  REQUIRE(*h.UpdateOutgoingState("bob", sent, from_q, MessageState::kSent, 1600,
                                 v5::HistoryStore::Sync::kLazy) == 1);
  OldState old;
  REQUIRE(h.Export(0, [&](const StoredMessage& m) {
             old.messages.push_back(m);
             return Status::Ok();
           }).ok());
  REQUIRE(old.messages.size() == 8);
  auto st = (*db)->Prepare("SELECT name, next_out_seq FROM conversations");
  REQUIRE(st.ok());
  while (*st->Step() == store::StepResult::kRow)
    old.next_out_seq[st->ColumnText(0)] = st->ColumnInt64(1);
  return old;
}

TEST_CASE("A version 3 confab.db written by HistoryStore migrates with every message kept",
          "[chat][store][migration]") {
  Dir dir;
  const OldState old = WriteVersion3(dir.db());

  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  CHECK(Count(**db, "PRAGMA user_version") == kPeerSchemaVersion);
  CHECK(Count(**db, "SELECT count(*) FROM entries") == 8);
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());

  auto convs = (*store)->Conversations();
  REQUIRE(convs.ok());
  REQUIRE(convs->size() == 3);
  for (const ConversationInfo& c : *convs) {
    CHECK(c.id == *DirectConversationId("alice", c.peer));
    CHECK(!c.is_group());
    // Our next seq continues where the old counter was (1 if we never wrote).
    const int64_t expect = old.next_out_seq.count(c.peer) ? old.next_out_seq.at(c.peer) : 1;
    CHECK(static_cast<int64_t>(c.next_out_seq) == expect);
    auto members = (*store)->Members(c.id);
    REQUIRE(members.ok());
    CHECK(members->members == std::set<std::string>{"alice", c.peer});

    auto entries = (*store)->Entries(c.id);
    REQUIRE(entries.ok());
    std::vector<StoredMessage> want;
    for (const StoredMessage& m : old.messages)
      if (m.conversation == c.peer)
        want.push_back(m);
    REQUIRE(entries->size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const StoredEntry& e = (*entries)[i];
      const StoredMessage& m = want[i];
      INFO(c.peer << " message " << i);
      CHECK(e.legacy);
      CHECK(e.id == Bytes(m.id.begin(), m.id.end()));
      CHECK(e.author == (m.direction == Direction::kOut ? "alice" : c.peer));
      CHECK(e.direction == m.direction);
      CHECK(e.seq == m.seq);
      CHECK(e.sent_ms == m.sent_ms);
      CHECK(e.received_ms == m.received_ms);
      CHECK(e.state == m.state);
      CHECK(e.state_ms == m.state_ms);
      CHECK(e.text == m.text);
      CHECK(e.kind == proto::ENTRY_TEXT);
      CHECK(e.signed_bytes.empty());
      CHECK(e.signature.empty());
    }
  }
  // The outbox survives as queued and sent entries: four promises.
  CHECK(Count(**db, "SELECT count(*) FROM entries WHERE state IN (1, 2)") == 4);
  // HistoryStore reads the same messages from the new tables.
  auto history = HistoryStore::Open(db->get(), CipherFor(1));
  REQUIRE(history.ok());
  std::vector<StoredMessage> after;
  REQUIRE((*history)
              ->Export(0,
                       [&](const StoredMessage& m) {
                         after.push_back(m);
                         return Status::Ok();
                       })
              .ok());
  REQUIRE(after.size() == old.messages.size());
  for (size_t i = 0; i < after.size(); ++i)
    CHECK((after[i].id == old.messages[i].id && after[i].text == old.messages[i].text));
}

TEST_CASE("Completing the migration is idempotent and bound to one person and one key",
          "[chat][store][migration]") {
  Dir dir;
  WriteVersion3(dir.db());
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  REQUIRE(ConversationStore::Open(db->get(), CipherFor(1), "alice").ok());
  auto again = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(again.ok());
  CHECK((*again)->Conversations()->size() == 3);
  CHECK(Count(**db, "SELECT count(*) FROM conv_members") == 6);
  CHECK(Count(**db, "SELECT count(*) FROM entries WHERE author IS NULL") == 0);

  auto other_name = ConversationStore::Open(db->get(), CipherFor(1), "mallory");
  CHECK(other_name.status().code() == Status::Code::kFailedPrecondition);
  auto other_key = ConversationStore::Open(db->get(), CipherFor(9), "alice");
  CHECK(other_key.status().code() == Status::Code::kAuthFailed);
  CHECK(ConversationStore::Open(db->get(), CipherFor(1), "").status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("Stored entries come back in total order with their exact signed bytes, sealed at rest",
          "[chat][store]") {
  Dir dir;
  People people;
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  auto conv = (*store)->EnsureDirect("bob");
  REQUIRE(conv.ok());
  CHECK(*(*store)->EnsureDirect("bob") == *conv);  // once
  const VerifiedEntry batch[] = {people.Text("bob", *conv, 1, 2, "secret words from bob"),
                                 people.Text("alice", *conv, 1, 1, "alice first"),
                                 people.Text("alice", *conv, 2, 2, "alice second")};
  auto fresh = (*store)->StoreEntries(*conv, batch, 5000);
  REQUIRE(fresh.ok());
  CHECK(*fresh == std::vector<bool>{true, true, true});
  CHECK(*(*store)->StoreEntries(*conv, batch, 5001) == std::vector<bool>{false, false, false});

  auto entries = (*store)->Entries(*conv);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  // (lamport, author, seq): alice 1, then lamport 2 alice before bob.
  CHECK((*entries)[0].text == "alice first");
  CHECK((*entries)[1].text == "alice second");
  CHECK((*entries)[2].text == "secret words from bob");
  CHECK((*entries)[2].signed_bytes == batch[0].signed_bytes);
  CHECK((*entries)[2].signature == batch[0].signature);
  CHECK((*entries)[2].state == MessageState::kReceived);
  CHECK((*entries)[0].state == MessageState::kQueued);
  CHECK((*entries)[0].direction == Direction::kOut);
  CHECK(!(*entries)[0].legacy);

  // No text in the clear, and a body moved to another row does not open.
  CHECK(Count(**db,
              "SELECT count(*) FROM entries WHERE instr(sealed, CAST('secret words' AS "
              "BLOB)) > 0") == 0);
  REQUIRE((*db)
              ->Exec("UPDATE entries SET sealed = (SELECT sealed FROM entries WHERE seq = 2) "
                     "WHERE author = 'bob'")
              .ok());
  CHECK((*store)->Entries(*conv).status().code() == Status::Code::kAuthFailed);
}

TEST_CASE("A batch refused part way stores nothing, and a batch of another conversation is refused",
          "[chat][store]") {
  Dir dir;
  People people;
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  auto conv = *(*store)->EnsureDirect("bob");
  const Bytes other = *DirectConversationId("alice", "carol");
  const VerifiedEntry mixed[] = {people.Text("bob", conv, 1, 1), people.Text("carol", other, 1, 1)};
  CHECK((*store)->StoreEntries(conv, mixed, 1).status().code() == Status::Code::kInvalidArgument);
  // An equivocation (another entry at bob's seq 1) fails the whole batch.
  REQUIRE((*store)->StoreEntries(conv, std::span(mixed, 1), 1).ok());
  const VerifiedEntry clash[] = {people.Text("bob", conv, 2, 2),
                                 people.Text("bob", conv, 1, 1, "other")};
  CHECK(!(*store)->StoreEntries(conv, clash, 2).ok());
  CHECK(Count(**db, "SELECT count(*) FROM entries") == 1);
  CHECK((*store)->StoreEntries(other, std::span(mixed + 1, 1), 1).status().code() ==
        Status::Code::kNotFound);
}

TEST_CASE("A crash before a batch commits leaves none of it, and the retry stores all of it",
          "[chat][store][crash]") {
  Dir dir;
  People people;
  Bytes conv;
  {
    auto db = OpenPeerDatabase(dir.db());
    REQUIRE(db.ok());
    auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
    REQUIRE(store.ok());
    conv = *(*store)->EnsureDirect("bob");
  }
  const VerifiedEntry batch[] = {people.Text("bob", conv, 1, 1, "one"),
                                 people.Text("bob", conv, 2, 2, "two"),
                                 people.Text("bob", conv, 3, 3, "three")};
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ConversationStore::Options crash;
    crash.before_commit = [] { ::_exit(7); };
    auto db = OpenPeerDatabase(dir.db());
    if (!db.ok())
      ::_exit(1);
    auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice", std::move(crash));
    if (!store.ok())
      ::_exit(2);
    ::_exit((*store)->StoreEntries(conv, batch, 10).ok() ? 0 : 3);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);

  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  CHECK((*store)->Entries(conv)->empty());
  REQUIRE((*store)->StoreEntries(conv, batch, 11).ok());
  CHECK((*store)->Entries(conv)->size() == 3);
}

TEST_CASE("Vectors, pending entries and group members survive a reopen", "[chat][store]") {
  Dir dir;
  People people;
  const Bytes group = testing::GroupIdOf(1);
  {
    auto db = OpenPeerDatabase(dir.db());
    REQUIRE(db.ok());
    auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
    REQUIRE(store.ok());
    Membership m{{"alice", "bob", "carol"}, {"alice"}};
    REQUIRE((*store)->CreateGroup(group, "team", m).ok());
    CHECK((*store)->CreateGroup(group, "team", m).code() == Status::Code::kFailedPrecondition);
    REQUIRE((*store)->SaveVector("bob", group, Vector{{"alice", 4}, {"carol", 2}}).ok());
    REQUIRE((*store)->AddPending(group, people.Text("carol", group, 5, 9, "ahead"), 20).ok());
  }
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  CHECK(*(*store)->Members(group) == Membership{{"alice", "bob", "carol"}, {"alice"}});
  CHECK(*(*store)->LoadVector("bob", group) == Vector{{"alice", 4}, {"carol", 2}});
  CHECK((*store)->LoadVector("carol", group)->empty());
  auto pending = (*store)->Pending(group);
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].body.text() == "ahead");
  // Storing it (the gap filled) takes it out of pending.
  REQUIRE((*store)->StoreEntries(group, std::span(pending->data(), 1), 30).ok());
  CHECK((*store)->Pending(group)->empty());
  REQUIRE((*store)->SetMembers(group, Membership{{"alice", "bob"}, {"alice", "bob"}}).ok());
  CHECK((*store)->Members(group)->admins == std::set<std::string>{"alice", "bob"});
}

}  // namespace
}  // namespace confab::peer::chat

namespace confab::peer::chat {
namespace {

TEST_CASE(
    "An entry sealed at rest opens only as that entry of that conversation, never as a message",
    "[chat][store][cipher]") {
  const BodyCipher cipher = CipherFor(1);
  const Bytes id(kEntryIdBytes, 0x11);
  const Bytes conv = *DirectConversationId("alice", "bob");
  const Bytes data = {1, 2, 3, 4};
  const Bytes sealed = cipher.SealEntry(id, conv, data);
  CHECK(*cipher.OpenEntry(id, conv, sealed) == data);
  CHECK(cipher.OpenEntry(Bytes(kEntryIdBytes, 0x12), conv, sealed).status().code() ==
        Status::Code::kAuthFailed);
  CHECK(cipher.OpenEntry(id, *DirectConversationId("alice", "carol"), sealed).status().code() ==
        Status::Code::kAuthFailed);
  CHECK(CipherFor(2).OpenEntry(id, conv, sealed).status().code() == Status::Code::kAuthFailed);
  // A history body with the same bytes in its ad fields does not open as an
  // entry: the labels differ.
  MessageId mid{};
  mid.fill(0x11);
  const Bytes message = cipher.Seal(mid, AsChars(conv), "text");
  CHECK(cipher.OpenEntry(Bytes(mid.begin(), mid.end()), conv, message).status().code() ==
        Status::Code::kAuthFailed);
  CHECK(cipher.OpenEntry(id, conv, Bytes(10, 0)).status().code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace confab::peer::chat

namespace confab::peer::chat {
namespace {

TEST_CASE("A version 1 confab.db migrates through every version to conversations",
          "[chat][store][migration]") {
  Dir dir;
  MessageId in_id{};
  in_id.fill(0x42);
  {
    auto db = OpenPeerDatabaseAtVersion(dir.db(), 1);
    REQUIRE(db.ok());
    auto history = v5::HistoryStore::Open(db->get(), CipherFor(1));
    REQUIRE(history.ok());
    REQUIRE((*history)->AppendOutgoing("bob", "from version 1", 10).ok());
    const IncomingMessage in[] = {{in_id, 3, 5, "bob at version 1"}};
    REQUIRE((*history)->AppendIncoming("bob", in, 20).ok());
  }
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  auto entries = (*store)->Entries(*DirectConversationId("alice", "bob"));
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].text == "from version 1");
  CHECK((*entries)[0].state == MessageState::kQueued);
  CHECK((*entries)[1].text == "bob at version 1");
  CHECK((*entries)[1].seq == 3);
  CHECK((*entries)[1].id == Bytes(in_id.begin(), in_id.end()));
}

TEST_CASE("An empty version 3 confab.db migrates to no conversations", "[chat][store][migration]") {
  Dir dir;
  REQUIRE(OpenPeerDatabaseAtVersion(dir.db(), 3).ok());
  CHECK(OpenPeerDatabaseAtVersion(dir.db(), 0).status().code() == Status::Code::kInvalidArgument);
  CHECK(OpenPeerDatabaseAtVersion(dir.db(), kPeerSchemaVersion + 1).status().code() ==
        Status::Code::kInvalidArgument);
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), CipherFor(1), "alice");
  REQUIRE(store.ok());
  CHECK((*store)->Conversations()->empty());
  CHECK(Count(**db, "SELECT count(*) FROM entries") == 0);
}

}  // namespace
}  // namespace confab::peer::chat
