// PgDirectory, continued: last-seen times, the audit and the cluster row
// (pg_directory.cc has the connection and statements).
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tracker/directory_rules.h"
#include "tracker/pg_directory.h"
#include "tracker/pg_directory_internal.h"

namespace confab::tracker {

using namespace pg_detail;  // NOLINT(google-build-using-namespace)

Status PgDirectory::RecordLastSeen(std::string_view name, int64_t now) {
  return WithReconnect([&]() -> Status {
    CONFAB_ASSIGN_OR_RETURN(PgResult r,
                            Exec(Stmt::kRecordLastSeen, PgParams().Int(now).Text(name)));
    if (std::strcmp(PQcmdTuples(r.get()), "0") == 0)
      return Status::NotFound("no member " + QuoteName(name));
    return Status::Ok();
  });
}

Status PgDirectory::RecordLastSeen(const std::vector<std::pair<std::string, int64_t>>& seen) {
  if (seen.empty())
    return Status::Ok();
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    for (const auto& [name, time] : seen)  // unknown names update nothing: fine
      CONFAB_RETURN_IF_ERROR(Exec(Stmt::kRecordLastSeen, PgParams().Int(time).Text(name)).status());
    return tx.Commit();
  });
}

Status PgDirectory::InsertAudit(int64_t now, std::string_view actor, AuditAction action,
                                std::string_view subject, std::string_view detail) {
  return Exec(Stmt::kInsertAudit, PgParams()
                                      .Int(now)
                                      .Text(actor)
                                      .Text(AuditActionName(action))
                                      .Text(subject)
                                      .Text(detail))
      .status()
      .WithContext("append audit");
}

Status PgDirectory::AppendAudits(const std::vector<AuditEntry>& entries) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    for (const AuditEntry& e : entries)
      CONFAB_RETURN_IF_ERROR(InsertAudit(e.time, e.actor, e.action, e.subject, e.detail));
    return tx.Commit();
  });
}

Status PgDirectory::AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                                std::string_view subject, std::string_view detail) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_RETURN_IF_ERROR(InsertAudit(now, actor, action, subject, detail));
    return tx.Commit();
  });
}

Result<std::vector<AuditEntry>> PgDirectory::ListAudit(size_t limit) {
  const auto capped = static_cast<int64_t>(std::min(limit, static_cast<size_t>(INT64_MAX)));
  return WithReconnect([&]() -> Result<std::vector<AuditEntry>> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kListAudit, PgParams().Int(capped)));
    std::vector<AuditEntry> entries;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      AuditEntry e;
      e.id = IntAt(r.get(), i, 0);
      e.time = IntAt(r.get(), i, 1);
      e.actor = TextAt(r.get(), i, 2);
      const std::string action = TextAt(r.get(), i, 3);
      std::optional<AuditAction> known = AuditActionFromName(action);
      if (!known)
        return Status::Corruption("audit entry " + std::to_string(e.id) + " has unknown action " +
                                  QuoteName(action));
      e.action = *known;
      e.subject = TextAt(r.get(), i, 4);
      e.detail = TextAt(r.get(), i, 5);
      entries.push_back(std::move(e));
    }
    return entries;
  });
}

Result<PgCluster> PgDirectory::GetCluster() {
  return WithReconnect([&]() -> Result<PgCluster> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kGetCluster, PgParams()));
    if (PQntuples(r.get()) == 0)
      return Status::NotFound(
          "the database holds no confab cluster yet; create one with "
          "`confab-tracker init --database URL`");
    return PgCluster{TextAt(r.get(), 0, 0), BytesAt(r.get(), 0, 1), IntAt(r.get(), 0, 2)};
  });
}

Status PgDirectory::CreateCluster(const PgCluster& cluster) {
  return WithReconnect([&]() -> Status {
    CONFAB_ASSIGN_OR_RETURN(
        PgResult r,
        Exec(Stmt::kCreateCluster,
             PgParams().Text(cluster.org).Binary(cluster.org_public_key).Int(cluster.created_at)));
    if (std::strcmp(PQcmdTuples(r.get()), "1") == 0)
      return Status::Ok();
    auto existing = GetCluster();
    return Status::FailedPrecondition(
        "the database already holds the cluster of org '" +
        (existing.ok() ? existing->org : std::string("?")) +
        "'; prepare another tracker for it with `confab-tracker join-cluster`");
  });
}

}  // namespace confab::tracker
