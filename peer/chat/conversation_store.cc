#include "peer/chat/conversation_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "common/store/transaction.h"

namespace confab::peer::chat {
namespace {

// As HistoryStore's key check (history_store.cc): the same key, the same row.
constexpr std::string_view kKeyCheckName = "history_key_check";
constexpr std::string_view kKeyCheckText = "confab history key check";
constexpr std::string_view kKeyCheckConversation = "key check";
constexpr std::string_view kSelfName = "conversations_self";

#define CONFAB_ENTRY_COLUMNS                                                                   \
  "id, author, direction, seq, lamport, kind, sent_ms, received_ms, state, state_ms, legacy, " \
  "sealed, signature"

bool InInt64(uint64_t v) {
  return v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

bool Same(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Result<std::unique_ptr<ConversationStore>> ConversationStore::Open(store::Database* db,
                                                                   BodyCipher cipher,
                                                                   std::string self,
                                                                   Options options) {
  if (db == nullptr)
    return Status::InvalidArgument("ConversationStore needs a database");
  if (self.empty() || self.size() > kMaxNameBytes)
    return Status::InvalidArgument("ConversationStore needs this person's name");
  std::unique_ptr<ConversationStore> s(
      new ConversationStore(db, std::move(cipher), std::move(self), std::move(options)));
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db));
  CONFAB_ASSIGN_OR_RETURN(store::Statement get,
                          db->Prepare("SELECT value FROM meta WHERE name = ?1"));
  get.BindText(1, kKeyCheckName);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, get.Step());
  const MessageId zero_id{};
  CONFAB_ASSIGN_OR_RETURN(store::Statement put,
                          db->Prepare("INSERT INTO meta (name, value) VALUES (?1, ?2)"));
  if (step == store::StepResult::kRow) {
    Result<std::string> text = s->cipher_.Open(zero_id, kKeyCheckConversation, get.ColumnBlob(0));
    if (!text.ok() || *text != kKeyCheckText)
      return Status::AuthFailed(
          "confab.db was written under a different identity key; its conversations cannot be "
          "read with this one");
  } else {
    put.BindText(1, kKeyCheckName)
        .BindBlob(2, s->cipher_.Seal(zero_id, kKeyCheckConversation, kKeyCheckText));
    CONFAB_RETURN_IF_ERROR(put.Run());
    put.Reset();
  }
  get.Reset();
  get.BindText(1, kSelfName);
  CONFAB_ASSIGN_OR_RETURN(step, get.Step());
  if (step == store::StepResult::kRow) {
    if (AsChars(get.ColumnBlob(0)) != s->self_)
      return Status::FailedPrecondition("confab.db's conversations belong to '" +
                                        std::string(AsChars(get.ColumnBlob(0))) + "', not '" +
                                        s->self_ + "'");
  } else {
    put.BindText(1, kSelfName).BindBlob(2, AsBytes(s->self_));
    CONFAB_RETURN_IF_ERROR(put.Run());
  }
  CONFAB_RETURN_IF_ERROR(s->CompleteMigration());
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return s;
}

Status ConversationStore::CompleteMigration() {
  // Direct conversations migrated from version 3 carry the peer's name only.
  CONFAB_ASSIGN_OR_RETURN(store::Statement missing,
                          db_->Prepare("SELECT row, peer FROM conv WHERE id IS NULL"));
  std::vector<std::pair<int64_t, std::string>> rows;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, missing.Step());
    if (step == store::StepResult::kDone)
      break;
    rows.emplace_back(missing.ColumnInt64(0), missing.ColumnText(1));
  }
  CONFAB_ASSIGN_OR_RETURN(store::Statement set_id,
                          db_->Prepare("UPDATE conv SET id = ?2 WHERE row = ?1"));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement member,
      db_->Prepare("INSERT OR IGNORE INTO conv_members (conv, person) VALUES (?1, ?2)"));
  for (const auto& [row, peer] : rows) {
    Result<Bytes> id = DirectConversationId(self_, peer);
    if (!id.ok())
      return id.status().WithContext("migrating the conversation with '" + peer + "'");
    set_id.BindInt64(1, row).BindBlob(2, *id);
    CONFAB_RETURN_IF_ERROR(set_id.Run());
    set_id.Reset();
    for (const std::string& person : {self_, peer}) {
      member.BindInt64(1, row).BindText(2, person);
      CONFAB_RETURN_IF_ERROR(member.Run());
      member.Reset();
    }
  }
  CONFAB_ASSIGN_OR_RETURN(store::Statement author,
                          db_->Prepare("UPDATE entries SET author = ?1 WHERE author IS NULL"));
  author.BindText(1, self_);
  return author.Run();
}

