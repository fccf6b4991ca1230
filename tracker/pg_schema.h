// The tracker directory's schema on PostgreSQL (issue 16, docs/design.md
// "Tracker storage"), and the migrator that brings a shared database up to
// date.
//
// The migrator runs before a tracker serves (at `serve` start and in
// `init --database`), so it uses libpq's blocking calls; the store that
// serves requests will use the asynchronous ones on the loop.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/result.h"

struct pg_conn;

namespace confab::tracker {

// The migration scripts; script i brings the schema to version i + 1.
std::span<const std::string_view> PgDirectorySchema();

// The channel on which every change to the presence table (schema version
// 2) is announced; the payload is the member's name.
inline constexpr std::string_view kPgPresenceChannel = "confab_presence";

// The channel on which a revocation is announced, sent by PgDirectory::Revoke
// in the revoking transaction (so it is heard at commit, and never for a
// revocation that rolled back); the payload is the member's name, which fits
// NOTIFY's 8000-byte limit (names are at most 64 bytes). A tracker that hears
// it re-reads the member and closes their session and relay legs.
inline constexpr std::string_view kPgRevocationChannel = "confab_revoked";

// The channel on which a punch request for a member on another tracker is
// announced (PgPresence::RequestPunch; the payload is cluster_punch.h's).
inline constexpr std::string_view kPgPunchChannel = "confab_punch";

// The key of the advisory lock under which migrations run ("confab" in ASCII
// and a 1: the directory's schema).
inline constexpr int64_t kPgMigrationLockKey = 0x636f6e666162'0001;

// Brings the database on `conn` to the newest schema version in one
// transaction holding pg_advisory_xact_lock(kPgMigrationLockKey), so that
// any number of trackers starting together migrate it once: the first runs
// the scripts, the others wait for the lock and find nothing to do.
// Returns how many scripts this call ran (0 when already up to date).
// FailedPrecondition if the database was written by a newer confab;
// Unavailable if the server cannot be reached or a script fails (nothing is
// changed then: the transaction rolls back).
[[nodiscard]] Result<int> MigratePgDirectory(pg_conn* conn);

// The schema version recorded in the database (0 for an empty database).
[[nodiscard]] Result<int> PgDirectoryVersion(pg_conn* conn);

}  // namespace confab::tracker
