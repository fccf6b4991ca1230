#include "tracker/directory_schema.h"

namespace confab::tracker {
namespace {

// Version 1.
//
// members.revoked_at is NULL while the member is active. Used invites keep
// their row so that a second use is told "already used", not "unknown"; the
// partial unique index allows one pending invite per name. revocations
// outlives the member row (Reinstate deletes that), so a revoked key stays
// refused forever. The audit log refuses UPDATE and DELETE by trigger
// (RAISE(ABORT) -> SQLITE_CONSTRAINT_TRIGGER -> FailedPrecondition).
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE members (
  name          TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  identity_key  BLOB NOT NULL UNIQUE CHECK (length(identity_key) = 32),
  certificate   BLOB NOT NULL,
  serial        INTEGER NOT NULL UNIQUE CHECK (serial > 0),
  enrolled_at   INTEGER NOT NULL,
  revoked_at    INTEGER,
  revoke_reason TEXT
);

CREATE TABLE invites (
  secret_hash BLOB PRIMARY KEY NOT NULL CHECK (length(secret_hash) = 32),
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
  used_at     INTEGER
);
CREATE UNIQUE INDEX invites_one_pending_per_name ON invites(name) WHERE used_at IS NULL;

CREATE TABLE revocations (
  serial       INTEGER PRIMARY KEY NOT NULL,
  name         TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  revoked_at   INTEGER NOT NULL,
  reason       TEXT NOT NULL
);
CREATE INDEX revocations_by_key ON revocations(identity_key);

CREATE TABLE counters (
  name  TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
);
INSERT INTO counters(name, value) VALUES ('certificate_serial', 0);

CREATE TABLE audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time    INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail  TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

// Version 2: when each member was last online (soft presence made durable
// at disconnect, so `confab-tracker users` can say "last seen").
constexpr std::string_view kVersion2 = R"sql(
ALTER TABLE members ADD COLUMN last_seen INTEGER;
)sql";

// Version 3: each member's Noise static key (the X25519 form of the identity
// key), so the tracker finds the member a handshake proved without
// converting keys. Filled in by Enroll, and for older rows by Directory::Open.
constexpr std::string_view kVersion3 = R"sql(
ALTER TABLE members ADD COLUMN noise_key BLOB CHECK (noise_key IS NULL OR length(noise_key) = 32);
CREATE UNIQUE INDEX members_by_noise_key ON members(noise_key) WHERE noise_key IS NOT NULL;
)sql";

// Version 4: the mailbox (issue 14): envelopes held for a recipient until
// they acknowledge them or they expire. AUTOINCREMENT so that an id is never
// reused: a fetch "after id N" must not skip a later envelope that took a
// deleted one's number. The index by recipient carries the size, so a
// quota check counts and sums without reading the envelopes.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE mailbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient    TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 64),
  author       TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 64),
  size         INTEGER NOT NULL CHECK (size > 0),
  deposited_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL CHECK (expires_at > deposited_at),
  envelope     BLOB NOT NULL CHECK (length(envelope) = size)
);
CREATE INDEX mailbox_by_recipient ON mailbox(recipient, id, size);
CREATE INDEX mailbox_by_expiry ON mailbox(expires_at);
)sql";

constexpr std::string_view kScripts[] = {kVersion1, kVersion2, kVersion3, kVersion4};

}  // namespace

std::span<const std::string_view> DirectorySchema() {
  return kScripts;
}

}  // namespace confab::tracker
