#include "common/crypto/identity.h"

#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <sodium.h>

#include "common/base/bytes.h"
#include "common/crypto/sodium.h"

namespace confab::crypto {
namespace {

// RFC 8032 section 7.1, test 1.
constexpr std::string_view kRfcSeed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublic =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kContext = "confab test v1";

SigningKey KeyFromHexSeed(std::string_view hex) {
  Result<Bytes> seed = FromHex(hex);
  REQUIRE(seed.ok());
  Result<SigningKey> key = SigningKey::FromSeed(*seed);
  REQUIRE(key.ok());
  return std::move(key).value();
}

SigningKey NewKey() {
  Result<SigningKey> key = SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(key).value();
}

TEST_CASE("InitSodium can be called again and again", "[identity]") {
  CHECK(InitSodium().ok());
  CHECK(InitSodium().ok());
}

TEST_CASE("A key from the RFC 8032 seed has the RFC's public key and returns its seed",
          "[identity]") {
  SigningKey key = KeyFromHexSeed(kRfcSeed);
  CHECK(ToHex(key.public_key()) == kRfcPublic);
  CHECK(ToHex(key.seed().view()) == kRfcSeed);
}

TEST_CASE("FromSeed refuses a seed that is not 32 bytes", "[identity][error]") {
  Bytes short_seed(31, 7);
  Result<SigningKey> key = SigningKey::FromSeed(short_seed);
  REQUIRE_FALSE(key.ok());
  CHECK(key.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Generated keys differ", "[identity]") {
  SigningKey a = NewKey();
  SigningKey b = NewKey();
  CHECK(a.public_key() != b.public_key());
}

TEST_CASE("A signature verifies under its own key and context", "[identity]") {
  SigningKey key = NewKey();
  Bytes message = ToBytes(AsBytes("hello"));
  Ed25519Signature sig = key.Sign(kContext, message);
  CHECK(Verify(key.public_key(), kContext, message, sig).ok());
}

TEST_CASE("A signature covers the length of the context, the context and the message",
          "[identity]") {
  SigningKey key = KeyFromHexSeed(kRfcSeed);
  Ed25519Signature sig = key.Sign("ab", AsBytes("c"));
  const uint8_t raw[] = {2, 'a', 'b', 'c'};
  CHECK(crypto_sign_verify_detached(sig.data(), raw, sizeof raw, key.public_key().data()) == 0);
  // Ed25519 is deterministic: the same input gives the same signature.
  CHECK(key.Sign("ab", AsBytes("c")) == sig);
}

TEST_CASE("A signature for one context does not verify for another", "[identity][error]") {
  SigningKey key = NewKey();
  Bytes message = ToBytes(AsBytes("payload"));
  Ed25519Signature sig = key.Sign("confab purpose a", message);
  Status s = Verify(key.public_key(), "confab purpose b", message, sig);
  CHECK(s.code() == Status::Code::kAuthFailed);
  // Moving bytes between context and message does not help either.
  Ed25519Signature sig2 = key.Sign("ab", AsBytes("c"));
  CHECK(Verify(key.public_key(), "a", AsBytes("bc"), sig2).code() == Status::Code::kAuthFailed);
}

TEST_CASE("Verify refuses a flipped signature, a changed message and another key",
          "[identity][error]") {
  SigningKey key = NewKey();
  SigningKey other = NewKey();
  Bytes message = ToBytes(AsBytes("payload"));
  Ed25519Signature sig = key.Sign(kContext, message);

  Ed25519Signature flipped = sig;
  flipped[10] ^= 0x01;
  CHECK(Verify(key.public_key(), kContext, message, flipped).code() == Status::Code::kAuthFailed);

  Bytes changed = message;
  changed[0] ^= 0x80;
  CHECK(Verify(key.public_key(), kContext, changed, sig).code() == Status::Code::kAuthFailed);

  CHECK(Verify(other.public_key(), kContext, message, sig).code() == Status::Code::kAuthFailed);
}

TEST_CASE("Verify refuses a signature of the wrong size", "[identity][error]") {
  SigningKey key = NewKey();
  Ed25519Signature sig = key.Sign(kContext, {});
  ByteView shorter(sig.data(), sig.size() - 1);
  CHECK(Verify(key.public_key(), kContext, {}, shorter).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Derived X25519 keys agree on a DH both ways", "[identity]") {
  SigningKey alice = NewKey();
  SigningKey bob = NewKey();
  X25519KeyPair a = alice.DeriveX25519();
  X25519KeyPair b = bob.DeriveX25519();

  std::array<uint8_t, 32> ab{};
  std::array<uint8_t, 32> ba{};
  REQUIRE(crypto_scalarmult(ab.data(), a.secret_key.data(), b.public_key.data()) == 0);
  REQUIRE(crypto_scalarmult(ba.data(), b.secret_key.data(), a.public_key.data()) == 0);
  CHECK(ab == ba);

  // The derived public key is the one the secret key generates.
  std::array<uint8_t, 32> from_secret{};
  REQUIRE(crypto_scalarmult_base(from_secret.data(), a.secret_key.data()) == 0);
  CHECK(from_secret == a.public_key);
}

TEST_CASE("X25519FromEd25519 matches the key pair's own derivation", "[identity]") {
  SigningKey key = NewKey();
  Result<X25519PublicKey> x = X25519FromEd25519(key.public_key());
  REQUIRE(x.ok());
  CHECK(*x == key.DeriveX25519().public_key);
}

TEST_CASE("X25519FromEd25519 refuses a small-order point", "[identity][error]") {
  Ed25519PublicKey identity_point{};
  identity_point[0] = 1;  // y = 1: the neutral element
  Result<X25519PublicKey> x = X25519FromEd25519(identity_point);
  REQUIRE_FALSE(x.ok());
  CHECK(x.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Ed25519PublicKeyFromBytes takes 32 bytes and nothing else", "[identity][error]") {
  Bytes b(32, 9);
  Result<Ed25519PublicKey> key = Ed25519PublicKeyFromBytes(b);
  REQUIRE(key.ok());
  CHECK((*key)[31] == 9);
  b.push_back(0);
  CHECK(Ed25519PublicKeyFromBytes(b).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("The fingerprint of the RFC 8032 key is a known answer", "[identity][fingerprint]") {
  SigningKey key = KeyFromHexSeed(kRfcSeed);
  // Computed independently: BLAKE2b-256("confab fingerprint v1\0" || pk)[:15]
  // in Crockford base32 (Python hashlib).
  CHECK(Fingerprint::Of(key.public_key()).ToString() == "H2QR-QBBD-QWQC-B994-4XBS-3N8A");
}

TEST_CASE("A fingerprint is six groups of four unambiguous characters", "[identity][fingerprint]") {
  std::string text = Fingerprint::Of(NewKey().public_key()).ToString();
  REQUIRE(text.size() == 29);
  for (size_t i = 0; i < text.size(); ++i) {
    if (i % 5 == 4) {
      CHECK(text[i] == '-');
    } else {
      CHECK(std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(text[i]) !=
            std::string_view::npos);
    }
  }
}

TEST_CASE("Different keys have different fingerprints", "[identity][fingerprint]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i)
    seen.insert(Fingerprint::Of(NewKey().public_key()).ToString());
  CHECK(seen.size() == 50);
  // Keys one bit apart too.
  Ed25519PublicKey a = KeyFromHexSeed(kRfcSeed).public_key();
  Ed25519PublicKey b = a;
  b[31] ^= 1;
  CHECK_FALSE(Fingerprint::Of(a) == Fingerprint::Of(b));
}

TEST_CASE("Fingerprint::Parse reads back what ToString writes", "[identity][fingerprint]") {
  Fingerprint fp = Fingerprint::Of(NewKey().public_key());
  Result<Fingerprint> parsed = Fingerprint::Parse(fp.ToString());
  REQUIRE(parsed.ok());
  CHECK(*parsed == fp);
}

TEST_CASE("Fingerprint::Parse forgives case, spacing and look-alike letters",
          "[identity][fingerprint]") {
  Result<Fingerprint> want = Fingerprint::Parse("H2QR-QBBD-QWQC-B994-4XBS-3N8A");
  REQUIRE(want.ok());
  for (std::string_view text : {"h2qr qbbd qwqc b994 4xbs 3n8a", "H2QRQBBDQWQCB9944XBS3N8A",
                                " h2qr-QBBD qwqc-b994 4xbs-3n8a "}) {
    Result<Fingerprint> got = Fingerprint::Parse(text);
    REQUIRE(got.ok());
    CHECK(*got == *want);
  }
  // O reads as 0, I and L as 1.
  Result<Fingerprint> zeros = Fingerprint::Parse("0000-1111-0000-1111-0000-1111");
  Result<Fingerprint> looks = Fingerprint::Parse("OoOO-IiLl-0o0O-1I1L-oooo-llll");
  REQUIRE(zeros.ok());
  REQUIRE(looks.ok());
  CHECK(*zeros == *looks);
}

TEST_CASE("Fingerprint::Parse refuses bad characters and the wrong length",
          "[identity][fingerprint][error]") {
  CHECK(Fingerprint::Parse("H2QR-QBBD-QWQC-B994-4XBS-3N8U").status().code() ==
        Status::Code::kInvalidArgument);  // U is not in the alphabet
  CHECK(Fingerprint::Parse("H2QR-QBBD-QWQC-B994-4XBS-3N8").status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(Fingerprint::Parse("H2QR-QBBD-QWQC-B994-4XBS-3N8AA").status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(Fingerprint::Parse("").status().code() == Status::Code::kInvalidArgument);
  CHECK(Fingerprint::Parse("H2QR_QBBD_QWQC_B994_4XBS_3N8A").status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("ConstantTimeEqual compares contents and lengths", "[identity]") {
  Bytes a{1, 2, 3};
  Bytes b{1, 2, 3};
  Bytes c{1, 2, 4};
  CHECK(ConstantTimeEqual(a, b));
  CHECK_FALSE(ConstantTimeEqual(a, c));
  CHECK_FALSE(ConstantTimeEqual(a, ByteView(b.data(), 2)));
  CHECK(ConstantTimeEqual({}, {}));
}

}  // namespace
}  // namespace confab::crypto
