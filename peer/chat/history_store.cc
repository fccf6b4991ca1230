#include "peer/chat/history_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "common/crypto/sodium.h"
#include "common/store/transaction.h"
#include "peer/chat/entry.h"

namespace confab::peer {
namespace {

// The columns every message query selects, in the order ReadRow expects.
// Since confab.db version 6 a message is a legacy entry (entries.legacy =
// 1) of its direct conversation (conv.peer): docs/design.md, "confab.db".
#define CONFAB_MESSAGE_COLUMNS \
  "e.id, c.peer, e.direction, e.seq, e.sent_ms, e.received_ms, e.state, e.state_ms, e.sealed"
#define CONFAB_MESSAGES " entries e JOIN conv c ON c.row = e.conv AND e.legacy = 1 "
// The conversation row of a peer's name (?1).
#define CONFAB_CONV_OF "(SELECT row FROM conv WHERE peer = ?1)"

constexpr std::string_view kKeyCheckName = "history_key_check";
constexpr std::string_view kKeyCheckText = "confab history key check";
// Not a member name (names have no spaces), so the check value cannot be
// confused with, or moved into, a message row.
constexpr std::string_view kKeyCheckConversation = "key check";
// Written by ConversationStore::Open: this node's person.
constexpr std::string_view kSelfName = "conversations_self";

bool ValidState(int64_t v) {
  return v >= 0 && v <= static_cast<int64_t>(MessageState::kDelivered);
}

}  // namespace

std::string_view MessageStateName(MessageState state) {
  switch (state) {
    case MessageState::kReceived:
      return "received";
    case MessageState::kQueued:
      return "queued";
    case MessageState::kSent:
      return "sent";
    case MessageState::kDelivered:
      return "delivered";
  }
  return "unknown";
}

Result<std::unique_ptr<HistoryStore>> HistoryStore::Open(store::Database* db, BodyCipher cipher,
                                                         Options options) {
  if (db == nullptr)
    return Status::InvalidArgument("HistoryStore needs a database");
  CONFAB_ASSIGN_OR_RETURN(store::Statement get,
                          db->Prepare("SELECT value FROM meta WHERE name = ?1"));
  get.BindText(1, kKeyCheckName);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, get.Step());
  const MessageId zero_id{};
  if (step == store::StepResult::kRow) {
    Result<std::string> text = cipher.Open(zero_id, kKeyCheckConversation, get.ColumnBlob(0));
    if (!text.ok() || *text != kKeyCheckText) {
      return Status::AuthFailed(
          "confab.db was written under a different identity key; its history cannot be read "
          "with this one");
    }
  } else {
    CONFAB_ASSIGN_OR_RETURN(store::Statement put,
                            db->Prepare("INSERT INTO meta (name, value) VALUES (?1, ?2)"));
    put.BindText(1, kKeyCheckName)
        .BindBlob(2, cipher.Seal(zero_id, kKeyCheckConversation, kKeyCheckText));
    CONFAB_RETURN_IF_ERROR(put.Run());
  }
  get.Reset();
  get.BindText(1, kSelfName);
  CONFAB_ASSIGN_OR_RETURN(step, get.Step());
  std::string self = step == store::StepResult::kRow ? std::string(AsChars(get.ColumnBlob(0))) : "";
  auto h =
      std::unique_ptr<HistoryStore>(new HistoryStore(db, std::move(cipher), std::move(options)));
  h->self_ = std::move(self);
  return h;
}

void HistoryStore::BeforeCommit() {
  if (options_.before_commit)
    options_.before_commit();
}

