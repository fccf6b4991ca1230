// PgDirectory, continued: invites, enrollment, revocation, renewal and
// member lookups (pg_directory.cc has the connection and statements).
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

Status PgDirectory::CreateInvite(std::string_view name, ByteView secret_hash, int64_t now,
                                 int64_t ttl_seconds) {
  CONFAB_RETURN_IF_ERROR(CheckInvite(name, secret_hash, ttl_seconds));
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(PgResult found, Exec(Stmt::kMemberByName, PgParams().Text(name)));
    if (PQntuples(found.get()) > 0)
      return EnrolledNameRefusal(name, !IsNull(found.get(), 0, 5));
    CONFAB_ASSIGN_OR_RETURN(PgResult dropped,
                            Exec(Stmt::kDropPendingInvite, PgParams().Text(name)));
    const bool replaced = std::strcmp(PQcmdTuples(dropped.get()), "0") != 0;
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kInsertInvite,
             PgParams().Binary(secret_hash).Text(name).Int(now).Int(now + ttl_seconds))
            .status()
            .WithContext("create invite"));
    std::string detail = "expires " + std::to_string(now + ttl_seconds);
    if (replaced)
      detail += ", replaced the pending invite";
    CONFAB_RETURN_IF_ERROR(InsertAudit(now, kOpsActor, AuditAction::kInvite, name, detail));
    return tx.Commit();
  });
}

Result<Member> PgDirectory::Enroll(ByteView secret_hash, ByteView identity_key, int64_t now,
                                   const IssueFn& issue) {
  std::string invite_name;
  Result<Member> member = WithReconnect([&]() -> Result<Member> {
    invite_name.clear();
    return EnrollInTransaction(secret_hash, identity_key, now, issue, &invite_name);
  });
  if (!member.ok()) {
    // As in Directory::Enroll: the refusal is recorded on its own, and a
    // failure to audit does not change what the caller sees.
    (void)AppendAudit(now, KeyActor(identity_key), AuditAction::kJoinRefused, invite_name,
                      member.status().ToString());
  }
  return member;
}

Result<Member> PgDirectory::EnrollInTransaction(ByteView secret_hash, ByteView identity_key,
                                                int64_t now, const IssueFn& issue,
                                                std::string* invite_name) {
  CONFAB_RETURN_IF_ERROR(CheckSize(secret_hash, kInviteHashBytes, "an invite hash"));
  CONFAB_RETURN_IF_ERROR(CheckSize(identity_key, kIdentityKeyBytes, "an identity key"));
  Transaction tx(this);
  CONFAB_RETURN_IF_ERROR(tx.Begin());
  // FOR UPDATE: a second tracker redeeming the same invite waits here, then
  // reads the row as the first left it (used).
  CONFAB_ASSIGN_OR_RETURN(PgResult invite,
                          Exec(Stmt::kInviteForUpdate, PgParams().Binary(secret_hash)));
  if (PQntuples(invite.get()) == 0)
    return Status::NotFound("unknown invite code");
  *invite_name = TextAt(invite.get(), 0, 0);
  if (!IsNull(invite.get(), 0, 2))
    return Status::FailedPrecondition("invite code already used");
  if (now >= IntAt(invite.get(), 0, 1))
    return Status::FailedPrecondition("invite code expired");

  CONFAB_ASSIGN_OR_RETURN(PgResult revoked,
                          Exec(Stmt::kKeyRevoked, PgParams().Binary(identity_key)));
  if (PQntuples(revoked.get()) > 0)
    return Status::PermissionDenied("this identity key was revoked");
  CONFAB_ASSIGN_OR_RETURN(PgResult existing,
                          Exec(Stmt::kMemberByKey, PgParams().Binary(identity_key)));
  if (PQntuples(existing.get()) > 0)
    return Status::FailedPrecondition("this identity key is already enrolled as " +
                                      QuoteName(TextAt(existing.get(), 0, 0)));

  Member m;
  m.name = *invite_name;
  m.identity_key = ToBytes(identity_key);
  m.enrolled_at = now;
  CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
  m.serial = static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
  Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
  if (!cert.ok())
    return cert.status().WithContext("issue certificate");
  m.certificate = std::move(cert).value();
  CONFAB_ASSIGN_OR_RETURN(Bytes noise_key, NoiseKeyOf(m.identity_key));
  CONFAB_RETURN_IF_ERROR(Exec(Stmt::kInsertMember, PgParams()
                                                       .Text(m.name)
                                                       .Binary(m.identity_key)
                                                       .Binary(m.certificate)
                                                       .Int(static_cast<int64_t>(m.serial))
                                                       .Int(now)
                                                       .Binary(noise_key))
                             .status()
                             .WithContext("record member"));
  CONFAB_RETURN_IF_ERROR(Exec(Stmt::kUseInvite, PgParams().Int(now).Binary(secret_hash)).status());
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, m.name, AuditAction::kJoin, m.name,
                  "serial " + std::to_string(m.serial) + ", " + KeyActor(identity_key)));
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return m;
}

