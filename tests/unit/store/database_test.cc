#include "common/store/database.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "common/store/sqlite_status.h"
#include "common/store/transaction.h"

#include "temp_dir.h"

namespace confab::store {
namespace {

using Code = Status::Code;

std::unique_ptr<Database> MustOpen(const std::string& path, Options options = {}) {
  auto db = Database::Open(path, options);
  REQUIRE(db.ok());
  return std::move(db).value();
}

TEST_CASE("Database::Open creates a 0600 file in WAL mode with foreign keys on", "[store]") {
  TempDir dir;
  auto db = MustOpen(dir.File("a.db"));
  struct stat st;
  REQUIRE(::stat(dir.File("a.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto mode = db->Prepare("PRAGMA journal_mode");
  REQUIRE(mode.ok());
  REQUIRE(*mode->Step() == StepResult::kRow);
  CHECK(mode->ColumnText(0) == "wal");
  CHECK(*db->QueryInt64("PRAGMA foreign_keys") == 1);
  CHECK(*db->QueryInt64("PRAGMA synchronous") == 2);  // FULL is the default
  CHECK(db->path() == dir.File("a.db"));
}

TEST_CASE("Database::Open honours Durability::kNormal", "[store]") {
  TempDir dir;
  auto db = MustOpen(dir.File("a.db"), Options{.durability = Durability::kNormal});
  CHECK(*db->QueryInt64("PRAGMA synchronous") == 1);
}

TEST_CASE("Database keeps data across a reopen", "[store]") {
  TempDir dir;
  {
    auto db = MustOpen(dir.File("a.db"));
    REQUIRE(db->Exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (42);").ok());
  }
  auto db = MustOpen(dir.File("a.db"), Options{.create_if_missing = false});
  CHECK(*db->QueryInt64("SELECT x FROM t") == 42);
}

// Tests of the error paths in Database::Open follow.

TEST_CASE("Database::Open on a garbage file is Corruption with a clear message", "[store][error]") {
  TempDir dir;
  {
    std::ofstream out(dir.File("garbage.db"), std::ios::binary);
    for (int i = 0; i < 512; ++i)
      out << "this is not an sqlite database ";
  }
  auto db = Database::Open(dir.File("garbage.db"), {});
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == Code::kCorruption);
  CHECK(std::string(db.status().message()).find(dir.File("garbage.db")) != std::string::npos);
  CHECK(std::string(db.status().message()).find("not a database") != std::string::npos);
}

TEST_CASE("Database::Open on a damaged header is Corruption", "[store][error]") {
  TempDir dir;
  {
    auto db = MustOpen(dir.File("a.db"));
    REQUIRE(db->Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1);").ok());
  }
  {
    std::fstream f(dir.File("a.db"), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(0);
    f << "SQLite format 2";  // the 16-byte magic, one digit off
  }
  auto db = Database::Open(dir.File("a.db"), {});
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == Code::kCorruption);
}

TEST_CASE("Database::Open without create_if_missing is NotFound", "[store][error]") {
  TempDir dir;
  auto db = Database::Open(dir.File("missing.db"), Options{.create_if_missing = false});
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == Code::kNotFound);
}

TEST_CASE("Database::Open in a missing directory is an IoError", "[store][error]") {
  TempDir dir;
  auto db = Database::Open(dir.File("no/such/dir/a.db"), {});
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == Code::kIoError);
}

TEST_CASE("Database::Open refuses a symbolic link", "[store][error]") {
  TempDir dir;
  { MustOpen(dir.File("real.db")); }
  REQUIRE(::symlink(dir.File("real.db").c_str(), dir.File("link.db").c_str()) == 0);
  auto db = Database::Open(dir.File("link.db"), {});
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == Code::kIoError);
}

TEST_CASE("Database::Prepare refuses bad SQL and more than one statement", "[store][error]") {
  TempDir dir;
  auto db = MustOpen(dir.File("a.db"));
  auto bad = db->Prepare("SELEKT 1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(std::string(bad.status().message()).find("syntax error") != std::string::npos);
  auto two = db->Prepare("SELECT 1; SELECT 2");
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().code() == Code::kInvalidArgument);
  CHECK(db->Prepare("SELECT 1;  ").ok());
  CHECK(db->Prepare("").status().code() == Code::kInvalidArgument);
  CHECK(db->QueryInt64("SELECT 1 WHERE 0").status().code() == Code::kNotFound);
  CHECK(db->Exec("CREATE TABLE").code() == Code::kInvalidArgument);
}

TEST_CASE("A second writer waiting past busy_timeout gets Unavailable", "[store][error]") {
  TempDir dir;
  auto a = MustOpen(dir.File("a.db"));
  auto b = MustOpen(dir.File("a.db"), Options{.busy_timeout_ms = 10});
  REQUIRE(a->Exec("CREATE TABLE t(x)").ok());
  auto tx = Transaction::Begin(*a);
  REQUIRE(tx.ok());
  auto tx2 = Transaction::Begin(*b);
  REQUIRE_FALSE(tx2.ok());
  CHECK(tx2.status().code() == Code::kUnavailable);
  CHECK(b->Exec("INSERT INTO t VALUES (1)").code() == Code::kUnavailable);
}

TEST_CASE("FromSqlite maps every documented result code", "[store]") {
  struct Case {
    int rc;
    Code code;
  };
  // Values from sqlite3.h, spelled out so the table is the documentation.
  const Case cases[] = {
      {0, Code::kOk},                     // SQLITE_OK
      {100, Code::kOk},                   // SQLITE_ROW
      {101, Code::kOk},                   // SQLITE_DONE
      {5, Code::kUnavailable},            // SQLITE_BUSY
      {6, Code::kUnavailable},            // SQLITE_LOCKED
      {11, Code::kCorruption},            // SQLITE_CORRUPT
      {26, Code::kCorruption},            // SQLITE_NOTADB
      {2067, Code::kFailedPrecondition},  // SQLITE_CONSTRAINT_UNIQUE
      {1555, Code::kFailedPrecondition},  // SQLITE_CONSTRAINT_PRIMARYKEY
      {787, Code::kFailedPrecondition},   // SQLITE_CONSTRAINT_FOREIGNKEY
      {1811, Code::kFailedPrecondition},  // SQLITE_CONSTRAINT_TRIGGER
      {275, Code::kInvalidArgument},      // SQLITE_CONSTRAINT_CHECK
      {1299, Code::kInvalidArgument},     // SQLITE_CONSTRAINT_NOTNULL
      {7, Code::kResourceExhausted},      // SQLITE_NOMEM
      {13, Code::kResourceExhausted},     // SQLITE_FULL
      {18, Code::kResourceExhausted},     // SQLITE_TOOBIG
      {3, Code::kPermissionDenied},       // SQLITE_PERM
      {1, Code::kInvalidArgument},        // SQLITE_ERROR
      {21, Code::kInvalidArgument},       // SQLITE_MISUSE
      {25, Code::kInvalidArgument},       // SQLITE_RANGE
      {10, Code::kIoError},               // SQLITE_IOERR
      {14, Code::kIoError},               // SQLITE_CANTOPEN
      {8, Code::kIoError},                // SQLITE_READONLY
  };
  for (const Case& c : cases) {
    INFO("rc " << c.rc);
    Status s = FromSqlite(c.rc, nullptr, "op");
    CHECK(s.code() == c.code);
    if (!s.ok())
      CHECK(std::string(s.message()).rfind("op: ", 0) == 0);
  }
}

}  // namespace
}  // namespace confab::store