void ConversationStore::BeforeCommit() {
  if (options_.before_commit)
    options_.before_commit();
}

Result<std::optional<store::Transaction>> ConversationStore::Own() {
  if (db_->in_transaction())
    return std::optional<store::Transaction>();
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  return std::optional<store::Transaction>(std::move(tx));
}

Status ConversationStore::Finish(std::optional<store::Transaction>& tx) {
  if (!tx)
    return Status::Ok();
  BeforeCommit();
  return tx->Commit();
}

Result<store::Transaction> ConversationStore::BeginBatch() {
  return store::Transaction::Begin(*db_);
}

Status ConversationStore::CommitBatch(store::Transaction& tx) {
  BeforeCommit();
  return tx.Commit();
}

Result<int64_t> ConversationStore::RowOf(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st, db_->Prepare("SELECT row FROM conv WHERE id = ?1"));
  st.BindBlob(1, conversation);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
  if (step != store::StepResult::kRow)
    return Status::NotFound("no such conversation");
  return st.ColumnInt64(0);
}

Result<std::vector<ConversationInfo>> ConversationStore::Conversations() {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT id, coalesce(peer, ''), name, next_out_seq FROM conv "
                   "ORDER BY kind, peer, id"));
  std::vector<ConversationInfo> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    ConversationInfo c;
    c.id = st.ColumnBlob(0);
    c.peer = st.ColumnText(1);
    c.name = st.ColumnText(2);
    c.next_out_seq = static_cast<uint64_t>(st.ColumnInt64(3));
    out.push_back(std::move(c));
  }
}

Result<Bytes> ConversationStore::EnsureDirect(std::string_view peer) {
  CONFAB_ASSIGN_OR_RETURN(Bytes id, DirectConversationId(self_, peer));
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  if (RowOf(id).ok())
    return id;
  CONFAB_ASSIGN_OR_RETURN(int64_t count, db_->QueryInt64("SELECT count(*) FROM conv"));
  if (count >= static_cast<int64_t>(kMaxConversations))
    return Status::ResourceExhausted("this node already holds 10000 conversations");
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO conv (id, kind, peer) VALUES (?1, 0, ?2) ON CONFLICT DO NOTHING"));
  ins.BindBlob(1, id).BindText(2, peer);
  CONFAB_RETURN_IF_ERROR(ins.Run());
  if (db_->changes() == 1) {
    CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(id));
    CONFAB_ASSIGN_OR_RETURN(
        store::Statement member,
        db_->Prepare("INSERT INTO conv_members (conv, person) VALUES (?1, ?2)"));
    for (std::string_view person : {std::string_view(self_), peer}) {
      member.BindInt64(1, row).BindText(2, person);
      CONFAB_RETURN_IF_ERROR(member.Run());
      member.Reset();
    }
  }
  CONFAB_RETURN_IF_ERROR(Finish(tx));
  return id;
}

Status ConversationStore::CreateGroup(ByteView id, std::string_view name,
                                      const Membership& members) {
  if (!IsGroupId(id))
    return Status::InvalidArgument("a group id is 16 bytes");
  if (members.members.size() > kMaxGroupMembers)
    return Status::InvalidArgument("a group has at most 256 members");
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t count, db_->QueryInt64("SELECT count(*) FROM conv"));
  if (count >= static_cast<int64_t>(kMaxConversations))
    return Status::ResourceExhausted("this node already holds 10000 conversations");
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO conv (id, kind, name) VALUES (?1, 1, ?2) ON CONFLICT DO NOTHING"));
  ins.BindBlob(1, id).BindText(2, name);
  CONFAB_RETURN_IF_ERROR(ins.Run());
  if (db_->changes() != 1)
    return Status::FailedPrecondition("the group is already known");
  CONFAB_RETURN_IF_ERROR(SetMembers(id, members));
  return Finish(tx);
}

