#include "common/crypto/identity.h"

#include <algorithm>

#include <sodium.h>

#include "common/base/check.h"
#include "common/crypto/sodium.h"

namespace confab::crypto {
namespace {

static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeyBytes);
static_assert(crypto_sign_SECRETKEYBYTES == kEd25519SecretKeyBytes);
static_assert(crypto_sign_SEEDBYTES == kEd25519SeedBytes);
static_assert(crypto_sign_BYTES == kEd25519SignatureBytes);
static_assert(crypto_scalarmult_curve25519_BYTES == kX25519KeyBytes);

constexpr std::string_view kFingerprintContext = "confab fingerprint v1";
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// len(context) || context || message: the length byte keeps one context from
// being a prefix of another's signed bytes.
Bytes SignedBytes(std::string_view context, ByteView message) {
  CONFAB_DCHECK(!context.empty() && context.size() <= 255);
  Bytes out;
  out.reserve(1 + context.size() + message.size());
  out.push_back(static_cast<uint8_t>(context.size()));
  out.insert(out.end(), context.begin(), context.end());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

// The value of a Crockford base32 character, or -1. Accepts lower case and
// the look-alikes Crockford maps (O->0, I/L->1).
int CrockfordValue(char c) {
  if (c >= 'a' && c <= 'z')
    c = static_cast<char>(c - 'a' + 'A');
  if (c == 'O')
    c = '0';
  if (c == 'I' || c == 'L')
    c = '1';
  size_t pos = kCrockford.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

Result<SigningKey> SigningKey::Generate() {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  SigningKey key;
  if (crypto_sign_keypair(key.public_key_.data(), key.secret_key_.data()) != 0)
    return Status::FailedPrecondition("crypto_sign_keypair failed");
  return key;
}

Result<SigningKey> SigningKey::FromSeed(ByteView seed) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  if (seed.size() != kEd25519SeedBytes)
    return Status::InvalidArgument("an Ed25519 seed is 32 bytes, got " +
                                   std::to_string(seed.size()));
  SigningKey key;
  if (crypto_sign_seed_keypair(key.public_key_.data(), key.secret_key_.data(), seed.data()) != 0)
    return Status::FailedPrecondition("crypto_sign_seed_keypair failed");
  return key;
}

SecretArray<kEd25519SeedBytes> SigningKey::seed() const {
  SecretArray<kEd25519SeedBytes> seed;
  // Cannot fail: it copies the first half of the secret key.
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key_.data());
  return seed;
}

Ed25519Signature SigningKey::Sign(std::string_view context, ByteView message) const {
  Bytes signed_bytes = SignedBytes(context, message);
  Ed25519Signature signature{};
  // crypto_sign_detached always returns 0.
  CONFAB_CHECK(crypto_sign_detached(signature.data(), nullptr, signed_bytes.data(),
                                    signed_bytes.size(), secret_key_.data()) == 0);
  return signature;
}

X25519KeyPair SigningKey::DeriveX25519() const {
  X25519KeyPair pair;
  // Both conversions succeed for a key pair built from a seed: the public key
  // is a valid point by construction.
  CONFAB_CHECK(crypto_sign_ed25519_pk_to_curve25519(pair.public_key.data(), public_key_.data()) ==
               0);
  CONFAB_CHECK(crypto_sign_ed25519_sk_to_curve25519(pair.secret_key.data(), secret_key_.data()) ==
               0);
  return pair;
}

Status Verify(const Ed25519PublicKey& public_key, std::string_view context, ByteView message,
              ByteView signature) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  if (signature.size() != kEd25519SignatureBytes)
    return Status::InvalidArgument("an Ed25519 signature is 64 bytes, got " +
                                   std::to_string(signature.size()));
  Bytes signed_bytes = SignedBytes(context, message);
  if (crypto_sign_verify_detached(signature.data(), signed_bytes.data(), signed_bytes.size(),
                                  public_key.data()) != 0) {
    return Status::AuthFailed("bad signature");
  }
  return Status::Ok();
}

Result<X25519PublicKey> X25519FromEd25519(const Ed25519PublicKey& public_key) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  X25519PublicKey out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), public_key.data()) != 0)
    return Status::InvalidArgument("not a valid Ed25519 public key");
  return out;
}

Result<Ed25519PublicKey> Ed25519PublicKeyFromBytes(ByteView bytes) {
  if (bytes.size() != kEd25519PublicKeyBytes)
    return Status::InvalidArgument("an Ed25519 public key is 32 bytes, got " +
                                   std::to_string(bytes.size()));
  Ed25519PublicKey key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

Fingerprint Fingerprint::Of(const Ed25519PublicKey& key) {
  CONFAB_CHECK(InitSodium().ok());
  // The NUL ends the context, so the hashed input parses one way only.
  Bytes input(kFingerprintContext.begin(), kFingerprintContext.end());
  input.push_back(0);
  input.insert(input.end(), key.begin(), key.end());
  std::array<uint8_t, crypto_generichash_BYTES> digest{};
  CONFAB_CHECK(crypto_generichash(digest.data(), digest.size(), input.data(), input.size(), nullptr,
                                  0) == 0);
  std::array<uint8_t, kBytes> bytes{};
  std::copy_n(digest.begin(), kBytes, bytes.begin());
  return Fingerprint(bytes);
}

Result<Fingerprint> Fingerprint::Parse(std::string_view text) {
  std::array<uint8_t, kBytes> bytes{};
  size_t chars = 0;
  uint32_t buffer = 0;
  int bits = 0;
  size_t out = 0;
  for (char c : text) {
    if (c == '-' || c == ' ')
      continue;
    int value = CrockfordValue(c);
    if (value < 0)
      return Status::InvalidArgument(std::string("fingerprint has an invalid character '") + c +
                                     "'");
    if (++chars > kChars)
      break;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = static_cast<uint8_t>(buffer >> bits);
      buffer &= (1u << bits) - 1;
    }
  }
  if (chars != kChars)
    return Status::InvalidArgument("a fingerprint has " + std::to_string(kChars) +
                                   " characters, got " + std::to_string(chars));
  return Fingerprint(bytes);
}

std::string Fingerprint::ToString() const {
  static_assert(kBytes * 8 % 5 == 0, "the bytes fill whole characters");
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  size_t chars = 0;
  for (uint8_t b : bytes_) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      if (chars > 0 && chars % kGroupChars == 0)
        out.push_back('-');
      out.push_back(kCrockford[(buffer >> bits) & 31]);
      ++chars;
    }
    buffer &= (1u << bits) - 1;
  }
  return out;
}

}  // namespace confab::crypto
