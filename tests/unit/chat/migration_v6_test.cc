// The confab.db version 6 migration: a version 5 database written by the
// version 1-5 HistoryStore (frozen in v5_history_store), whose version 4
// copy went stale as the node kept writing `messages`, moves onto the
// entries tables with every message, state, time, the outbox and the read
// markers kept; the old tables are gone; a migration that fails before its
// COMMIT leaves version 5 as it was.
#include <unistd.h>

#include <filesystem>
#include <map>

#include <catch2/catch.hpp>

#include "peer/chat/conversation_store.h"
#include "peer/chat/history_store.h"
#include "peer/chat/replicas.h"
#include "peer/store/peer_database.h"

#include "chat_fixture.h"
#include "v5_history_store.h"

namespace confab::peer::chat {
namespace {

BodyCipher Cipher() {
  return *BodyCipher::FromIdentitySeed(Bytes(32, 1));
}

class Dir {
 public:
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "migrate6.XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path_ = t;
  }
  ~Dir() { std::filesystem::remove_all(path_); }
  std::string db() const { return path_ + "/confab.db"; }

 private:
  std::string path_;
};

MessageId IdOf(uint8_t n) {
  MessageId m{};
  m.fill(n);
  return m;
}

// Everything a version 5 node shows, read through the old code.
struct Shown {
  std::vector<StoredMessage> all;     // Export: the order written
  std::vector<StoredMessage> outbox;  // OutboxAll
  std::vector<std::string> waiting;   // OutboxConversations
  std::map<std::string, int64_t> unread;
};

Shown ShowV5(store::Database* db) {
  auto h = v5::HistoryStore::Open(db, Cipher());
  REQUIRE(h.ok());
  Shown s;
  REQUIRE((*h)->Export(0,
                       [&](const StoredMessage& m) {
                         s.all.push_back(m);
                         return Status::Ok();
                       })
              .ok());
  s.outbox = *(*h)->OutboxAll(1000);
  s.waiting = *(*h)->OutboxConversations();
  s.unread = *(*h)->UnreadCounts();
  return s;
}

Shown ShowV6(store::Database* db) {
  auto h = HistoryStore::Open(db, Cipher());
  REQUIRE(h.ok());
  Shown s;
  REQUIRE((*h)->Export(0,
                       [&](const StoredMessage& m) {
                         s.all.push_back(m);
                         return Status::Ok();
                       })
              .ok());
  s.outbox = *(*h)->OutboxAll(1000);
  s.waiting = *(*h)->OutboxConversations();
  s.unread = *(*h)->UnreadCounts();
  return s;
}

void CheckSame(const std::vector<StoredMessage>& a, const std::vector<StoredMessage>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("message " << i << ": " << a[i].text);
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].conversation == b[i].conversation);
    CHECK(a[i].direction == b[i].direction);
    CHECK(a[i].seq == b[i].seq);
    CHECK(a[i].sent_ms == b[i].sent_ms);
    CHECK(a[i].received_ms == b[i].received_ms);
    CHECK(a[i].state == b[i].state);
    CHECK(a[i].state_ms == b[i].state_ms);
    CHECK(a[i].text == b[i].text);
  }
}

