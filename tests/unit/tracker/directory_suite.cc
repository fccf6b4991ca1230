#include "tests/unit/tracker/directory_suite.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"

namespace confab::testing {

Bytes Key(uint8_t fill) {
  auto key = crypto::SigningKey::FromSeed(Bytes(32, fill));
  REQUIRE(key.ok());
  return Bytes(key->public_key().begin(), key->public_key().end());
}

Bytes Hash(std::string_view secret) {
  Bytes h(tracker::kInviteHashBytes, 0xee);
  std::copy_n(secret.begin(), std::min(secret.size(), h.size()), h.begin());
  return h;
}

Result<Bytes> FakeIssue(const tracker::Issuance& in) {
  std::string cert = in.name + "/" + std::to_string(in.serial) + "/" + std::to_string(in.issued_at);
  return ToBytes(AsBytes(cert));
}

namespace {

using tracker::AuditAction;
using tracker::AuditEntry;
using tracker::DirectoryStore;
using tracker::Issuance;
using tracker::kInviteHashBytes;
using tracker::kMaxInviteTtlSeconds;
using tracker::kMaxNameBytes;
using tracker::Member;
using Code = Status::Code;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kWeek = 7 * 86400;

Bytes NoiseKey(const Bytes& identity_key) {
  auto key = crypto::Ed25519PublicKeyFromBytes(identity_key);
  REQUIRE(key.ok());
  auto noise = crypto::X25519FromEd25519(*key);
  REQUIRE(noise.ok());
  return Bytes(noise->begin(), noise->end());
}

struct Suite {
  explicit Suite(DirectoryBackend& b) : backend(b), dir(b.OpenFresh()) { REQUIRE(dir); }
  void Reopen() {
    dir.reset();
    dir = backend.OpenAgain();
    REQUIRE(dir);
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
  DirectoryBackend& backend;
  std::unique_ptr<DirectoryStore> dir;
};

}  // namespace

void RunDirectorySuite(DirectoryBackend& backend) {
  Suite f(backend);

  SECTION("a member enrolls from an invite, and is found by name, key and Noise key") {
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
    CHECK(got->identity_key == Key(1));
    CHECK(f.dir->GetMemberByKey(Key(1))->name == "alice");
    CHECK(f.dir->GetMemberByNoiseKey(NoiseKey(Key(1)))->name == "alice");
    CHECK(f.dir->GetMemberByNoiseKey(Bytes(32, 9)).status().code() == Code::kNotFound);
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

  SECTION("members, serials, last-seen times and the audit survive a reopen") {
    f.MustJoin("bob", "b", 2);
    f.MustJoin("alice", "a", 1);
    REQUIRE(f.dir->RecordLastSeen("alice", kNow + 500).ok());
    f.Reopen();
    auto members = f.dir->ListMembers();
    REQUIRE(members.ok());
    REQUIRE(members->size() == 2);
    CHECK((*members)[0].name == "alice");  // sorted by name
    CHECK((*members)[1].name == "bob");
    CHECK((*members)[0].last_seen == kNow + 500);
    CHECK((*members)[1].last_seen == 0);
    CHECK(*f.dir->NextSerial() == 3);
    CHECK(f.Audit().size() == 4);
    CHECK(f.dir->GetMemberByNoiseKey(NoiseKey(Key(2)))->name == "bob");
  }

  SECTION("last-seen times are recorded one at a time or many at once, unknown names skipped") {
    f.MustJoin("alice", "a", 1);
    f.MustJoin("bob", "b", 2);
    CHECK(f.dir->RecordLastSeen("nobody", kNow).code() == Code::kNotFound);
    REQUIRE(f.dir->RecordLastSeen({{"alice", kNow + 7}, {"ghost", kNow}, {"bob", kNow + 9}}).ok());
    CHECK(f.dir->GetMember("alice")->last_seen == kNow + 7);
    CHECK(f.dir->GetMember("bob")->last_seen == kNow + 9);
    CHECK(f.dir->RecordLastSeen(std::vector<std::pair<std::string, int64_t>>{}).ok());
  }

  SECTION("serials increase monotonically and are shared with enrollment") {
    CHECK(*f.dir->NextSerial() == 1);
    CHECK(*f.dir->NextSerial() == 2);
    CHECK(f.MustJoin("alice", "a", 1).serial == 3);
    CHECK(*f.dir->NextSerial() == 4);
  }

  SECTION("a second invite for a name replaces the pending one") {
    REQUIRE(f.dir->CreateInvite("alice", Hash("first"), kNow, kWeek).ok());
    REQUIRE(f.dir->CreateInvite("alice", Hash("second"), kNow + 1, kWeek).ok());
    CHECK(f.dir->Enroll(Hash("first"), Key(1), kNow + 2, FakeIssue).status().code() ==
          Code::kNotFound);
    REQUIRE(f.dir->Enroll(Hash("second"), Key(1), kNow + 2, FakeIssue).ok());
    CHECK(f.Audit()[2].detail.find("replaced the pending invite") != std::string::npos);
  }

  SECTION("the audit keeps order and honours the limit") {
    for (int i = 0; i < 5; ++i)
      REQUIRE(f.dir->AppendAudit(kNow + i, "alice", AuditAction::kLookup, "bob", "").ok());
    REQUIRE(f.dir
                ->AppendAudits({{0, kNow + 5, "bob", AuditAction::kLookupRefused, "carol", "x"},
                                {0, kNow + 6, "bob", AuditAction::kLookup, "alice", ""}})
                .ok());
    auto last = f.dir->ListAudit(3);
    REQUIRE(last.ok());
    REQUIRE(last->size() == 3);
    CHECK((*last)[0].time == kNow + 6);
    CHECK((*last)[1].action == AuditAction::kLookupRefused);
    CHECK((*last)[1].detail == "x");
    CHECK((*last)[2].time == kNow + 4);
    CHECK(f.dir->ListAudit(0)->empty());
    CHECK(f.Audit().size() == 7);
  }

  SECTION("the audit refuses UPDATE and DELETE from outside the store") {
    f.MustJoin("alice", "a", 1);
    Status update = backend.Exec("UPDATE audit SET actor = 'mallory'");
    CHECK_FALSE(update.ok());
    CHECK(std::string(update.message()).find("append-only") != std::string::npos);
    CHECK_FALSE(backend.Exec("DELETE FROM audit").ok());
    CHECK(f.Audit().size() == 2);
    CHECK(f.Audit()[0].actor == "alice");
  }

  SECTION("a wrong code is refused and only the refusal is recorded") {
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
    CHECK(f.dir->Enroll(Hash("right"), Key(1), kNow + 2, FakeIssue).ok());
  }

  SECTION("a used code is refused") {
    f.MustJoin("alice", "once", 1);
    auto again = f.dir->Enroll(Hash("once"), Key(2), kNow + 20, FakeIssue);
    CHECK(again.status().code() == Code::kFailedPrecondition);
    CHECK(again.status().message() == "invite code already used");
    CHECK(f.dir->ListMembers()->size() == 1);
    CHECK(f.dir->GetMemberByKey(Key(2)).status().code() == Code::kNotFound);
    CHECK(f.Audit()[0].subject == "alice");
  }

  SECTION("an expired code is refused at and after the expiry second") {
    REQUIRE(f.dir->CreateInvite("alice", Hash("late"), kNow, 3600).ok());
    for (int64_t when : {kNow + 3600, kNow + 999999}) {
      auto m = f.dir->Enroll(Hash("late"), Key(1), when, FakeIssue);
      CHECK(m.status().code() == Code::kFailedPrecondition);
      CHECK(m.status().message() == "invite code expired");
    }
    CHECK(f.dir->Enroll(Hash("late"), Key(1), kNow + 3599, FakeIssue).ok());
  }

  SECTION("a failing issuer changes nothing: the invite stays unused, the serial is not reused") {
    REQUIRE(f.dir->CreateInvite("alice", Hash("code"), kNow, kWeek).ok());
    auto failing = [](const Issuance&) -> Result<Bytes> {
      return Status::Unavailable("org key is locked");
    };
    auto m = f.dir->Enroll(Hash("code"), Key(1), kNow + 1, failing);
    CHECK(m.status().code() == Code::kUnavailable);
    CHECK(m.status().message() == "issue certificate: org key is locked");
    CHECK(f.dir->ListMembers()->empty());
    CHECK(backend.Count("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") == 0);
    auto ok = f.dir->Enroll(Hash("code"), Key(1), kNow + 2, FakeIssue);
    REQUIRE(ok.ok());
    CHECK(ok->serial >= 1);  // SQLite rolls the serial back; PostgreSQL's sequence leaves a gap
    CHECK(*f.dir->NextSerial() > ok->serial);
  }

  SECTION("a revoked key and an already-enrolled key are refused") {
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

  SECTION("malformed input is refused with InvalidArgument and nothing stored") {
    CHECK(f.dir->Enroll(Bytes(31), Key(1), kNow, FakeIssue).status().code() ==
          Code::kInvalidArgument);
    CHECK(f.dir->Enroll(Hash("x"), Bytes(33), kNow, FakeIssue).status().code() ==
          Code::kInvalidArgument);
    CHECK(f.Audit()[0].actor == "key:invalid");
    for (const std::string& name : std::vector<std::string>{
             "", "Alice", "-alice", "al ice", "al/ice", "ålice", "x'); DROP TABLE members; --",
             std::string(kMaxNameBytes + 1, 'a')}) {
      INFO(name);
      CHECK(f.dir->CreateInvite(name, Hash("x"), kNow, kWeek).code() == Code::kInvalidArgument);
    }
    CHECK(f.dir->CreateInvite("bob", Bytes(16), kNow, kWeek).code() == Code::kInvalidArgument);
    CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, 0).code() == Code::kInvalidArgument);
    CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, -5).code() == Code::kInvalidArgument);
    CHECK(f.dir->CreateInvite("bob", Hash("x"), kNow, kMaxInviteTtlSeconds + 1).code() ==
          Code::kInvalidArgument);
    CHECK(backend.Count("SELECT count(*) FROM invites") == 0);
    CHECK(f.dir->CreateInvite("b0b.x_y-z", Hash("x"), kNow, kMaxInviteTtlSeconds).ok());
    // The same secret hash for another name collides with the pending invite.
    CHECK(f.dir->CreateInvite("carol", Hash("x"), kNow, kWeek).code() == Code::kFailedPrecondition);
    CHECK(backend.Count("SELECT count(*) FROM invites") == 1);
    // Bytes that are not a valid key point.
    REQUIRE(f.dir->CreateInvite("dave", Hash("d"), kNow, kWeek).ok());
    CHECK_FALSE(f.dir->Enroll(Hash("d"), Bytes(32, 0xff), kNow + 1, FakeIssue).ok());
    CHECK(f.dir->GetMember("dave").status().code() == Code::kNotFound);
  }

