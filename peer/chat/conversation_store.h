// ConversationStore: replicated conversations in confab.db (schema version
// 4, docs/design.md "Conversations" and "confab.db"): conversations, their
// members, entries with their signed bytes sealed at rest by
// BodyCipher::SealEntry, what each peer holds (version vectors) and entries
// held for a gap (pending).
//
// It stores and finds; the acceptance rules are Conversation's (sans I/O):
// the caller stores what Conversation::Accept stored or held. Not used by
// the node yet: the chat still runs on HistoryStore's tables, which the
// version 4 migration copied into these, message by message.
//
// Every writing call is one store::Transaction: a crash at any point leaves
// none of it, and a call that returned OK is durable (synchronous=FULL).
// Inside a batch (BeginBatch .. CommitBatch) the writing calls join it, so
// several changes commit together (one reconcile batch, one commit). A
// ConversationStore borrows its Database; not thread-safe (as HistoryStore).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/store/database.h"
#include "common/store/transaction.h"
#include "peer/chat/body_cipher.h"
#include "peer/chat/conversation.h"
#include "peer/chat/entry.h"
#include "peer/chat/history_store.h"

namespace confab::peer::chat {

struct ConversationInfo {
  Bytes id;          // 32 bytes direct, 16 bytes group
  std::string peer;  // direct: the other person; group: empty
  std::string name;  // group: its name; direct: empty
  uint64_t next_out_seq = 1;
  bool is_group() const { return IsGroupId(id); }
  // How the person sees it: "#NAME" for a group, the other person's name.
  std::string label() const { return is_group() ? "#" + name : peer; }
};

struct StoredEntry {
  Bytes conversation;
  // The 32-byte entry id, or for a legacy (migrated) entry its 16-byte
  // message id.
  Bytes id;
  std::string author;
  Direction direction = Direction::kIn;  // kOut: written by us
  uint64_t seq = 0;
  uint64_t lamport = 0;
  proto::EntryKind kind = proto::ENTRY_TEXT;
  int64_t sent_ms = 0;      // the author's clock
  int64_t received_ms = 0;  // our clock when stored
  MessageState state = MessageState::kReceived;
  int64_t state_ms = 0;
  // Migrated from a version 1-3 message: no signed bytes, no signature;
  // shown, never passed on.
  bool legacy = false;
  // Retention forgot the body (PurgeOlderThan): no signed bytes, no text.
  bool purged = false;
  Bytes signed_bytes;  // the author's exact bytes (empty for legacy and purged)
  Bytes signature;     // 64 bytes (empty for legacy)
  std::string text;    // the text of a text entry
};

class ConversationStore {
 public:
  struct Options {
    // A test seam as HistoryStore::Options::before_commit: called inside
    // every writing transaction just before COMMIT.
    std::function<void()> before_commit;
  };

  // `db` migrated to version 4 (OpenPeerDatabase). Checks `cipher` against
  // the history key check (AuthFailed for another identity key) and `self`
  // against the name a previous Open recorded (FailedPrecondition if it
  // differs), then completes the migration in one transaction: the ids of
  // direct conversations and the author of our own migrated messages.
  [[nodiscard]] static Result<std::unique_ptr<ConversationStore>> Open(store::Database* db,
                                                                       BodyCipher cipher,
                                                                       std::string self,
                                                                       Options options);
  [[nodiscard]] static Result<std::unique_ptr<ConversationStore>> Open(store::Database* db,
                                                                       BodyCipher cipher,
                                                                       std::string self) {
    return Open(db, std::move(cipher), std::move(self), Options{});
  }

  const std::string& self() const { return self_; }

  // Every conversation, direct ones by peer then groups by id.
  [[nodiscard]] Result<std::vector<ConversationInfo>> Conversations();
  // The direct conversation with `peer`, created (with both as members) if
  // missing. Returns its id; ResourceExhausted at kMaxConversations.
  [[nodiscard]] Result<Bytes> EnsureDirect(std::string_view peer);
  // A group learnt from its create entry. FailedPrecondition if known,
  // ResourceExhausted at kMaxConversations.
  [[nodiscard]] Status CreateGroup(ByteView id, std::string_view name, const Membership& members);
  // Replaces the member rows (the result of the membership fold).
  [[nodiscard]] Status SetMembers(ByteView conversation, const Membership& members);
  [[nodiscard]] Result<Membership> Members(ByteView conversation);