Result<int64_t> HistoryStore::ConversationRow(std::string_view peer) {
  // A conversation new here gets its id and members now if we know our own
  // name (ConversationStore::Open wrote it), else at the next Open.
  std::optional<Bytes> id;
  if (!self_.empty()) {
    Result<Bytes> derived = chat::DirectConversationId(self_, peer);
    if (derived.ok())
      id = std::move(*derived);
  }
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement ins,
      db_->Prepare("INSERT INTO conv (kind, peer, id) VALUES (0, ?1, ?2) ON CONFLICT DO NOTHING"));
  ins.BindText(1, peer);
  if (id)
    ins.BindBlob(2, *id);
  CONFAB_RETURN_IF_ERROR(ins.Run());
  const bool created = db_->changes() == 1;
  CONFAB_ASSIGN_OR_RETURN(store::Statement row_st,
                          db_->Prepare("SELECT row FROM conv WHERE peer = ?1"));
  row_st.BindText(1, peer);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, row_st.Step());
  if (step != store::StepResult::kRow)
    return Status::Corruption("conversation row missing after insert");
  const int64_t row = row_st.ColumnInt64(0);
  if (created && id) {
    CONFAB_ASSIGN_OR_RETURN(
        store::Statement member,
        db_->Prepare("INSERT OR IGNORE INTO conv_members (conv, person) VALUES (?1, ?2)"));
    for (std::string_view person : {std::string_view(self_), peer}) {
      member.BindInt64(1, row).BindText(2, person);
      CONFAB_RETURN_IF_ERROR(member.Run());
      member.Reset();
    }
  }
  return row;
}

Result<StoredMessage> HistoryStore::AppendOutgoing(std::string_view conversation,
                                                   std::string_view text, int64_t now_ms) {
  const std::string one[] = {std::string(text)};
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredMessage> stored,
                          AppendOutgoingBatch(conversation, one, now_ms));
  return std::move(stored.front());
}

Result<std::vector<StoredMessage>> HistoryStore::AppendOutgoingBatch(
    std::string_view conversation, std::span<const std::string> texts, int64_t now_ms) {
  if (texts.empty())
    return std::vector<StoredMessage>{};
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  // The conversation row is created on first use and its counter advanced
  // by the whole batch; RETURNING gives the first seq the batch takes,
  // inside the same transaction as the messages themselves.
  CONFAB_ASSIGN_OR_RETURN(const int64_t conv_row, ConversationRow(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement seq_st,
      db_->Prepare("UPDATE conv SET next_out_seq = next_out_seq + ?2 WHERE row = ?1 "
                   "RETURNING next_out_seq - ?2"));
  seq_st.BindInt64(1, conv_row).BindInt64(2, static_cast<int64_t>(texts.size()));
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, seq_st.Step());
  if (step != store::StepResult::kRow)
    return Status::Corruption("sequence counter returned no row");
  const auto first_seq = static_cast<uint64_t>(seq_st.ColumnInt64(0));
  seq_st.Reset();

  // lamport is the row, as the version 4 copy: the order written.
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement insert,
      db_->Prepare("INSERT INTO entries (row, conv, id, author, direction, seq, lamport, kind, "
                   "sent_ms, received_ms, state, state_ms, legacy, sealed) "
                   "SELECT n, ?2, ?1, ?6, 1, ?3, n, 1, ?4, ?4, 1, ?4, 1, ?5 FROM "
                   "(SELECT coalesce(max(row), 0) + 1 AS n FROM entries)"));
  std::vector<StoredMessage> stored;
  stored.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    StoredMessage m;
    m.seq = first_seq + i;
    crypto::RandomBytes(m.id);
    m.conversation = std::string(conversation);
    m.direction = Direction::kOut;
    m.sent_ms = now_ms;
    m.received_ms = now_ms;
    m.state = MessageState::kQueued;
    m.state_ms = now_ms;
    m.text = texts[i];
    insert.BindBlob(1, m.id)
        .BindInt64(2, conv_row)
        .BindInt64(3, static_cast<int64_t>(m.seq))
        .BindInt64(4, now_ms)
        .BindBlob(5, cipher_.Seal(m.id, conversation, m.text));
    if (!self_.empty())
      insert.BindText(6, self_);
    // A clash of 128-bit random ids is not going to happen; if it did, the
    // UNIQUE constraint fails the whole transaction rather than merge rows.
    CONFAB_RETURN_IF_ERROR(insert.Run());
    insert.Reset();
    stored.push_back(std::move(m));
  }
  BeforeCommit();
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return stored;
}

