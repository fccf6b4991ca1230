#include "peer/chat/history_store.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <catch2/catch.hpp>

#include "peer/chat/conversation_store.h"

#include "node_fixture.h"

namespace confab::peer {
namespace {

using Code = Status::Code;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

IncomingMessage In(uint8_t id_fill, uint64_t seq, std::string_view text) {
  IncomingMessage m;
  m.id = IdOf(id_fill);
  m.seq = seq;
  m.sent_ms = kNow - 5;
  m.text = text;
  return m;
}

// Runs `sql` with the message id of `id_fill` bound as ?1.
void ExecWithId(Node& n, const std::string& sql, uint8_t id_fill) {
  auto st = n.db->Prepare(sql);
  REQUIRE(st.ok());
  st->BindBlob(1, IdOf(id_fill));
  REQUIRE(st->Run().ok());
}

TEST_CASE("Outgoing messages take seq 1, 2, 3 per conversation and random ids",
          "[messaging][history]") {
  Node n;
  auto a1 = n.history->AppendOutgoing("bob", "one", kNow);
  auto a2 = n.history->AppendOutgoing("bob", "two", kNow + 1);
  auto c1 = n.history->AppendOutgoing("carol", "uno", kNow + 2);
  REQUIRE(a1.ok());
  REQUIRE(a2.ok());
  REQUIRE(c1.ok());
  CHECK(a1->seq == 1);
  CHECK(a2->seq == 2);
  CHECK(c1->seq == 1);
  CHECK(a1->id != a2->id);
  CHECK(a1->state == MessageState::kQueued);
  CHECK(a1->direction == Direction::kOut);
  n.Reopen();
  auto a3 = n.history->AppendOutgoing("bob", "three", kNow + 3);
  REQUIRE(a3.ok());
  CHECK(a3->seq == 3);
}

TEST_CASE("The database file holds no message text in the clear", "[messaging][history][at-rest]") {
  Node n;
  const std::string secret = "the merger closes on tuesday";
  REQUIRE(n.history->AppendOutgoing("bob", secret + " (out)", kNow).ok());
  const IncomingMessage in[] = {In(7, 1, secret)};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(n.tmp.File("")))
    all += ReadFile(entry.path().string());
  REQUIRE(all.size() > 4096);  // the files were read
  CHECK(all.find("merger") == std::string::npos);
  CHECK(all.find("tuesday") == std::string::npos);
}

TEST_CASE("A database written under another identity key is refused at Open",
          "[messaging][history][error]") {
  Node n(1);
  REQUIRE(n.history->AppendOutgoing("bob", "hi", kNow).ok());
  auto wrong = HistoryStore::Open(n.db.get(), CipherFor(2));
  CHECK(wrong.status().code() == Code::kAuthFailed);
  CHECK(HistoryStore::Open(n.db.get(), CipherFor(1)).ok());
  CHECK(HistoryStore::Open(nullptr, CipherFor(1)).status().code() == Code::kInvalidArgument);
}

TEST_CASE("A flipped body byte is an error on read, never garbage text",
          "[messaging][history][at-rest][error]") {
  Node n;
  const IncomingMessage in[] = {In(7, 1, "hello bob")};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  // Flip one byte of the stored body, as a bad disk or an attacker might.
  for (size_t index : {size_t{0}, size_t{30}, BodyCipher::kNonceBytes + 9 + 15}) {
    INFO(index);
    Bytes body;
    {
      auto get = n.db->Prepare("SELECT sealed FROM entries WHERE id = ?1");
      REQUIRE(get.ok());
      get->BindBlob(1, IdOf(7));
      REQUIRE(*get->Step() == store::StepResult::kRow);
      body = get->ColumnBlob(0);
    }
    REQUIRE(index < body.size());
    body[index] ^= 0x01;
    auto put = n.db->Prepare("UPDATE entries SET sealed = ?2 WHERE id = ?1");
    REQUIRE(put.ok());
    put->BindBlob(1, IdOf(7)).BindBlob(2, body);
    REQUIRE(put->Run().ok());
    CHECK(n.history->Conversation("bob", 0, 10).status().code() == Code::kAuthFailed);
    body[index] ^= 0x01;  // restore, and check the row reads again
    put->Reset();
    put->BindBlob(1, IdOf(7)).BindBlob(2, body);
    REQUIRE(put->Run().ok());
    REQUIRE(n.history->Conversation("bob", 0, 10).ok());
  }
  ExecWithId(n, "UPDATE entries SET sealed = zeroblob(length(sealed)) WHERE id = ?1", 7);
  auto read = n.history->Conversation("bob", 0, 10);
  CHECK(read.status().code() == Code::kAuthFailed);
  auto exported = n.history->Export(0, [](const StoredMessage&) { return Status::Ok(); });
  CHECK(exported.code() == Code::kAuthFailed);
}

TEST_CASE("A truncated body is Corruption", "[messaging][history][at-rest][error]") {
  Node n;
  const IncomingMessage in[] = {In(7, 1, "hello bob")};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  ExecWithId(n, "UPDATE entries SET sealed = substr(sealed, 1, 10) WHERE id = ?1", 7);
  CHECK(n.history->Conversation("bob", 0, 10).status().code() == Code::kCorruption);
}

TEST_CASE("A body moved onto another row's id is refused", "[messaging][history][at-rest][error]") {
  Node n;
  const IncomingMessage in[] = {In(1, 1, "pay alice 10"), In(2, 2, "pay mallory 1000")};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  ExecWithId(n,
             "UPDATE entries SET sealed = (SELECT sealed FROM entries WHERE id = ?1) "
             "WHERE seq = 1",
             2);
  CHECK(n.history->Conversation("bob", 0, 10).status().code() == Code::kAuthFailed);
}

TEST_CASE("A body moved into another conversation is refused",
          "[messaging][history][at-rest][error]") {
  Node n;
  const IncomingMessage in[] = {In(1, 1, "for bob only")};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  REQUIRE(n.db->Exec("INSERT INTO conv (kind, peer) VALUES (0, 'carol')").ok());
  ExecWithId(
      n, "UPDATE entries SET conv = (SELECT row FROM conv WHERE peer = 'carol') WHERE id = ?1", 1);
  CHECK(n.history->Conversation("carol", 0, 10).status().code() == Code::kAuthFailed);
}

TEST_CASE("AppendIncoming stores each id once, even when repeated in a batch",
          "[messaging][history]") {
  Node n;
  const IncomingMessage batch[] = {In(1, 1, "a"), In(2, 2, "b"), In(1, 1, "a")};
  auto fresh = n.history->AppendIncoming("bob", batch, kNow);
  REQUIRE(fresh.ok());
  CHECK(*fresh == std::vector<bool>{true, true, false});
  auto again = n.history->AppendIncoming("bob", batch, kNow + 1);
  REQUIRE(again.ok());
  CHECK(*again == std::vector<bool>{false, false, false});
  // The same id from another conversation is another message.
  auto carol = n.history->AppendIncoming("carol", std::span(batch, 1), kNow);
  REQUIRE(carol.ok());
  CHECK(*carol == std::vector<bool>{true});
  CHECK(n.Count("SELECT count(*) FROM entries") == 3);
}

TEST_CASE("AppendIncoming refuses a seq of 0 or past 2^63-1 and stores nothing",
          "[messaging][history][error]") {
  Node n;
  const IncomingMessage zero[] = {In(1, 1, "a"), In(2, 0, "b")};
  CHECK(n.history->AppendIncoming("bob", zero, kNow).status().code() == Code::kInvalidArgument);
  const IncomingMessage huge[] = {In(3, uint64_t{1} << 63, "c")};
  CHECK(n.history->AppendIncoming("bob", huge, kNow).status().code() == Code::kInvalidArgument);
  CHECK(n.Count("SELECT count(*) FROM entries") == 0);
}

TEST_CASE("Conversation gives the latest messages since a time, oldest first",
          "[messaging][history]") {
  Node n;
  for (int i = 0; i < 5; ++i)
    REQUIRE(n.history->AppendOutgoing("bob", "m" + std::to_string(i), kNow + i).ok());
  REQUIRE(n.history->AppendOutgoing("carol", "other", kNow).ok());
  auto last2 = n.history->Conversation("bob", 0, 2);
  REQUIRE(last2.ok());
  REQUIRE(last2->size() == 2);
  CHECK((*last2)[0].text == "m3");
  CHECK((*last2)[1].text == "m4");
  auto since = n.history->Conversation("bob", kNow + 3, 100);
  REQUIRE(since.ok());
  REQUIRE(since->size() == 2);
  CHECK((*since)[0].text == "m3");
  CHECK(n.history->Conversation("dave", 0, 100)->empty());
}

TEST_CASE(
    "Retention deletes old received and delivered protocol 1 messages, never undelivered ones",
    "[messaging][history][retention]") {
  Node n;
  auto queued = n.history->AppendOutgoing("bob", "old queued", kNow);
  auto sent = n.history->AppendOutgoing("bob", "old sent", kNow);
  auto delivered = n.history->AppendOutgoing("bob", "old delivered", kNow);
  auto recent = n.history->AppendOutgoing("bob", "recent delivered", kNow + 100);
  REQUIRE(queued.ok());
  REQUIRE(sent.ok());
  REQUIRE(delivered.ok());
  REQUIRE(recent.ok());
  const IncomingMessage in[] = {In(9, 1, "old received")};
  REQUIRE(n.history->AppendIncoming("bob", in, kNow).ok());
  const MessageState from_queued[] = {MessageState::kQueued};
  REQUIRE(*n.history->UpdateOutgoingState("bob", std::span(&sent->id, 1), from_queued,
                                          MessageState::kSent, kNow) == 1);
  const MessageId done[] = {delivered->id, recent->id};
  REQUIRE(*n.history->UpdateOutgoingState("bob", done, from_queued, MessageState::kDelivered,
                                          kNow + 200) == 2);

  // Retention runs through the ConversationStore over the same database,
  // which holds these rows as legacy entries.
  auto store = chat::ConversationStore::Open(n.db.get(), CipherFor(n.seed), "alice");
  REQUIRE(store.ok());
  auto purged = (*store)->PurgeOlderThan(kNow + 50);
  REQUIRE(purged.ok());
  CHECK(*purged == 2);
  auto left = n.history->Conversation("bob", 0, 100);
  REQUIRE(left.ok());
  REQUIRE(left->size() == 3);
  CHECK((*left)[0].text == "old queued");
  CHECK((*left)[1].text == "old sent");
  CHECK((*left)[2].text == "recent delivered");
  // Sequence numbers are never reused after a purge.
  CHECK(n.history->AppendOutgoing("bob", "next", kNow + 300)->seq == 5);
}

TEST_CASE("Export visits every message since a time, decrypted, and stops on the visitor's error",
          "[messaging][history][export]") {
  Node n;
  REQUIRE(n.history->AppendOutgoing("bob", "to bob", kNow).ok());
  const IncomingMessage in[] = {In(1, 1, "from carol")};
  REQUIRE(n.history->AppendIncoming("carol", in, kNow + 10).ok());
  std::vector<std::string> seen;
  auto all = n.history->Export(0, [&](const StoredMessage& m) {
    seen.push_back(m.conversation + ":" + m.text + ":" + std::string(MessageStateName(m.state)));
    return Status::Ok();
  });
  REQUIRE(all.ok());
  CHECK(seen == std::vector<std::string>{"bob:to bob:queued", "carol:from carol:received"});
  seen.clear();
  REQUIRE(n.history
              ->Export(kNow + 5,
                       [&](const StoredMessage& m) {
                         seen.push_back(m.text);
                         return Status::Ok();
                       })
              .ok());
  CHECK(seen == std::vector<std::string>{"from carol"});
  auto stopped =
      n.history->Export(0, [](const StoredMessage&) { return Status::IoError("disk full"); });
  CHECK(stopped.code() == Code::kIoError);
}

TEST_CASE("UpdateOutgoingState needs one to three source states", "[messaging][history][error]") {
  Node n;
  const MessageId ids[] = {IdOf(1)};
  CHECK(n.history->UpdateOutgoingState("bob", ids, {}, MessageState::kSent, kNow).status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("A database from a newer confab is refused", "[messaging][history][error]") {
  Node n;
  REQUIRE(n.db->Exec("PRAGMA user_version = 99").ok());
  n.db.reset();
  CHECK(OpenPeerDatabase(n.path()).status().code() == Code::kFailedPrecondition);
}

}  // namespace
}  // namespace confab::peer

namespace confab::peer {
namespace {

TEST_CASE(
    "OutboxConversations names the conversations with queued or sent messages, across a "
    "reopen",
    "[messaging][history]") {
  Node n;
  auto to_bob = n.history->AppendOutgoing("bob", "one", kNow);
  auto to_carol = n.history->AppendOutgoing("carol", "uno", kNow);
  REQUIRE(to_bob.ok());
  REQUIRE(to_carol.ok());
  const IncomingMessage from_dave[] = {In(7, 1, "hi")};
  REQUIRE(n.history->AppendIncoming("dave", from_dave, kNow).ok());
  n.Reopen();
  auto waiting = n.history->OutboxConversations();
  REQUIRE(waiting.ok());
  CHECK(*waiting == std::vector<std::string>{"bob", "carol"});

  const MessageId delivered[] = {to_carol->id};
  const MessageState from[] = {MessageState::kQueued};
  REQUIRE(
      n.history->UpdateOutgoingState("carol", delivered, from, MessageState::kDelivered, kNow + 1)
          .ok());
  waiting = n.history->OutboxConversations();
  REQUIRE(waiting.ok());
  CHECK(*waiting == std::vector<std::string>{"bob"});
}

TEST_CASE("Unread counts incoming messages after the read marker, and MarkRead moves it",
          "[messaging][history]") {
  Node n;
  auto none = n.history->UnreadCounts();
  REQUIRE(none.ok());
  CHECK(none->empty());
  const IncomingMessage bob[] = {In(1, 1, "one"), In(2, 2, "two")};
  const IncomingMessage carol[] = {In(3, 1, "hi")};
  REQUIRE(n.history->AppendIncoming("bob", bob, kNow).ok());
  REQUIRE(n.history->AppendIncoming("carol", carol, kNow).ok());
  REQUIRE(n.history->AppendOutgoing("bob", "ours is never unread", kNow).ok());
  auto counts = n.history->UnreadCounts();
  REQUIRE(counts.ok());
  CHECK(*counts == std::map<std::string, int64_t>{{"bob", 2}, {"carol", 1}});

  REQUIRE(n.history->MarkRead("bob").ok());
  n.Reopen();  // on disk
  counts = n.history->UnreadCounts();
  REQUIRE(counts.ok());
  CHECK(*counts == std::map<std::string, int64_t>{{"carol", 1}});
  const IncomingMessage more[] = {In(4, 3, "three")};
  REQUIRE(n.history->AppendIncoming("bob", more, kNow).ok());
  counts = n.history->UnreadCounts();
  REQUIRE(counts.ok());
  CHECK(counts->at("bob") == 1);
  REQUIRE(n.history->MarkRead("nobody").ok());  // no messages: harmless
}

}  // namespace
}  // namespace confab::peer
