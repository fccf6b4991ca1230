// HistoryStore: the direct messages of confab.db (both directions), with
// bodies sealed by BodyCipher, and the per-conversation outgoing sequence
// counter. Since version 6 a message is a legacy entry (entries.legacy = 1)
// of its direct conversation (conv.peer): the old chat wire's messages,
// unsigned, until the reconcile wire replaces it (docs/design.md,
// "confab.db"). Groups are Replicas'.
//
// It stores and finds; it does not decide. The delivery rules (what may be
// sent, what an ack may change, what a blocked contact may do) are
// Messenger's; contacts and pins are ContactBook's.
//
// Every call that writes runs in one store::Transaction, so a failure or a
// crash at any point leaves nothing half-applied; when a writing call
// returns OK its rows are durable (synchronous=FULL, see peer_database.h).
//
// Times are Unix milliseconds on this node's clock, passed in by the caller
// (the store reads no clock). A HistoryStore borrows its Database, which must
// outlive it. Not thread-safe: use it from one thread (the node's loop or
// one pool worker at a time), as store::Database requires.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/store/database.h"
#include "peer/chat/body_cipher.h"

namespace confab::peer {

enum class Direction : uint8_t { kIn = 0, kOut = 1 };

// Outgoing rows move kQueued -> kSent -> kDelivered (kQueued -> kDelivered
// when an ack overtakes MarkSent); incoming rows are always kReceived.
// The numbers are stored on disk: never renumber.
enum class MessageState : uint8_t { kReceived = 0, kQueued = 1, kSent = 2, kDelivered = 3 };

// "received", "queued", "sent", "delivered": the words `confab history` shows.
std::string_view MessageStateName(MessageState state);

struct StoredMessage {
  MessageId id{};
  std::string conversation;  // the contact's name, whichever direction
  Direction direction = Direction::kIn;
  uint64_t seq = 0;         // the sender's per-conversation sequence number
  int64_t sent_ms = 0;      // the sender's clock (ours for outgoing)
  int64_t received_ms = 0;  // our clock when the row was written
  MessageState state = MessageState::kReceived;
  int64_t state_ms = 0;  // our clock at the last state change
  std::string text;
};

// One incoming message as HistoryStore needs it; `text` is borrowed for the
// duration of the call.
struct IncomingMessage {
  MessageId id{};
  uint64_t seq = 0;
  int64_t sent_ms = 0;
  std::string_view text;
};

class HistoryStore {
 public:
  struct Options {
    // A test seam: when set, called inside every writing transaction after
    // its last statement and before COMMIT. Tests make it _exit() to
    // simulate a crash at the worst moment. Leave empty in the node.
    std::function<void()> before_commit;
  };

  // Checks `cipher` against the key check stored in `db` by the first Open
  // (writing it if this is the first): AuthFailed if the database was
  // written under another identity key, so a wrong key is reported at start
  // rather than on the first message read. `db` must be migrated
  // (OpenPeerDatabase).
  [[nodiscard]] static Result<std::unique_ptr<HistoryStore>> Open(store::Database* db,
                                                                  BodyCipher cipher,
                                                                  Options options);
  [[nodiscard]] static Result<std::unique_ptr<HistoryStore>> Open(store::Database* db,
                                                                  BodyCipher cipher) {
    return Open(db, std::move(cipher), Options{});
  }

  // Stores a new outgoing message, state kQueued, with a fresh random id and
  // the conversation's next seq, both allocated in the same transaction.
  [[nodiscard]] Result<StoredMessage> AppendOutgoing(std::string_view conversation,
                                                     std::string_view text, int64_t now_ms);
  // AppendOutgoing for every text of `texts`, in order (consecutive seqs),
  // in ONE transaction: all are stored or none.
  [[nodiscard]] Result<std::vector<StoredMessage>> AppendOutgoingBatch(
      std::string_view conversation, std::span<const std::string> texts, int64_t now_ms);

  // Stores every message of `batch` not already in `conversation` (by id)
  // in ONE transaction: this group commit is what makes one fsync cover a
  // whole batch. Returns, per batch entry, whether it was new (false for a
  // retry, including a repeat inside `batch`). Nothing is stored on error.
  [[nodiscard]] Result<std::vector<bool>> AppendIncoming(std::string_view conversation,
                                                         std::span<const IncomingMessage> batch,
                                                         int64_t now_ms);

