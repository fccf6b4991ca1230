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

// A real Ed25519 public key (the directory also stores its X25519 form, so
// it must be a valid point), different for each `fill`.
Bytes Key(uint8_t fill) {
  auto key = crypto::SigningKey::FromSeed(Bytes(32, fill));
  REQUIRE(key.ok());
  return Bytes(key->public_key().begin(), key->public_key().end());
}

// Stands in for crypto::HashInviteSecret: the directory only needs distinct
// 32-byte values, and must not care how they were made.
Bytes Hash(std::string_view secret) {
  Bytes h(kInviteHashBytes, 0xee);
  std::copy_n(secret.begin(), std::min(secret.size(), h.size()), h.begin());
  return h;
}

// A fake issuer: the "certificate" spells out what it was asked to sign.
Result<Bytes> FakeIssue(const Issuance& in) {
  std::string cert = in.name + "/" + std::to_string(in.serial) + "/" + std::to_string(in.issued_at);
  return ToBytes(AsBytes(cert));
}

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

TEST_CASE("Directory enrolls a member from an invite", "[directory]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("s3cret"), kNow, kWeek).ok());
  auto m = f.dir->Enroll(Hash("s3cret"), Key(1), kNow + 60, FakeIssue);
  REQUIRE(m.ok());
  CHECK(m->name == "alice");
  CHECK(m->identity_key == Key(1));
  CHECK(m->serial == 1);
  CHECK(AsChars(m->certificate) == "alice/1/" + std::to_string(kNow + 60));
  CHECK(m->enrolled_at == kNow + 60);
  CHECK_FALSE(m->revoked);

  auto got = f.dir->GetMember("alice");
  REQUIRE(got.ok());
  CHECK(got->certificate == m->certificate);
  auto by_key = f.dir->GetMemberByKey(Key(1));
  REQUIRE(by_key.ok());
  CHECK(by_key->name == "alice");
  CHECK_FALSE(*f.dir->IsRevoked("alice"));
  CHECK_FALSE(*f.dir->IsKeyRevoked(Key(1)));

  auto audit = f.Audit();
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].action == AuditAction::kJoin);  // newest first
  CHECK(audit[0].actor == "alice");
  CHECK(audit[1].action == AuditAction::kInvite);
  CHECK(audit[1].actor == "ops");
  CHECK(audit[1].subject == "alice");
  CHECK(audit[0].id > audit[1].id);
}

TEST_CASE("Directory keeps members, serials and audit across a reopen", "[directory]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  f.MustJoin("bob", "b", 2);
  f.Reopen();
  auto members = f.dir->ListMembers();
  REQUIRE(members.ok());
  REQUIRE(members->size() == 2);
  CHECK((*members)[0].name == "alice");
  CHECK((*members)[1].name == "bob");
  CHECK(*f.dir->NextSerial() == 3);
  CHECK(f.Audit().size() == 4);
}

TEST_CASE("Directory remembers when a member was last online, across a reopen", "[directory]") {
  Fixture f;
  Member m = f.MustJoin("alice", "s", 1);
  CHECK(m.last_seen == 0);
  REQUIRE(f.dir->RecordLastSeen("alice", kNow + 500).ok());
  f.Reopen();
  auto back = f.dir->GetMember("alice");
  REQUIRE(back.ok());
  CHECK(back->last_seen == kNow + 500);
  CHECK(f.dir->RecordLastSeen("nobody", kNow).code() == Status::Code::kNotFound);
}

TEST_CASE("Directory records many last-seen times in one call and skips unknown names",
          "[directory]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  f.MustJoin("bob", "b", 2);
  REQUIRE(f.dir->RecordLastSeen({{"alice", kNow + 7}, {"ghost", kNow}, {"bob", kNow + 9}}).ok());
  CHECK(f.dir->GetMember("alice")->last_seen == kNow + 7);
  CHECK(f.dir->GetMember("bob")->last_seen == kNow + 9);
  CHECK(f.dir->RecordLastSeen(std::vector<std::pair<std::string, int64_t>>{}).ok());
}

TEST_CASE("NextSerial increases monotonically", "[directory]") {
  Fixture f;
  CHECK(*f.dir->NextSerial() == 1);
  CHECK(*f.dir->NextSerial() == 2);
  auto m = f.MustJoin("alice", "a", 1);
  CHECK(m.serial == 3);
  CHECK(*f.dir->NextSerial() == 4);
}

