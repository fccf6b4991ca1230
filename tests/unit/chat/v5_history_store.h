// The HistoryStore of confab.db versions 1 to 5, exactly as main had it
// before version 6 (commit 2c9bb86), frozen here in namespace v5: the
// migration tests write their old databases through the old code path.
// Never use it outside tests.
// HistoryStore: the message rows of confab.db (both directions), with bodies
// sealed by BodyCipher, and the per-conversation outgoing sequence counter.
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
#include "peer/chat/history_store.h"

namespace confab::peer::v5 {

// The row types are the current ones (unchanged since version 1).
using peer::Direction;
using peer::IncomingMessage;
using peer::MessageState;
using peer::StoredMessage;

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
  // The outbox messages whose id in lower-case hex starts with `hex_prefix`
  // (lower-case hex digits only, else InvalidArgument), at most two: enough
  // to tell a unique prefix from an ambiguous one.
  [[nodiscard]] Result<std::vector<StoredMessage>> OutboxByIdPrefix(std::string_view hex_prefix);
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
  // conversations that have any (the console's unread counts).
  [[nodiscard]] Result<std::map<std::string, int64_t>> UnreadCounts();
  // Everything in `conversation` so far is read (the console showed it).
  [[nodiscard]] Status MarkRead(std::string_view conversation);

  // Deletes incoming and delivered messages written before `cutoff_ms`
  // (`history.retain_days`). Queued and sent outgoing messages are kept
  // however old: they are promises not yet kept. Returns how many went.
  // A retry of a purged incoming message would be stored again; senders
  // retry only until acked, so this needs an ack lost for the whole period.
  [[nodiscard]] Result<int64_t> PurgeOlderThan(int64_t cutoff_ms);

 private:
  HistoryStore(store::Database* db, BodyCipher cipher, Options options)
      : db_(db), cipher_(std::move(cipher)), options_(std::move(options)) {}

  void BeforeCommit();
  // Reads a message row from the current row of `st` (columns as CONFAB_MESSAGE_COLUMNS
  // in the .cc) and opens its body.
  [[nodiscard]] Result<StoredMessage> ReadRow(const store::Statement& st) const;
  [[nodiscard]] Result<std::vector<StoredMessage>> ReadAll(store::Statement& st) const;

  store::Database* db_;
  BodyCipher cipher_;
  Options options_;
};

}  // namespace confab::peer::v5