  // The outgoing messages of `conversation` in state kQueued or kSent, in
  // seq order: what to (re)send when the contact is reachable.
  [[nodiscard]] Result<std::vector<StoredMessage>> Outbox(std::string_view conversation);
  // The same, only those with seq > `after_seq`, at most `limit` of them:
  // a sender pages through a long outbox instead of reading it whole.
  [[nodiscard]] Result<std::vector<StoredMessage>> Outbox(std::string_view conversation,
                                                          uint64_t after_seq, size_t limit);

  // The conversations with at least one message in the outbox (kQueued or
  // kSent), by name: what a node retries after a restart.
  [[nodiscard]] Result<std::vector<std::string>> OutboxConversations();

  // Every outgoing message in the outbox (kQueued or kSent) of every
  // conversation, oldest first, at most `limit`: `confab outbox`.
  [[nodiscard]] Result<std::vector<StoredMessage>> OutboxAll(size_t limit);
  // Deletes the outgoing message `id` of `conversation` if it is still
  // kQueued, in one transaction. Returns whether it did.
  [[nodiscard]] Result<bool> DeleteQueued(std::string_view conversation, const MessageId& id);

  // Moves the outgoing rows of `conversation` named in `ids` whose state is
  // one of `from` to state `to`, in one transaction. Ids not found, incoming
  // rows, and rows in another state are left alone. Returns how many changed.
  //
  // With `sync` kLazy the commit is not flushed to disk by itself
  // (synchronous=NORMAL for this one transaction): it is atomic and
  // survives a crash of the process, but a power loss may undo it until the
  // next durable commit, whose flush covers it (WAL order). Only for state
  // marks the protocol can redo (see Messenger::MarkSent and OnAck).
  enum class Sync { kDurable, kLazy };
  [[nodiscard]] Result<int64_t> UpdateOutgoingState(std::string_view conversation,
                                                    std::span<const MessageId> ids,
                                                    std::span<const MessageState> from,
                                                    MessageState to, int64_t now_ms,
                                                    Sync sync = Sync::kDurable);

  // The same for the outgoing rows of `conversation` with after_seq < seq
  // <= through_seq, in one statement: a sender marks a run of the outbox it
  // just wrote without a statement per message.
  [[nodiscard]] Result<int64_t> UpdateOutgoingStateBySeq(std::string_view conversation,
                                                         uint64_t after_seq, uint64_t through_seq,
                                                         MessageState from, MessageState to,
                                                         int64_t now_ms, Sync sync);

  // The latest `limit` messages of `conversation` written at or after
  // `since_ms`, oldest first.
  [[nodiscard]] Result<std::vector<StoredMessage>> Conversation(std::string_view conversation,
                                                                int64_t since_ms, size_t limit);

  // Every message of every conversation written at or after `since_ms`, in
  // the order written, decrypted, handed to `visit` one at a time (for
  // `confab export`, on explicit request only). Stops at the first error,
  // from a row that does not open or from `visit`, and returns it.
  [[nodiscard]] Status Export(int64_t since_ms,
                              const std::function<Status(const StoredMessage&)>& visit);

  // Incoming messages after each conversation's read marker, for the
  // conversations that have any (the console's unread counts): a direct
  // conversation under the peer's name, a group under "#name".
  [[nodiscard]] Result<std::map<std::string, int64_t>> UnreadCounts();
  // Everything in `conversation` (a peer's name, or "#name" for a group) so
  // far is read (the console showed it).
  [[nodiscard]] Status MarkRead(std::string_view conversation);

  // Retention is ConversationStore::PurgeOlderThan: it holds these rows as
  // legacy entries.

 private:
  HistoryStore(store::Database* db, BodyCipher cipher, Options options)
      : db_(db), cipher_(std::move(cipher)), options_(std::move(options)) {}

  void BeforeCommit();
  // Reads a message row from the current row of `st` (columns as CONFAB_MESSAGE_COLUMNS
  // in the .cc) and opens its body.
  // The conv row of the direct conversation with `peer`, created if
  // missing (inside the caller's transaction).
  [[nodiscard]] Result<int64_t> ConversationRow(std::string_view peer);
  [[nodiscard]] Result<StoredMessage> ReadRow(const store::Statement& st) const;
  [[nodiscard]] Result<std::vector<StoredMessage>> ReadAll(store::Statement& st) const;

  store::Database* db_;
  BodyCipher cipher_;
  Options options_;
  std::string self_;  // this node's person, if ConversationStore::Open recorded it
};

}  // namespace confab::peer
