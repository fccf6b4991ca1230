#include "peer/chat/entry.h"

#include <catch2/catch.hpp>

#include "chat_fixture.h"

namespace confab::peer::chat {
namespace {

using Code = Status::Code;
using testing::GroupIdOf;
using testing::People;

TEST_CASE("Both persons derive the same direct conversation id, distinct from other pairs",
          "[chat][entry]") {
  auto ab = DirectConversationId("alice", "bob");
  auto ba = DirectConversationId("bob", "alice");
  auto ac = DirectConversationId("alice", "carol");
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  REQUIRE(ac.ok());
  CHECK(*ab == *ba);
  CHECK(*ab != *ac);
  CHECK(IsDirectId(*ab));
  // Length-prefixed: ("ab", "c") and ("a", "bc") differ.
  CHECK(*DirectConversationId("ab", "c") != *DirectConversationId("a", "bc"));
  CHECK(DirectConversationId("alice", "alice").status().code() == Code::kInvalidArgument);
  CHECK(DirectConversationId("", "bob").status().code() == Code::kInvalidArgument);
  CHECK(IsGroupId(NewGroupId()));
  CHECK(NewGroupId() != NewGroupId());
}

TEST_CASE("A signed entry verifies, and its id is the hash of its exact signed bytes",
          "[chat][entry]") {
  People p;
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text("hello");
  proto::Entry e = p.Sign("alice", GroupIdOf(1), 1, 2, b);
  auto v = ParseEntry(AsBytes(e.SerializeAsString()));
  REQUIRE(v.ok());
  CHECK(v->body.text() == "hello");
  CHECK(v->id == EntryIdOf(AsBytes(e.signed_())));
  CHECK(v->author_key() == p.key("alice").public_key());
}

TEST_CASE("An entry we sign ourselves comes back checked, as any node's verification sees it",
          "[chat][entry]") {
  People p;
  proto::EntryBody b;
  b.set_conversation(std::string(AsChars(GroupIdOf(1))));
  b.set_author("alice");
  b.set_seq(1);
  b.set_lamport(2);
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text("hello");
  auto own = SignOwnEntry(p.key("alice"), b);
  REQUIRE(own.ok());
  proto::Entry wire;
  wire.set_signed_(std::string(AsChars(own->signed_bytes)));
  wire.set_signature(std::string(AsChars(own->signature)));
  auto checked = VerifyEntry(wire);
  REQUIRE(checked.ok());
  CHECK(checked->id == own->id);
  CHECK(checked->body.SerializeAsString() == own->body.SerializeAsString());
  CHECK(own->author_key() == p.key("alice").public_key());
  b.set_author("");
  CHECK(SignOwnEntry(p.key("alice"), b).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("An entry with any flipped byte in its signed bytes or signature is refused",
          "[chat][entry][error]") {
  People p;
  proto::EntryBody b;
  b.set_kind(proto::ENTRY_TEXT);
  b.set_text("hello");
  proto::Entry good = p.Sign("alice", GroupIdOf(1), 1, 2, b);
  for (size_t i = 0; i < good.signature().size(); ++i) {
    proto::Entry bad = good;
    (*bad.mutable_signature())[i] ^= 0x01;
    CHECK(VerifyEntry(bad).status().code() == Code::kAuthFailed);
  }
  size_t refused = 0;
  for (size_t i = 0; i < good.signed_().size(); ++i) {
    proto::Entry bad = good;
    (*bad.mutable_signed_())[i] ^= 0x01;
    if (!VerifyEntry(bad).ok())
      ++refused;
  }
  CHECK(refused == good.signed_().size());
}

TEST_CASE("Oversize, unknown-version, malformed and kind-mismatched entries are refused",
          "[chat][entry][error]") {
  People p;
  proto::EntryBody big;
  big.set_kind(proto::ENTRY_TEXT);
  big.set_text(std::string(kMaxEntryBytes, 'x'));
  big.set_conversation(std::string(kGroupIdBytes, '\1'));
  big.set_author("alice");
  big.set_seq(1);
  big.set_lamport(2);
  CHECK(SignEntry(p.key("alice"), big).status().code() == Code::kInvalidArgument);

  proto::Entry oversize;
  oversize.set_signed_(std::string(kMaxEntryBytes + 1, 'x'));
  oversize.set_signature(std::string(64, '\0'));
  CHECK(VerifyEntry(oversize).status().code() == Code::kInvalidArgument);

  CHECK(ParseEntry(AsBytes(std::string("\xff\xff\xff", 3))).status().code() ==
        Code::kInvalidArgument);

  // A version-2 body signed properly is still refused, with "upgrade".
  proto::EntryBody v2;
  v2.set_version(2);
  v2.set_kind(proto::ENTRY_TEXT);
  v2.set_text("x");
  v2.set_conversation(std::string(kGroupIdBytes, '\1'));
  v2.set_author("alice");
  v2.set_author_key(
      std::string(p.key("alice").public_key().begin(), p.key("alice").public_key().end()));
  v2.set_seq(1);
  v2.set_lamport(2);
  std::string bytes = v2.SerializeAsString();
  auto sig = p.key("alice").Sign(kEntrySigningContext, AsBytes(bytes));
  proto::Entry e;
  e.set_signed_(bytes);
  e.set_signature(std::string(sig.begin(), sig.end()));
  auto r = VerifyEntry(e);
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().ToString().find("upgrade") != std::string::npos);

  proto::EntryBody mismatched;
  mismatched.set_kind(proto::ENTRY_GROUP_ADD);
  mismatched.set_text("not an add");
  mismatched.set_conversation(std::string(kGroupIdBytes, '\1'));
  mismatched.set_author("alice");
  mismatched.set_seq(1);
  mismatched.set_lamport(2);
  CHECK(SignEntry(p.key("alice"), mismatched).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer::chat
