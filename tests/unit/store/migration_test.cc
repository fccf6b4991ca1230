#include "common/store/migration.h"

#include <catch2/catch.hpp>

#include "common/store/database.h"

#include "temp_dir.h"

namespace confab::store {
namespace {

using Code = Status::Code;

constexpr std::string_view kV1 = "CREATE TABLE a(x INTEGER);";
constexpr std::string_view kV2 = "CREATE TABLE b(y INTEGER); INSERT INTO b VALUES (2);";
constexpr std::string_view kV3 = "ALTER TABLE a ADD COLUMN z TEXT;";

std::unique_ptr<Database> MustOpen(const std::string& path) {
  auto db = Database::Open(path, {});
  REQUIRE(db.ok());
  return std::move(db).value();
}

TEST_CASE("Migrate applies scripts in order and records user_version", "[store]") {
  TempDir dir;
  auto db = MustOpen(dir.File("m.db"));
  const std::string_view two[] = {kV1, kV2};
  REQUIRE(Migrate(*db, two).ok());
  CHECK(*db->QueryInt64("PRAGMA user_version") == 2);
  CHECK(*db->QueryInt64("SELECT y FROM b") == 2);
  REQUIRE(Migrate(*db, two).ok());  // idempotent: scripts are not run again
  CHECK(*db->QueryInt64("SELECT count(*) FROM b") == 1);

  const std::string_view three[] = {kV1, kV2, kV3};
  REQUIRE(Migrate(*db, three).ok());
  CHECK(*db->QueryInt64("PRAGMA user_version") == 3);
  CHECK(db->Exec("INSERT INTO a(x, z) VALUES (1, 'z')").ok());
  CHECK_FALSE(db->in_transaction());
}

TEST_CASE("Migrate with no scripts leaves a new database at version 0", "[store]") {
  TempDir dir;
  auto db = MustOpen(dir.File("m.db"));
  REQUIRE(Migrate(*db, {}).ok());
  CHECK(*db->QueryInt64("PRAGMA user_version") == 0);
}

// Tests of the error paths in Migrate follow.

TEST_CASE("Migrate refuses a database newer than the code", "[store][error]") {
  TempDir dir;
  auto db = MustOpen(dir.File("m.db"));
  const std::string_view three[] = {kV1, kV2, kV3};
  REQUIRE(Migrate(*db, three).ok());
  const std::string_view two[] = {kV1, kV2};
  Status s = Migrate(*db, two);
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK(
      std::string(s.message()).find("schema version 3, newer than this program understands (2)") !=
      std::string::npos);
  CHECK(*db->QueryInt64("PRAGMA user_version") == 3);
  CHECK_FALSE(db->in_transaction());
}

TEST_CASE("A failing migration script leaves the database at its old version", "[store][error]") {
  TempDir dir;
  auto db = MustOpen(dir.File("m.db"));
  const std::string_view one[] = {kV1};
  REQUIRE(Migrate(*db, one).ok());
  // Script 2 works, script 3 fails halfway through: neither may stick.
  const std::string_view broken[] = {kV1, kV2,
                                     "CREATE TABLE c(z); INSERT INTO nowhere VALUES (1);"};
  Status s = Migrate(*db, broken);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(std::string(s.message()).find("migration to schema version 3") != std::string::npos);
  CHECK(std::string(s.message()).find("no such table: nowhere") != std::string::npos);
  CHECK(*db->QueryInt64("PRAGMA user_version") == 1);
  CHECK(*db->QueryInt64("SELECT count(*) FROM sqlite_schema WHERE name IN ('b', 'c')") == 0);
  CHECK_FALSE(db->in_transaction());
}

}  // namespace
}  // namespace confab::store
