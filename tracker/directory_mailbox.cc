// The SQLite directory's MailboxStore (mailbox_store.h): table `mailbox`,
// directory.db version 4.
#include <algorithm>
#include <utility>

#include "common/base/member_name.h"
#include "common/store/database.h"
#include "common/store/statement.h"
#include "common/store/transaction.h"
#include "tracker/directory.h"

namespace confab::tracker {
namespace {

using store::Statement;
using store::StepResult;
using store::Transaction;

// SQLite binds at most INT64_MAX; ids are never near it.
int64_t AsInt(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
}

}  // namespace

Result<MailboxTotals> Directory::Count(std::string_view sql, std::string_view key) {
  CONFAB_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  if (!key.empty())
    st.BindText(1, key);
  CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
  MailboxTotals totals;
  if (r == StepResult::kRow) {
    totals.envelopes = static_cast<uint64_t>(st.ColumnInt64(0));
    totals.bytes = static_cast<uint64_t>(st.ColumnInt64(1));
  }
  return totals;
}

Result<uint64_t> Directory::Deposit(std::string_view recipient, std::string_view author,
                                    ByteView envelope, int64_t now, int64_t expires_at,
                                    const MailboxQuota& quota) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(recipient));
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(author));
  if (envelope.empty() || envelope.size() > kMaxEnvelopeBytes) {
    return Status::InvalidArgument("an envelope is 1 to " + std::to_string(kMaxEnvelopeBytes) +
                                   " bytes, not " + std::to_string(envelope.size()));
  }
  if (expires_at <= now)
    return Status::InvalidArgument("an envelope must expire after it is deposited");
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  // In the deposit's transaction: two deposits cannot both fit the last
  // place (a second writer waits for this one's COMMIT).
  CONFAB_ASSIGN_OR_RETURN(
      MailboxTotals held,
      Count("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox WHERE recipient = ?1",
            recipient));
  if (held.envelopes + 1 > quota.max_envelopes || held.bytes + envelope.size() > quota.max_bytes) {
    return Status::ResourceExhausted("mailbox full");
  }
  CONFAB_ASSIGN_OR_RETURN(
      Statement insert,
      db_->Prepare("INSERT INTO mailbox(recipient, author, size, deposited_at, expires_at, "
                   "envelope) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  insert.BindText(1, recipient)
      .BindText(2, author)
      .BindInt64(3, static_cast<int64_t>(envelope.size()))
      .BindInt64(4, now)
      .BindInt64(5, expires_at)
      .BindBlob(6, envelope);
  CONFAB_RETURN_IF_ERROR(insert.Run().WithContext("store envelope"));
  const uint64_t id = static_cast<uint64_t>(db_->last_insert_rowid());
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<MailboxPage> Directory::Fetch(std::string_view recipient, uint64_t after_id,
                                     size_t max_count, size_t max_bytes) {
  CONFAB_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT id, author, deposited_at, expires_at, envelope FROM mailbox "
                   "WHERE recipient = ?1 AND id > ?2 ORDER BY id LIMIT ?3"));
  // One more than asked tells whether others follow.
  st.BindText(1, recipient)
      .BindInt64(2, AsInt(after_id))
      .BindInt64(3, AsInt(static_cast<uint64_t>(max_count) + 1));
  MailboxPage page;
  size_t bytes = 0;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
    if (r == StepResult::kDone)
      break;
    StoredEnvelope e;
    e.id = static_cast<uint64_t>(st.ColumnInt64(0));
    e.recipient = std::string(recipient);
    e.author = st.ColumnText(1);
    e.deposited_at = st.ColumnInt64(2);
    e.expires_at = st.ColumnInt64(3);
    e.envelope = st.ColumnBlob(4);
    if (page.envelopes.size() >= max_count ||
        (!page.envelopes.empty() && bytes + e.envelope.size() > max_bytes)) {
      page.more = true;
      break;
    }
    bytes += e.envelope.size();
    page.envelopes.push_back(std::move(e));
  }
  return page;
}

Result<MailboxTotals> Directory::Acknowledge(std::string_view recipient,
                                             std::span<const uint64_t> ids) {
  MailboxTotals deleted;
  if (ids.empty())
    return deleted;
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      Statement drop,
      db_->Prepare("DELETE FROM mailbox WHERE id = ?1 AND recipient = ?2 RETURNING size"));
  for (uint64_t id : ids) {
    drop.Reset();
    drop.BindInt64(1, AsInt(id)).BindText(2, recipient);
    CONFAB_ASSIGN_OR_RETURN(StepResult r, drop.Step());
    if (r != StepResult::kRow)
      continue;  // not theirs, or gone already
    ++deleted.envelopes;
    deleted.bytes += static_cast<uint64_t>(drop.ColumnInt64(0));
    CONFAB_RETURN_IF_ERROR(drop.Step().status());  // finish the DELETE
  }
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Result<MailboxTotals> Directory::Expire(int64_t now) {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      Statement count,
      db_->Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox WHERE expires_at <= ?1"));
  count.BindInt64(1, now);
  CONFAB_ASSIGN_OR_RETURN(StepResult r, count.Step());
  MailboxTotals expired;
  if (r == StepResult::kRow) {
    expired.envelopes = static_cast<uint64_t>(count.ColumnInt64(0));
    expired.bytes = static_cast<uint64_t>(count.ColumnInt64(1));
  }
  count.Reset();
  if (expired.envelopes == 0)
    return expired;  // the transaction rolls back: nothing was written
  CONFAB_ASSIGN_OR_RETURN(Statement drop,
                          db_->Prepare("DELETE FROM mailbox WHERE expires_at <= ?1"));
  drop.BindInt64(1, now);
  CONFAB_RETURN_IF_ERROR(drop.Run());
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return expired;
}

Result<MailboxTotals> Directory::Totals() {
  return Count("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox", "");
}

Result<MailboxTotals> Directory::TotalsFor(std::string_view recipient) {
  return Count("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox WHERE recipient = ?1",
               recipient);
}

Result<std::vector<std::pair<std::string, MailboxTotals>>> Directory::TopRecipients(size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT recipient, COUNT(*), SUM(size) AS bytes FROM mailbox "
                                 "GROUP BY recipient ORDER BY bytes DESC, recipient LIMIT ?1"));
  st.BindInt64(1, AsInt(limit));
  std::vector<std::pair<std::string, MailboxTotals>> top;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
    if (r == StepResult::kDone)
      return top;
    top.emplace_back(st.ColumnText(0), MailboxTotals{static_cast<uint64_t>(st.ColumnInt64(1)),
                                                     static_cast<uint64_t>(st.ColumnInt64(2))});
  }
}

}  // namespace confab::tracker