// A node's life through versions 3 and 5: messages before the version 4
// copy, then more, state changes and read markers after it (so the copy is
// stale), written by the version 1-5 HistoryStore.
void WriteVersion5(const std::string& path) {
  {
    auto db = OpenPeerDatabaseAtVersion(path, 3);
    REQUIRE(db.ok());
    auto h = v5::HistoryStore::Open(db->get(), Cipher());
    REQUIRE(h.ok());
    REQUIRE((*h)->AppendOutgoing("bob", "before the copy", 1000).ok());
    const IncomingMessage from_bob[] = {{IdOf(0xB1), 1, 900, "bob, before"}};
    REQUIRE((*h)->AppendIncoming("bob", from_bob, 1100).ok());
  }
  auto db = OpenPeerDatabaseAtVersion(path, 5);
  REQUIRE(db.ok());
  auto h = v5::HistoryStore::Open(db->get(), Cipher());
  REQUIRE(h.ok());
  v5::HistoryStore& history = **h;
  REQUIRE(history.MarkRead("bob").ok());
  auto first = history.Export(0, [](const StoredMessage&) { return Status::Ok(); });
  REQUIRE(first.ok());
  // After the copy: the first outgoing message is delivered, more are
  // written to bob and to new people, some are read.
  auto out = history.Outbox("bob");
  REQUIRE(out->size() == 1);
  const MessageId delivered[] = {out->front().id};
  const MessageState from_q[] = {MessageState::kQueued};
  REQUIRE(*history.UpdateOutgoingState("bob", delivered, from_q, MessageState::kDelivered, 2000) ==
          1);
  const std::string batch[] = {"after one", "after two"};
  auto more = history.AppendOutgoingBatch("bob", batch, 2100);
  REQUIRE(more.ok());
  REQUIRE(*history.UpdateOutgoingState("bob", std::span<const MessageId>(&(*more)[0].id, 1), from_q,
                                       MessageState::kSent, 2200,
                                       v5::HistoryStore::Sync::kLazy) == 1);
  const IncomingMessage bob_later[] = {{IdOf(0xB2), 2, 2300, "bob, unread"}};
  REQUIRE(history.AppendIncoming("bob", bob_later, 2400).ok());
  const IncomingMessage from_carol[] = {{IdOf(0xC1), 5, 2500, "carol, new since the copy"},
                                        {IdOf(0xC2), 6, 2501, "carol again"}};
  REQUIRE(history.AppendIncoming("carol", from_carol, 2600).ok());
  REQUIRE(history.MarkRead("carol").ok());
  const IncomingMessage carol_later[] = {{IdOf(0xC3), 7, 2700, "carol, unread"}};
  REQUIRE(history.AppendIncoming("carol", carol_later, 2800).ok());
  REQUIRE(history.AppendOutgoing("dave", "queued for dave", 2900).ok());
  auto dropped = history.AppendOutgoing("erin", "dropped", 2950);
  REQUIRE(dropped.ok());
  REQUIRE(*history.DeleteQueued("erin", dropped->id));
}

TEST_CASE("A version 5 confab.db moves onto entries with every message, state, outbox and marker",
          "[chat][store][migration]") {
  Dir dir;
  WriteVersion5(dir.db());
  Shown before;
  {
    auto db = OpenPeerDatabaseAtVersion(dir.db(), 5);
    REQUIRE(db.ok());
    before = ShowV5(db->get());
    // The version 4 copy is stale: it lacks what came after it.
    CHECK(*(*db)->QueryInt64("SELECT count(*) FROM entries") == 2);
  }
  REQUIRE(before.all.size() == 9);
  CHECK(before.unread == std::map<std::string, int64_t>{{"bob", 1}, {"carol", 1}});
  REQUIRE(before.outbox.size() == 3);

  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  store::Database& d = **db;
  CHECK(*d.QueryInt64("PRAGMA user_version") == kPeerSchemaVersion);
  // Through version 7 too: nothing is purged by the migration.
  CHECK(*d.QueryInt64("SELECT count(*) FROM entries WHERE purged = 0") ==
        *d.QueryInt64("SELECT count(*) FROM entries"));
  for (const char* gone : {"messages", "conversations", "read_markers"}) {
    INFO(gone);
    CHECK(*d.QueryInt64(std::string("SELECT count(*) FROM sqlite_master WHERE name = '") + gone +
                        "'") == 0);
  }
  auto store = ConversationStore::Open(db->get(), Cipher(), "alice");
  REQUIRE(store.ok());
  const Shown after = ShowV6(db->get());
  CheckSame(before.all, after.all);
  CheckSame(before.outbox, after.outbox);
  CHECK(before.waiting == after.waiting);
  CHECK(before.unread == after.unread);

  // Every direct conversation has its id, members and counter; the new
  // outgoing seq continues the old counter (erin's dropped message used 1).
  auto convs = (*store)->Conversations();
  REQUIRE(convs.ok());
  std::map<std::string, uint64_t> next;
  for (const ConversationInfo& c : *convs) {
    CHECK(c.id == *DirectConversationId("alice", c.peer));
    CHECK((*store)->Members(c.id)->members == std::set<std::string>{"alice", c.peer});
    next[c.peer] = c.next_out_seq;
  }
  CHECK(next ==
        std::map<std::string, uint64_t>{{"bob", 4}, {"carol", 1}, {"dave", 2}, {"erin", 2}});

  // The node's model shows the same history, authors filled in.
  testing::People people;
  Replicas replicas(store->get(), &people.key("alice"), people.lookup());
  auto bob = replicas.History(*DirectConversationId("alice", "bob"));
  REQUIRE(bob.ok());
  std::vector<StoredMessage> want;
  for (const StoredMessage& m : before.all)
    if (m.conversation == "bob")
      want.push_back(m);
  REQUIRE(bob->size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const StoredEntry& e = (*bob)[i].entry;
    CHECK(e.text == want[i].text);
    CHECK(e.state == want[i].state);
    CHECK(e.author == (want[i].direction == Direction::kOut ? "alice" : "bob"));
    CHECK((*bob)[i].delivered_to == (want[i].state == MessageState::kDelivered
                                         ? std::vector<std::string>{"bob"}
                                         : std::vector<std::string>{}));
  }

  // The node writes on: a new message takes the next seq and the next row.
  auto h = HistoryStore::Open(db->get(), Cipher());
  auto later = (*h)->AppendOutgoing("bob", "after the move", 3000);
  REQUIRE(later.ok());
  CHECK(later->seq == 4);
  CHECK((*h)->Conversation("bob", 0, 100)->back().text == "after the move");
  REQUIRE((*h)->MarkRead("bob").ok());
  CHECK((*h)->UnreadCounts()->count("bob") == 0);
}

