// PgListener against a real PostgreSQL server, on a real loop.
#include "tracker/pg_listener.h"

#include <libpq-fe.h>

#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "tracker/pg_directory.h"
#include "tracker/pg_schema.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/skip.h"
#include "tests/unit/tracker/pg_server.h"

namespace confab::tracker {
namespace {

using confab::testing::PgConn;
using confab::testing::PgServer;
using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

struct Recorder final : PgListener::Delegate {
  void OnNotification(std::string_view channel, std::string_view payload) override {
    notes.emplace_back(std::string(channel), std::string(payload));
    if (destroy_on_note)
      listener.reset();
  }
  void OnListening() override { ++listening; }
  void OnListenLost(const Status& why) override { lost.push_back(why.ToString()); }
  std::vector<std::pair<std::string, std::string>> notes;
  int listening = 0;
  std::vector<std::string> lost;
  bool destroy_on_note = false;
  std::unique_ptr<PgListener> listener;
};

// Runs `sql` (several statements allowed); "" or the error.
std::string Run(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(conn);
  PQclear(r);
  return err;
}

TEST_CASE(
    "A presence change on one connection reaches a PgListener on the loop, "
    "also after the server restarts",
    "[pg]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  const std::string url = pg->conninfo() + " connect_timeout=5";
  {
    auto dir = PgDirectory::Open(url);  // schema, and a member to be present
    REQUIRE(dir.ok());
    REQUIRE((*dir)->CreateInvite("alice", Bytes(32, 1), 1000, 3600).ok());
    auto key = crypto::SigningKey::FromSeed(Bytes(32, 1));
    REQUIRE(key.ok());
    Bytes identity(key->public_key().begin(), key->public_key().end());
    REQUIRE((*dir)
                ->Enroll(Bytes(32, 1), identity, 1001,
                         [](const Issuance&) -> Result<Bytes> { return Bytes{1}; })
                .ok());
  }
  auto loop = MakeLoop();
  Recorder rec;
  auto started =
      PgListener::Start(*loop, url, {std::string(kPgPresenceChannel)}, &rec, /*retry_ms=*/100);
  INFO(started.status().ToString());
  REQUIRE(started.ok());
  rec.listener = std::move(started).value();
  CHECK(rec.listener->listening());

  PgConn writer = pg->Connect();
  REQUIRE(Run(writer.get(),
              "INSERT INTO trackers VALUES ('t1', '127.0.0.1:7650', 1, 1);"
              "INSERT INTO presence(name, tracker_id, status, updated_at) "
              "VALUES ('alice', 't1', 1, 2)") == "");
  REQUIRE(RunUntil(*loop, [&] { return rec.notes.size() == 1; }));
  CHECK(rec.notes[0] == std::make_pair(std::string("confab_presence"), std::string("alice")));

  // A tracker's row going (it died) takes its members' presence with it,
  // and each of them is announced.
  REQUIRE(Run(writer.get(), "DELETE FROM trackers WHERE id = 't1'") == "");
  REQUIRE(RunUntil(*loop, [&] { return rec.notes.size() == 2; }));
  CHECK(rec.notes[1].second == "alice");

  // Restart: the listener notices, retries on its timer, listens again.
  writer.reset();
  REQUIRE(pg->Stop());
  REQUIRE(RunUntil(*loop, [&] { return !rec.lost.empty(); }));
  CHECK_THAT(rec.lost[0], Catch::Contains("postgresql"));
  CHECK_FALSE(rec.listener->listening());
  REQUIRE(pg->StartAgain());
  REQUIRE(RunUntil(
      *loop, [&] { return rec.listening == 1; }, 15000));
  CHECK(rec.listener->reconnects() == 1);
  writer = pg->Connect();
  REQUIRE(Run(writer.get(), "NOTIFY confab_presence, 'bob'") == "");
  REQUIRE(RunUntil(*loop, [&] { return rec.notes.size() == 3; }));
  CHECK(rec.notes[2].second == "bob");

  // The delegate may destroy the listener from an upcall: nothing follows.
  rec.destroy_on_note = true;
  REQUIRE(Run(writer.get(),
              "BEGIN; NOTIFY confab_presence, 'x'; NOTIFY confab_presence, 'y'; "
              "COMMIT") == "");
  REQUIRE(RunUntil(*loop, [&] { return rec.notes.size() == 4; }));
  CHECK(rec.listener == nullptr);
  RunUntil(
      *loop, [] { return false; }, 200);
  CHECK(rec.notes.size() == 4);
  CloseLoop(*loop);
}

TEST_CASE("PgListener refuses a bad channel name and an unreachable server", "[pg][error]") {
  auto loop = MakeLoop();
  Recorder rec;
  auto bad = PgListener::Start(*loop, "host=/nonexistent-confab-dir", {"x; DROP TABLE y"}, &rec);
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  auto down = PgListener::Start(*loop, "host=/nonexistent-confab-dir dbname=x connect_timeout=2",
                                {"confab_presence"}, &rec);
  CHECK(down.status().code() == Status::Code::kUnavailable);
  CHECK_THAT(down.status().ToString(), Catch::Contains("cannot connect"));
  CloseLoop(*loop);
}

TEST_CASE(
    "A revocation through PgDirectory is announced on the revocation channel when it commits, "
    "and a refused one is not",
    "[pg][issue-16]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  const std::string url = pg->conninfo() + " connect_timeout=5";
  auto dir = PgDirectory::Open(url);
  REQUIRE(dir.ok());
  REQUIRE((*dir)->CreateInvite("alice", Bytes(32, 1), 1000, 3600).ok());
  auto key = crypto::SigningKey::FromSeed(Bytes(32, 1));
  REQUIRE(key.ok());
  Bytes identity(key->public_key().begin(), key->public_key().end());
  REQUIRE((*dir)
              ->Enroll(Bytes(32, 1), identity, 1001,
                       [](const Issuance&) -> Result<Bytes> { return Bytes{1}; })
              .ok());
  auto loop = MakeLoop();
  Recorder rec;
  auto started = PgListener::Start(*loop, url, {std::string(kPgRevocationChannel)}, &rec);
  REQUIRE(started.ok());
  rec.listener = std::move(started).value();

  REQUIRE((*dir)->Revoke("alice", 1002, "left").ok());
  REQUIRE(RunUntil(*loop, [&] { return rec.notes.size() == 1; }));
  CHECK(rec.notes[0] == std::make_pair(std::string("confab_revoked"), std::string("alice")));

  // Refused (already revoked; no such member): rolled back, nothing announced.
  CHECK((*dir)->Revoke("alice", 1003, "again").code() == Status::Code::kFailedPrecondition);
  CHECK((*dir)->Revoke("nobody", 1003, "left").code() == Status::Code::kNotFound);
  RunUntil(
      *loop, [] { return false; }, 300);
  CHECK(rec.notes.size() == 1);
  rec.listener.reset();
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::tracker
