#include "tracker/directory_rules.h"

#include <algorithm>
#include <iterator>

#include "common/base/member_name.h"
#include "common/crypto/identity.h"

namespace confab::tracker {
namespace {

constexpr AuditAction kAllActions[] = {
    AuditAction::kInvite,        AuditAction::kJoin,      AuditAction::kJoinRefused,
    AuditAction::kRevoke,        AuditAction::kReinstate, AuditAction::kLookup,
    AuditAction::kLookupRefused, AuditAction::kRenew,
};

}  // namespace

std::string_view AuditActionName(AuditAction action) {
  switch (action) {
    case AuditAction::kInvite:
      return "invite";
    case AuditAction::kJoin:
      return "join";
    case AuditAction::kJoinRefused:
      return "join-refused";
    case AuditAction::kRevoke:
      return "revoke";
    case AuditAction::kReinstate:
      return "reinstate";
    case AuditAction::kLookup:
      return "lookup";
    case AuditAction::kLookupRefused:
      return "lookup-refused";
    case AuditAction::kRenew:
      return "renew";
  }
  return "unknown";
}

std::optional<AuditAction> AuditActionFromName(std::string_view name) {
  auto known = std::find_if(std::begin(kAllActions), std::end(kAllActions),
                            [&](AuditAction a) { return AuditActionName(a) == name; });
  if (known == std::end(kAllActions))
    return std::nullopt;
  return *known;
}

std::string KeyActor(ByteView key) {
  if (key.size() != kIdentityKeyBytes)
    return "key:invalid";
  return "key:" + ToHex(key.first(8));
}

Status CheckSize(ByteView bytes, size_t want, std::string_view what) {
  if (bytes.size() != want)
    return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(want) +
                                   " bytes, not " + std::to_string(bytes.size()));
  return Status::Ok();
}

std::string QuoteName(std::string_view s) {
  return "'" + std::string(s) + "'";
}

Result<Bytes> NoiseKeyOf(ByteView identity_key) {
  CONFAB_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                          crypto::Ed25519PublicKeyFromBytes(identity_key));
  CONFAB_ASSIGN_OR_RETURN(crypto::X25519PublicKey noise_key, crypto::X25519FromEd25519(key));
  return Bytes(noise_key.begin(), noise_key.end());
}

Status CheckInvite(std::string_view name, ByteView secret_hash, int64_t ttl_seconds) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_RETURN_IF_ERROR(CheckSize(secret_hash, kInviteHashBytes, "an invite hash"));
  if (ttl_seconds <= 0 || ttl_seconds > kMaxInviteTtlSeconds)
    return Status::InvalidArgument("invite lifetime must be between 1 second and 365 days");
  return Status::Ok();
}

Status EnrolledNameRefusal(std::string_view name, bool revoked) {
  if (!revoked)
    return Status::FailedPrecondition(QuoteName(name) + " is already enrolled");
  return Status::FailedPrecondition(QuoteName(name) +
                                    " was revoked; free the name with `confab-tracker reinstate " +
                                    std::string(name) + "` before inviting it again");
}

Status CheckRenewable(const Member& m) {
  if (m.revoked)
    return Status::PermissionDenied(QuoteName(m.name) +
                                    " is revoked; a revoked member is not renewed");
  return Status::Ok();
}

std::string RenewDetail(uint64_t old_serial, uint64_t new_serial) {
  return "serial " + std::to_string(old_serial) + " -> " + std::to_string(new_serial);
}

}  // namespace confab::tracker
