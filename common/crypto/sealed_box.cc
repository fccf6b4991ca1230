#include "common/crypto/sealed_box.h"

#include <sodium.h>

static_assert(confab::crypto::kSealOverheadBytes == crypto_box_SEALBYTES);

namespace confab::crypto {

Result<Bytes> Seal(const X25519PublicKey& recipient, ByteView plaintext) {
  Bytes sealed(plaintext.size() + kSealOverheadBytes);
  if (crypto_box_seal(sealed.data(), plaintext.data(), plaintext.size(), recipient.data()) != 0)
    return Status::InvalidArgument("cannot seal to that key");
  return sealed;
}

Result<Bytes> OpenSealed(const X25519KeyPair& keys, ByteView sealed) {
  if (sealed.size() < kSealOverheadBytes)
    return Status::AuthFailed("a sealed box is too short");
  Bytes plaintext(sealed.size() - kSealOverheadBytes);
  if (crypto_box_seal_open(plaintext.data(), sealed.data(), sealed.size(), keys.public_key.data(),
                           keys.secret_key.data()) != 0) {
    return Status::AuthFailed("the sealed box does not open with this key");
  }
  return plaintext;
}

}  // namespace confab::crypto
