// Ed25519 signing keys (a member's identity key, the org key), the X25519
// key pair derived from them for Noise, domain-separated signatures, and the
// fingerprint people read to each other to compare keys.
//
// Thread safety: every type here is a value; const methods may be called from
// several threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::crypto {

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519SecretKeyBytes = 64;  // libsodium's seed || public key
inline constexpr size_t kEd25519SignatureBytes = 64;
inline constexpr size_t kX25519KeyBytes = 32;

using Ed25519PublicKey = std::array<uint8_t, kEd25519PublicKeyBytes>;
using X25519PublicKey = std::array<uint8_t, kX25519KeyBytes>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureBytes>;

// Signing contexts. Every signature covers
//   len(context) as one byte || context || message
// so a signature made for one purpose never verifies for another, and no
// context is a prefix of another's signed bytes. Contexts are fixed strings
// of 1 to 255 bytes chosen in code, never by a peer. Add new ones here so
// that they stay distinct.
inline constexpr std::string_view kCertificateSigningContext = "confab certificate v1";

// The X25519 key pair that Noise uses as its static key, converted from the
// Ed25519 identity key (crypto_sign_ed25519_{pk,sk}_to_curve25519), so one
// key on disk serves both signing and the handshake.
struct X25519KeyPair {
  X25519PublicKey public_key;
  SecretArray<kX25519KeyBytes> secret_key;
};

// An Ed25519 key pair. Move-only so that the secret is not copied by
// accident; the secret is wiped when the object is destroyed.
class SigningKey {
 public:
  // A fresh random key pair. Fails only if libsodium cannot start.
  [[nodiscard]] static Result<SigningKey> Generate();
  // The key pair for a 32-byte seed (what key files store). InvalidArgument
  // if `seed` is not 32 bytes.
  [[nodiscard]] static Result<SigningKey> FromSeed(ByteView seed);

  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = default;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey() = default;

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The 32-byte seed: the whole secret. For key files only; never log it.
  SecretArray<kEd25519SeedBytes> seed() const;

  // Signs `message` under `context` (see kCertificateSigningContext).
  // `context` must be 1..255 bytes (checked in debug builds).
  Ed25519Signature Sign(std::string_view context, ByteView message) const;

  // The X25519 pair for Noise. Cannot fail for a key built by this class.
  X25519KeyPair DeriveX25519() const;

 private:
  SigningKey() = default;

  Ed25519PublicKey public_key_{};
  SecretArray<kEd25519SecretKeyBytes> secret_key_;
};

// Checks `signature` by `public_key` over `message` under `context`.
// AuthFailed if it does not verify (including a public key that is not a
// valid point); InvalidArgument if `signature` is not 64 bytes.
[[nodiscard]] Status Verify(const Ed25519PublicKey& public_key, std::string_view context,
                            ByteView message, ByteView signature);

// The Noise static key that belongs to an Ed25519 public key. InvalidArgument
// if the key is not a valid Ed25519 point (a peer can send such a key).
[[nodiscard]] Result<X25519PublicKey> X25519FromEd25519(const Ed25519PublicKey& public_key);

// Copies a 32-byte public key out of a byte string. InvalidArgument if the
// size is wrong.
[[nodiscard]] Result<Ed25519PublicKey> Ed25519PublicKeyFromBytes(ByteView bytes);

// A short, stable digest of an identity key for people to compare out of
// band (`confab verify`):
//   BLAKE2b-256("confab fingerprint v1" || 0x00 || key), first 15 bytes
// (120 bits), written in Crockford base32 (digits and capitals without
// I, L, O, U) as six groups of four: "7K3M-Q9TX-0A2B-...". Parse is lenient
// the way Crockford intends: any case, spaces or hyphens anywhere, and the
// look-alikes O->0 and I/L->1.
class Fingerprint {
 public:
  static constexpr size_t kBytes = 15;
  static constexpr size_t kGroupChars = 4;
  static constexpr size_t kChars = kBytes * 8 / 5;  // 24

  static Fingerprint Of(const Ed25519PublicKey& key);
  // InvalidArgument for a character outside the alphabet or the wrong number
  // of characters.
  [[nodiscard]] static Result<Fingerprint> Parse(std::string_view text);

  // "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"
  std::string ToString() const;
  const std::array<uint8_t, kBytes>& bytes() const { return bytes_; }

  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;

 private:
  explicit Fingerprint(const std::array<uint8_t, kBytes>& bytes) : bytes_(bytes) {}
  std::array<uint8_t, kBytes> bytes_;
};

}  // namespace confab::crypto
