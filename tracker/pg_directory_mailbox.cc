// PgDirectory, continued: the MailboxStore (mailbox_store.h) on PostgreSQL
// schema version 3, with the same contract as the SQLite one
// (directory_mailbox.cc), checked by the shared mailbox suite.
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "common/base/member_name.h"
#include "tracker/pg_directory.h"
#include "tracker/pg_directory_internal.h"

namespace confab::tracker {

using namespace pg_detail;  // NOLINT(google-build-using-namespace)

namespace {

int64_t AsInt(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
}

MailboxTotals TotalsAt(const PGresult* r, int row) {
  return MailboxTotals{static_cast<uint64_t>(IntAt(r, row, 0)),
                       static_cast<uint64_t>(IntAt(r, row, 1))};
}

}  // namespace

Result<uint64_t> PgDirectory::Deposit(std::string_view recipient, std::string_view author,
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
  return WithReconnect([&]() -> Result<uint64_t> {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kLockRecipient, PgParams().Text(recipient)).status());
    CONFAB_ASSIGN_OR_RETURN(PgResult held, Exec(Stmt::kMailboxHeld, PgParams().Text(recipient)));
    const MailboxTotals t = TotalsAt(held.get(), 0);
    if (t.envelopes + 1 > quota.max_envelopes || t.bytes + envelope.size() > quota.max_bytes)
      return Status::ResourceExhausted("mailbox full");
    CONFAB_ASSIGN_OR_RETURN(
        PgResult id, Exec(Stmt::kInsertEnvelope, PgParams()
                                                     .Text(recipient)
                                                     .Text(author)
                                                     .Int(static_cast<int64_t>(envelope.size()))
                                                     .Int(now)
                                                     .Int(expires_at)
                                                     .Binary(envelope)));
    const uint64_t stored = static_cast<uint64_t>(IntAt(id.get(), 0, 0));
    CONFAB_RETURN_IF_ERROR(tx.Commit());
    return stored;
  });
}

Result<MailboxPage> PgDirectory::Fetch(std::string_view recipient, uint64_t after_id,
                                       size_t max_count, size_t max_bytes) {
  return WithReconnect([&]() -> Result<MailboxPage> {
    // One more than asked tells whether others follow.
    CONFAB_ASSIGN_OR_RETURN(
        PgResult r,
        Exec(Stmt::kFetchEnvelopes,
             PgParams().Text(recipient).Int(AsInt(after_id)).Int(AsInt(max_count + 1))));
    MailboxPage page;
    size_t bytes = 0;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      StoredEnvelope e;
      e.id = static_cast<uint64_t>(IntAt(r.get(), i, 0));
      e.recipient = std::string(recipient);
      e.author = TextAt(r.get(), i, 1);
      e.deposited_at = IntAt(r.get(), i, 2);
      e.expires_at = IntAt(r.get(), i, 3);
      e.envelope = BytesAt(r.get(), i, 4);
      if (page.envelopes.size() >= max_count ||
          (!page.envelopes.empty() && bytes + e.envelope.size() > max_bytes)) {
        page.more = true;
        break;
      }
      bytes += e.envelope.size();
      page.envelopes.push_back(std::move(e));
    }
    return page;
  });
}

Result<MailboxTotals> PgDirectory::Acknowledge(std::string_view recipient,
                                               std::span<const uint64_t> ids) {
  if (ids.empty())
    return MailboxTotals{};
  return WithReconnect([&]() -> Result<MailboxTotals> {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    MailboxTotals deleted;
    for (uint64_t id : ids) {
      CONFAB_ASSIGN_OR_RETURN(PgResult r,
                              Exec(Stmt::kAckEnvelope, PgParams().Int(AsInt(id)).Text(recipient)));
      if (PQntuples(r.get()) == 0)
        continue;  // not theirs, or gone already
      ++deleted.envelopes;
      deleted.bytes += static_cast<uint64_t>(IntAt(r.get(), 0, 0));
    }
    CONFAB_RETURN_IF_ERROR(tx.Commit());
    return deleted;
  });
}

Result<MailboxTotals> PgDirectory::Expire(int64_t now) {
  return WithReconnect([&]() -> Result<MailboxTotals> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kExpireEnvelopes, PgParams().Int(now)));
    return TotalsAt(r.get(), 0);
  });
}

Result<MailboxTotals> PgDirectory::Totals() {
  return WithReconnect([&]() -> Result<MailboxTotals> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kMailboxTotals, PgParams()));
    return TotalsAt(r.get(), 0);
  });
}

Result<MailboxTotals> PgDirectory::TotalsFor(std::string_view recipient) {
  return WithReconnect([&]() -> Result<MailboxTotals> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kMailboxHeld, PgParams().Text(recipient)));
    return TotalsAt(r.get(), 0);
  });
}

Result<std::vector<std::pair<std::string, MailboxTotals>>> PgDirectory::TopRecipients(
    size_t limit) {
  return WithReconnect([&]() -> Result<std::vector<std::pair<std::string, MailboxTotals>>> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kMailboxTop, PgParams().Int(AsInt(limit))));
    std::vector<std::pair<std::string, MailboxTotals>> top;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      top.emplace_back(TextAt(r.get(), i, 0),
                       MailboxTotals{static_cast<uint64_t>(IntAt(r.get(), i, 1)),
                                     static_cast<uint64_t>(IntAt(r.get(), i, 2))});
    }
    return top;
  });
}

}  // namespace confab::tracker
