#include "tracker/pg_directory.h"

#include <libpq-fe.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "tracker/state.h"

#include "../store/temp_dir.h"
#include "tests/unit/skip.h"
#include "tests/unit/tracker/directory_suite.h"
#include "tests/unit/tracker/pg_server.h"

namespace confab::tracker {
namespace {

using confab::testing::PgConn;
using confab::testing::PgServer;
using Code = Status::Code;

constexpr int64_t kNow = 1'800'000'000;

std::string Quiet(PgServer& pg, const std::string& db) {
  return pg.ConninfoFor(db) + " connect_timeout=5";
}

// Each OpenFresh creates a new database on one server for the whole run
// (Catch runs the suite's TEST_CASE body once per section).
class PgBackend : public confab::testing::DirectoryBackend {
 public:
  explicit PgBackend(PgServer* pg) : pg_(pg) {}
  std::unique_ptr<DirectoryStore> OpenFresh() override {
    static int next = 0;
    db_ = "suite" + std::to_string(++next);
    PgConn admin = pg_->Connect();
    REQUIRE(PQstatus(admin.get()) == CONNECTION_OK);
    PGresult* r = PQexec(admin.get(), ("CREATE DATABASE " + db_).c_str());
    INFO(PQerrorMessage(admin.get()));
    REQUIRE(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    return OpenAgain();
  }
  std::unique_ptr<DirectoryStore> OpenAgain() override {
    auto opened = PgDirectory::Open(Quiet(*pg_, db_));
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    return std::move(opened).value();
  }
  int64_t Count(const std::string& sql) override {
    PgConn conn(PQconnectdb(pg_->ConninfoFor(db_).c_str()));
    PGresult* r = PQexec(conn.get(), sql.c_str());
    INFO(sql << ": " << PQerrorMessage(conn.get()));
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    int64_t n = std::stoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
  }
  Status Exec(const std::string& sql) override {
    PgConn conn(PQconnectdb(pg_->ConninfoFor(db_).c_str()));
    PGresult* r = PQexec(conn.get(), sql.c_str());
    Status s = PQresultStatus(r) == PGRES_COMMAND_OK
                   ? Status::Ok()
                   : Status::FailedPrecondition(PQerrorMessage(conn.get()));
    PQclear(r);
    return s;
  }

 private:
  PgServer* pg_;
  std::string db_;
};

// One server per test process, started on first use.
PgServer* SharedServer(const std::string& bin) {
  static std::unique_ptr<PgServer> server;
  static std::string error;
  if (!server && error.empty()) {
    server = PgServer::Start(bin, &error);
    if (!server && error.empty())
      error = "PostgreSQL did not start";
  }
  INFO(error);
  REQUIRE(server);
  return server.get();
}

Result<Bytes> Issue(const Issuance& in) {
  return ToBytes(AsBytes(in.name + "/" + std::to_string(in.serial)));
}

Bytes Key(uint8_t fill) {
  auto key = crypto::SigningKey::FromSeed(Bytes(32, fill));
  REQUIRE(key.ok());
  return Bytes(key->public_key().begin(), key->public_key().end());
}

TEST_CASE("The PostgreSQL directory passes the shared directory suite", "[directory][pg]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  PgBackend backend(SharedServer(bin));
  confab::testing::RunDirectorySuite(backend);
}

TEST_CASE("The PostgreSQL directory passes the shared mailbox suite", "[directory][pg][mailbox]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  PgBackend backend(SharedServer(bin));
  confab::testing::RunMailboxSuite(backend);
}

TEST_CASE("PgDirectory reconnects by itself after the PostgreSQL server restarts",
          "[directory][pg]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  std::string error;
  auto pg = PgServer::Start(bin, &error);
  INFO(error);
  REQUIRE(pg);
  auto opened = PgDirectory::Open(Quiet(*pg, "postgres"));
  REQUIRE(opened.ok());
  PgDirectory& dir = **opened;
  REQUIRE(dir.CreateInvite("alice", Bytes(32, 1), kNow, 3600).ok());
  REQUIRE(dir.Enroll(Bytes(32, 1), Key(1), kNow + 1, Issue).ok());

  REQUIRE(pg->Stop());
  auto down = dir.GetMember("alice");
  CHECK(down.status().code() == Code::kUnavailable);
  CHECK_THAT(down.status().ToString(), Catch::Contains("postgresql"));
  CHECK(dir.CreateInvite("bob", Bytes(32, 2), kNow, 3600).code() == Code::kUnavailable);

  REQUIRE(pg->StartAgain());
  // The first call after the restart finds the connection gone, reconnects,
  // prepares its statements again and succeeds.
  auto back = dir.GetMember("alice");
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  CHECK(back->serial == 1);
  CHECK(dir.reconnects() >= 1);
  REQUIRE(dir.CreateInvite("bob", Bytes(32, 2), kNow, 3600).ok());
  CHECK(dir.Enroll(Bytes(32, 2), Key(2), kNow + 2, Issue).ok());
  CHECK(dir.ListMembers()->size() == 2);

  // A restart between two calls, with no failed call in between.
  REQUIRE(pg->Stop());
  REQUIRE(pg->StartAgain());
  const int before = dir.reconnects();
  CHECK(dir.RecordLastSeen("bob", kNow + 9).ok());
  CHECK(dir.reconnects() == before + 1);
  CHECK(dir.GetMember("bob")->last_seen == kNow + 9);
}

TEST_CASE("PgDirectory::Open says clearly why it cannot open", "[directory][pg][error]") {
  SECTION("a url libpq cannot parse") {
    auto d = PgDirectory::Open("postgresql://[::1");
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidArgument);
    CHECK_THAT(d.status().ToString(), Catch::Contains("database url is not valid"));
  }
  SECTION("a server that is not there") {
    auto d = PgDirectory::Open("host=/nonexistent-confab-dir dbname=x connect_timeout=2");
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kUnavailable);
    CHECK_THAT(d.status().ToString(), Catch::Contains("/nonexistent-confab-dir"));
  }
}

TEST_CASE("PgDirectory refuses a database written by a newer confab", "[directory][pg][error]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  PgServer* pg = SharedServer(bin);
  REQUIRE(PgDirectory::Open(Quiet(*pg, "postgres")).ok());
  PgConn conn = pg->Connect();
  PQclear(PQexec(conn.get(), "UPDATE confab_schema_version SET version = 99"));
  auto d = PgDirectory::Open(Quiet(*pg, "postgres"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::kFailedPrecondition);
  CHECK_THAT(d.status().ToString(), Catch::Contains("upgrade confab-tracker"));
}

TEST_CASE("Database urls are checked before anything connects", "[directory][pg][error]") {
  for (const char* good :
       {"postgresql://confab@db.example:5432/confab",
        "postgres://db.example/confab?sslmode=require", "postgresql:///confab?host=/run/postgresql",
        "host=/run/postgresql dbname=confab"}) {
    INFO(good);
    CHECK(CheckPgUrl(good).ok());
  }
  for (const char* bad : {"", "db.example", "mysql://db/confab", "/run/postgresql"}) {
    INFO(bad);
    CHECK(CheckPgUrl(bad).code() == Code::kInvalidArgument);
    CHECK_THAT(CheckPgUrl(bad).ToString(), Catch::Contains("postgresql://"));
  }
  CHECK(CheckPgUrl("postgresql://[::1").code() == Code::kInvalidArgument);
  CHECK(CheckPgUrl("host=x nosuchoption=1").code() == Code::kInvalidArgument);
}

TEST_CASE("A tracker.toml [database] url that is not a url is refused, naming the file",
          "[directory][pg][error]") {
  store::TempDir tmp;
  const std::string dir = tmp.File("t");
  REQUIRE(TrackerState::Init(dir, "Example", "127.0.0.1:7650").ok());
  {
    std::ofstream toml(dir + "/tracker.toml", std::ios::app);
    toml << "\n[database]\nurl = \"db.example\"\n";
  }
  auto state = TrackerState::Open(dir);
  REQUIRE_FALSE(state.ok());
  CHECK(state.status().code() == Code::kInvalidArgument);
  CHECK_THAT(state.status().ToString(), Catch::Contains("tracker.toml: [database] url"));
}

TEST_CASE(
    "init --database sets up the cluster once, and join-cluster prepares another tracker of it",
    "[directory][pg]") {
  const std::string bin = PgServer::FindBinaries();
  if (bin.empty())
    CONFAB_SKIP("no PostgreSQL server binaries (install postgresql)");
  PgServer* pg = SharedServer(bin);
  PgConn admin = pg->Connect();
  PQclear(PQexec(admin.get(), "CREATE DATABASE initdb_test"));
  const std::string url = Quiet(*pg, "initdb_test");
  store::TempDir tmp;

  REQUIRE(TrackerState::Init(tmp.File("a"), "Example", "127.0.0.1:7650", url).ok());
  CHECK_FALSE(std::filesystem::exists(tmp.File("a/directory.db")));
  auto a = TrackerState::Open(tmp.File("a"));
  INFO(a.status().ToString());
  REQUIRE(a.ok());
  CHECK((*a)->config().database_url == url);
  REQUIRE((*a)->directory().CreateInvite("alice", Bytes(32, 3), kNow, 3600).ok());
  REQUIRE((*a)->directory().Enroll(Bytes(32, 3), Key(3), kNow + 1, Issue).ok());

  // A second init on the same database is refused: it already holds a
  // cluster, and a second org key would split it.
  Status again = TrackerState::Init(tmp.File("x"), "Example", "127.0.0.1:7660", url);
  CHECK(again.code() == Code::kFailedPrecondition);
  CHECK_THAT(again.ToString(), Catch::Contains("join-cluster"));
  CHECK_FALSE(std::filesystem::exists(tmp.File("x/org.key")));

  // join-cluster with the first tracker's keys: the same org, the same
  // members.
  REQUIRE(TrackerState::JoinCluster(tmp.File("a"), tmp.File("b"), "127.0.0.1:7660", url).ok());
  auto b = TrackerState::Open(tmp.File("b"));
  REQUIRE(b.ok());
  CHECK((*b)->config().org == "Example");
  CHECK((*b)->config().listen == "127.0.0.1:7660");
  CHECK((*b)->org_key().public_key() == (*a)->org_key().public_key());
  CHECK((*b)->noise_static().public_key == (*a)->noise_static().public_key);
  CHECK((*b)->directory().GetMember("alice")->serial == 1);

  // Keys of another organisation are refused, and nothing is written.
  store::TempDir other;
  REQUIRE(TrackerState::Init(other.File("o"), "Other", "127.0.0.1:7650").ok());
  Status wrong = TrackerState::JoinCluster(other.File("o"), tmp.File("w"), "127.0.0.1:7670", url);
  CHECK(wrong.code() == Code::kPermissionDenied);
  CHECK_THAT(wrong.ToString(),
             Catch::Contains("is not the org key of the cluster of org 'Example'"));
  CHECK_FALSE(std::filesystem::exists(tmp.File("w/org.key")));
  // A keys directory without keys names the missing file.
  Status missing =
      TrackerState::JoinCluster(tmp.File("nothing"), tmp.File("m"), "127.0.0.1:7670", url);
  CHECK(missing.code() == Code::kNotFound);
  CHECK_THAT(missing.ToString(), Catch::Contains("--keys: org key"));

  // An unreachable server: nothing is written.
  Status down = TrackerState::Init(tmp.File("c"), "Example", "127.0.0.1:7650",
                                   "host=/nonexistent-confab-dir dbname=x connect_timeout=2");
  CHECK(down.code() == Code::kUnavailable);
  CHECK_THAT(down.ToString(), Catch::Contains("--database: postgresql: cannot connect"));
  CHECK_FALSE(std::filesystem::exists(tmp.File("c/org.key")));
}

}  // namespace
}  // namespace confab::tracker
