// The SQLite directory's MailboxStore (issue 14): deposits, quotas, fetch
// pages, acknowledgements, expiry, and directory.db version 4's migration.
#include <fmt/format.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/store/database.h"
#include "common/store/migration.h"
#include "tracker/directory.h"
#include "tracker/directory_schema.h"

#include "../store/temp_dir.h"
#include "tests/unit/tracker/directory_suite.h"

namespace confab::tracker {
namespace {

using Code = Status::Code;
using testing::FakeIssue;
using testing::Hash;
using testing::Key;

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;
constexpr int64_t kLater = kNow + 30 * kDay;

Bytes Envelope(size_t size, uint8_t fill) {
  return Bytes(size, fill);
}

struct Fixture {
  Fixture() { Reopen(); }
  void Reopen() {
    dir.reset();
    auto opened = Directory::Open(path());
    REQUIRE(opened.ok());
    dir = std::move(opened).value();
  }
  std::string path() const { return tmp.File("directory.db"); }
  MailboxStore& mail() { return *dir->mailbox(); }
  uint64_t MustDeposit(std::string_view to, std::string_view from, const Bytes& envelope,
                       int64_t now = kNow, int64_t expires = kLater) {
    auto id = mail().Deposit(to, from, envelope, now, expires, MailboxQuota{});
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }
  MailboxPage MustFetch(std::string_view who, uint64_t after = 0, size_t count = 100,
                        size_t bytes = 1 << 20) {
    auto page = mail().Fetch(who, after, count, bytes);
    REQUIRE(page.ok());
    return std::move(page).value();
  }
  MailboxTotals MustTotals() {
    auto t = mail().Totals();
    REQUIRE(t.ok());
    return *t;
  }

