// Helpers both DirectoryStore backends share, so that the SQLite Directory
// and the PostgreSQL PgDirectory refuse the same input with the same words
// (the shared directory suite compares their messages).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "tracker/directory_store.h"

namespace confab::tracker {

// The actor "ops" of CreateInvite, Revoke and Reinstate.
inline constexpr std::string_view kOpsActor = "ops";

// The inverse of AuditActionName; nullopt for a name no confab wrote.
std::optional<AuditAction> AuditActionFromName(std::string_view name);

// Audit actor for a key that is not (yet) a member: "key:" and the first 16
// hex digits, or "key:invalid" for a key of the wrong size.
std::string KeyActor(ByteView key);

// InvalidArgument "<what> must be <want> bytes, not <n>" unless the size fits.
Status CheckSize(ByteView bytes, size_t want, std::string_view what);

// 'name', as the messages quote names.
std::string QuoteName(std::string_view s);

// The Noise static key (X25519) of an Ed25519 identity key. InvalidArgument
// for a key that is not a valid point (a joining party can present one).
Result<Bytes> NoiseKeyOf(ByteView identity_key);

// The checks CreateInvite makes before it touches storage.
Status CheckInvite(std::string_view name, ByteView secret_hash, int64_t ttl_seconds);

// The refusals for inviting a name that has a member row (revoked_at set or not).
Status EnrolledNameRefusal(std::string_view name, bool revoked);

// Renew's refusal of a revoked member, and its audit detail.
Status CheckRenewable(const Member& m);
std::string RenewDetail(uint64_t old_serial, uint64_t new_serial);

}  // namespace confab::tracker
