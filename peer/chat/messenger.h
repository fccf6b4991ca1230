// Messenger: delivery that loses nothing (issue 4, item 6), sans I/O.
//
// The node's chat session drives it; it sends and receives nothing itself:
//
//   sender                                  receiver
//   Compose(to, text) -> queued, durable
//   PendingFor(to) -> ChatMessages  ---->   Receive(from, batch)
//   MarkSent(ids)                             stores the new ones in ONE
//                                             transaction, then returns the
//   OnAck(from, ack) -> delivered   <----     Ack (only after the commit)
//
// What makes it lose nothing and show nothing twice:
//   - a composed message is durable before Compose returns, and stays in the
//     outbox (state queued or sent) until an ack names it, across restarts;
//     PendingFor returns it again, in seq order, every time it is asked;
//   - the receiver acknowledges only what it has committed (synchronous=FULL),
//     so a crash before the commit means no ack and a retry later;
//   - ids are unique per conversation, so a retry of a stored message is
//     acknowledged again but neither stored nor returned as new.
//
// Receiving a batch costs one commit (one fsync) however many messages it
// holds: the node should hand Receive everything that arrived on a
// connection since the last call, which is how it reaches 20,000 durable
// messages/s. Messenger does not check keys: the session layer has already
// authenticated `from` and checked its pin (ContactBook::CheckPin).
//
// Messenger borrows `history` and `contacts`, which must outlive it. Not
// thread-safe, like the stores under it. Times are Unix milliseconds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "peer/chat/history_store.h"
#include "peer/contacts/contact_book.h"
#include "proto/peer.pb.h"

namespace confab::peer {

// The largest text a ChatMessage carries, in bytes of UTF-8: a frame's 65535
// bytes, less the AEAD tag and the message's other fields, with room to spare
// (see proto/peer.proto).
inline constexpr size_t kMaxTextBytes = 65536 - 256;
// The most messages ComposeBatch stores in one commit.
inline constexpr size_t kMaxComposeBatch = 10000;

// What Receive did with a batch.
struct ReceiveResult {
  // Send this to the peer: every id of the batch (new and retried), in
  // batch order, each once. Valid only because the commit has happened.
  proto::Ack ack;
  // The messages stored for the first time, in batch order: the ones to
  // show and to notify the control socket about.
  std::vector<StoredMessage> fresh;
};

class Messenger {
 public:
  Messenger(HistoryStore& history, ContactBook& contacts)
      : history_(history), contacts_(contacts) {}

  // Stores a new message to `to`, state queued, with a random 128-bit id and
  // the conversation's next seq; returns once it is durable. InvalidArgument
  // for a bad name or text (empty, over kMaxTextBytes, not UTF-8);
  // PermissionDenied if `to` is blocked; AuthFailed while `to` has a key
  // change pending (sending waits until the person accepts it).
  [[nodiscard]] Result<StoredMessage> Compose(std::string_view to, std::string_view text,
                                              int64_t now_ms);
  // Compose for each of `texts`, in order, as ONE commit: every message is
  // stored (consecutive seqs) or, on any error, none. The same errors, and
  // InvalidArgument for an empty batch or one of more than kMaxComposeBatch.
  [[nodiscard]] Result<std::vector<StoredMessage>> ComposeBatch(std::string_view to,
                                                                std::span<const std::string> texts,
                                                                int64_t now_ms);

  // ComposeBatch's checks alone, for a writer of signed entries (the
  // node's direct conversations on chat protocol 2): the name, the batch,
  // each text, and `to` neither blocked nor with a key change pending.
  [[nodiscard]] Status CheckCanWrite(std::string_view to, std::span<const std::string> texts);

  // The messages to (re)send to `contact`, queued or sent but not yet
  // acknowledged, in seq order. Empty if there are none.
  [[nodiscard]] Result<std::vector<StoredMessage>> PendingFor(std::string_view contact);
  // One page of it: those with seq > `after_seq`, at most `limit`.
  [[nodiscard]] Result<std::vector<StoredMessage>> PendingFor(std::string_view contact,
                                                              uint64_t after_seq, size_t limit);

  // The contacts with messages waiting in the outbox, by name (a node
  // retries them after a restart).
  [[nodiscard]] Result<std::vector<std::string>> ContactsWithOutbox() {
    return history_.OutboxConversations();
  }

  // Every message waiting in the outbox, of every contact, oldest first
  // (at most `limit`): `confab outbox`.
  [[nodiscard]] Result<std::vector<StoredMessage>> Outbox(size_t limit) {
    return history_.OutboxAll(limit);
  }

  // Notes that these messages went out on a connection (queued -> sent).
  // Unknown ids and messages already sent or delivered are left alone.
  // Returns how many changed.
  [[nodiscard]] Result<int64_t> MarkSent(std::string_view contact, std::span<const MessageId> ids,
                                         int64_t now_ms);

  // MarkSent for every queued message to `contact` with after_seq < seq <=
  // through_seq: what a sender that writes the outbox in seq order just
  // sent, in one statement.
  [[nodiscard]] Result<int64_t> MarkSentThrough(std::string_view contact, uint64_t after_seq,
                                                uint64_t through_seq, int64_t now_ms);

  // An Ack from `from`: its named outgoing messages to `from` become
  // delivered. Idempotent; ids that are unknown, malformed or belong to
  // another conversation are ignored (an ack from carol never marks a
  // message to bob). Returns how many became delivered.
  [[nodiscard]] Result<int64_t> OnAck(std::string_view from, const proto::Ack& ack, int64_t now_ms);

  // Stores every new message of `batch` from `from` in one transaction and
  // returns the Ack to send. The batch is checked whole before anything is
  // written: InvalidArgument for a bad name, an id that is not 16 bytes, a
  // seq of 0 or over 2^63-1, or a text that is empty, too long or not UTF-8,
  // and then nothing is stored and nothing may be acknowledged (the session
  // should drop the connection). PermissionDenied if `from` is blocked:
  // nothing stored, nothing acknowledged. Store errors likewise leave
  // nothing stored and no ack.
  [[nodiscard]] Result<ReceiveResult> Receive(std::string_view from,
                                              std::span<const proto::ChatMessage> batch,
                                              int64_t now_ms);

  // The latest `limit` messages with `contact` (both directions) written at
  // or after `since_ms`, oldest first, with their states.
  [[nodiscard]] Result<std::vector<StoredMessage>> History(std::string_view contact,
                                                           int64_t since_ms, size_t limit);

  // The wire form of a stored outgoing message, for PendingFor's results.
  static proto::ChatMessage ToWire(const StoredMessage& message);

 private:
  HistoryStore& history_;
  ContactBook& contacts_;
};

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF): protobuf refuses anything else in a string field.
bool IsValidUtf8(std::string_view text);

}  // namespace confab::peer
