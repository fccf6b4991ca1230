#include "common/crypto/sealed_box.h"

#include <algorithm>
#include <string_view>

#include <catch2/catch.hpp>

namespace confab::crypto {
namespace {

X25519KeyPair Keys() {
  auto key = SigningKey::Generate();
  REQUIRE(key.ok());
  return key->DeriveX25519();
}

TEST_CASE("A sealed box opens with the recipient's key and no other", "[crypto][sealed_box]") {
  const X25519KeyPair bob = Keys();
  const X25519KeyPair carol = Keys();
  const Bytes text = ToBytes(AsBytes(std::string_view("an entry for bob")));
  auto sealed = Seal(bob.public_key, text);
  REQUIRE(sealed.ok());
  CHECK(sealed->size() == text.size() + kSealOverheadBytes);
  // The plaintext does not appear in the box.
  CHECK(std::search(sealed->begin(), sealed->end(), text.begin(), text.end()) == sealed->end());
  auto opened = OpenSealed(bob, *sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == text);
  CHECK(OpenSealed(carol, *sealed).status().code() == Status::Code::kAuthFailed);
  // Two seals of one text differ (a fresh ephemeral key each).
  CHECK(*Seal(bob.public_key, text) != *sealed);
}

TEST_CASE("A sealed box that was altered or cut short does not open",
          "[crypto][sealed_box][error]") {
  const X25519KeyPair bob = Keys();
  auto sealed = Seal(bob.public_key, ToBytes(AsBytes(std::string_view("x"))));
  REQUIRE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes flipped = *sealed;
    flipped[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(OpenSealed(bob, flipped).status().code() == Status::Code::kAuthFailed);
  }
  CHECK(OpenSealed(bob, ByteView(sealed->data(), sealed->size() - 1)).status().code() ==
        Status::Code::kAuthFailed);
  CHECK(OpenSealed(bob, Bytes(kSealOverheadBytes - 1, 0)).status().code() ==
        Status::Code::kAuthFailed);
  CHECK(OpenSealed(bob, Bytes{}).status().code() == Status::Code::kAuthFailed);
  // An empty plaintext seals and opens.
  auto empty = Seal(bob.public_key, Bytes{});
  REQUIRE(empty.ok());
  CHECK(OpenSealed(bob, *empty)->empty());
}

}  // namespace
}  // namespace confab::crypto