  store::TempDir tmp;
  std::unique_ptr<Directory> dir;
};

TEST_CASE("The SQLite directory keeps envelopes for their recipient in the order deposited",
          "[directory][mailbox]") {
  Fixture f;
  REQUIRE(f.dir->mailbox() != nullptr);
  const uint64_t first = f.MustDeposit("bob", "alice", Envelope(100, 1));
  const uint64_t other = f.MustDeposit("carol", "alice", Envelope(50, 2));
  const uint64_t second = f.MustDeposit("bob", "dave", Envelope(200, 3), kNow + 5);
  CHECK(first < other);
  CHECK(other < second);

  MailboxPage page = f.MustFetch("bob");
  REQUIRE(page.envelopes.size() == 2);
  CHECK_FALSE(page.more);
  CHECK(page.envelopes[0].id == first);
  CHECK(page.envelopes[0].author == "alice");
  CHECK(page.envelopes[0].recipient == "bob");
  CHECK(page.envelopes[0].deposited_at == kNow);
  CHECK(page.envelopes[0].expires_at == kLater);
  CHECK(page.envelopes[0].envelope == Envelope(100, 1));
  CHECK(page.envelopes[1].id == second);
  CHECK(page.envelopes[1].author == "dave");
  CHECK(f.MustFetch("carol").envelopes.size() == 1);
  CHECK(f.MustFetch("nobody").envelopes.empty());
}

TEST_CASE("A deposited envelope is on disk when Deposit returns", "[directory][mailbox]") {
  Fixture f;
  const uint64_t id = f.MustDeposit("bob", "alice", Envelope(10, 7));
  // Another connection, as a restarted tracker would open it.
  auto again = Directory::Open(f.path());
  REQUIRE(again.ok());
  auto page = (*again)->Fetch("bob", 0, 10, 1000);
  REQUIRE(page.ok());
  REQUIRE(page->envelopes.size() == 1);
  CHECK(page->envelopes[0].id == id);
  CHECK(page->envelopes[0].envelope == Envelope(10, 7));
}

TEST_CASE("A fetch pages by count and bytes and always returns the first envelope",
          "[directory][mailbox]") {
  Fixture f;
  std::vector<uint64_t> ids;
  for (uint8_t i = 0; i < 5; ++i)
    ids.push_back(f.MustDeposit("bob", "alice", Envelope(1000, i)));

  MailboxPage two = f.MustFetch("bob", 0, 2);
  REQUIRE(two.envelopes.size() == 2);
  CHECK(two.more);
  CHECK(two.envelopes[1].id == ids[1]);

  MailboxPage rest = f.MustFetch("bob", two.envelopes.back().id, 10);
  REQUIRE(rest.envelopes.size() == 3);
  CHECK_FALSE(rest.more);
  CHECK(rest.envelopes[0].id == ids[2]);

  // 2,500 bytes hold two of 1,000; a bound below one envelope still gets one.
  MailboxPage by_bytes = f.MustFetch("bob", 0, 10, 2500);
  CHECK(by_bytes.envelopes.size() == 2);
  CHECK(by_bytes.more);
  MailboxPage tiny = f.MustFetch("bob", 0, 10, 10);
  CHECK(tiny.envelopes.size() == 1);
  CHECK(tiny.more);

  // Exactly the count left: nothing more.
  MailboxPage exact = f.MustFetch("bob", ids[2], 2);
  CHECK(exact.envelopes.size() == 2);
  CHECK_FALSE(exact.more);
  CHECK(f.MustFetch("bob", ids[4]).envelopes.empty());
}

TEST_CASE("A deposit over the recipient's quota is refused and stores nothing",
          "[directory][mailbox][error]") {
  Fixture f;
  const MailboxQuota quota{.max_bytes = 1000, .max_envelopes = 3};
  REQUIRE(f.mail().Deposit("bob", "alice", Envelope(400, 1), kNow, kLater, quota).ok());
  REQUIRE(f.mail().Deposit("bob", "alice", Envelope(600, 2), kNow, kLater, quota).ok());
  SECTION("by bytes") {
    auto full = f.mail().Deposit("bob", "alice", Envelope(1, 3), kNow, kLater, quota);
    CHECK(full.status().code() == Code::kResourceExhausted);
    CHECK(full.status().message() == "mailbox full");
    auto bob = f.mail().TotalsFor("bob");
    REQUIRE(bob.ok());
    CHECK(bob->bytes == 1000);
    CHECK(bob->envelopes == 2);
  }
  SECTION("by envelopes") {
    const MailboxQuota roomy{.max_bytes = 1 << 20, .max_envelopes = 3};
    REQUIRE(f.mail().Deposit("bob", "alice", Envelope(1, 3), kNow, kLater, roomy).ok());
    auto full = f.mail().Deposit("bob", "alice", Envelope(1, 4), kNow, kLater, roomy);
    CHECK(full.status().code() == Code::kResourceExhausted);
    CHECK(f.mail().TotalsFor("bob")->envelopes == 3);
  }
  // Another recipient's mailbox is its own.
  CHECK(f.mail().Deposit("carol", "alice", Envelope(1000, 5), kNow, kLater, quota).ok());
}

TEST_CASE("A malformed deposit is refused and stores nothing", "[directory][mailbox][error]") {
  Fixture f;
  auto refused = [&](std::string_view to, std::string_view from, const Bytes& envelope,
                     int64_t expires) {
    auto id = f.mail().Deposit(to, from, envelope, kNow, expires, MailboxQuota{});
    return id.status().code() == Code::kInvalidArgument;
  };
  CHECK(refused("bob", "alice", Bytes{}, kLater));
  CHECK(refused("bob", "alice", Envelope(kMaxEnvelopeBytes + 1, 1), kLater));
  CHECK(refused("", "alice", Envelope(1, 1), kLater));
  CHECK(refused("bob", std::string(65, 'a'), Envelope(1, 1), kLater));
  CHECK(refused("bob", "alice", Envelope(1, 1), kNow));
  CHECK(f.MustTotals().envelopes == 0);
  // The largest envelope allowed is stored.
  f.MustDeposit("bob", "alice", Envelope(kMaxEnvelopeBytes, 9));
  CHECK(f.MustTotals().bytes == kMaxEnvelopeBytes);
}

TEST_CASE("Acknowledge deletes only the recipient's own envelopes", "[directory][mailbox]") {
  Fixture f;
  const uint64_t a = f.MustDeposit("bob", "alice", Envelope(10, 1));
  const uint64_t b = f.MustDeposit("bob", "alice", Envelope(20, 2));
  const uint64_t c = f.MustDeposit("carol", "alice", Envelope(30, 3));
  // Carol's id and an unknown one, named by bob, are not his to delete.
  const std::vector<uint64_t> ids = {a, c, 999999};
  auto deleted = f.mail().Acknowledge("bob", ids);
  REQUIRE(deleted.ok());
  CHECK(deleted->envelopes == 1);
  CHECK(deleted->bytes == 10);
  MailboxPage bob = f.MustFetch("bob");
  REQUIRE(bob.envelopes.size() == 1);
  CHECK(bob.envelopes[0].id == b);
  CHECK(f.MustFetch("carol").envelopes.size() == 1);
  // Acknowledging again changes nothing.
  auto again = f.mail().Acknowledge("bob", ids);
  REQUIRE(again.ok());
  CHECK(again->envelopes == 0);
}

TEST_CASE("Ids are never reused after the newest envelope is deleted", "[directory][mailbox]") {
  Fixture f;
  const uint64_t a = f.MustDeposit("bob", "alice", Envelope(10, 1));
  const std::vector<uint64_t> ids = {a};
  REQUIRE(f.mail().Acknowledge("bob", ids).ok());
  f.Reopen();
  CHECK(f.MustDeposit("bob", "alice", Envelope(10, 2)) > a);
}

TEST_CASE("Expire deletes the envelopes past their time and counts them", "[directory][mailbox]") {
  Fixture f;
  f.MustDeposit("bob", "alice", Envelope(10, 1), kNow, kNow + kDay);
  f.MustDeposit("carol", "alice", Envelope(20, 2), kNow, kNow + kDay);
  const uint64_t kept = f.MustDeposit("bob", "alice", Envelope(30, 3), kNow, kNow + 2 * kDay);
  auto none = f.mail().Expire(kNow + kDay - 1);
  REQUIRE(none.ok());
  CHECK(none->envelopes == 0);
  auto expired = f.mail().Expire(kNow + kDay);
  REQUIRE(expired.ok());
  CHECK(expired->envelopes == 2);
  CHECK(expired->bytes == 30);
  MailboxPage bob = f.MustFetch("bob");
  REQUIRE(bob.envelopes.size() == 1);
  CHECK(bob.envelopes[0].id == kept);
  CHECK(f.MustFetch("carol").envelopes.empty());
}

TEST_CASE("The mailbox totals and its top recipients by bytes", "[directory][mailbox]") {
  Fixture f;
  f.MustDeposit("bob", "alice", Envelope(100, 1));
  f.MustDeposit("bob", "alice", Envelope(100, 2));
  f.MustDeposit("carol", "alice", Envelope(500, 3));
  f.MustDeposit("dave", "alice", Envelope(200, 4));
  f.MustDeposit("erin", "alice", Envelope(200, 5));
  MailboxTotals all = f.MustTotals();
  CHECK(all.envelopes == 5);
  CHECK(all.bytes == 1100);
  auto top = f.mail().TopRecipients(3);
  REQUIRE(top.ok());
  REQUIRE(top->size() == 3);
  CHECK((*top)[0].first == "carol");
  CHECK((*top)[1].first == "bob");  // 200 bytes, like dave and erin: by name
  CHECK((*top)[1].second.envelopes == 2);
  CHECK((*top)[2].first == "dave");
}

TEST_CASE("Reinstating a name deletes the envelopes held for it", "[directory][mailbox]") {
  Fixture f;
  REQUIRE(f.dir->CreateInvite("bob", Hash("b"), kNow, kDay).ok());
  REQUIRE(f.dir->Enroll(Hash("b"), Key(2), kNow, FakeIssue).ok());
  f.MustDeposit("bob", "alice", Envelope(10, 1));
  f.MustDeposit("carol", "alice", Envelope(10, 2));
  REQUIRE(f.dir->Revoke("bob", kNow, "left").ok());
  CHECK(f.MustFetch("bob").envelopes.size() == 1);  // revoking alone keeps them
  REQUIRE(f.dir->Reinstate("bob", kNow).ok());
  CHECK(f.MustFetch("bob").envelopes.empty());
  CHECK(f.MustFetch("carol").envelopes.size() == 1);
}

TEST_CASE("A version 3 directory.db migrates to the mailbox with nothing lost",
          "[directory][mailbox][migration]") {
  store::TempDir tmp;
  const std::string path = tmp.File("directory.db");
  // What the previous release wrote: schema scripts 1 to 3 and rows in
  // every table (real keys: Open fills in the Noise keys of version 3).
  auto hex = [](const Bytes& b) {
    std::string out;
    for (uint8_t c : b)
      out += fmt::format("{:02x}", c);
    return out;
  };
  {
    auto db = store::Database::Open(path, {});
    REQUIRE(db.ok());
    REQUIRE(store::Migrate(**db, DirectorySchema().first(3)).ok());
    REQUIRE(*(*db)->QueryInt64("PRAGMA user_version") == 3);
    REQUIRE((*db)
                ->Exec("INSERT INTO members(name, identity_key, certificate, serial, enrolled_at, "
                       "last_seen) VALUES ('alice', x'" +
                       hex(Key(1)) +
                       "', x'0102', 1, 100, 150);"
                       "INSERT INTO members(name, identity_key, certificate, serial, enrolled_at, "
                       "revoked_at, revoke_reason) VALUES ('bob', x'" +
                       hex(Key(2)) +
                       "', x'03', 2, 110, 120, 'left');"
                       "INSERT INTO revocations VALUES (2, 'bob', x'00', 120, 'left');"
                       "INSERT INTO invites VALUES (randomblob(32), 'carol', 100, 200, NULL);"
                       "UPDATE counters SET value = 2 WHERE name = 'certificate_serial';"
                       "INSERT INTO audit(time, actor, action, subject, detail) VALUES "
                       "(100, 'ops', 'invite', 'alice', 'x'), (110, 'alice', 'join', 'alice', "
                       "'y');")
                .ok());
  }
  auto opened = Directory::Open(path);
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  Directory& dir = **opened;
  {
    auto db = store::Database::Open(path, {});
    REQUIRE(db.ok());
    CHECK(*(*db)->QueryInt64("PRAGMA user_version") == 4);
    CHECK(*(*db)->QueryInt64("SELECT COUNT(*) FROM members") == 2);
    CHECK(*(*db)->QueryInt64("SELECT COUNT(*) FROM invites") == 1);
    CHECK(*(*db)->QueryInt64("SELECT COUNT(*) FROM revocations") == 1);
    CHECK(*(*db)->QueryInt64("SELECT COUNT(*) FROM audit") == 2);
    CHECK(*(*db)->QueryInt64("SELECT COUNT(*) FROM mailbox") == 0);
  }
  auto alice = dir.GetMember("alice");
  REQUIRE(alice.ok());
  CHECK(alice->last_seen == 150);
  CHECK(alice->certificate == Bytes{0x01, 0x02});
  CHECK(dir.GetMember("bob")->revoked);
  auto serial = dir.NextSerial();
  REQUIRE(serial.ok());
  CHECK(*serial == 3);
  auto id = dir.Deposit("alice", "bob", Envelope(5, 1), kNow, kLater, MailboxQuota{});
  REQUIRE(id.ok());
  CHECK(dir.Fetch("alice", 0, 10, 100)->envelopes.size() == 1);
}

}  // namespace
}  // namespace confab::tracker
