#include "tracker/directory.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "common/store/database.h"
#include "common/store/migration.h"

#include "tests/unit/tracker/directory_suite.h"

namespace confab::tracker {
namespace {

using Code = Status::Code;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kWeek = 7 * 86400;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "confab-dir-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

using testing::FakeIssue;
using testing::Hash;
using testing::Key;

struct Fixture {
  Fixture() { Reopen(); }
  void Reopen() {
    dir.reset();
    auto opened = Directory::Open(tmp.File("directory.db"));
    REQUIRE(opened.ok());
    dir = std::move(opened).value();
  }
  Member MustJoin(std::string_view name, std::string_view secret, uint8_t key) {
    REQUIRE(dir->CreateInvite(name, Hash(secret), kNow, kWeek).ok());
    auto m = dir->Enroll(Hash(secret), Key(key), kNow + 10, FakeIssue);
    REQUIRE(m.ok());
    return std::move(m).value();
  }
  std::vector<AuditEntry> Audit() {
    auto a = dir->ListAudit(100);
    REQUIRE(a.ok());
    return std::move(a).value();
  }
  int64_t Count(std::string_view sql) {
    auto db = store::Database::Open(tmp.File("directory.db"), {});
    REQUIRE(db.ok());
    auto n = (*db)->QueryInt64(sql);
    REQUIRE(n.ok());
    return *n;
  }
  TempDir tmp;
  std::unique_ptr<Directory> dir;
};

// The contract both backends share: tests/unit/tracker/directory_suite.cc.
class SqliteBackend : public confab::testing::DirectoryBackend {
 public:
  std::unique_ptr<DirectoryStore> OpenFresh() override {
    tmp_ = std::make_unique<TempDir>();
    return OpenAgain();
  }
  std::unique_ptr<DirectoryStore> OpenAgain() override {
    auto opened = Directory::Open(tmp_->File("directory.db"));
    REQUIRE(opened.ok());
    return std::move(opened).value();
  }
  int64_t Count(const std::string& sql) override {
    auto db = store::Database::Open(tmp_->File("directory.db"), {});
    REQUIRE(db.ok());
    auto n = (*db)->QueryInt64(sql);
    REQUIRE(n.ok());
    return *n;
  }
  Status Exec(const std::string& sql) override {
    auto db = store::Database::Open(tmp_->File("directory.db"), {});
    REQUIRE(db.ok());
    return (*db)->Exec(sql);
  }

 private:
  std::unique_ptr<TempDir> tmp_;
};

TEST_CASE("The SQLite directory passes the shared directory suite", "[directory]") {
  SqliteBackend backend;
  confab::testing::RunDirectorySuite(backend);
}

TEST_CASE("The SQLite directory passes the shared mailbox suite", "[directory][mailbox]") {
  SqliteBackend backend;
  confab::testing::RunMailboxSuite(backend);
}

// What only the SQLite directory does follows.

TEST_CASE("A failing SQLite enrollment rolls its serial back with the transaction",
          "[directory][error]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("code"), kNow, kWeek).ok());
  auto failing = [](const Issuance&) -> Result<Bytes> {
    return Status::Unavailable("org key is locked");
  };
  auto m = f.dir->Enroll(Hash("code"), Key(1), kNow + 1, failing);
  CHECK(m.status().code() == Code::kUnavailable);
  CHECK(m.status().message() == "issue certificate: org key is locked");
  CHECK(f.dir->ListMembers()->empty());
  CHECK(f.Count("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") == 0);
  auto ok = f.dir->Enroll(Hash("code"), Key(1), kNow + 2, FakeIssue);
  REQUIRE(ok.ok());
  CHECK(ok->serial == 1);  // the failed attempt's serial was rolled back too
}

TEST_CASE("A process that dies inside Enroll leaves nothing half-applied", "[directory][error]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("code"), kNow, kWeek).ok());
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child dies in the middle of the transaction: serial allocated,
    // nothing committed, the write lock held. No destructor runs.
    // SQLite connections must not cross fork(), so the child opens its own.
    auto crash = [](const Issuance&) -> Result<Bytes> { ::_exit(7); };
    auto own = Directory::Open(f.tmp.File("directory.db"));
    if (!own.ok())
      ::_exit(1);
    (void)(*own)->Enroll(Hash("code"), Key(1), kNow + 1, crash);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);
  f.Reopen();
  CHECK(f.dir->ListMembers()->empty());
  CHECK(f.Count("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") == 0);
  auto m = f.dir->Enroll(Hash("code"), Key(1), kNow + 2, FakeIssue);
  REQUIRE(m.ok());
  CHECK(m->serial == 1);
}

TEST_CASE("Directory::Open refuses a database from a newer confab", "[directory][error]") {
  TempDir tmp;
  {
    auto dir = Directory::Open(tmp.File("directory.db"));
    REQUIRE(dir.ok());
  }
  {
    auto db = store::Database::Open(tmp.File("directory.db"), {});
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  auto dir = Directory::Open(tmp.File("directory.db"));
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.status().code() == Code::kFailedPrecondition);
  CHECK(std::string(dir.status().message()).find("schema version 99") != std::string::npos);
}

TEST_CASE("Directory::Open on a garbage file is Corruption", "[directory][error]") {
  TempDir tmp;
  REQUIRE(std::system(("head -c 4096 /dev/urandom > " + tmp.File("directory.db")).c_str()) == 0);
  auto dir = Directory::Open(tmp.File("directory.db"));
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.status().code() == Code::kCorruption);
}

TEST_CASE("directory.db is created private to its owner", "[directory]") {
  Fixture f;
  struct stat st;
  REQUIRE(::stat(f.tmp.File("directory.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

}  // namespace
}  // namespace confab::tracker

namespace confab::tracker {
namespace {

TEST_CASE("Directory fills in Noise keys for members enrolled before schema 3", "[directory]") {
  Fixture f;
  Member alice = f.MustJoin("alice", "a", 1);
  {
    auto db = store::Database::Open(f.tmp.File("directory.db"), {});
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE members SET noise_key = NULL").ok());
  }
  f.Reopen();
  auto key = crypto::X25519FromEd25519(*crypto::Ed25519PublicKeyFromBytes(alice.identity_key));
  REQUIRE(key.ok());
  CHECK(f.dir->GetMemberByNoiseKey(*key)->name == "alice");
}

}  // namespace
}  // namespace confab::tracker
