#include "tracker/pg_schema.h"

#include <libpq-fe.h>

#include <memory>

namespace confab::tracker {
namespace {

// Version 1: the tables of directory.db's versions 1-3 in one step (a
// cluster starts at the current model). BYTEA for keys and certificates,
// BIGINT for unix seconds. The audit log refuses UPDATE, DELETE and
// TRUNCATE by trigger, for every role that is not a superuser disabling it.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE members (
  name          TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  identity_key  BYTEA NOT NULL UNIQUE CHECK (length(identity_key) = 32),
  noise_key     BYTEA UNIQUE CHECK (noise_key IS NULL OR length(noise_key) = 32),
  certificate   BYTEA NOT NULL,
  serial        BIGINT NOT NULL UNIQUE CHECK (serial > 0),
  enrolled_at   BIGINT NOT NULL,
  revoked_at    BIGINT,
  revoke_reason TEXT,
  last_seen     BIGINT
);

CREATE TABLE invites (
  secret_hash BYTEA PRIMARY KEY CHECK (length(secret_hash) = 32),
  name        TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL CHECK (expires_at > created_at),
  used_at     BIGINT
);
CREATE UNIQUE INDEX invites_one_pending_per_name ON invites(name) WHERE used_at IS NULL;

CREATE TABLE revocations (
  serial       BIGINT PRIMARY KEY,
  name         TEXT NOT NULL,
  identity_key BYTEA NOT NULL,
  revoked_at   BIGINT NOT NULL,
  reason       TEXT NOT NULL
);
CREATE INDEX revocations_by_key ON revocations(identity_key);

CREATE SEQUENCE certificate_serial START 1 MINVALUE 1 NO CYCLE;

CREATE TABLE audit (
  id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time    BIGINT NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail  TEXT NOT NULL
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
)sql";

// Version 2 (issue 16, a cluster of trackers): `cluster` holds one row, the
// organisation's name and public org key, written by `init --database` and
// checked by `join-cluster` against the org.key it is given. Each serving tracker
// heartbeats a row in `trackers`; each online member has a row in
// `presence` naming the tracker that holds its session (gone with that
// tracker's row: ON DELETE CASCADE). Every change to `presence` NOTIFYs
// channel confab_presence with the member's name, so every tracker that
// LISTENs hears of it (PgListener) and re-reads that row.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE cluster (
  only_row       BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
  org            TEXT NOT NULL CHECK (length(org) > 0),
  org_public_key BYTEA NOT NULL CHECK (length(org_public_key) = 32),
  created_at     BIGINT NOT NULL
);

CREATE TABLE trackers (
  id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  address      TEXT NOT NULL,
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

CREATE TABLE presence (
  name        TEXT PRIMARY KEY REFERENCES members(name) ON DELETE CASCADE,
  tracker_id  TEXT NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
  status      INTEGER NOT NULL,
  text        TEXT NOT NULL DEFAULT '',
  endpoints   BYTEA NOT NULL DEFAULT '',
  updated_at  BIGINT NOT NULL
);
CREATE INDEX presence_by_tracker ON presence(tracker_id);

CREATE FUNCTION presence_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('confab_presence', OLD.name);
  ELSE
    PERFORM pg_notify('confab_presence', NEW.name);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER presence_changed AFTER INSERT OR UPDATE OR DELETE ON presence
  FOR EACH ROW EXECUTE FUNCTION presence_notify();
)sql";

// Version 3: the mailbox (issue 14), as directory.db version 4. BIGSERIAL
// ids are never reused; the index by recipient carries the size for the
// quota check.
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE mailbox (
  id           BIGSERIAL PRIMARY KEY,
  recipient    TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 64),
  author       TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 64),
  size         BIGINT NOT NULL CHECK (size > 0),
  deposited_at BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL CHECK (expires_at > deposited_at),
  envelope     BYTEA NOT NULL CHECK (length(envelope) = size)
);
CREATE INDEX mailbox_by_recipient ON mailbox(recipient, id) INCLUDE (size);
CREATE INDEX mailbox_by_expiry ON mailbox(expires_at);
)sql";

constexpr std::string_view kScripts[] = {kVersion1, kVersion2, kVersion3};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string ErrorOf(pg_conn* conn) {
  std::string msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  return msg;
}

// Runs `sql` (no parameters; several statements allowed).
Result<PgResult> Exec(pg_conn* conn, const std::string& sql) {
  PgResult r(PQexec(conn, sql.c_str()));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return Status::Unavailable("postgresql: " + ErrorOf(conn));
  return r;
}

Result<int> ReadVersion(pg_conn* conn) {
  CONFAB_ASSIGN_OR_RETURN(PgResult exists,
                          Exec(conn, "SELECT to_regclass('confab_schema_version') IS NOT NULL"));
  if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t")
    return 0;
  CONFAB_ASSIGN_OR_RETURN(PgResult v, Exec(conn, "SELECT version FROM confab_schema_version"));
  if (PQntuples(v.get()) != 1)
    return Status::Corruption("confab_schema_version must hold one row");
  return std::stoi(PQgetvalue(v.get(), 0, 0));
}

Result<int> MigrateInTransaction(pg_conn* conn) {
  CONFAB_RETURN_IF_ERROR(
      Exec(conn, "SELECT pg_advisory_xact_lock(" + std::to_string(kPgMigrationLockKey) + ")")
          .status());
  CONFAB_ASSIGN_OR_RETURN(int version, ReadVersion(conn));
  const int newest = static_cast<int>(std::size(kScripts));
  if (version > newest)
    return Status::FailedPrecondition("the database has directory schema version " +
                                      std::to_string(version) +
                                      ", newer than this confab-tracker knows (" +
                                      std::to_string(newest) + "); upgrade confab-tracker");
  if (version == 0)
    CONFAB_RETURN_IF_ERROR(Exec(conn,
                                "CREATE TABLE confab_schema_version (version INTEGER NOT NULL); "
                                "INSERT INTO confab_schema_version VALUES (0)")
                               .status());
  for (int v = version; v < newest; ++v) {
    auto ran = Exec(conn, std::string(kScripts[v]));
    if (!ran.ok())
      return ran.status().WithContext("directory schema version " + std::to_string(v + 1));
  }
  CONFAB_RETURN_IF_ERROR(
      Exec(conn, "UPDATE confab_schema_version SET version = " + std::to_string(newest)).status());
  return newest - version;
}

}  // namespace

std::span<const std::string_view> PgDirectorySchema() {
  return kScripts;
}

Result<int> PgDirectoryVersion(pg_conn* conn) {
  return ReadVersion(conn);
}

Result<int> MigratePgDirectory(pg_conn* conn) {
  if (PQstatus(conn) != CONNECTION_OK)
    return Status::Unavailable("postgresql: " + ErrorOf(conn));
  CONFAB_RETURN_IF_ERROR(Exec(conn, "BEGIN").status());
  Result<int> ran = MigrateInTransaction(conn);
  if (!ran.ok()) {
    (void)Exec(conn, "ROLLBACK");
    return ran;
  }
  CONFAB_RETURN_IF_ERROR(Exec(conn, "COMMIT").status());
  return ran;
}

}  // namespace confab::tracker