TEST_CASE("A second invite for a name replaces the pending one", "[directory]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("first"), kNow, kWeek).ok());
  REQUIRE(f.dir->CreateInvite("alice", Hash("second"), kNow + 1, kWeek).ok());
  auto old = f.dir->Enroll(Hash("first"), Key(1), kNow + 2, FakeIssue);
  CHECK(old.status().code() == Code::kNotFound);
  auto m = f.dir->Enroll(Hash("second"), Key(1), kNow + 2, FakeIssue);
  REQUIRE(m.ok());
  CHECK(f.Audit()[2].detail.find("replaced the pending invite") != std::string::npos);
}

TEST_CASE("AppendAudit and ListAudit keep order and honour the limit", "[directory]") {
  Fixture f;
  for (int i = 0; i < 5; ++i)
    REQUIRE(f.dir->AppendAudit(kNow + i, "alice", AuditAction::kLookup, "bob", "").ok());
  auto last = f.dir->ListAudit(2);
  REQUIRE(last.ok());
  REQUIRE(last->size() == 2);
  CHECK((*last)[0].time == kNow + 4);
  CHECK((*last)[1].time == kNow + 3);
  CHECK((*last)[0].action == AuditAction::kLookup);
  CHECK(f.dir->ListAudit(0)->empty());
}

// Tests of the error paths in Directory follow. Each refusal must leave the
// directory unchanged apart from one audit entry.

TEST_CASE("Enroll refuses a wrong code and records only the refusal", "[directory][error]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("right"), kNow, kWeek).ok());
  auto m = f.dir->Enroll(Hash("wrong"), Key(1), kNow + 1, FakeIssue);
  CHECK(m.status().code() == Code::kNotFound);
  CHECK(m.status().message() == "unknown invite code");
  CHECK(f.dir->ListMembers()->empty());
  auto audit = f.Audit();
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].action == AuditAction::kJoinRefused);
  CHECK(audit[0].actor == "key:" + ToHex(Key(1)).substr(0, 16));
  CHECK(audit[0].detail.find("unknown invite code") != std::string::npos);
  // The right code still works afterwards.
  CHECK(f.dir->Enroll(Hash("right"), Key(1), kNow + 2, FakeIssue).ok());
}

TEST_CASE("Enroll refuses a reused code", "[directory][error]") {
  Fixture f;
  f.MustJoin("alice", "once", 1);
  auto again = f.dir->Enroll(Hash("once"), Key(2), kNow + 20, FakeIssue);
  CHECK(again.status().code() == Code::kFailedPrecondition);
  CHECK(again.status().message() == "invite code already used");
  CHECK(f.dir->ListMembers()->size() == 1);
  CHECK(f.dir->GetMemberByKey(Key(2)).status().code() == Code::kNotFound);
  CHECK(f.Audit()[0].subject == "alice");
}

TEST_CASE("Enroll refuses an expired code, at and after the expiry second", "[directory][error]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("late"), kNow, 3600).ok());
  for (int64_t when : {kNow + 3600, kNow + 999999}) {
    auto m = f.dir->Enroll(Hash("late"), Key(1), when, FakeIssue);
    CHECK(m.status().code() == Code::kFailedPrecondition);
    CHECK(m.status().message() == "invite code expired");
  }
  CHECK(f.dir->Enroll(Hash("late"), Key(1), kNow + 3599, FakeIssue).ok());  // last good second
}