Result<uint64_t> PgDirectory::NextSerial() {
  return WithReconnect([&]() -> Result<uint64_t> {
    CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
    return static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
  });
}

Status PgDirectory::Revoke(std::string_view name, int64_t now, std::string_view reason) {
  if (reason.empty())
    return Status::InvalidArgument("a revocation needs a reason");
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    if (m.revoked)
      return Status::FailedPrecondition(QuoteName(name) + " is already revoked");
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kRevokeMember, PgParams().Int(now).Text(reason).Text(name)).status());
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kInsertRevocation, PgParams()
                                                             .Int(static_cast<int64_t>(m.serial))
                                                             .Text(name)
                                                             .Binary(m.identity_key)
                                                             .Int(now)
                                                             .Text(reason))
                               .status());
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, kOpsActor, AuditAction::kRevoke, name,
                    "serial " + std::to_string(m.serial) + ": " + std::string(reason)));
    // Delivered at COMMIT to every tracker listening (kPgRevocationChannel).
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kNotifyRevoked, PgParams().Text(name)).status());
    return tx.Commit();
  });
}

Status PgDirectory::Reinstate(std::string_view name, int64_t now) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    if (!m.revoked)
      return Status::FailedPrecondition(QuoteName(name) + " is not revoked");
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kDeleteMember, PgParams().Text(name)).status());
    // Sealed to the revoked key: the name's next holder could not open them.
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kDropMailbox, PgParams().Text(name)).status());
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, kOpsActor, AuditAction::kReinstate, name,
                    "name freed; serial " + std::to_string(m.serial) + " stays revoked"));
    return tx.Commit();
  });
}

Result<Member> PgDirectory::Renew(std::string_view name, int64_t now, std::string_view actor,
                                  const IssueFn& issue) {
  return WithReconnect([&]() -> Result<Member> {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    CONFAB_RETURN_IF_ERROR(CheckRenewable(m));
    const uint64_t old_serial = m.serial;
    CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
    m.serial = static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
    Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
    if (!cert.ok())
      return cert.status().WithContext("issue certificate");
    m.certificate = std::move(cert).value();
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kUpdateCertificate,
             PgParams().Binary(m.certificate).Int(static_cast<int64_t>(m.serial)).Text(name))
            .status()
            .WithContext("record the new certificate"));
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, actor, AuditAction::kRenew, m.name, RenewDetail(old_serial, m.serial)));
    CONFAB_RETURN_IF_ERROR(tx.Commit());
    return m;
  });
}

Result<bool> PgDirectory::IsRevoked(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  return m.revoked;
}

Result<bool> PgDirectory::IsKeyRevoked(ByteView identity_key) {
  return WithReconnect([&]() -> Result<bool> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kKeyRevoked, PgParams().Binary(identity_key)));
    return PQntuples(r.get()) > 0;
  });
}

Result<Member> PgDirectory::OneMember(Stmt stmt, const PgParams& params, std::string_view what) {
  CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(stmt, params));
  if (PQntuples(r.get()) == 0)
    return Status::NotFound("no member " + std::string(what));
  return MemberAt(r.get(), 0);
}

Result<Member> PgDirectory::GetMember(std::string_view name) {
  return WithReconnect(
      [&] { return OneMember(Stmt::kMemberByName, PgParams().Text(name), QuoteName(name)); });
}

Result<Member> PgDirectory::GetMemberByKey(ByteView identity_key) {
  return WithReconnect([&] {
    return OneMember(Stmt::kMemberByKey, PgParams().Binary(identity_key),
                     "with key " + ToHex(identity_key));
  });
}

Result<Member> PgDirectory::GetMemberByNoiseKey(ByteView noise_key) {
  return WithReconnect([&] {
    return OneMember(Stmt::kMemberByNoiseKey, PgParams().Binary(noise_key), "with that Noise key");
  });
}

Result<std::vector<Member>> PgDirectory::ListMembers() {
  return WithReconnect([&]() -> Result<std::vector<Member>> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kListMembers, PgParams()));
    std::vector<Member> members;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      members.push_back(MemberAt(r.get(), i));
    return members;
  });
}

}  // namespace confab::tracker