TEST_CASE("A version 6 migration that fails before COMMIT leaves the version 5 database intact",
          "[chat][store][migration]") {
  Dir dir;
  WriteVersion5(dir.db());
  Shown before;
  {
    auto db = OpenPeerDatabaseAtVersion(dir.db(), 5);
    REQUIRE(db.ok());
    before = ShowV5(db->get());
    // Makes the script's CREATE TABLE conv_read fail, after it has already
    // deleted and copied entries.
    REQUIRE((*db)->Exec("CREATE TABLE conv_read (x INTEGER)").ok());
  }
  auto failed = OpenPeerDatabase(dir.db());
  CHECK(!failed.ok());
  auto db = OpenPeerDatabaseAtVersion(dir.db(), 5);
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt64("PRAGMA user_version") == 5);
  CHECK(*(*db)->QueryInt64("SELECT count(*) FROM entries") == 2);
  const Shown again = ShowV5(db->get());
  CheckSame(before.all, again.all);
  CheckSame(before.outbox, again.outbox);
  CHECK(before.unread == again.unread);
  // With the obstacle gone the migration runs.
  REQUIRE((*db)->Exec("DROP TABLE conv_read").ok());
  db->reset();
  auto migrated = OpenPeerDatabase(dir.db());
  REQUIRE(migrated.ok());
  REQUIRE(ConversationStore::Open(migrated->get(), Cipher(), "alice").ok());
  CheckSame(before.all, ShowV6(migrated->get()).all);
}

}  // namespace
}  // namespace confab::peer::chat

namespace confab::peer::chat {
namespace {

TEST_CASE("A conversation HistoryStore starts after ConversationStore::Open has its id and members",
          "[chat][store]") {
  Dir dir;
  auto db = OpenPeerDatabase(dir.db());
  REQUIRE(db.ok());
  auto store = ConversationStore::Open(db->get(), Cipher(), "alice");
  REQUIRE(store.ok());
  auto history = HistoryStore::Open(db->get(), Cipher());
  REQUIRE(history.ok());
  REQUIRE((*history)->AppendOutgoing("zed", "to a new person", 1000).ok());
  const IncomingMessage in[] = {{IdOf(0x51), 1, 900, "from another"}};
  REQUIRE((*history)->AppendIncoming("yan", in, 1100).ok());
  // Without a restart: the node's model finds both by their direct ids.
  testing::People people;
  Replicas replicas(store->get(), &people.key("alice"), people.lookup());
  for (const char* peer : {"zed", "yan"}) {
    INFO(peer);
    const Bytes id = *DirectConversationId("alice", peer);
    CHECK((*store)->Members(id)->members == std::set<std::string>{"alice", peer});
    auto h = replicas.History(id);
    REQUIRE(h.ok());
    REQUIRE(h->size() == 1);
    CHECK(h->at(0).entry.author == (std::string(peer) == "zed" ? "alice" : "yan"));
  }
  CHECK((*store)->ConversationsWith("zed")->size() == 1);
}

}  // namespace
}  // namespace confab::peer::chat