TEST_CASE("A failing issuer rolls back: the invite stays unused, no serial is burnt",
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

TEST_CASE("Enroll refuses a revoked key and an already-enrolled key", "[directory][error]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  REQUIRE(f.dir->CreateInvite("bob", Hash("b"), kNow, kWeek).ok());
  auto dup = f.dir->Enroll(Hash("b"), Key(1), kNow + 20, FakeIssue);
  CHECK(dup.status().code() == Code::kFailedPrecondition);
  CHECK(dup.status().message() == "this identity key is already enrolled as 'alice'");

  REQUIRE(f.dir->Revoke("alice", kNow + 30, "laptop stolen").ok());
  auto revoked = f.dir->Enroll(Hash("b"), Key(1), kNow + 40, FakeIssue);
  CHECK(revoked.status().code() == Code::kPermissionDenied);
  CHECK(f.dir->GetMember("bob").status().code() == Code::kNotFound);
  CHECK(f.dir->Enroll(Hash("b"), Key(2), kNow + 50, FakeIssue).ok());  // invite still good
}

TEST_CASE("Enroll and CreateInvite refuse malformed input", "[directory][error]") {
  Fixture f;
  CHECK(f.dir->Enroll(Bytes(31), Key(1), kNow, FakeIssue).status().code() ==
        Code::kInvalidArgument);
  CHECK(f.dir->Enroll(Hash("x"), Bytes(33), kNow, FakeIssue).status().code() ==
        Code::kInvalidArgument);
  CHECK(f.dir->Enroll(Hash("x"), Bytes(33), kNow, FakeIssue).status().code() ==
        Code::kInvalidArgument);
  CHECK(f.Audit()[0].actor == "key:invalid");
  for (const std::string& name :
       std::vector<std::string>{"", "Alice", "-alice", "al ice", "al/ice", "ålice",
                                std::string(kMaxNameBytes + 1, 'a')}) {
    INFO(name);
    CHECK(f.dir->CreateInvite(name, Hash("x"), kNow, kWeek).code() == Code::kInvalidArgument);
  }
  CHECK(f.dir->CreateInvite("bob", Bytes(16), kNow, kWeek).code() == Code::kInvalidArgument);
  CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, 0).code() == Code::kInvalidArgument);
  CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, -5).code() == Code::kInvalidArgument);
  CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, kMaxInviteTtlSeconds + 1).code() ==
        Code::kInvalidArgument);
  CHECK(f.dir->CreateInvite("b0b.x_y-z", Hash("x"), kNow, kMaxInviteTtlSeconds).ok());
  // The same secret hash for another name collides with the pending invite.
  CHECK(f.dir->CreateInvite("carol", Hash("x"), kNow, kWeek).code() == Code::kFailedPrecondition);
}

TEST_CASE("CreateInvite refuses an enrolled or a revoked name", "[directory][error]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  Status dup = f.dir->CreateInvite("alice", Hash("again"), kNow, kWeek);
  CHECK(dup.code() == Code::kFailedPrecondition);
  CHECK(dup.message() == "'alice' is already enrolled");
  REQUIRE(f.dir->Revoke("alice", kNow + 1, "left").ok());
  Status revoked = f.dir->CreateInvite("alice", Hash("again"), kNow, kWeek);
  CHECK(revoked.code() == Code::kFailedPrecondition);
  CHECK(revoked.message() ==
        "'alice' was revoked; free the name with `confab-tracker reinstate alice` before inviting "
        "it again");
  CHECK(f.Count("SELECT count(*) FROM invites WHERE name = 'alice'") == 1);
}

TEST_CASE("Revoke marks the member and its key; Reinstate frees only the name", "[directory]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  REQUIRE(f.dir->Revoke("alice", kNow + 100, "laptop stolen").ok());
  auto m = f.dir->GetMember("alice");
  REQUIRE(m.ok());
  CHECK(m->revoked);
  CHECK(m->revoked_at == kNow + 100);
  CHECK(m->revoke_reason == "laptop stolen");
  CHECK(*f.dir->IsRevoked("alice"));
  CHECK(*f.dir->IsKeyRevoked(Key(1)));

  REQUIRE(f.dir->Reinstate("alice", kNow + 200).ok());
  CHECK(f.dir->GetMember("alice").status().code() == Code::kNotFound);
  CHECK(*f.dir->IsKeyRevoked(Key(1)));  // the old key stays revoked
  REQUIRE(f.dir->CreateInvite("alice", Hash("new"), kNow + 300, kWeek).ok());
  CHECK(f.dir->Enroll(Hash("new"), Key(1), kNow + 301, FakeIssue).status().code() ==
        Code::kPermissionDenied);
  auto back = f.dir->Enroll(Hash("new"), Key(9), kNow + 302, FakeIssue);
  REQUIRE(back.ok());
  CHECK(back->serial == 2);
  CHECK_FALSE(*f.dir->IsRevoked("alice"));
}

TEST_CASE("Revoke, Reinstate and IsRevoked refuse the wrong state", "[directory][error]") {
  Fixture f;
  CHECK(f.dir->Revoke("nobody", kNow, "x").code() == Code::kNotFound);
  CHECK(f.dir->Reinstate("nobody", kNow).code() == Code::kNotFound);
  CHECK(f.dir->IsRevoked("nobody").status().code() == Code::kNotFound);
  f.MustJoin("alice", "a", 1);
  CHECK(f.dir->Revoke("alice", kNow, "").code() == Code::kInvalidArgument);
  CHECK(f.dir->Reinstate("alice", kNow).code() == Code::kFailedPrecondition);
  REQUIRE(f.dir->Revoke("alice", kNow, "left").ok());
  CHECK(f.dir->Revoke("alice", kNow, "again").code() == Code::kFailedPrecondition);
  CHECK(f.Count("SELECT count(*) FROM revocations") == 1);
}

