// BodyCipher: how a message body is sealed in confab.db (DESIGN.md, "On
// disk": history at rest is encrypted under a key derived from the identity
// key).
//
//   key   = crypto_kdf_derive_from_key(32, subkey 1, "cfbhist1", identity seed)
//   row   = nonce (24 random bytes) || XChaCha20-Poly1305(key, nonce, ad, text)
//   ad    = "confab history v1" || 0x00 || message id (16) || conversation
//
// The additional data binds a body to its row's id and conversation, so a
// body copied into another row (another id, or another conversation) fails
// to open, as does a flipped byte or the wrong key: Open never returns
// garbage text. A random 192-bit nonce per row needs no counter to persist.
//
// Entries of replicated conversations (conversation_store.h) are sealed the
// same way under the same key, with their own label so a message body and an
// entry can never be swapped:
//
//   ad    = "confab entry v1" || 0x00 || entry id (32) || conversation id
//
// Thread safety: a BodyCipher is immutable after construction; Seal and Open
// may be called from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"

namespace confab::peer {

inline constexpr size_t kMessageIdBytes = 16;
using MessageId = std::array<uint8_t, kMessageIdBytes>;

class BodyCipher {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 24;
  static constexpr size_t kTagBytes = 16;

  // Derives the history key from the identity key's 32-byte seed
  // (crypto::SigningKey::seed()). InvalidArgument if `seed` is not 32 bytes.
  [[nodiscard]] static Result<BodyCipher> FromIdentitySeed(ByteView seed);

  // nonce || ciphertext || tag, for the row of `id` in `conversation`.
  Bytes Seal(const MessageId& id, std::string_view conversation, std::string_view text) const;

  // The text, or AuthFailed when the key is wrong or the row was altered or
  // moved; Corruption when `sealed` is shorter than a nonce and a tag.
  [[nodiscard]] Result<std::string> Open(const MessageId& id, std::string_view conversation,
                                         ByteView sealed) const;

  // The same for an entry's signed bytes, bound to its id and conversation.
  Bytes SealEntry(ByteView entry_id, ByteView conversation, ByteView data) const;
  [[nodiscard]] Result<Bytes> OpenEntry(ByteView entry_id, ByteView conversation,
                                        ByteView sealed) const;

 private:
  BodyCipher() = default;
  Bytes SealWith(const Bytes& ad, ByteView text) const;
  [[nodiscard]] Result<std::string> OpenWith(const Bytes& ad, ByteView sealed) const;

  SecretArray<kKeyBytes> key_;
};

}  // namespace confab::peer
