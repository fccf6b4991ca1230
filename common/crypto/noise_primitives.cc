#include "common/crypto/noise_primitives.h"

#include <openssl/evp.h>

#include <cstring>
#include <variant>

#include <sodium.h>

#include "common/base/check.h"
#include "common/crypto/sodium.h"

namespace confab::crypto::noise {
namespace {

// The 96-bit AEAD nonce of spec section 12: 32 bits of zeros, then n.
std::array<uint8_t, 12> ChaChaNonce(uint64_t n) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i)
    nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));  // little-endian
  return nonce;
}

// AES-256-GCM through OpenSSL's EVP: about 2.2 times libsodium's
// crypto_aead_aes256gcm here (3.4 against 1.5 GB/s on 64 KiB), which matters
// for file transfers. One context per thread, keyed again for each message
// (the key schedule is cheap next to a 64 KiB frame). Same bytes as
// libsodium: the standard AES-256-GCM with a 96-bit nonce and 16-byte tag.
EVP_CIPHER_CTX* AesGcmContext() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

bool AesGcmSeal(const CipherKey& k, const std::array<uint8_t, 12>& nonce, ByteView ad,
                ByteView plaintext, std::span<uint8_t> out) {
  EVP_CIPHER_CTX* ctx = AesGcmContext();
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, k.data(), nonce.data()) != 1)
    return false;
  if (!ad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1)
    return false;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1)
    return false;
  return EVP_EncryptFinal_ex(ctx, out.data() + plaintext.size(), &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagLen),
                             out.data() + plaintext.size()) == 1;
}

bool AesGcmOpen(const CipherKey& k, const std::array<uint8_t, 12>& nonce, ByteView ad,
                ByteView ciphertext, std::span<uint8_t> out) {
  EVP_CIPHER_CTX* ctx = AesGcmContext();
  const size_t body = ciphertext.size() - kTagLen;
  int len = 0;
  uint8_t tag[kTagLen];
  std::memcpy(tag, ciphertext.data() + body, kTagLen);  // `out` may alias the ciphertext
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, k.data(), nonce.data()) != 1)
    return false;
  if (!ad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1)
    return false;
  if (body > 0 &&
      EVP_DecryptUpdate(ctx, out.data(), &len, ciphertext.data(), static_cast<int>(body)) != 1)
    return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagLen), tag) != 1)
    return false;
  return EVP_DecryptFinal_ex(ctx, out.data() + body, &len) == 1;
}

std::array<uint8_t, 12> AesGcmNonce(uint64_t n) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i)
    nonce[11 - i] = static_cast<uint8_t>(n >> (8 * i));  // big-endian
  return nonce;
}

// An incremental hash over libsodium's streaming states, so HMAC can hash
// (key ^ pad) || data without concatenating buffers.
class Hasher {
 public:
  explicit Hasher(HashKind kind) : kind_(kind) {
    switch (kind) {
      case HashKind::kSha256:
        crypto_hash_sha256_init(&state_.emplace<crypto_hash_sha256_state>());
        break;
      case HashKind::kSha512:
        crypto_hash_sha512_init(&state_.emplace<crypto_hash_sha512_state>());
        break;
      case HashKind::kBlake2b:
        crypto_generichash_init(&state_.emplace<crypto_generichash_state>(), nullptr, 0,
                                crypto_generichash_BYTES_MAX);
        break;
    }
  }
  ~Hasher() { sodium_memzero(&state_, sizeof(state_)); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(ByteView data) {
    switch (kind_) {
      case HashKind::kSha256:
        crypto_hash_sha256_update(&std::get<crypto_hash_sha256_state>(state_), data.data(),
                                  data.size());
        break;
      case HashKind::kSha512:
        crypto_hash_sha512_update(&std::get<crypto_hash_sha512_state>(state_), data.data(),
                                  data.size());
        break;
      case HashKind::kBlake2b:
        crypto_generichash_update(&std::get<crypto_generichash_state>(state_), data.data(),
                                  data.size());
        break;
    }
  }

  Digest Final() {
    Digest out(HashLen(kind_));
    switch (kind_) {
      case HashKind::kSha256:
        crypto_hash_sha256_final(&std::get<crypto_hash_sha256_state>(state_), out.data());
        break;
      case HashKind::kSha512:
        crypto_hash_sha512_final(&std::get<crypto_hash_sha512_state>(state_), out.data());
        break;
      case HashKind::kBlake2b:
        crypto_generichash_final(&std::get<crypto_generichash_state>(state_), out.data(),
                                 out.size());
        break;
    }
    return out;
  }

 private:
  HashKind kind_;
  std::variant<std::monostate, crypto_hash_sha256_state, crypto_hash_sha512_state,
               crypto_generichash_state>
      state_;
};

}  // namespace

std::string_view DhName(DhKind) {
  return "25519";
}

std::string_view CipherName(CipherKind kind) {
  return kind == CipherKind::kChaChaPoly ? "ChaChaPoly" : "AESGCM";
}

std::string_view HashName(HashKind kind) {
  switch (kind) {
    case HashKind::kSha256:
      return "SHA256";
    case HashKind::kSha512:
      return "SHA512";
    case HashKind::kBlake2b:
      return "BLAKE2b";
  }
  return "?";
}

KeyPair GenerateKeyPair() {
  KeyPair pair;
  RandomBytes(pair.private_key.span());
  crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data());
  return pair;
}

Result<KeyPair> KeyPairFromPrivate(ByteView private_key) {
  if (private_key.size() != kDhLen)
    return Status::InvalidArgument("a 25519 private key is 32 bytes");
  CONFAB_RETURN_IF_ERROR(InitSodium());
  KeyPair pair;
  std::memcpy(pair.private_key.data(), private_key.data(), kDhLen);
  crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data());
  return pair;
}