Status ConversationStore::SetMembers(ByteView conversation, const Membership& members) {
  // Runs inside the caller's transaction when there is one (CreateGroup);
  // alone it is its own.
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(store::Statement del,
                          db_->Prepare("DELETE FROM conv_members WHERE conv = ?1"));
  del.BindInt64(1, row);
  CONFAB_RETURN_IF_ERROR(del.Run());
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO conv_members (conv, person, admin) VALUES (?1, ?2, ?3)"));
  for (const std::string& person : members.members) {
    ins.BindInt64(1, row).BindText(2, person).BindInt64(3, members.admins.count(person));
    CONFAB_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
  }
  return Finish(tx);
}

Result<Membership> ConversationStore::Members(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT person, admin FROM conv_members WHERE conv = ?1"));
  st.BindInt64(1, row);
  Membership m;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return m;
    std::string person = st.ColumnText(0);
    if (st.ColumnInt64(1) == 1)
      m.admins.insert(person);
    m.members.insert(std::move(person));
  }
}

Result<std::vector<bool>> ConversationStore::StoreEntries(ByteView conversation,
                                                          std::span<const VerifiedEntry> batch,
                                                          int64_t now_ms, MessageState own_state) {
  for (const VerifiedEntry& e : batch) {
    if (!Same(AsBytes(e.body.conversation()), conversation))
      return Status::InvalidArgument("an entry of another conversation in the batch");
    if (!InInt64(e.body.seq()) || !InInt64(e.body.lamport()))
      return Status::InvalidArgument("entry seq or lamport out of range");
  }
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO entries (conv, " CONFAB_ENTRY_COLUMNS
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, 0, ?11, ?12) "
                   "ON CONFLICT (conv, id) DO NOTHING"));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement unpend,
      db_->Prepare("DELETE FROM pending_entries WHERE conv = ?1 AND author = ?2 AND seq = ?3"));
  std::vector<bool> fresh;
  fresh.reserve(batch.size());
  for (const VerifiedEntry& e : batch) {
    const bool own = e.body.author() == self_;
    const MessageState state = own ? own_state : MessageState::kReceived;
    ins.BindInt64(1, row)
        .BindBlob(2, e.id)
        .BindText(3, e.body.author())
        .BindInt64(4, own ? 1 : 0)
        .BindInt64(5, static_cast<int64_t>(e.body.seq()))
        .BindInt64(6, static_cast<int64_t>(e.body.lamport()))
        .BindInt64(7, e.body.kind())
        .BindInt64(8, e.body.sent_unix_ms())
        .BindInt64(9, now_ms)
        .BindInt64(10, static_cast<int64_t>(state))
        .BindBlob(11, cipher_.SealEntry(e.id, conversation, e.signed_bytes))
        .BindBlob(12, e.signature);
    // A different entry at a held (author, seq) fails the unique index and
    // so the whole batch: Conversation::Accept refuses equivocation first.
    CONFAB_RETURN_IF_ERROR(ins.Run());
    fresh.push_back(db_->changes() == 1);
    ins.Reset();
    unpend.BindInt64(1, row)
        .BindText(2, e.body.author())
        .BindInt64(3, static_cast<int64_t>(e.body.seq()));
    CONFAB_RETURN_IF_ERROR(unpend.Run());
    unpend.Reset();
  }
  CONFAB_RETURN_IF_ERROR(Finish(tx));
  return fresh;
}

