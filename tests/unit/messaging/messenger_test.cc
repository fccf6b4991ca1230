#include "peer/chat/messenger.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <catch2/catch.hpp>

#include "node_fixture.h"

namespace confab::peer {
namespace {

using Code = Status::Code;

std::vector<MessageId> IdsOf(const std::vector<StoredMessage>& messages) {
  std::vector<MessageId> ids;
  for (const StoredMessage& m : messages)
    ids.push_back(m.id);
  return ids;
}

std::vector<std::string> TextsOf(const std::vector<StoredMessage>& messages) {
  std::vector<std::string> texts;
  for (const StoredMessage& m : messages)
    texts.push_back(m.text);
  return texts;
}

proto::Ack AckFor(const std::vector<StoredMessage>& messages) {
  proto::Ack ack;
  for (const StoredMessage& m : messages)
    ack.add_ids(m.id.data(), m.id.size());
  return ack;
}

// Carries alice's pending messages to bob and bob's ack back, as two nodes'
// sessions would, and returns what bob showed.
std::vector<StoredMessage> Deliver(Node& alice, Node& bob, int64_t now) {
  auto pending = alice.messenger->PendingFor("bob");
  REQUIRE(pending.ok());
  std::vector<proto::ChatMessage> wire;
  for (const StoredMessage& m : *pending)
    wire.push_back(Messenger::ToWire(m));
  REQUIRE(alice.messenger->MarkSent("bob", IdsOf(*pending), now).ok());
  auto received = bob.messenger->Receive("alice", wire, now + 1);
  REQUIRE(received.ok());
  REQUIRE(alice.messenger->OnAck("bob", received->ack, now + 2).ok());
  return received->fresh;
}

TEST_CASE("A message goes queued, sent, delivered, and arrives once", "[messaging][delivery]") {
  Node alice(1), bob(2);
  auto m = alice.messenger->Compose("bob", "hello bob", kNow);
  REQUIRE(m.ok());
  CHECK(m->state == MessageState::kQueued);
  CHECK(m->seq == 1);

  auto pending = alice.messenger->PendingFor("bob");
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].text == "hello bob");
  CHECK(*alice.messenger->MarkSent("bob", IdsOf(*pending), kNow + 1) == 1);
  CHECK(*alice.messenger->MarkSent("bob", IdsOf(*pending), kNow + 1) == 0);
  CHECK(alice.messenger->History("bob", 0, 10)->at(0).state == MessageState::kSent);
  CHECK(alice.messenger->PendingFor("bob")->size() == 1);  // sent is not yet delivered

  proto::ChatMessage wire = Messenger::ToWire((*pending)[0]);
  auto received = bob.messenger->Receive("alice", std::span(&wire, 1), kNow + 2);
  REQUIRE(received.ok());
  REQUIRE(received->fresh.size() == 1);
  CHECK(received->fresh[0].text == "hello bob");
  CHECK(received->fresh[0].direction == Direction::kIn);
  REQUIRE(received->ack.ids_size() == 1);

  CHECK(*alice.messenger->OnAck("bob", received->ack, kNow + 3) == 1);
  CHECK(*alice.messenger->OnAck("bob", received->ack, kNow + 4) == 0);  // idempotent
  auto history = alice.messenger->History("bob", 0, 10);
  REQUIRE(history.ok());
  CHECK(history->at(0).state == MessageState::kDelivered);
  CHECK(history->at(0).state_ms == kNow + 3);
  CHECK(alice.messenger->PendingFor("bob")->empty());
  auto bob_history = bob.messenger->History("alice", 0, 10);
  REQUIRE(bob_history.ok());
  REQUIRE(bob_history->size() == 1);
  CHECK(bob_history->at(0).state == MessageState::kReceived);
  CHECK(bob_history->at(0).seq == 1);
  CHECK(bob_history->at(0).sent_ms == kNow);
  CHECK(bob_history->at(0).received_ms == kNow + 2);
}