  SECTION("names with quotes and SQL in them are data, not SQL") {
    // Not valid member names, so they never reach storage as names; but a
    // revocation reason and audit details are free text.
    f.MustJoin("alice", "a", 1);
    const std::string reason = "it's gone'); DELETE FROM members; --";
    REQUIRE(f.dir->Revoke("alice", kNow + 1, reason).ok());
    CHECK(f.dir->GetMember("alice")->revoke_reason == reason);
    CHECK(f.dir->GetMember("x' OR '1'='1").status().code() == Code::kNotFound);
    CHECK(backend.Count("SELECT count(*) FROM members") == 1);
  }

  SECTION("an enrolled or a revoked name cannot be invited") {
    f.MustJoin("alice", "a", 1);
    Status dup = f.dir->CreateInvite("alice", Hash("again"), kNow, kWeek);
    CHECK(dup.code() == Code::kFailedPrecondition);
    CHECK(dup.message() == "'alice' is already enrolled");
    REQUIRE(f.dir->Revoke("alice", kNow + 1, "left").ok());
    Status revoked = f.dir->CreateInvite("alice", Hash("again"), kNow, kWeek);
    CHECK(revoked.code() == Code::kFailedPrecondition);
    CHECK(revoked.message() ==
          "'alice' was revoked; free the name with `confab-tracker reinstate alice` before "
          "inviting it again");
    CHECK(backend.Count("SELECT count(*) FROM invites WHERE name = 'alice'") == 1);
  }

