#include "common/store/statement.h"

#include <catch2/catch.hpp>

#include "common/store/database.h"
#include "common/store/transaction.h"

#include "temp_dir.h"

namespace confab::store {
namespace {

using Code = Status::Code;

struct Fixture {
  Fixture() {
    auto opened = Database::Open(dir.File("t.db"), {});
    REQUIRE(opened.ok());
    db = std::move(opened).value();
    REQUIRE(db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                     " data BLOB, n INTEGER CHECK (n >= 0),"
                     " parent INTEGER REFERENCES t(id))")
                .ok());
  }
  Statement Prepare(std::string_view sql) {
    auto st = db->Prepare(sql);
    REQUIRE(st.ok());
    return std::move(st).value();
  }
  TempDir dir;
  std::unique_ptr<Database> db;
};

TEST_CASE("Statement binds and reads back int64, text, blob and null", "[store]") {
  Fixture f;
  Statement ins = f.Prepare("INSERT INTO t(name, data, n) VALUES (?1, ?2, ?3)");
  const Bytes blob = {0x00, 0xff, 0x10};
  ins.BindText(1, "alice").BindBlob(2, blob).BindInt64(3, INT64_MAX);
  REQUIRE(ins.Run().ok());
  CHECK(f.db->changes() == 1);
  CHECK(f.db->last_insert_rowid() == 1);
  ins.Reset();
  ins.BindText(1, "bob").BindBlob(2, ByteView()).BindNull(3);
  REQUIRE(ins.Run().ok());

  Statement sel = f.Prepare("SELECT name, data, n FROM t ORDER BY id");
  REQUIRE(*sel.Step() == StepResult::kRow);
  CHECK(sel.ColumnText(0) == "alice");
  CHECK(sel.ColumnBlob(1) == blob);
  CHECK(sel.ColumnInt64(2) == INT64_MAX);
  CHECK_FALSE(sel.ColumnIsNull(1));
  REQUIRE(*sel.Step() == StepResult::kRow);
  CHECK(sel.ColumnText(0) == "bob");
  CHECK(sel.ColumnBlob(1).empty());
  CHECK_FALSE(sel.ColumnIsNull(1));  // an empty blob is not NULL
  CHECK(sel.ColumnIsNull(2));
  CHECK(sel.ColumnInt64(2) == 0);
  CHECK(*sel.Step() == StepResult::kDone);
}

TEST_CASE("Statement text keeps embedded NUL bytes", "[store]") {
  Fixture f;
  Statement ins = f.Prepare("INSERT INTO t(name) VALUES (?1)");
  const std::string name("a\0b", 3);
  ins.BindText(1, name);
  REQUIRE(ins.Run().ok());
  Statement sel = f.Prepare("SELECT name FROM t");
  REQUIRE(*sel.Step() == StepResult::kRow);
  CHECK(sel.ColumnText(0) == name);
}

TEST_CASE("A moved-from Statement is inert and the target still works", "[store]") {
  Fixture f;
  Statement a = f.Prepare("SELECT 7");
  Statement b = std::move(a);
  REQUIRE(*b.Step() == StepResult::kRow);
  CHECK(b.ColumnInt64(0) == 7);
  Statement c = f.Prepare("SELECT 8");
  c = std::move(b);
  c.Reset();
  REQUIRE(*c.Step() == StepResult::kRow);
  CHECK(c.ColumnInt64(0) == 7);
}

// Tests of the error paths in Statement follow.

TEST_CASE("Statement reports a bind to a missing parameter at Step", "[store][error]") {
  Fixture f;
  Statement ins = f.Prepare("INSERT INTO t(name) VALUES (?1)");
  ins.BindText(1, "x").BindInt64(2, 5).BindText(0, "y");
  Status s = ins.Run();
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(std::string(s.message()).find("bind parameter 2") != std::string::npos);
  CHECK(*f.db->QueryInt64("SELECT count(*) FROM t") == 0);
  ins.Reset();  // clears the sticky error
  ins.BindText(1, "x");
  CHECK(ins.Run().ok());
}

TEST_CASE("Statement maps constraint failures as documented", "[store][error]") {
  Fixture f;
  Statement ins = f.Prepare("INSERT INTO t(name, n, parent) VALUES (?1, ?2, ?3)");
  ins.BindText(1, "alice").BindInt64(2, 1).BindNull(3);
  REQUIRE(ins.Run().ok());

  ins.Reset();
  ins.BindText(1, "alice").BindInt64(2, 1);
  Status unique = ins.Run();
  CHECK(unique.code() == Code::kFailedPrecondition);
  CHECK(std::string(unique.message()).find("UNIQUE constraint failed: t.name") !=
        std::string::npos);

  ins.Reset();
  ins.BindText(1, "bob").BindInt64(2, 1).BindInt64(3, 99);
  CHECK(ins.Run().code() == Code::kFailedPrecondition);  // foreign key

  ins.Reset();
  ins.BindText(1, "carol").BindInt64(2, -1);
  CHECK(ins.Run().code() == Code::kInvalidArgument);  // CHECK

  ins.Reset();
  ins.BindNull(1);
  CHECK(ins.Run().code() == Code::kInvalidArgument);  // NOT NULL
}

TEST_CASE("Statement::Run refuses a statement that returns rows", "[store][error]") {
  Fixture f;
  Statement sel = f.Prepare("SELECT 1");
  CHECK(sel.Run().code() == Code::kFailedPrecondition);
}

TEST_CASE("Transaction commits, and rolls back when dropped", "[store]") {
  Fixture f;
  {
    auto tx = Transaction::Begin(*f.db);
    REQUIRE(tx.ok());
    CHECK(f.db->in_transaction());
    REQUIRE(f.db->Exec("INSERT INTO t(name) VALUES ('kept')").ok());
    REQUIRE(tx->Commit().ok());
    CHECK_FALSE(f.db->in_transaction());
    CHECK(tx->Commit().code() == Code::kFailedPrecondition);
  }
  {
    auto tx = Transaction::Begin(*f.db);
    REQUIRE(tx.ok());
    REQUIRE(f.db->Exec("INSERT INTO t(name) VALUES ('dropped')").ok());
  }
  CHECK_FALSE(f.db->in_transaction());
  CHECK(*f.db->QueryInt64("SELECT count(*) FROM t") == 1);
  CHECK(*f.db->QueryInt64("SELECT count(*) FROM t WHERE name = 'kept'") == 1);
}

TEST_CASE("Transaction refuses to nest and survives a move", "[store][error]") {
  Fixture f;
  auto tx = Transaction::Begin(*f.db);
  REQUIRE(tx.ok());
  auto inner = Transaction::Begin(*f.db);
  REQUIRE_FALSE(inner.ok());
  CHECK(inner.status().code() == Code::kFailedPrecondition);
  Transaction moved = std::move(*tx);
  REQUIRE(f.db->Exec("INSERT INTO t(name) VALUES ('x')").ok());
  CHECK(tx->Commit().code() == Code::kFailedPrecondition);  // moved from
  REQUIRE(moved.Commit().ok());
  CHECK(*f.db->QueryInt64("SELECT count(*) FROM t") == 1);
}

}  // namespace
}  // namespace confab::store