  // Stores every entry of `batch` (all of `conversation`, verified and
  // accepted) not already held, in ONE transaction: the durable commit a
  // reconcile EntryAck waits for. Our own entries (author == self) take
  // state `own_state` (kQueued for a new one), others kReceived, and any
  // pending row at the same (author, seq) goes. Returns, per entry, whether
  // it was new. NotFound for an unknown conversation; nothing is stored on
  // any error.
  [[nodiscard]] Result<std::vector<bool>> StoreEntries(
      ByteView conversation, std::span<const VerifiedEntry> batch, int64_t now_ms,
      MessageState own_state = MessageState::kQueued);
  // Every entry of `conversation` in total order (lamport, author, seq),
  // bodies opened. Corruption/AuthFailed for a row that does not open.
  [[nodiscard]] Result<std::vector<StoredEntry>> Entries(ByteView conversation);

  // Opens a transaction that every writing call joins until CommitBatch
  // (which runs Options::before_commit, then commits). Dropping it
  // uncommitted rolls everything back.
  // Deletes our own entries of `conversation` named in `ids` that are
  // still queued (never on another node); joins a batch. Returns how many.
  [[nodiscard]] Result<int64_t> DeleteQueuedOwn(ByteView conversation, std::span<const Bytes> ids);
  [[nodiscard]] Result<store::Transaction> BeginBatch();
  // history.retain_days: text entries received or delivered before
  // `cutoff_ms` (our clock) lose their body. A signed one keeps its row as
  // a purged entry (see StoredEntry::purged); a legacy one is deleted, as
  // before version 7. Queued and sent entries and membership changes are
  // kept. One transaction; returns how many entries lost their body. A
  // deleted legacy message that its sender retries would be stored again;
  // senders retry only until acked, so that needs an ack lost for the
  // whole retention period.
  [[nodiscard]] Result<int64_t> PurgeOlderThan(int64_t cutoff_ms);
  [[nodiscard]] Status CommitBatch(store::Transaction& tx);

  // The conversations `person` is a member of (conv_members), direct ones
  // first.
  [[nodiscard]] Result<std::vector<Bytes>> ConversationsWith(std::string_view person);

  // Moves our own entries forward to `state` (never back: a delivered one
  // stays delivered; received entries are untouched). Unknown ids are
  // ignored.
  [[nodiscard]] Status SetStates(ByteView conversation,
                                 std::span<const std::pair<Bytes, MessageState>> states,
                                 int64_t now_ms);

  // What `peer` holds of `conversation`, replaced whole / read back.
  [[nodiscard]] Status SaveVector(std::string_view peer, ByteView conversation,
                                  const Vector& vector);
  [[nodiscard]] Result<Vector> LoadVector(std::string_view peer, ByteView conversation);
  // Every peer's vector of `conversation`.
  [[nodiscard]] Result<std::map<std::string, Vector>> Vectors(ByteView conversation);

  // Entries held for a gap (Conversation::Accept said kPending). Kept over
  // a restart; re-verified when read back.
  [[nodiscard]] Status AddPending(ByteView conversation, const VerifiedEntry& entry,
                                  int64_t now_ms);
  [[nodiscard]] Result<std::vector<VerifiedEntry>> Pending(ByteView conversation);

 private:
  ConversationStore(store::Database* db, BodyCipher cipher, std::string self, Options options)
      : db_(db), cipher_(std::move(cipher)), self_(std::move(self)), options_(std::move(options)) {}

  [[nodiscard]] Status CompleteMigration();
  [[nodiscard]] Result<int64_t> RowOf(ByteView conversation);
  [[nodiscard]] Result<StoredEntry> ReadEntry(const store::Statement& st,
                                              const Bytes& conversation) const;
  void BeforeCommit();
  // A transaction of our own unless the caller's batch is open.
  [[nodiscard]] Result<std::optional<store::Transaction>> Own();
  [[nodiscard]] Status Finish(std::optional<store::Transaction>& tx);

  store::Database* db_;
  BodyCipher cipher_;
  std::string self_;
  Options options_;
};

}  // namespace confab::peer::chat
