#include "peer/contacts/contact_book.h"

#include <catch2/catch.hpp>

#include "common/base/member_name.h"

#include "node_fixture.h"

namespace confab::peer {
namespace {

using Code = Status::Code;

Bytes Key(uint8_t fill) {
  return Bytes(kContactKeyBytes, fill);
}

TEST_CASE("The first key seen for a contact is pinned and then matches", "[messaging][contacts]") {
  Node n;
  auto first = n.contacts->PinOnFirstContact("bob", Key(1), kNow);
  REQUIRE(first.ok());
  CHECK(*first == PinOutcome::kPinned);
  auto again = n.contacts->PinOnFirstContact("bob", Key(1), kNow + 5);
  REQUIRE(again.ok());
  CHECK(*again == PinOutcome::kMatches);
  CHECK(n.contacts->CheckPin("bob", Key(1), kNow).ok());
  auto c = n.contacts->Get("bob");
  REQUIRE(c.ok());
  CHECK(c->identity_key == Key(1));
  CHECK(c->pinned_at == kNow);
  CHECK_FALSE(c->verified);
  CHECK_FALSE(c->blocked);
  CHECK(c->pending_key.empty());
}

TEST_CASE("A changed key is refused and kept pending until accepted", "[messaging][contacts]") {
  Node n;
  REQUIRE(n.contacts->PinOnFirstContact("bob", Key(1), kNow).ok());
  REQUIRE(n.contacts->MarkVerified("bob").ok());
  auto changed = n.contacts->PinOnFirstContact("bob", Key(2), kNow + 10);
  CHECK(changed.status().code() == Code::kAuthFailed);
  CHECK(n.contacts->CheckPin("bob", Key(2), kNow + 20).code() == Code::kAuthFailed);
  auto c = n.contacts->Get("bob");
  REQUIRE(c.ok());
  CHECK(c->identity_key == Key(1));  // the pin holds
  CHECK(c->pending_key == Key(2));
  CHECK(c->pending_at == kNow + 20);
  CHECK(n.contacts->CheckPin("bob", Key(1), kNow).ok());  // the old key still works
  CHECK(n.contacts->MarkVerified("bob").code() == Code::kFailedPrecondition);

  // The refusal survives a restart.
  n.Reopen();
  REQUIRE(n.contacts->AcceptKeyChange("bob", kNow + 30).ok());
  c = n.contacts->Get("bob");
  REQUIRE(c.ok());
  CHECK(c->identity_key == Key(2));
  CHECK(c->pinned_at == kNow + 30);
  CHECK(c->pending_key.empty());
  CHECK_FALSE(c->verified);  // the old comparison was for the old key
  CHECK(n.contacts->CheckPin("bob", Key(2), kNow).ok());
  CHECK(n.contacts->CheckPin("bob", Key(1), kNow).code() == Code::kAuthFailed);
}

TEST_CASE("AcceptKeyChange without a pending change is refused", "[messaging][contacts][error]") {
  Node n;
  CHECK(n.contacts->AcceptKeyChange("bob", kNow).code() == Code::kFailedPrecondition);
  REQUIRE(n.contacts->PinOnFirstContact("bob", Key(1), kNow).ok());
  CHECK(n.contacts->AcceptKeyChange("bob", kNow).code() == Code::kFailedPrecondition);
}

TEST_CASE("CheckPin and MarkVerified need a pinned key", "[messaging][contacts][error]") {
  Node n;
  CHECK(n.contacts->CheckPin("bob", Key(1), kNow).code() == Code::kNotFound);
  CHECK(n.contacts->MarkVerified("bob").code() == Code::kNotFound);
  REQUIRE(n.contacts->Block("bob").ok());  // a row, but no key yet
  CHECK(n.contacts->CheckPin("bob", Key(1), kNow).code() == Code::kNotFound);
  CHECK(n.contacts->MarkVerified("bob").code() == Code::kNotFound);
}

TEST_CASE("Block works before first contact, survives pinning, and is undone by Unblock",
          "[messaging][contacts]") {
  Node n;
  CHECK_FALSE(*n.contacts->IsBlocked("bob"));
  REQUIRE(n.contacts->Block("bob").ok());
  REQUIRE(n.contacts->Block("bob").ok());  // idempotent
  CHECK(*n.contacts->IsBlocked("bob"));
  auto pinned = n.contacts->PinOnFirstContact("bob", Key(1), kNow);
  REQUIRE(pinned.ok());
  CHECK(*pinned == PinOutcome::kPinned);
  CHECK(*n.contacts->IsBlocked("bob"));
  REQUIRE(n.contacts->Unblock("bob").ok());
  CHECK_FALSE(*n.contacts->IsBlocked("bob"));
  REQUIRE(n.contacts->MarkVerified("bob").ok());
  CHECK(n.contacts->Get("bob")->verified);
}

TEST_CASE("List and Remove", "[messaging][contacts]") {
  Node n;
  REQUIRE(n.contacts->PinOnFirstContact("carol", Key(3), kNow).ok());
  REQUIRE(n.contacts->PinOnFirstContact("bob", Key(2), kNow).ok());
  auto all = n.contacts->List();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "bob");
  CHECK((*all)[1].name == "carol");
  REQUIRE(n.contacts->Remove("bob").ok());
  CHECK(n.contacts->Get("bob").status().code() == Code::kNotFound);
  CHECK(n.contacts->Remove("bob").code() == Code::kNotFound);
  // Removed means forgotten: the next key is pinned afresh.
  CHECK(*n.contacts->PinOnFirstContact("bob", Key(9), kNow) == PinOutcome::kPinned);
}

TEST_CASE("ContactBook refuses malformed names and keys", "[messaging][contacts][error]") {
  Node n;
  for (const std::string& name :
       std::vector<std::string>{"", "Bob", "-bob", "b ob", "b/ob", "bøb", std::string(65, 'b')}) {
    INFO(name);
    CHECK(n.contacts->PinOnFirstContact(name, Key(1), kNow).status().code() ==
          Code::kInvalidArgument);
    CHECK(n.contacts->Block(name).code() == Code::kInvalidArgument);
    CHECK(n.contacts->IsBlocked(name).status().code() == Code::kInvalidArgument);
  }
  CHECK(ValidateMemberName("b0b.x_y-z").ok());
  CHECK(ValidateMemberName(std::string(64, 'b')).ok());
  CHECK(n.contacts->PinOnFirstContact("bob", Bytes(31), kNow).status().code() ==
        Code::kInvalidArgument);
  CHECK(n.contacts->CheckPin("bob", Bytes(33), kNow).code() == Code::kInvalidArgument);
  CHECK(ContactBook::Open(nullptr).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer
