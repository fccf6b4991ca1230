// Replicas: rewriting our own entries that never left this node, which
// is safe because no other node can hold them: `confab outbox drop`, and
// the adoption of a migrated outbox onto signed entries at start-up.
//
// An entry is `queued` only while no other member's node holds it, and
// members hold contiguous prefixes of our seqs, so once one of our entries
// is queued every later one of ours in that conversation is too. Dropping
// one re-signs the ones after it one seq lower, in the same commit as the
// deletion: the seqs stay gapless, which the acceptance rules require.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "common/base/bytes.h"
#include "peer/chat/replicas.h"

namespace confab::peer::chat {

Result<ConversationInfo> Replicas::Info(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(conversation));
  return r->info;
}

Result<HistoryEntry> Replicas::DropQueued(std::string_view id_prefix, int64_t now_ms) {
  std::string prefix(id_prefix);
  for (char& c : prefix)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prefix.size() < 4 || !std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      }))
    return Status::InvalidArgument("give at least 4 hex digits of the message id");
  CONFAB_ASSIGN_OR_RETURN(std::vector<HistoryEntry> waiting, Outbox());
  std::vector<HistoryEntry> matches;
  for (HistoryEntry& h : waiting) {
    if (ToHex(h.entry.id).rfind(prefix, 0) == 0)
      matches.push_back(std::move(h));
  }
  if (matches.empty()) {
    return Status::NotFound("no message in the outbox has an id starting with " + prefix +
                            " (see `confab outbox`)");
  }
  if (matches.size() > 1)
    return Status::InvalidArgument(prefix +
                                   " starts more than one id in the outbox; give more of it");
  HistoryEntry dropped = std::move(matches.front());
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(dropped.entry.conversation));
  if (dropped.entry.state != MessageState::kQueued || dropped.entry.legacy) {
    return Status::FailedPrecondition("that message was already sent to " + r->info.label() +
                                      " and may be on their node; it stays until they "
                                      "acknowledge it");
  }
  // Ours from the dropped one on, in seq order: all queued (see above).
  std::vector<const VerifiedEntry*> tail;
  for (uint64_t seq = dropped.entry.seq; seq <= r->conv.held(self()); ++seq) {
    const VerifiedEntry* e = r->conv.FindBySeq(self(), seq);
    if (e == nullptr)
      return Status::Corruption("our entry " + std::to_string(seq) + " of " + r->info.label() +
                                " is missing from memory");
    auto state = r->own.find(e->id);
    if (state == r->own.end() || state->second != MessageState::kQueued)
      return Status::FailedPrecondition("a later message of yours to " + r->info.label() +
                                        " has left the outbox; try again");
    tail.push_back(e);
  }
  std::vector<Bytes> deleted;
  for (const VerifiedEntry* e : tail)
    deleted.emplace_back(e->id.begin(), e->id.end());
  std::vector<proto::EntryBody> again;
  for (size_t i = 1; i < tail.size(); ++i)
    again.push_back(tail[i]->body);
  CONFAB_RETURN_IF_ERROR(RewriteOwn(r->info, deleted, again, now_ms));
  return dropped;
}

Result<size_t> Replicas::AdoptLegacyOutbox(int64_t now_ms) {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  size_t adopted = 0;
  for (const ConversationInfo& c : all) {
    if (c.is_group())
      continue;
    CONFAB_ASSIGN_OR_RETURN(std::vector<StoredEntry> stored, store_->Entries(c.id));
    std::vector<Bytes> legacy;
    std::vector<proto::EntryBody> bodies;
    for (const StoredEntry& s : stored) {
      if (!s.legacy || s.direction != Direction::kOut || s.state != MessageState::kQueued)
        continue;
      legacy.push_back(s.id);
      proto::EntryBody body;
      body.set_kind(proto::ENTRY_TEXT);
      body.set_text(s.text);
      body.set_sent_unix_ms(s.sent_ms);
      bodies.push_back(std::move(body));
    }
    if (legacy.empty())
      continue;
    CONFAB_RETURN_IF_ERROR(RewriteOwn(c, legacy, bodies, now_ms));
    adopted += legacy.size();
  }
  if (adopted > 0)
    spdlog::info("{} queued message(s) of the old chat protocol now go as signed entries", adopted);
  return adopted;
}

Status Replicas::RewriteOwn(const ConversationInfo& info, const std::vector<Bytes>& remove,
                            const std::vector<proto::EntryBody>& write, int64_t now_ms) {
  const Bytes id = info.id;
  auto fail = [&](Status s) {
    cache_.erase(id);  // memory may be ahead of what rolled back
    return s;
  };
  Result<store::Transaction> tx = store_->BeginBatch();
  if (!tx.ok())
    return tx.status();
  Result<int64_t> gone = store_->DeleteQueuedOwn(id, remove);
  if (!gone.ok())
    return fail(gone.status());
  if (*gone != static_cast<int64_t>(remove.size()))
    return fail(Status::FailedPrecondition("a message left the outbox meanwhile; try again"));
  // Read back inside the transaction: what memory holds minus `remove`.
  Result<std::unique_ptr<Replica>> fresh = Read(info);
  if (!fresh.ok())
    return fail(fresh.status());
  std::vector<VerifiedEntry> written;
  for (const proto::EntryBody& b : write) {
    proto::EntryBody body = b;
    const int64_t sent = body.sent_unix_ms() != 0 ? body.sent_unix_ms() : now_ms;
    Result<VerifiedEntry> e = Write(**fresh, std::move(body), sent);
    if (!e.ok())
      return fail(e.status());
    written.push_back(std::move(*e));
  }
  if (!written.empty()) {
    if (Result<std::vector<bool>> s =
            store_->StoreEntries(id, written, now_ms, MessageState::kQueued);
        !s.ok())
      return fail(s.status());
  }
  if (Status s = store_->CommitBatch(*tx); !s.ok())
    return fail(s);
  cache_[id] = std::move(*fresh);
  return Status::Ok();
}

}  // namespace confab::peer::chat