TEST_CASE("The audit log refuses UPDATE and DELETE", "[directory][error]") {
  Fixture f;
  f.MustJoin("alice", "a", 1);
  auto db = store::Database::Open(f.tmp.File("directory.db"), {});
  REQUIRE(db.ok());
  Status update = (*db)->Exec("UPDATE audit SET actor = 'mallory'");
  CHECK(update.code() == Code::kFailedPrecondition);
  CHECK(std::string(update.message()).find("append-only") != std::string::npos);
  CHECK((*db)->Exec("DELETE FROM audit").code() == Code::kFailedPrecondition);
  CHECK(f.Audit().size() == 2);
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

TEST_CASE("Renew reissues a member's certificate for the same key with a new serial, audited",
          "[directory][issue-18]") {
  Fixture f;
  const Member before = f.MustJoin("alice", "a", 1);
  f.MustJoin("bob", "b", 2);
  auto renewed = f.dir->Renew("alice", kNow + 500, "auto", FakeIssue);
  REQUIRE(renewed.ok());
  CHECK(renewed->serial == 3);
  CHECK(renewed->identity_key == Key(1));
  CHECK(renewed->certificate ==
        ToBytes(AsBytes(std::string("alice/3/") + std::to_string(kNow + 500))));
  CHECK(renewed->certificate != before.certificate);
  f.Reopen();  // durable
  auto stored = f.dir->GetMember("alice");
  REQUIRE(stored.ok());
  CHECK(stored->serial == 3);
  CHECK(stored->certificate == renewed->certificate);
  CHECK(stored->enrolled_at == before.enrolled_at);
  CHECK(f.dir->GetMemberByKey(Key(1))->serial == 3);
  std::vector<AuditEntry> renewals;
  for (const AuditEntry& e : f.Audit()) {
    if (e.action == AuditAction::kRenew)
      renewals.push_back(e);
  }
  REQUIRE(renewals.size() == 1);
  const AuditEntry& last = renewals.front();
  CHECK(last.time == kNow + 500);
  CHECK(last.actor == "auto");
  CHECK(last.subject == "alice");
  CHECK(last.detail == "serial 1 -> 3");
}

TEST_CASE("Renew refuses an unknown or revoked member and a failing issuer, changing nothing",
          "[directory][issue-18][error]") {
  Fixture f;
  CHECK(f.dir->Renew("nobody", kNow, "ops", FakeIssue).status().code() == Code::kNotFound);
  const Member alice = f.MustJoin("alice", "a", 1);
  auto failing = [](const Issuance&) -> Result<Bytes> {
    return Status::InvalidArgument("no signing today");
  };
  CHECK(f.dir->Renew("alice", kNow + 1, "ops", failing).status().code() == Code::kInvalidArgument);
  CHECK(f.dir->GetMember("alice")->certificate == alice.certificate);
  REQUIRE(f.dir->Revoke("alice", kNow + 2, "left").ok());
  CHECK(f.dir->Renew("alice", kNow + 3, "ops", FakeIssue).status().code() ==
        Code::kPermissionDenied);
  CHECK(f.dir->GetMember("alice")->serial == alice.serial);
}

}  // namespace
}  // namespace confab::tracker

namespace confab::tracker {
namespace {

TEST_CASE("Directory finds a member by their Noise static key", "[directory]") {
  Fixture f;
  Member alice = f.MustJoin("alice", "a", 1);
  auto key = crypto::Ed25519PublicKeyFromBytes(alice.identity_key);
  REQUIRE(key.ok());
  auto noise_key = crypto::X25519FromEd25519(*key);
  REQUIRE(noise_key.ok());
  auto found = f.dir->GetMemberByNoiseKey(*noise_key);
  REQUIRE(found.ok());
  CHECK(found->name == "alice");
  f.Reopen();
  CHECK(f.dir->GetMemberByNoiseKey(*noise_key)->name == "alice");
  CHECK(f.dir->GetMemberByNoiseKey(Bytes(32, 9)).status().code() == Status::Code::kNotFound);
}

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

TEST_CASE("Enroll refuses an identity key that is not a valid point", "[directory][error]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("alice", Hash("s"), kNow, kWeek).ok());
  Bytes bad(32, 0xff);
  auto m = f.dir->Enroll(Hash("s"), bad, kNow + 1, FakeIssue);
  CHECK_FALSE(m.ok());
  CHECK(f.dir->GetMember("alice").status().code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace confab::tracker
