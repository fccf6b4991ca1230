#include "peer/chat/body_cipher.h"

#include <catch2/catch.hpp>

#include "node_fixture.h"

namespace confab::peer {
namespace {

using Code = Status::Code;

TEST_CASE("BodyCipher opens what it sealed, with a fresh nonce each time", "[messaging][cipher]") {
  BodyCipher c = CipherFor(1);
  Bytes a = c.Seal(IdOf(1), "bob", "hello");
  Bytes b = c.Seal(IdOf(1), "bob", "hello");
  CHECK(a.size() == BodyCipher::kNonceBytes + 5 + BodyCipher::kTagBytes);
  CHECK(a != b);
  auto text = c.Open(IdOf(1), "bob", a);
  REQUIRE(text.ok());
  CHECK(*text == "hello");
  auto empty = c.Open(IdOf(1), "bob", c.Seal(IdOf(1), "bob", ""));
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("BodyCipher refuses a wrong key, another id or conversation, and any flipped byte",
          "[messaging][cipher][error]") {
  BodyCipher c = CipherFor(1);
  Bytes sealed = c.Seal(IdOf(1), "bob", "secret plans");
  CHECK(CipherFor(2).Open(IdOf(1), "bob", sealed).status().code() == Code::kAuthFailed);
  CHECK(c.Open(IdOf(2), "bob", sealed).status().code() == Code::kAuthFailed);
  CHECK(c.Open(IdOf(1), "carol", sealed).status().code() == Code::kAuthFailed);
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes flipped = sealed;
    flipped[i] ^= 0x01;
    INFO(i);
    CHECK(c.Open(IdOf(1), "bob", flipped).status().code() == Code::kAuthFailed);
  }
}

TEST_CASE("BodyCipher reports a truncated row as Corruption and a bad seed as InvalidArgument",
          "[messaging][cipher][error]") {
  BodyCipher c = CipherFor(1);
  Bytes sealed = c.Seal(IdOf(1), "bob", "x");
  sealed.resize(BodyCipher::kNonceBytes + BodyCipher::kTagBytes - 1);
  CHECK(c.Open(IdOf(1), "bob", sealed).status().code() == Code::kCorruption);
  CHECK(BodyCipher::FromIdentitySeed(Bytes(31, 1)).status().code() == Code::kInvalidArgument);
  CHECK(BodyCipher::FromIdentitySeed(Bytes(33, 1)).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer
