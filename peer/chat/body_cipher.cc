#include "peer/chat/body_cipher.h"

#include <cstring>

#include <sodium.h>

#include "common/crypto/sodium.h"

namespace confab::peer {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "cfbhist1";
// A fixed subkey id: the history key is the only key taken from this
// context. A later format would use subkey 2 rather than change this.
constexpr uint64_t kHistorySubkeyId = 1;
constexpr std::string_view kAdLabel = "confab history v1";
constexpr std::string_view kEntryAdLabel = "confab entry v1";

static_assert(BodyCipher::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(BodyCipher::kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(BodyCipher::kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(crypto_kdf_KEYBYTES == 32);

Bytes AdditionalData(std::string_view label, ByteView id, ByteView conversation) {
  // Sized once and filled with memcpy: cheaper per row than appends, and it
  // avoids g++ 12's false -Wstringop-overflow on vector::insert at -O2.
  // The label is fixed, but a 0 separator keeps the fields unambiguous.
  Bytes ad(label.size() + 1 + id.size() + conversation.size());
  uint8_t* out = ad.data();
  std::memcpy(out, label.data(), label.size());
  out += label.size();
  *out++ = 0;
  std::memcpy(out, id.data(), id.size());
  out += id.size();
  if (!conversation.empty())
    std::memcpy(out, conversation.data(), conversation.size());
  return ad;
}

Bytes AdditionalData(const MessageId& id, std::string_view conversation) {
  return AdditionalData(kAdLabel, id, AsBytes(conversation));
}

}  // namespace

Result<BodyCipher> BodyCipher::FromIdentitySeed(ByteView seed) {
  if (seed.size() != crypto_kdf_KEYBYTES)
    return Status::InvalidArgument("identity seed must be 32 bytes");
  CONFAB_RETURN_IF_ERROR(crypto::InitSodium());
  BodyCipher cipher;
  if (crypto_kdf_derive_from_key(cipher.key_.data(), kKeyBytes, kHistorySubkeyId, kKdfContext,
                                 seed.data()) != 0)
    return Status::FailedPrecondition("crypto_kdf_derive_from_key failed");
  return cipher;
}

Bytes BodyCipher::Seal(const MessageId& id, std::string_view conversation,
                       std::string_view text) const {
  return SealWith(AdditionalData(id, conversation), AsBytes(text));
}

Bytes BodyCipher::SealEntry(ByteView entry_id, ByteView conversation, ByteView data) const {
  return SealWith(AdditionalData(kEntryAdLabel, entry_id, conversation), data);
}

Result<Bytes> BodyCipher::OpenEntry(ByteView entry_id, ByteView conversation,
                                    ByteView sealed) const {
  CONFAB_ASSIGN_OR_RETURN(std::string data,
                          OpenWith(AdditionalData(kEntryAdLabel, entry_id, conversation), sealed));
  Bytes out(data.begin(), data.end());
  SecureWipe(data.data(), data.size());
  return out;
}

Bytes BodyCipher::SealWith(const Bytes& ad, ByteView text) const {
  Bytes out(kNonceBytes + text.size() + kTagBytes);
  crypto::RandomBytes(std::span<uint8_t>(out.data(), kNonceBytes));
  unsigned long long written = 0;
  // Cannot fail for these sizes: libsodium only refuses messages over 2^64 bytes.
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonceBytes, &written, text.data(),
                                             text.size(), ad.data(), ad.size(), nullptr, out.data(),
                                             key_.data());
  return out;
}

Result<std::string> BodyCipher::Open(const MessageId& id, std::string_view conversation,
                                     ByteView sealed) const {
  return OpenWith(AdditionalData(id, conversation), sealed);
}

Result<std::string> BodyCipher::OpenWith(const Bytes& ad, ByteView sealed) const {
  if (sealed.size() < kNonceBytes + kTagBytes)
    return Status::Corruption("stored message body is truncated");
  std::string text(sealed.size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(text.data()), &written, nullptr, sealed.data() + kNonceBytes,
          sealed.size() - kNonceBytes, ad.data(), ad.size(), sealed.data(), key_.data()) != 0) {
    SecureWipe(text.data(), text.size());
    return Status::AuthFailed(
        "stored message body does not authenticate (wrong history key, or the row was altered)");
  }
  return text;
}

}  // namespace confab::peer