Result<StoredEntry> ConversationStore::ReadEntry(const store::Statement& st,
                                                 const Bytes& conversation) const {
  StoredEntry e;
  e.conversation = conversation;
  e.id = st.ColumnBlob(0);
  e.author = st.ColumnText(1);
  e.direction = st.ColumnInt64(2) == 1 ? Direction::kOut : Direction::kIn;
  e.seq = static_cast<uint64_t>(st.ColumnInt64(3));
  e.lamport = static_cast<uint64_t>(st.ColumnInt64(4));
  e.kind = static_cast<proto::EntryKind>(st.ColumnInt64(5));
  e.sent_ms = st.ColumnInt64(6);
  e.received_ms = st.ColumnInt64(7);
  const int64_t state = st.ColumnInt64(8);
  if (state < 0 || state > static_cast<int64_t>(MessageState::kDelivered))
    return Status::Corruption("stored entry state is out of range");
  e.state = static_cast<MessageState>(state);
  e.state_ms = st.ColumnInt64(9);
  e.legacy = st.ColumnInt64(10) == 1;
  if (e.legacy) {
    // The migrated message's body, sealed as HistoryStore sealed it: bound
    // to its message id and the peer's name.
    if (e.id.size() != kMessageIdBytes)
      return Status::Corruption("stored legacy entry id is not 16 bytes");
    MessageId mid{};
    std::copy(e.id.begin(), e.id.end(), mid.begin());
    const std::string peer = e.direction == Direction::kOut ? st.ColumnText(13) : e.author;
    CONFAB_ASSIGN_OR_RETURN(e.text, cipher_.Open(mid, peer, st.ColumnBlob(11)));
    return e;
  }
  e.signature = st.ColumnBlob(12);
  if (st.ColumnInt64(14) == 1) {
    if (e.id.size() != kEntryIdBytes || e.kind != proto::ENTRY_TEXT)
      return Status::Corruption("stored purged entry is not a signed text entry");
    e.purged = true;
    return e;
  }
  CONFAB_ASSIGN_OR_RETURN(e.signed_bytes, cipher_.OpenEntry(e.id, conversation, st.ColumnBlob(11)));
  proto::EntryBody body;
  if (!body.ParseFromArray(e.signed_bytes.data(), static_cast<int>(e.signed_bytes.size())))
    return Status::Corruption("stored entry does not parse");
  const EntryId id = EntryIdOf(e.signed_bytes);
  if (!std::equal(id.begin(), id.end(), e.id.begin(), e.id.end()) || body.author() != e.author ||
      body.seq() != e.seq)
    return Status::Corruption("stored entry does not match its row");
  if (body.kind() == proto::ENTRY_TEXT)
    e.text = body.text();
  return e;
}

Result<std::vector<StoredEntry>> ConversationStore::Entries(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT e.id, e.author, e.direction, e.seq, e.lamport, e.kind, e.sent_ms, "
                   "e.received_ms, e.state, e.state_ms, e.legacy, e.sealed, e.signature, "
                   "coalesce(c.peer, ''), e.purged FROM entries e JOIN conv c ON c.row = e.conv "
                   "WHERE e.conv = ?1 ORDER BY e.lamport, e.author, e.seq, e.row"));
  st.BindInt64(1, row);
  const Bytes conv(conversation.begin(), conversation.end());
  std::vector<StoredEntry> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    CONFAB_ASSIGN_OR_RETURN(StoredEntry e, ReadEntry(st, conv));
    out.push_back(std::move(e));
  }
}

Result<int64_t> ConversationStore::PurgeOlderThan(int64_t cutoff_ms) {
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  // States 0 (received) and 3 (delivered): what is still on its way stays.
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement del,
      db_->Prepare(
          "DELETE FROM entries WHERE legacy = 1 AND received_ms < ?1 AND state IN (0, 3)"));
  del.BindInt64(1, cutoff_ms);
  CONFAB_RETURN_IF_ERROR(del.Run());
  int64_t purged = db_->changes();
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement forget,
      db_->Prepare("UPDATE entries SET sealed = X'', purged = 1 WHERE legacy = 0 AND purged = 0 "
                   "AND kind = ?2 AND received_ms < ?1 AND state IN (0, 3)"));
  forget.BindInt64(1, cutoff_ms).BindInt64(2, proto::ENTRY_TEXT);
  CONFAB_RETURN_IF_ERROR(forget.Run());
  purged += db_->changes();
  CONFAB_RETURN_IF_ERROR(Finish(tx));
  return purged;
}

Status ConversationStore::SaveVector(std::string_view peer, ByteView conversation,
                                     const Vector& vector) {
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(store::Statement del,
                          db_->Prepare("DELETE FROM vectors WHERE peer = ?1 AND conv = ?2"));
  del.BindText(1, peer).BindInt64(2, row);
  CONFAB_RETURN_IF_ERROR(del.Run());
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO vectors (peer, conv, author, seq) VALUES (?1, ?2, ?3, ?4)"));
  for (const auto& [author, seq] : vector) {
    if (!InInt64(seq))
      return Status::InvalidArgument("vector seq out of range");
    ins.BindText(1, peer).BindInt64(2, row).BindText(3, author).BindInt64(
        4, static_cast<int64_t>(seq));
    CONFAB_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
  }
  return Finish(tx);
}

Result<std::map<std::string, Vector>> ConversationStore::Vectors(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT peer, author, seq FROM vectors WHERE conv = ?1 ORDER BY peer"));
  st.BindInt64(1, row);
  std::map<std::string, Vector> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    out[st.ColumnText(0)][st.ColumnText(1)] = static_cast<uint64_t>(st.ColumnInt64(2));
  }
}

