#include "peer/chat/reconcile.h"

#include <catch2/catch.hpp>

#include "chat_fixture.h"

namespace confab::peer::chat {
namespace {

using testing::GroupIdOf;

DigestMap Idle(size_t n) {
  DigestMap m;
  for (size_t i = 0; i < n; ++i) {
    Bytes id(kGroupIdBytes, 0);
    id[0] = static_cast<uint8_t>(i);
    id[1] = static_cast<uint8_t>(i >> 8);
    m[id] = VectorDigest({{"alice", i + 1}, {"bob", 3}});
  }
  return m;
}

TEST_CASE("Idle shared conversations compare by one root digest of a few bytes",
          "[chat][reconcile]") {
  DigestMap a = Idle(1000);
  DigestMap b = Idle(1000);
  CHECK(RootDigest(a) == RootDigest(b));
  proto::ReconcileMessage root;
  root.set_root(std::string(AsChars(RootDigest(a))));
  CHECK(root.ByteSizeLong() < 64);
  auto diff = Differing(a, DigestsMessage(b).digests());
  REQUIRE(diff.ok());
  CHECK(diff->empty());
}

TEST_CASE("Only the conversations whose vector changed are named for vectors",
          "[chat][reconcile]") {
  DigestMap a = Idle(1000);
  DigestMap b = Idle(1000);
  Bytes changed = b.begin()->first;
  b[changed] = VectorDigest({{"alice", 99}});
  CHECK(RootDigest(a) != RootDigest(b));
  auto diff = Differing(a, DigestsMessage(b).digests());
  REQUIRE(diff.ok());
  REQUIRE(diff->size() == 1);
  CHECK(diff->front() == changed);
  CHECK(VectorDigest({{"alice", 1}}) != VectorDigest({{"alice", 2}}));
  CHECK(VectorDigest({{"ab", 1}}) != VectorDigest({{"a", 1}, {"b", 1}}));
}

TEST_CASE("A malformed or oversized digest report is refused", "[chat][reconcile][error]") {
  proto::ReconcileDigests bad;
  auto* d = bad.add_items();
  d->set_conversation("short");
  d->set_digest(std::string(8, '\0'));
  CHECK(!Differing({}, bad).ok());
  proto::ReconcileDigests big;
  for (size_t i = 0; i <= kMaxConversations; ++i) {
    auto* x = big.add_items();
    x->set_conversation(std::string(AsChars(GroupIdOf(1))));
    x->set_digest(std::string(8, '\0'));
  }
  CHECK(!Differing({}, big).ok());
}

}  // namespace
}  // namespace confab::peer::chat
