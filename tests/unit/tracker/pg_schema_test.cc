#include "tracker/pg_schema.h"

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/unit/skip.h"
#include "tests/unit/tracker/pg_server.h"

using confab::testing::PgConn;
using confab::testing::PgServer;
using confab::tracker::MigratePgDirectory;
using confab::tracker::PgDirectorySchema;
using confab::tracker::PgDirectoryVersion;

namespace {

// Runs `sql`; returns "" on success, else the server's error message.
std::string Run(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(conn);
  PQclear(r);
  return err;
}

std::string One(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  std::string v =
      PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "<error>";
  PQclear(r);
  return v;
}

}  // namespace

TEST_CASE("Two migrators starting together on an empty PostgreSQL database migrate it once") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);

  PgConn a = pg->Connect();
  PgConn b = pg->Connect();
  REQUIRE(PQstatus(a.get()) == CONNECTION_OK);
  REQUIRE(PQstatus(b.get()) == CONNECTION_OK);
  // `a` holds the migration lock while two trackers' migrators start, so
  // both are inside MigratePgDirectory, waiting on the lock, when it is
  // released: they race for real.
  REQUIRE(Run(a.get(), "BEGIN; SELECT pg_advisory_xact_lock(" +
                           std::to_string(confab::tracker::kPgMigrationLockKey) + ")") == "");
  PgConn c = pg->Connect();
  REQUIRE(PQstatus(c.get()) == CONNECTION_OK);
  confab::Result<int> ran_b = confab::Status::Unavailable("not run");
  confab::Result<int> ran_c = confab::Status::Unavailable("not run");
  std::thread tb([&] { ran_b = MigratePgDirectory(b.get()); });
  std::thread tc([&] { ran_c = MigratePgDirectory(c.get()); });
  // Wait until both wait on the advisory lock.
  for (int i = 0; i < 600; ++i) {
    if (One(a.get(), "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") ==
        "2")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(Run(a.get(), "COMMIT") == "");
  tb.join();
  tc.join();

  REQUIRE(ran_b.ok());
  REQUIRE(ran_c.ok());
  const int scripts = static_cast<int>(PgDirectorySchema().size());
  // One of them ran every script, the other none.
  CHECK(*ran_b + *ran_c == scripts);
  CHECK((*ran_b == 0 || *ran_c == 0));
  auto version = PgDirectoryVersion(a.get());
  REQUIRE(version.ok());
  CHECK(*version == scripts);
  CHECK(One(a.get(), "SELECT count(*) FROM confab_schema_version") == "1");

  // A third start finds nothing to do.
  auto again = MigratePgDirectory(a.get());
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("The PostgreSQL audit log refuses UPDATE, DELETE and TRUNCATE but takes appends") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  PgConn conn = pg->Connect();
  REQUIRE(MigratePgDirectory(conn.get()).ok());

  REQUIRE(Run(conn.get(),
              "INSERT INTO audit(time, actor, action, subject, detail) "
              "VALUES (1, 'ops', 'invite', 'alice', ''), (2, 'alice', 'join', 'alice', '')") == "");
  std::string update = Run(conn.get(), "UPDATE audit SET detail = 'forged' WHERE id = 1");
  CHECK_THAT(update, Catch::Contains("append-only"));
  std::string del = Run(conn.get(), "DELETE FROM audit");
  CHECK_THAT(del, Catch::Contains("append-only"));
  std::string trunc = Run(conn.get(), "TRUNCATE audit");
  CHECK_THAT(trunc, Catch::Contains("append-only"));
  CHECK(One(conn.get(), "SELECT count(*) FROM audit") == "2");
  CHECK(One(conn.get(), "SELECT detail FROM audit WHERE id = 1") == "");
}

TEST_CASE("A PostgreSQL directory from a newer confab is refused and left as it is") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  PgConn conn = pg->Connect();
  REQUIRE(MigratePgDirectory(conn.get()).ok());
  REQUIRE(Run(conn.get(), "UPDATE confab_schema_version SET version = 99") == "");

  auto ran = MigratePgDirectory(conn.get());
  REQUIRE_FALSE(ran.ok());
  CHECK(ran.status().code() == confab::Status::Code::kFailedPrecondition);
  CHECK_THAT(ran.status().ToString(), Catch::Contains("upgrade confab-tracker"));
  CHECK(One(conn.get(), "SELECT version FROM confab_schema_version") == "99");
}

TEST_CASE("Migrating PostgreSQL with the server unreachable fails with a clear error") {
  PgConn conn(PQconnectdb("host=/nonexistent-confab-dir dbname=postgres connect_timeout=2"));
  auto ran = MigratePgDirectory(conn.get());
  REQUIRE_FALSE(ran.ok());
  CHECK(ran.status().code() == confab::Status::Code::kUnavailable);
  CHECK_THAT(ran.status().ToString(), Catch::Contains("postgresql"));
}

TEST_CASE("A version 1 PostgreSQL directory migrates to the presence schema with nothing lost") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  PgConn conn = pg->Connect();
  // A database as the first stage left it: version 1 and some members.
  REQUIRE(Run(conn.get(),
              "CREATE TABLE confab_schema_version (version INTEGER NOT NULL); "
              "INSERT INTO confab_schema_version VALUES (1)") == "");
  REQUIRE(Run(conn.get(), std::string(PgDirectorySchema()[0])) == "");
  REQUIRE(Run(conn.get(),
              "INSERT INTO members(name, identity_key, certificate, serial, enrolled_at) VALUES "
              "('alice', decode(repeat('01', 32), 'hex'), '\\x01', 1, 10);"
              "INSERT INTO audit(time, actor, action, subject, detail) "
              "VALUES (10, 'alice', 'join', 'alice', 'serial 1')") == "");

  auto ran = MigratePgDirectory(conn.get());
  INFO(ran.status().ToString());
  REQUIRE(ran.ok());
  CHECK(*ran == static_cast<int>(PgDirectorySchema().size()) - 1);
  CHECK(One(conn.get(), "SELECT version FROM confab_schema_version") ==
        std::to_string(PgDirectorySchema().size()));
  CHECK(One(conn.get(), "SELECT name || ':' || serial FROM members") == "alice:1");
  CHECK(One(conn.get(), "SELECT count(*) FROM audit") == "1");
  // The new tables work, and presence rows follow their member and tracker.
  REQUIRE(Run(conn.get(),
              "INSERT INTO trackers VALUES ('t1', '127.0.0.1:7650', 1, 1); "
              "INSERT INTO presence(name, tracker_id, status, updated_at) "
              "VALUES ('alice', 't1', 1, 1)") == "");
  CHECK_THAT(Run(conn.get(),
                 "INSERT INTO presence(name, tracker_id, status, updated_at) "
                 "VALUES ('nobody', 't1', 1, 1)"),
             Catch::Contains("foreign key"));
  REQUIRE(Run(conn.get(), "DELETE FROM trackers") == "");
  CHECK(One(conn.get(), "SELECT count(*) FROM presence") == "0");
}