TEST_CASE("An ack that overtakes MarkSent still delivers", "[messaging][delivery]") {
  Node alice;
  auto m = alice.messenger->Compose("bob", "quick", kNow);
  REQUIRE(m.ok());
  CHECK(*alice.messenger->OnAck("bob", AckFor({*m}), kNow + 1) == 1);
  CHECK(*alice.messenger->MarkSent("bob", std::span(&m->id, 1), kNow + 2) == 0);
  CHECK(alice.messenger->History("bob", 0, 10)->at(0).state == MessageState::kDelivered);
}

TEST_CASE("OnAck ignores unknown, malformed and other conversations' ids",
          "[messaging][delivery]") {
  Node alice;
  auto to_bob = alice.messenger->Compose("bob", "for bob", kNow);
  REQUIRE(to_bob.ok());
  proto::Ack ack = AckFor({*to_bob});
  ack.add_ids("short");
  MessageId unknown = IdOf(0x55);
  ack.add_ids(unknown.data(), unknown.size());
  // carol cannot mark bob's message delivered.
  CHECK(*alice.messenger->OnAck("carol", ack, kNow) == 0);
  CHECK(alice.messenger->PendingFor("bob")->size() == 1);
  CHECK(*alice.messenger->OnAck("bob", ack, kNow) == 1);
  CHECK(*alice.messenger->OnAck("bob", proto::Ack(), kNow) == 0);
}