Result<std::vector<bool>> HistoryStore::AppendIncoming(std::string_view conversation,
                                                       std::span<const IncomingMessage> batch,
                                                       int64_t now_ms) {
  for (const IncomingMessage& in : batch) {
    if (in.seq == 0 || in.seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Status::InvalidArgument("message seq out of range");
  }
  std::vector<bool> fresh;
  fresh.reserve(batch.size());
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(const int64_t conv_row, ConversationRow(conversation));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement insert,
      db_->Prepare("INSERT INTO entries (row, conv, id, author, direction, seq, lamport, kind, "
                   "sent_ms, received_ms, state, state_ms, legacy, sealed) "
                   "SELECT n, ?2, ?1, ?7, 0, ?3, n, 1, ?4, ?5, 0, ?5, 1, ?6 FROM "
                   "(SELECT coalesce(max(row), 0) + 1 AS n FROM entries) "
                   "WHERE true ON CONFLICT (conv, id) DO NOTHING"));
  for (const IncomingMessage& in : batch) {
    insert.BindBlob(1, in.id)
        .BindInt64(2, conv_row)
        .BindText(7, conversation)
        .BindInt64(3, static_cast<int64_t>(in.seq))
        .BindInt64(4, in.sent_ms)
        .BindInt64(5, now_ms)
        .BindBlob(6, cipher_.Seal(in.id, conversation, in.text));
    CONFAB_RETURN_IF_ERROR(insert.Run());
    fresh.push_back(db_->changes() == 1);
    insert.Reset();
  }
  BeforeCommit();
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return fresh;
}

Result<StoredMessage> HistoryStore::ReadRow(const store::Statement& st) const {
  StoredMessage m;
  Bytes id = st.ColumnBlob(0);
  if (id.size() != kMessageIdBytes)
    return Status::Corruption("stored message id is not 16 bytes");
  std::copy(id.begin(), id.end(), m.id.begin());
  m.conversation = st.ColumnText(1);
  m.direction = st.ColumnInt64(2) == 1 ? Direction::kOut : Direction::kIn;
  m.seq = static_cast<uint64_t>(st.ColumnInt64(3));
  m.sent_ms = st.ColumnInt64(4);
  m.received_ms = st.ColumnInt64(5);
  int64_t state = st.ColumnInt64(6);
  if (!ValidState(state))
    return Status::Corruption("stored message state is out of range");
  m.state = static_cast<MessageState>(state);
  m.state_ms = st.ColumnInt64(7);
  CONFAB_ASSIGN_OR_RETURN(m.text, cipher_.Open(m.id, m.conversation, st.ColumnBlob(8)));
  return m;
}

Result<std::vector<StoredMessage>> HistoryStore::ReadAll(store::Statement& st) const {
  std::vector<StoredMessage> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    CONFAB_ASSIGN_OR_RETURN(StoredMessage m, ReadRow(st));
    out.push_back(std::move(m));
  }
}

Result<std::vector<StoredMessage>> HistoryStore::Outbox(std::string_view conversation) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT " CONFAB_MESSAGE_COLUMNS " FROM" CONFAB_MESSAGES
                                       "WHERE c.peer = ?1 AND e.state IN "
                                       "(1, 2) ORDER BY e.seq"));
  st.BindText(1, conversation);
  return ReadAll(st);
}

Result<std::vector<StoredMessage>> HistoryStore::Outbox(std::string_view conversation,
                                                        uint64_t after_seq, size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT " CONFAB_MESSAGE_COLUMNS " FROM" CONFAB_MESSAGES
                                       "WHERE c.peer = ?1 AND e.state IN "
                                       "(1, 2) AND e.seq > ?2 ORDER BY e.seq LIMIT ?3"));
  const auto capped = static_cast<int64_t>(
      std::min<uint64_t>(after_seq, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  const auto max_rows = static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
  st.BindText(1, conversation).BindInt64(2, capped).BindInt64(3, max_rows);
  return ReadAll(st);
}

Result<std::vector<StoredMessage>> HistoryStore::OutboxAll(size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT " CONFAB_MESSAGE_COLUMNS " FROM" CONFAB_MESSAGES
                                       "WHERE e.direction = 1 AND e.state IN (1, 2) "
                                       "ORDER BY e.received_ms, c.peer, e.seq LIMIT ?1"));
  st.BindInt64(1,
               static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  return ReadAll(st);
}

