// Sealed boxes (libsodium's crypto_box_seal): bytes only the holder of an
// X25519 key pair can open, from a sender who stays anonymous to the box
// itself (an ephemeral key per box). The mailbox (issue 14; design.md "The
// mailbox") seals each envelope this way to the recipient's Noise static
// key, the X25519 form of their identity key, so the tracker that keeps it
// cannot read it. Who wrote what is proved inside, by the entry's own
// signature.
//
// No forward secrecy: whoever later holds the recipient's secret key opens
// every box sealed to it.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/identity.h"

namespace confab::crypto {

// What sealing adds: the ephemeral public key and the MAC.
inline constexpr size_t kSealOverheadBytes = 48;

// `plaintext` sealed to `recipient`: kSealOverheadBytes longer. InvalidArgument
// for a key libsodium refuses (a low-order point).
[[nodiscard]] Result<Bytes> Seal(const X25519PublicKey& recipient, ByteView plaintext);

// Opens a box sealed to `keys`. AuthFailed for a box sealed to anyone else,
// altered, truncated, or shorter than kSealOverheadBytes.
[[nodiscard]] Result<Bytes> OpenSealed(const X25519KeyPair& keys, ByteView sealed);

}  // namespace confab::crypto
