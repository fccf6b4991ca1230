// The crypto functions of the Noise Protocol Framework, revision 34, section 4,
// on libsodium 1.0.18: DH 25519, the ChaChaPoly and AESGCM ciphers, the
// SHA256, SHA512 and BLAKE2b hashes, and HMAC/HKDF exactly as section 4.3
// defines them (HMAC per RFC 2104 over the chosen hash, so that every hash
// gets the same construction; libsodium's HMAC-SHA512-256 is a different
// function and is deliberately not used).
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// global state besides libsodium's one-time initialisation. Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::crypto::noise {

inline constexpr size_t kDhLen = 32;       // DHLEN for 25519
inline constexpr size_t kKeyLen = 32;      // cipher keys are always 32 bytes
inline constexpr size_t kTagLen = 16;      // AEAD tag for both ciphers
inline constexpr size_t kMaxHashLen = 64;  // SHA512 and BLAKE2b
// Spec section 3: every Noise message, handshake or transport, is at most
// 65535 bytes, so it fits a 16-bit length prefix.
inline constexpr size_t kMaxMessageBytes = 65535;
// Spec section 5.1: nonce 2^64-1 is reserved (it is the Rekey nonce); a
// CipherState refuses to use it rather than wrap.
inline constexpr uint64_t kReservedNonce = UINT64_MAX;

enum class DhKind { k25519 };
enum class CipherKind { kChaChaPoly, kAesGcm };
enum class HashKind { kSha256, kSha512, kBlake2b };

// The names used in protocol names ("25519", "ChaChaPoly", "BLAKE2b").
std::string_view DhName(DhKind kind);
std::string_view CipherName(CipherKind kind);
std::string_view HashName(HashKind kind);

using PublicKey = std::array<uint8_t, kDhLen>;
using PrivateKey = SecretArray<kDhLen>;
using CipherKey = SecretArray<kKeyLen>;

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key;
};

// GENERATE_KEYPAIR(): a fresh random X25519 key pair.
KeyPair GenerateKeyPair();
// The key pair whose private key is `private_key` (public key derived with
// crypto_scalarmult_base). InvalidArgument unless it is 32 bytes.
[[nodiscard]] Result<KeyPair> KeyPairFromPrivate(ByteView private_key);
// DH(key_pair, public_key) = X25519. AuthFailed when the result is all
// zeros (the peer sent a low-order point), as libsodium reports and as
// WireGuard's mix_dh refuses.
[[nodiscard]] Result<SecretArray<kDhLen>> Dh(const PrivateKey& private_key,
                                             const PublicKey& public_key);

// OK when `kind` can run here. AESGCM needs AES-NI and PCLMUL
// (crypto_aead_aes256gcm_is_available); without them this returns
// InvalidArgument with "unsupported" in the message.
[[nodiscard]] Status CheckCipherAvailable(CipherKind kind);

// ENCRYPT(k, n, ad, plaintext) into `out`, which must hold
// plaintext.size() + kTagLen bytes. The 96-bit nonce is 4 zero bytes and `n`
// as 8 bytes, little-endian for ChaChaPoly and big-endian for AESGCM.
// `out` may alias `plaintext` exactly (in-place). Fails only if the cipher is
// unavailable or `out` has the wrong size.
[[nodiscard]] Status EncryptInto(CipherKind kind, const CipherKey& k, uint64_t n, ByteView ad,
                                 ByteView plaintext, std::span<uint8_t> out);
// DECRYPT(k, n, ad, ciphertext) into `out` (ciphertext.size() - kTagLen
// bytes). AuthFailed if the tag does not verify or the input is shorter than
// a tag; `out` is then zeroed.
[[nodiscard]] Status DecryptInto(CipherKind kind, const CipherKey& k, uint64_t n, ByteView ad,
                                 ByteView ciphertext, std::span<uint8_t> out);

// A hash output (HASHLEN bytes, at most 64), wiped on destruction: chaining
// keys and HKDF outputs are secrets.
class Digest {
 public:
  Digest() = default;
  explicit Digest(size_t size) : size_(size) {}

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  ByteView view() const { return {bytes_.data(), size_}; }

 private:
  SecretArray<kMaxHashLen> bytes_;
  size_t size_ = 0;
};

size_t HashLen(HashKind kind);   // 32 or 64
size_t BlockLen(HashKind kind);  // 64 or 128 (HMAC block size)

// HASH(parts[0] || parts[1] || ...).
Digest Hash(HashKind kind, std::initializer_list<ByteView> parts);
// HMAC-HASH(key, data[0] || data[1] || ...) per RFC 2104.
Digest Hmac(HashKind kind, ByteView key, std::initializer_list<ByteView> data);

// HKDF(chaining_key, input_key_material, num_outputs), spec section 4.3:
// temp_key = HMAC(ck, ikm); output1 = HMAC(temp_key, 0x01);
// output2 = HMAC(temp_key, output1 || 0x02); output3 likewise with 0x03.
// `num_outputs` is 2 or 3; unused outputs are left empty.
std::array<Digest, 3> Hkdf(HashKind kind, ByteView chaining_key, ByteView input_key_material,
                           int num_outputs);

}  // namespace confab::crypto::noise