Result<bool> HistoryStore::DeleteQueued(std::string_view conversation, const MessageId& id) {
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("DELETE FROM entries WHERE conv = " CONFAB_CONV_OF
                   " AND id = ?2 AND legacy = 1 AND direction = 1 AND state = 1"));
  st.BindText(1, conversation).BindBlob(2, id);
  CONFAB_RETURN_IF_ERROR(st.Run());
  const bool deleted = db_->changes() == 1;
  BeforeCommit();
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Result<std::vector<std::string>> HistoryStore::OutboxConversations() {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT DISTINCT c.peer FROM" CONFAB_MESSAGES "WHERE e.state IN (1, 2) "
                   "ORDER BY c.peer"));
  std::vector<std::string> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    out.push_back(st.ColumnText(0));
  }
}

Result<int64_t> HistoryStore::UpdateOutgoingState(std::string_view conversation,
                                                  std::span<const MessageId> ids,
                                                  std::span<const MessageState> from,
                                                  MessageState to, int64_t now_ms, Sync sync) {
  if (from.empty() || from.size() > 3)
    return Status::InvalidArgument("UpdateOutgoingState needs one to three source states");
  if (sync == Sync::kLazy) {
    // NORMAL (1) for this transaction only; the connection's own level
    // (FULL, 2, in the node: peer_database.cc) again however it ends.
    CONFAB_ASSIGN_OR_RETURN(store::Statement level, db_->Prepare("PRAGMA synchronous"));
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, level.Step());
    const int64_t before = step == store::StepResult::kRow ? level.ColumnInt64(0) : 2;
    if (before <= 1)
      return UpdateOutgoingState(conversation, ids, from, to, now_ms);
    CONFAB_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=NORMAL"));
    Result<int64_t> changed = UpdateOutgoingState(conversation, ids, from, to, now_ms);
    CONFAB_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=" + std::to_string(before)));
    return changed;
  }
  // Unused placeholders repeat the first state, so one statement serves.
  int64_t states[3];
  for (size_t i = 0; i < 3; ++i)
    states[i] = static_cast<int64_t>(from[std::min(i, from.size() - 1)]);
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  // Up to kIdsPerStatement ids per statement (`id IN (...)`, probing the
  // UNIQUE (conversation, id) index): an ack of a thousand ids costs a few
  // dozen statements, not a thousand. A repeated id changes its row once.
  constexpr size_t kIdsPerStatement = 64;
  auto prepare = [&](size_t n) -> Result<store::Statement> {
    std::string sql = "UPDATE entries SET state = ?2, state_ms = ?3 WHERE conv = " CONFAB_CONV_OF
                      " AND legacy = 1 AND direction = 1 AND state IN (?4, ?5, ?6) AND id IN (";
    for (size_t i = 0; i < n; ++i)
      sql += (i == 0 ? "?" : ", ?") + std::to_string(7 + i);
    sql += ")";
    return db_->Prepare(sql);
  };
  std::optional<store::Statement> full;
  int64_t changed = 0;
  for (size_t at = 0; at < ids.size(); at += kIdsPerStatement) {
    const size_t n = std::min(kIdsPerStatement, ids.size() - at);
    std::optional<store::Statement> tail;
    if (n == kIdsPerStatement && !full) {
      CONFAB_ASSIGN_OR_RETURN(store::Statement st, prepare(n));
      full.emplace(std::move(st));
    } else if (n < kIdsPerStatement) {
      CONFAB_ASSIGN_OR_RETURN(store::Statement st, prepare(n));
      tail.emplace(std::move(st));
    }
    store::Statement& update = tail ? *tail : *full;
    update.BindText(1, conversation)
        .BindInt64(2, static_cast<int64_t>(to))
        .BindInt64(3, now_ms)
        .BindInt64(4, states[0])
        .BindInt64(5, states[1])
        .BindInt64(6, states[2]);
    for (size_t i = 0; i < n; ++i)
      update.BindBlob(static_cast<int>(7 + i), ids[at + i]);
    CONFAB_RETURN_IF_ERROR(update.Run());
    changed += db_->changes();
    update.Reset();
  }
  BeforeCommit();
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return changed;
}

