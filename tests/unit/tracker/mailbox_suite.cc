// The shared mailbox suite: the MailboxStore contract (mailbox_store.h) run
// the same way on every backend that has one, the SQLite directory
// (directory_test.cc) and PostgreSQL (pg_directory_test.cc).
// directory_mailbox_test.cc holds the SQLite store's own, finer cases.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/tracker/directory_suite.h"

namespace confab::testing {
namespace {

using tracker::MailboxQuota;
using tracker::MailboxStore;
constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kLater = kNow + 86400;

}  // namespace

void RunMailboxSuite(DirectoryBackend& backend) {
  std::unique_ptr<tracker::DirectoryStore> store = backend.OpenFresh();
  REQUIRE(store->mailbox() != nullptr);
  MailboxStore& mail = *store->mailbox();
  auto deposit = [&](std::string_view to, size_t size, uint8_t fill, int64_t expires = kLater,
                     MailboxQuota quota = MailboxQuota{}) {
    return mail.Deposit(to, "alice", Bytes(size, fill), kNow, expires, quota);
  };

  SECTION("envelopes come back in the order deposited, and survive reopening") {
    auto a = deposit("bob", 10, 1);
    auto other = deposit("carol", 10, 2);
    auto b = deposit("bob", 20, 3);
    REQUIRE((a.ok() && other.ok() && b.ok()));
    CHECK(*a < *other);
    CHECK(*other < *b);
    std::unique_ptr<tracker::DirectoryStore> again = backend.OpenAgain();
    auto page = again->mailbox()->Fetch("bob", 0, 10, 1 << 20);
    REQUIRE(page.ok());
    REQUIRE(page->envelopes.size() == 2);
    CHECK(page->envelopes[0].id == *a);
    CHECK(page->envelopes[0].author == "alice");
    CHECK(page->envelopes[0].envelope == Bytes(10, 1));
    CHECK(page->envelopes[1].deposited_at == kNow);
    CHECK(page->envelopes[1].expires_at == kLater);
    CHECK_FALSE(page->more);
    auto after = mail.Fetch("bob", *a, 10, 1 << 20);
    REQUIRE(after.ok());
    CHECK(after->envelopes.size() == 1);
  }
  SECTION("a fetch pages by count and by bytes, the first always") {
    for (uint8_t i = 0; i < 3; ++i)
      REQUIRE(deposit("bob", 1000, i).ok());
    auto two = mail.Fetch("bob", 0, 2, 1 << 20);
    REQUIRE(two.ok());
    CHECK(two->envelopes.size() == 2);
    CHECK(two->more);
    auto one = mail.Fetch("bob", 0, 10, 10);
    REQUIRE(one.ok());
    CHECK(one->envelopes.size() == 1);
    CHECK(one->more);
    auto all = mail.Fetch("bob", 0, 3, 1 << 20);
    REQUIRE(all.ok());
    CHECK(all->envelopes.size() == 3);
    CHECK_FALSE(all->more);
  }
  SECTION("the quota is exact and a refused deposit stores nothing") {
    const MailboxQuota quota{.max_bytes = 100, .max_envelopes = 2};
    REQUIRE(deposit("bob", 60, 1, kLater, quota).ok());
    CHECK(deposit("bob", 41, 2, kLater, quota).status().code() == Status::Code::kResourceExhausted);
    REQUIRE(deposit("bob", 40, 3, kLater, quota).ok());
    CHECK(deposit("bob", 1, 4, kLater, MailboxQuota{.max_bytes = 1000, .max_envelopes = 2})
              .status()
              .message() == "mailbox full");
    auto held = mail.TotalsFor("bob");
    REQUIRE(held.ok());
    CHECK(held->envelopes == 2);
    CHECK(held->bytes == 100);
  }
  SECTION("malformed deposits are refused") {
    CHECK(deposit("bob", 0, 1).status().code() == Status::Code::kInvalidArgument);
    CHECK(deposit("bob", tracker::kMaxEnvelopeBytes + 1, 1).status().code() ==
          Status::Code::kInvalidArgument);
    CHECK(deposit("", 1, 1).status().code() == Status::Code::kInvalidArgument);
    CHECK(deposit("bob", 1, 1, kNow).status().code() == Status::Code::kInvalidArgument);
    CHECK(deposit("bob", tracker::kMaxEnvelopeBytes, 1).ok());
    CHECK(mail.Totals()->envelopes == 1);
  }
  SECTION("an acknowledgement deletes only the recipient's own") {
    auto mine = deposit("bob", 10, 1);
    auto hers = deposit("carol", 30, 2);
    REQUIRE((mine.ok() && hers.ok()));
    const std::vector<uint64_t> ids = {*mine, *hers, 987654321};
    auto deleted = mail.Acknowledge("bob", ids);
    REQUIRE(deleted.ok());
    CHECK(deleted->envelopes == 1);
    CHECK(deleted->bytes == 10);
    CHECK(mail.Fetch("carol", 0, 10, 1 << 20)->envelopes.size() == 1);
    CHECK(mail.Acknowledge("bob", ids)->envelopes == 0);
    // Ids are not reused once the newest is gone.
    const std::vector<uint64_t> newest = {*hers};
    REQUIRE(mail.Acknowledge("carol", newest).ok());
    auto next = deposit("carol", 5, 3);
    REQUIRE(next.ok());
    CHECK(*next > *hers);
  }
  SECTION("expiry deletes what is due and says how much") {
    REQUIRE(deposit("bob", 10, 1, kNow + 10).ok());
    REQUIRE(deposit("carol", 20, 2, kNow + 10).ok());
    REQUIRE(deposit("bob", 30, 3, kNow + 20).ok());
    CHECK(mail.Expire(kNow + 9)->envelopes == 0);
    auto gone = mail.Expire(kNow + 10);
    REQUIRE(gone.ok());
    CHECK(gone->envelopes == 2);
    CHECK(gone->bytes == 30);
    auto left = mail.Totals();
    REQUIRE(left.ok());
    CHECK(left->envelopes == 1);
    CHECK(left->bytes == 30);
  }
  SECTION("the top recipients by bytes, ties by name") {
    REQUIRE(deposit("dave", 200, 1).ok());
    REQUIRE(deposit("bob", 100, 2).ok());
    REQUIRE(deposit("bob", 100, 3).ok());
    REQUIRE(deposit("carol", 500, 4).ok());
    auto top = mail.TopRecipients(2);
    REQUIRE(top.ok());
    REQUIRE(top->size() == 2);
    CHECK((*top)[0].first == "carol");
    CHECK((*top)[1].first == "bob");
    CHECK((*top)[1].second.envelopes == 2);
  }
  SECTION("reinstating a name drops what was held for it") {
    REQUIRE(store->CreateInvite("bob", Hash("b"), kNow, 3600).ok());
    REQUIRE(store->Enroll(Hash("b"), Key(2), kNow, FakeIssue).ok());
    REQUIRE(deposit("bob", 10, 1).ok());
    REQUIRE(deposit("carol", 10, 2).ok());
    REQUIRE(store->Revoke("bob", kNow, "left").ok());
    CHECK(mail.TotalsFor("bob")->envelopes == 1);
    REQUIRE(store->Reinstate("bob", kNow).ok());
    CHECK(mail.TotalsFor("bob")->envelopes == 0);
    CHECK(mail.TotalsFor("carol")->envelopes == 1);
  }
}

}  // namespace confab::testing