  SECTION("revoking marks the member and its key; reinstating frees only the name") {
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
    auto audit = f.Audit();
    CHECK(audit[audit.size() - 3].action == AuditAction::kRevoke);
    CHECK(audit[audit.size() - 4].action == AuditAction::kReinstate);
  }

  SECTION("revoke, reinstate and is-revoked refuse the wrong state") {
    CHECK(f.dir->Revoke("nobody", kNow, "x").code() == Code::kNotFound);
    CHECK(f.dir->Reinstate("nobody", kNow).code() == Code::kNotFound);
    CHECK(f.dir->IsRevoked("nobody").status().code() == Code::kNotFound);
    f.MustJoin("alice", "a", 1);
    CHECK(f.dir->Revoke("alice", kNow, "").code() == Code::kInvalidArgument);
    CHECK(f.dir->Reinstate("alice", kNow).code() == Code::kFailedPrecondition);
    REQUIRE(f.dir->Revoke("alice", kNow, "left").ok());
    CHECK(f.dir->Revoke("alice", kNow, "again").code() == Code::kFailedPrecondition);
    CHECK(backend.Count("SELECT count(*) FROM revocations") == 1);
  }

  SECTION("two trackers racing on one invite: exactly one enrolls") {
    REQUIRE(f.dir->CreateInvite("alice", Hash("race"), kNow, kWeek).ok());
    std::unique_ptr<DirectoryStore> other = backend.OpenAgain();
    REQUIRE(other);
    // Both issuers wait until both enrollments are inside their
    // transactions, or until one is blocked behind the other's lock.
    std::atomic<int> issuing{0};
    auto slow_issue = [&](const Issuance& in) -> Result<Bytes> {
      ++issuing;
      for (int i = 0; i < 100 && issuing.load() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return FakeIssue(in);
    };
    Result<Member> a = Status::Unavailable("not run");
    Result<Member> b = Status::Unavailable("not run");
    std::thread ta([&] { a = f.dir->Enroll(Hash("race"), Key(1), kNow + 1, slow_issue); });
    std::thread tb([&] { b = other->Enroll(Hash("race"), Key(2), kNow + 1, slow_issue); });
    ta.join();
    tb.join();
    INFO("a: " << a.status().ToString() << "; b: " << b.status().ToString());
    CHECK(a.ok() != b.ok());
    const Result<Member>& lost = a.ok() ? b : a;
    CHECK(lost.status().code() == Code::kFailedPrecondition);
    CHECK(lost.status().message() == "invite code already used");
    auto members = f.dir->ListMembers();
    REQUIRE(members.ok());
    REQUIRE(members->size() == 1);
    CHECK((*members)[0].identity_key == (a.ok() ? Key(1) : Key(2)));
    CHECK(backend.Count("SELECT count(*) FROM audit WHERE action = 'join'") == 1);
    CHECK(backend.Count("SELECT count(*) FROM audit WHERE action = 'join-refused'") == 1);
  }

  SECTION("a second store on the same directory sees the first one's writes at once") {
    std::unique_ptr<DirectoryStore> other = backend.OpenAgain();
    REQUIRE(other);
    f.MustJoin("alice", "a", 1);
    CHECK(other->GetMemberByNoiseKey(NoiseKey(Key(1)))->name == "alice");
    REQUIRE(other->Revoke("alice", kNow + 5, "left").ok());
    CHECK(*f.dir->IsRevoked("alice"));
    CHECK(*f.dir->NextSerial() == 2);
    CHECK(*other->NextSerial() == 3);
  }

  SECTION("Renew reissues a member's certificate for the same key with a new serial, audited") {
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

  SECTION("Renew refuses an unknown or revoked member and a failing issuer, changing nothing") {
    CHECK(f.dir->Renew("nobody", kNow, "ops", FakeIssue).status().code() == Code::kNotFound);
    const Member alice = f.MustJoin("alice", "a", 1);
    auto failing = [](const Issuance&) -> Result<Bytes> {
      return Status::InvalidArgument("no signing today");
    };
    CHECK(f.dir->Renew("alice", kNow + 1, "ops", failing).status().code() ==
          Code::kInvalidArgument);
    CHECK(f.dir->GetMember("alice")->certificate == alice.certificate);
    REQUIRE(f.dir->Revoke("alice", kNow + 2, "left").ok());
    CHECK(f.dir->Renew("alice", kNow + 3, "ops", FakeIssue).status().code() ==
          Code::kPermissionDenied);
    CHECK(f.dir->GetMember("alice")->serial == alice.serial);
  }
}

}  // namespace confab::testing