Result<SecretArray<kDhLen>> Dh(const PrivateKey& private_key, const PublicKey& public_key) {
  SecretArray<kDhLen> shared;
  // crypto_scalarmult returns -1 exactly when the output is all zeros.
  if (crypto_scalarmult(shared.data(), private_key.data(), public_key.data()) != 0)
    return Status::AuthFailed("25519 DH produced the all-zero value (low-order public key)");
  return shared;
}

Status CheckCipherAvailable(CipherKind kind) {
  // Asked once per process: sodium_init() takes a lock on every call, which
  // would cost more than sealing a small message. (It also runs the CPU
  // feature detection that AESGCM depends on.)
  static const bool sodium_ok = InitSodium().ok();
  static const bool aesgcm_ok = sodium_ok && crypto_aead_aes256gcm_is_available() != 0;
  if (!sodium_ok)
    return Status::FailedPrecondition("libsodium could not be initialised");
  if (kind == CipherKind::kAesGcm && !aesgcm_ok)
    return Status::InvalidArgument("unsupported cipher: AESGCM needs AES-NI on this CPU");
  return Status::Ok();
}

Status EncryptInto(CipherKind kind, const CipherKey& k, uint64_t n, ByteView ad, ByteView plaintext,
                   std::span<uint8_t> out) {
  if (out.size() != plaintext.size() + kTagLen)
    return Status::InvalidArgument("ciphertext buffer must be plaintext + 16 bytes");
  unsigned long long out_len = 0;  // NOLINT(runtime/int): libsodium's type
  if (kind == CipherKind::kChaChaPoly) {
    const auto nonce = ChaChaNonce(n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                              plaintext.size(), ad.data(), ad.size(), nullptr,
                                              nonce.data(), k.data());
    return Status::Ok();
  }
  CONFAB_RETURN_IF_ERROR(CheckCipherAvailable(kind));
  if (!AesGcmSeal(k, AesGcmNonce(n), ad, plaintext, out))
    return Status::FailedPrecondition("AES-256-GCM failed in OpenSSL");
  return Status::Ok();
}

Status DecryptInto(CipherKind kind, const CipherKey& k, uint64_t n, ByteView ad,
                   ByteView ciphertext, std::span<uint8_t> out) {
  if (ciphertext.size() < kTagLen)
    return Status::AuthFailed("ciphertext shorter than the 16-byte tag");
  if (out.size() != ciphertext.size() - kTagLen)
    return Status::InvalidArgument("plaintext buffer must be ciphertext - 16 bytes");
  unsigned long long out_len = 0;  // NOLINT(runtime/int): libsodium's type
  int rc = 0;
  if (kind == CipherKind::kChaChaPoly) {
    const auto nonce = ChaChaNonce(n);
    rc = crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                   ciphertext.size(), ad.data(), ad.size(),
                                                   nonce.data(), k.data());
  } else {
    CONFAB_RETURN_IF_ERROR(CheckCipherAvailable(kind));
    rc = AesGcmOpen(k, AesGcmNonce(n), ad, ciphertext, out) ? 0 : -1;
  }
  if (rc != 0) {
    if (!out.empty())
      sodium_memzero(out.data(), out.size());
    return Status::AuthFailed("AEAD tag did not verify");
  }
  return Status::Ok();
}

size_t HashLen(HashKind kind) {
  return kind == HashKind::kSha256 ? 32 : 64;
}

size_t BlockLen(HashKind kind) {
  return kind == HashKind::kSha256 ? 64 : 128;
}

Digest Hash(HashKind kind, std::initializer_list<ByteView> parts) {
  Hasher hasher(kind);
  for (ByteView part : parts)
    hasher.Update(part);
  return hasher.Final();
}

Digest Hmac(HashKind kind, ByteView key, std::initializer_list<ByteView> data) {
  // RFC 2104: keys longer than the block are hashed first; then
  // H((K ^ opad) || H((K ^ ipad) || text)).
  const size_t block_len = BlockLen(kind);
  SecretArray<128> padded_key;
  if (key.size() > block_len) {
    Digest hashed = Hash(kind, {key});
    std::memcpy(padded_key.data(), hashed.data(), hashed.size());
  } else if (!key.empty()) {
    std::memcpy(padded_key.data(), key.data(), key.size());
  }
  SecretArray<128> pad;
  for (size_t i = 0; i < block_len; ++i)
    pad.data()[i] = padded_key.data()[i] ^ 0x36;
  Hasher inner(kind);
  inner.Update({pad.data(), block_len});
  for (ByteView part : data)
    inner.Update(part);
  Digest inner_digest = inner.Final();
  for (size_t i = 0; i < block_len; ++i)
    pad.data()[i] = padded_key.data()[i] ^ 0x5c;
  Hasher outer(kind);
  outer.Update({pad.data(), block_len});
  outer.Update(inner_digest.view());
  return outer.Final();
}

std::array<Digest, 3> Hkdf(HashKind kind, ByteView chaining_key, ByteView input_key_material,
                           int num_outputs) {
  CONFAB_DCHECK(num_outputs == 2 || num_outputs == 3);
  static constexpr uint8_t kOne = 0x01, kTwo = 0x02, kThree = 0x03;
  std::array<Digest, 3> out;
  Digest temp_key = Hmac(kind, chaining_key, {input_key_material});
  out[0] = Hmac(kind, temp_key.view(), {ByteView(&kOne, 1)});
  out[1] = Hmac(kind, temp_key.view(), {out[0].view(), ByteView(&kTwo, 1)});
  if (num_outputs == 3)
    out[2] = Hmac(kind, temp_key.view(), {out[1].view(), ByteView(&kThree, 1)});
  return out;
}

}  // namespace confab::crypto::noise