TEST_CASE("Queued messages survive a restart and are resent in order until acked",
          "[messaging][delivery][restart]") {
  Node alice(1), bob(2);
  for (int i = 1; i <= 5; ++i)
    REQUIRE(alice.messenger->Compose("bob", "m" + std::to_string(i), kNow + i).ok());
  // Two went out before the crash; none were acknowledged.
  auto first = alice.messenger->PendingFor("bob");
  REQUIRE(first.ok());
  REQUIRE(alice.messenger->MarkSent("bob", IdsOf({(*first)[0], (*first)[1]}), kNow + 10).ok());
  alice.Reopen();

  auto pending = alice.messenger->PendingFor("bob");
  REQUIRE(pending.ok());
  CHECK(TextsOf(*pending) == std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
  for (size_t i = 0; i < pending->size(); ++i)
    CHECK((*pending)[i].seq == i + 1);
  CHECK((*pending)[0].state == MessageState::kSent);
  CHECK((*pending)[2].state == MessageState::kQueued);

  auto shown = Deliver(alice, bob, kNow + 20);
  CHECK(TextsOf(shown) == std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
  alice.Reopen();
  CHECK(alice.messenger->PendingFor("bob")->empty());
  CHECK(alice.messenger->Compose("bob", "m6", kNow + 30)->seq == 6);
}

TEST_CASE("A retried message is acknowledged again but stored and shown once",
          "[messaging][delivery][duplicates]") {
  Node bob(2);
  const proto::ChatMessage batch[] = {Chat(1, 1, "one"), Chat(2, 2, "two")};
  auto first = bob.messenger->Receive("alice", batch, kNow);
  REQUIRE(first.ok());
  CHECK(first->fresh.size() == 2);
  CHECK(first->ack.ids_size() == 2);

  // The ack was lost; alice retries both plus a new one, one twice.
  const proto::ChatMessage retry[] = {Chat(1, 1, "one"), Chat(2, 2, "two"), Chat(3, 3, "three"),
                                      Chat(3, 3, "three")};
  bob.Reopen();
  auto second = bob.messenger->Receive("alice", retry, kNow + 10);
  REQUIRE(second.ok());
  CHECK(TextsOf(second->fresh) == std::vector<std::string>{"three"});
  REQUIRE(second->ack.ids_size() == 3);  // each id once
  CHECK(second->ack.ids(0) == batch[0].id());
  CHECK(second->ack.ids(2) == retry[2].id());
  CHECK(TextsOf(*bob.messenger->History("alice", 0, 100)) ==
        std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("Receive stores a batch of 10,000 messages in one commit",
          "[messaging][delivery][bulk]") {
  Node bob(2);
  std::vector<proto::ChatMessage> batch;
  batch.reserve(10000);
  for (uint64_t i = 0; i < 10000; ++i) {
    proto::ChatMessage m = Chat(0, i + 1, "message " + std::to_string(i));
    MessageId id{};
    std::memcpy(id.data(), &i, sizeof(i));
    m.set_id(id.data(), id.size());
    batch.push_back(std::move(m));
  }
  auto received = bob.messenger->Receive("alice", batch, kNow);
  REQUIRE(received.ok());
  CHECK(received->fresh.size() == 10000);
  CHECK(received->ack.ids_size() == 10000);
  bob.Reopen();
  CHECK(bob.Count("SELECT count(*) FROM entries") == 10000);
  auto last = bob.messenger->History("alice", 0, 1);
  REQUIRE(last.ok());
  CHECK(last->at(0).text == "message 9999");
}

TEST_CASE("A crash inside Receive leaves nothing stored and nothing acknowledged",
          "[messaging][delivery][crash]") {
  Node bob(2);
  const proto::ChatMessage before[] = {Chat(1, 1, "before")};
  REQUIRE(bob.messenger->Receive("alice", before, kNow).ok());
  const proto::ChatMessage batch[] = {Chat(2, 2, "lost"), Chat(3, 3, "lost too")};

  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child's own connection (SQLite connections must not cross fork())
    // dies after the inserts, before COMMIT, with the write lock held and no
    // destructor run. Had Receive returned, the ack would go to stdout.
    HistoryStore::Options crash;
    crash.before_commit = [] { ::_exit(7); };
    auto db = OpenPeerDatabase(bob.path());
    if (!db.ok())
      ::_exit(1);
    auto history = HistoryStore::Open(db->get(), CipherFor(2), std::move(crash));
    auto contacts = ContactBook::Open(db->get());
    if (!history.ok() || !contacts.ok())
      ::_exit(2);
    Messenger messenger(**history, **contacts);
    auto result = messenger.Receive("alice", batch, kNow + 1);
    ::_exit(result.ok() ? 0 : 3);  // an ack would have been sent: the test fails
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);

  bob.Reopen();
  CHECK(TextsOf(*bob.messenger->History("alice", 0, 100)) == std::vector<std::string>{"before"});
  // The sender, never acked, retries; now it lands, once.
  auto retry = bob.messenger->Receive("alice", batch, kNow + 2);
  REQUIRE(retry.ok());
  CHECK(retry->fresh.size() == 2);
  CHECK(bob.Count("SELECT count(*) FROM entries") == 3);
}

TEST_CASE("A crash inside Compose leaves no message and no seq used",
          "[messaging][delivery][crash]") {
  Node alice(1);
  REQUIRE(alice.messenger->Compose("bob", "first", kNow).ok());
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    HistoryStore::Options crash;
    crash.before_commit = [] { ::_exit(7); };
    auto db = OpenPeerDatabase(alice.path());
    if (!db.ok())
      ::_exit(1);
    auto history = HistoryStore::Open(db->get(), CipherFor(1), std::move(crash));
    auto contacts = ContactBook::Open(db->get());
    if (!history.ok() || !contacts.ok())
      ::_exit(2);
    Messenger messenger(**history, **contacts);
    ::_exit(messenger.Compose("bob", "never queued", kNow + 1).ok() ? 0 : 3);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);
  alice.Reopen();
  CHECK(TextsOf(*alice.messenger->PendingFor("bob")) == std::vector<std::string>{"first"});
  CHECK(alice.messenger->Compose("bob", "second", kNow + 2)->seq == 2);
}

TEST_CASE("A blocked contact's messages are refused and nothing is acknowledged",
          "[messaging][delivery][error]") {
  Node bob(2);
  REQUIRE(bob.contacts->Block("mallory").ok());
  const proto::ChatMessage batch[] = {Chat(1, 1, "buy now")};
  auto refused = bob.messenger->Receive("mallory", batch, kNow);
  CHECK(refused.status().code() == Code::kPermissionDenied);
  CHECK(bob.Count("SELECT count(*) FROM entries") == 0);
  CHECK(bob.messenger->Compose("mallory", "stop", kNow).status().code() == Code::kPermissionDenied);
  REQUIRE(bob.contacts->Unblock("mallory").ok());
  CHECK(bob.messenger->Receive("mallory", batch, kNow).ok());
}

TEST_CASE("Sending waits while a contact's key change is pending", "[messaging][delivery][pin]") {
  Node alice;
  REQUIRE(alice.contacts->PinOnFirstContact("bob", Bytes(32, 1), kNow).ok());
  CHECK(alice.contacts->CheckPin("bob", Bytes(32, 2), kNow).code() == Code::kAuthFailed);
  CHECK(alice.messenger->Compose("bob", "hi", kNow).status().code() == Code::kAuthFailed);
  REQUIRE(alice.contacts->AcceptKeyChange("bob", kNow).ok());
  CHECK(alice.messenger->Compose("bob", "hi", kNow).ok());
}

TEST_CASE("Receive checks the whole batch before storing any of it",
          "[messaging][delivery][error]") {
  Node bob(2);
  auto refuse = [&](proto::ChatMessage bad) {
    const proto::ChatMessage batch[] = {Chat(1, 1, "fine"), std::move(bad)};
    auto r = bob.messenger->Receive("alice", batch, kNow);
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(bob.Count("SELECT count(*) FROM entries") == 0);
  };
  proto::ChatMessage m = Chat(2, 2, "x");
  m.set_id("short");
  refuse(m);
  refuse(Chat(2, 0, "seq zero"));
  refuse(Chat(2, uint64_t{1} << 63, "seq too big"));
  refuse(Chat(2, 2, ""));
  refuse(Chat(2, 2, std::string(kMaxTextBytes + 1, 'x')));
  refuse(Chat(2, 2, "\xc3\x28"));
  const proto::ChatMessage ok[] = {Chat(2, 2, std::string(kMaxTextBytes, 'x'))};
  CHECK(bob.messenger->Receive("alice", ok, kNow).ok());
  CHECK(bob.messenger->Receive("Alice", ok, kNow).status().code() == Code::kInvalidArgument);
  auto empty = bob.messenger->Receive("alice", {}, kNow);
  REQUIRE(empty.ok());
  CHECK(empty->ack.ids_size() == 0);
}

TEST_CASE("Compose refuses bad names and texts", "[messaging][delivery][error]") {
  Node alice;
  CHECK(alice.messenger->Compose("", "hi", kNow).status().code() == Code::kInvalidArgument);
  CHECK(alice.messenger->Compose("bob", "", kNow).status().code() == Code::kInvalidArgument);
  CHECK(
      alice.messenger->Compose("bob", std::string(kMaxTextBytes + 1, 'x'), kNow).status().code() ==
      Code::kInvalidArgument);
  CHECK(alice.messenger->Compose("bob", "\xff", kNow).status().code() == Code::kInvalidArgument);
  CHECK(alice.messenger->PendingFor("B").status().code() == Code::kInvalidArgument);
  CHECK(alice.Count("SELECT count(*) FROM entries") == 0);
}

TEST_CASE("ComposeBatch stores every text in order in one commit, or none",
          "[messaging][delivery][batch]") {
  Node alice, bob(2);
  REQUIRE(alice.messenger->Compose("bob", "before", kNow).ok());
  const std::vector<std::string> texts = {"one", "two", "three"};
  auto batch = alice.messenger->ComposeBatch("bob", texts, kNow);
  REQUIRE(batch.ok());
  REQUIRE(batch->size() == 3);
  CHECK((*batch)[0].seq == 2);
  CHECK((*batch)[2].seq == 4);
  CHECK(TextsOf(*alice.messenger->PendingFor("bob")) ==
        std::vector<std::string>{"before", "one", "two", "three"});
  CHECK(alice.messenger->Compose("bob", "after", kNow)->seq == 5);

  // One bad text refuses the whole batch, and no seq is used.
  const std::vector<std::string> bad = {"fine", ""};
  CHECK(alice.messenger->ComposeBatch("bob", bad, kNow).status().code() == Code::kInvalidArgument);
  CHECK(alice.messenger->ComposeBatch("bob", {}, kNow).status().code() == Code::kInvalidArgument);
  const std::vector<std::string> too_many(kMaxComposeBatch + 1, "x");
  CHECK(alice.messenger->ComposeBatch("bob", too_many, kNow).status().code() ==
        Code::kInvalidArgument);
  CHECK(alice.Count("SELECT count(*) FROM entries") == 5);
  CHECK(alice.messenger->Compose("bob", "next", kNow)->seq == 6);

  // A page of the outbox: seq > after, at most limit, in seq order.
  auto page = alice.messenger->PendingFor("bob", 2, 2);
  REQUIRE(page.ok());
  CHECK(TextsOf(*page) == std::vector<std::string>{"two", "three"});
  CHECK(alice.messenger->PendingFor("bob", 6, 10)->empty());
  Deliver(alice, bob, kNow);
  CHECK(alice.messenger->PendingFor("bob", 0, 10)->empty());
  // MarkSentThrough marks the queued ones of a seq range, nothing else.
  auto more = alice.messenger->ComposeBatch("bob", texts, kNow);
  REQUIRE(more.ok());  // seqs 7, 8, 9
  CHECK(*alice.messenger->MarkSentThrough("bob", 7, 9, kNow) == 2);
  CHECK(*alice.messenger->MarkSentThrough("bob", 0, 9, kNow) == 1);  // 7; 1-6 are delivered
  CHECK(*alice.messenger->MarkSentThrough("bob", 9, 9, kNow) == 0);
  CHECK(alice.Count("SELECT count(*) FROM entries WHERE state = 2") == 3);
  // MarkSent and OnAck commit lazily, then put synchronous=FULL back.
  CHECK(alice.Count("PRAGMA synchronous") == 2);
  CHECK(alice.Count("SELECT count(*) FROM entries WHERE state = 3") == 6);
}

TEST_CASE("An ack of many ids, some repeated, delivers each message once",
          "[messaging][delivery][batch]") {
  Node alice;
  const std::vector<std::string> texts(150, "x");
  auto batch = alice.messenger->ComposeBatch("bob", texts, kNow);
  REQUIRE(batch.ok());
  proto::Ack ack = AckFor(*batch);
  for (int i = 0; i < 70; ++i)  // the first 70 again, across statement chunks
    ack.add_ids((*batch)[static_cast<size_t>(i)].id.data(), kMessageIdBytes);
  proto::Ack first = ack;
  first.mutable_ids()->DeleteSubrange(100, first.ids_size() - 100);  // ids 0-99
  CHECK(*alice.messenger->OnAck("bob", first, kNow) == 100);
  CHECK(*alice.messenger->OnAck("bob", ack, kNow) == 50);
  CHECK(*alice.messenger->OnAck("bob", ack, kNow) == 0);
  CHECK(alice.messenger->PendingFor("bob")->empty());
}

TEST_CASE("The largest message fits in one frame", "[messaging][wire]") {
  proto::PeerMessage envelope;
  *envelope.mutable_chat() = Chat(1, UINT64_MAX >> 1, std::string(kMaxTextBytes, 'x'));
  envelope.mutable_chat()->set_sent_unix_ms(INT64_MIN);  // the longest varint
  CHECK(envelope.ByteSizeLong() + 16 <= 65535);
}

TEST_CASE("IsValidUtf8 accepts UTF-8 and refuses overlongs, surrogates and truncation",
          "[messaging][utf8]") {
  CHECK(IsValidUtf8("plain"));
  CHECK(IsValidUtf8("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  CHECK_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

}  // namespace
}  // namespace confab::peer