Result<int64_t> HistoryStore::UpdateOutgoingStateBySeq(std::string_view conversation,
                                                       uint64_t after_seq, uint64_t through_seq,
                                                       MessageState from, MessageState to,
                                                       int64_t now_ms, Sync sync) {
  constexpr auto kMaxSeq = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (through_seq <= after_seq)
    return int64_t{0};
  if (sync == Sync::kLazy) {
    // As UpdateOutgoingState: NORMAL for this transaction only.
    CONFAB_ASSIGN_OR_RETURN(store::Statement level, db_->Prepare("PRAGMA synchronous"));
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, level.Step());
    const int64_t before = step == store::StepResult::kRow ? level.ColumnInt64(0) : 2;
    if (before > 1)
      CONFAB_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=NORMAL"));
    Result<int64_t> changed = UpdateOutgoingStateBySeq(conversation, after_seq, through_seq, from,
                                                       to, now_ms, Sync::kDurable);
    if (before > 1)
      CONFAB_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=" + std::to_string(before)));
    return changed;
  }
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement update,
      db_->Prepare("UPDATE entries SET state = ?2, state_ms = ?3 WHERE conv = " CONFAB_CONV_OF
                   " AND legacy = 1 AND direction = 1 AND state = ?4 AND seq > ?5 AND seq <= ?6"));
  update.BindText(1, conversation)
      .BindInt64(2, static_cast<int64_t>(to))
      .BindInt64(3, now_ms)
      .BindInt64(4, static_cast<int64_t>(from))
      .BindInt64(5, static_cast<int64_t>(std::min(after_seq, kMaxSeq)))
      .BindInt64(6, static_cast<int64_t>(std::min(through_seq, kMaxSeq)));
  CONFAB_RETURN_IF_ERROR(update.Run());
  const int64_t changed = db_->changes();
  BeforeCommit();
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return changed;
}

Result<std::vector<StoredMessage>> HistoryStore::Conversation(std::string_view conversation,
                                                              int64_t since_ms, size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT " CONFAB_MESSAGE_COLUMNS " FROM" CONFAB_MESSAGES
                   "WHERE e.row IN (SELECT row FROM entries WHERE conv = " CONFAB_CONV_OF
                   " AND legacy = 1 AND received_ms >= ?2 ORDER BY received_ms DESC, row DESC "
                   "LIMIT ?3) ORDER BY e.received_ms, e.row"));
  int64_t capped = static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
  st.BindText(1, conversation).BindInt64(2, since_ms).BindInt64(3, capped);
  return ReadAll(st);
}

Result<std::map<std::string, int64_t>> HistoryStore::UnreadCounts() {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      // Legacy and signed entries alike (chat protocol 2 writes the
      // latter): received text not yet read, purged bodies aside.
      // A group counts under "#name" (names are unique on a node); every
      // direct conversation has its peer (conv's CHECK).
      db_->Prepare("SELECT coalesce(c.peer, '#' || c.name) AS label, count(*) FROM entries e "
                   "JOIN conv c ON c.row = e.conv LEFT JOIN conv_read r ON r.conv = e.conv "
                   "WHERE e.direction = 0 AND "
                   "e.kind = 1 AND e.purged = 0 AND e.row > coalesce(r.read_row, 0) "
                   "GROUP BY label"));
  std::map<std::string, int64_t> counts;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return counts;
    counts[st.ColumnText(0)] = st.ColumnInt64(1);
  }
}

Status HistoryStore::MarkRead(std::string_view conversation) {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare(
          "INSERT INTO conv_read (conv, read_row) SELECT c.row, (SELECT "
          "coalesce(max(row), 0) FROM entries WHERE conv = c.row) FROM conv c WHERE "
          "(c.peer = ?1 OR (c.kind = 1 AND '#' || c.name = ?1)) ON CONFLICT (conv) DO UPDATE SET "
          "read_row = max(read_row, excluded.read_row)"));
  st.BindText(1, conversation);
  return st.Run();
}

Status HistoryStore::Export(int64_t since_ms,
                            const std::function<Status(const StoredMessage&)>& visit) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("SELECT " CONFAB_MESSAGE_COLUMNS " FROM" CONFAB_MESSAGES
                                       "WHERE e.received_ms >= ?1 ORDER BY e.row"));
  st.BindInt64(1, since_ms);
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return Status::Ok();
    CONFAB_ASSIGN_OR_RETURN(StoredMessage m, ReadRow(st));
    CONFAB_RETURN_IF_ERROR(visit(m));
  }
}

}  // namespace confab::peer
