#include "common/base/bytes.h"

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("Hex round-trips and rejects malformed input", "[base]") {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  CHECK(ToHex(b) == "0001abff");
  auto back = FromHex("0001ABff");
  REQUIRE(back.ok());
  CHECK(*back == b);
  CHECK(FromHex("").ok());
  CHECK(FromHex("abc").status().code() == Status::Code::kInvalidArgument);
  CHECK(FromHex("zz").status().code() == Status::Code::kInvalidArgument);
  CHECK(FromHex("00 1").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("SecretBytes moves leave the source empty and Reset wipes", "[base]") {
  SecretBytes a(AsBytes("key material"));
  CHECK(a.size() == 12);
  SecretBytes b = std::move(a);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(AsChars(b.view()) == "key material");
  SecretBytes c = b.Clone();
  CHECK(AsChars(c.view()) == "key material");
  c.Reset(4);
  CHECK(c.size() == 4);
  CHECK(c.view()[0] == 0);
}

TEST_CASE("SecureWipe zeroes memory", "[base]") {
  uint8_t buf[16];
  for (auto& x : buf)
    x = 0xaa;
  SecureWipe(buf, sizeof buf);
  for (auto x : buf)
    CHECK(x == 0);
}

TEST_CASE("SecretArray starts zeroed and copies by value", "[base]") {
  SecretArray<32> k;
  for (auto x : k.view())
    CHECK(x == 0);
  k.data()[0] = 7;
  SecretArray<32> copy = k;
  CHECK(copy.view()[0] == 7);
}

}  // namespace
}  // namespace confab