Status ConversationStore::SetStates(ByteView conversation,
                                    std::span<const std::pair<Bytes, MessageState>> states,
                                    int64_t now_ms) {
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  // States only move forward (queued < sent < delivered); a received entry
  // keeps its state.
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement up,
      db_->Prepare("UPDATE entries SET state = ?3, state_ms = ?4 WHERE conv = ?1 AND id = ?2 "
                   "AND direction = 1 AND state BETWEEN 1 AND ?3 - 1"));
  for (const auto& [id, state] : states) {
    up.BindInt64(1, row)
        .BindBlob(2, id)
        .BindInt64(3, static_cast<int64_t>(state))
        .BindInt64(4, now_ms);
    CONFAB_RETURN_IF_ERROR(up.Run());
    up.Reset();
  }
  return Finish(tx);
}

Result<int64_t> ConversationStore::DeleteQueuedOwn(ByteView conversation,
                                                   std::span<const Bytes> ids) {
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement del,
      db_->Prepare("DELETE FROM entries WHERE conv = ?1 AND id = ?2 AND direction = 1 AND "
                   "state = ?3"));
  int64_t deleted = 0;
  for (const Bytes& id : ids) {
    del.BindInt64(1, row).BindBlob(2, id).BindInt64(3, static_cast<int64_t>(MessageState::kQueued));
    CONFAB_RETURN_IF_ERROR(del.Run());
    deleted += db_->changes();
    del.Reset();
  }
  CONFAB_RETURN_IF_ERROR(Finish(tx));
  return deleted;
}

Result<std::vector<Bytes>> ConversationStore::ConversationsWith(std::string_view person) {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT c.id FROM conv c JOIN conv_members m ON m.conv = c.row "
                   "WHERE m.person = ?1 AND c.id IS NOT NULL ORDER BY c.kind, c.peer, c.id"));
  st.BindText(1, person);
  std::vector<Bytes> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    out.push_back(st.ColumnBlob(0));
  }
}

Result<Vector> ConversationStore::LoadVector(std::string_view peer, ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT author, seq FROM vectors WHERE peer = ?1 AND conv = ?2"));
  st.BindText(1, peer).BindInt64(2, row);
  Vector v;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return v;
    v[st.ColumnText(0)] = static_cast<uint64_t>(st.ColumnInt64(1));
  }
}

Status ConversationStore::AddPending(ByteView conversation, const VerifiedEntry& entry,
                                     int64_t now_ms) {
  if (!Same(AsBytes(entry.body.conversation()), conversation))
    return Status::InvalidArgument("a pending entry of another conversation");
  if (!InInt64(entry.body.seq()))
    return Status::InvalidArgument("entry seq out of range");
  CONFAB_ASSIGN_OR_RETURN(std::optional<store::Transaction> tx, Own());
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO pending_entries (conv, author, seq, id, sealed, signature, "
                   "received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"));
  ins.BindInt64(1, row)
      .BindText(2, entry.body.author())
      .BindInt64(3, static_cast<int64_t>(entry.body.seq()))
      .BindBlob(4, entry.id)
      .BindBlob(5, cipher_.SealEntry(entry.id, conversation, entry.signed_bytes))
      .BindBlob(6, entry.signature)
      .BindInt64(7, now_ms);
  CONFAB_RETURN_IF_ERROR(ins.Run());
  return Finish(tx);
}

Result<std::vector<VerifiedEntry>> ConversationStore::Pending(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(int64_t row, RowOf(conversation));
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT id, sealed, signature FROM pending_entries "
                                       "WHERE conv = ?1 ORDER BY author, seq"));
  st.BindInt64(1, row);
  std::vector<VerifiedEntry> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    const Bytes id = st.ColumnBlob(0);
    CONFAB_ASSIGN_OR_RETURN(Bytes signed_bytes,
                            cipher_.OpenEntry(id, conversation, st.ColumnBlob(1)));
    proto::Entry wire;
    wire.set_signed_(std::string(AsChars(signed_bytes)));
    wire.set_signature(std::string(AsChars(st.ColumnBlob(2))));
    CONFAB_ASSIGN_OR_RETURN(VerifiedEntry e, VerifyEntry(wire));
    if (!std::equal(e.id.begin(), e.id.end(), id.begin(), id.end()))
      return Status::Corruption("pending entry does not match its row");
    out.push_back(std::move(e));
  }
}

}  // namespace confab::peer::chat
