// Noise handshake patterns (revision 34, sections 7 and 9) and protocol names
// (section 8), e.g. "Noise_IK_25519_ChaChaPoly_BLAKE2b" or
// "Noise_NNpsk0+psk2_25519_AESGCM_SHA256".
//
// The pattern table in noise_patterns.cc is the spec's own notation, one
// string per pattern, so it can be compared with the spec line by line.
//
// Legacy: names starting "NoisePSK_" follow the pre-revision-30 PSK mode that
// the old cacophony vectors use (one PSK mixed in after the prologue, and
// every "e" also does MixKey). They parse to a Protocol with `legacy_psk`
// set; nothing new should use them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/noise_primitives.h"

namespace confab::crypto::noise {

// Section 7.1 tokens.
enum class Token { kE, kS, kEe, kEs, kSe, kSs, kPsk };

std::string_view TokenName(Token token);

struct HandshakePattern {
  std::string name;  // "IK", "XXpsk3", "NNpsk0+psk2"
  // Pre-messages (section 7.1): what each side's static/ephemeral key the
  // other knows in advance, MixHash'ed in this order at initialization.
  std::vector<Token> initiator_pre_message;
  std::vector<Token> responder_pre_message;
  // messages[0] is sent by the initiator, then the sides alternate.
  std::vector<std::vector<Token>> messages;
  bool one_way = false;  // N, K, X: one message, then initiator -> responder only
  int psk_count = 0;     // psk tokens, i.e. how many PSKs the handshake needs
};

struct Protocol {
  std::string name;  // the full protocol name, hashed by InitializeSymmetric
  HandshakePattern pattern;
  DhKind dh = DhKind::k25519;
  CipherKind cipher = CipherKind::kChaChaPoly;
  HashKind hash = HashKind::kSha256;
  // "NoisePSK_" names: pre-revision-30 PSK mode (see the top of this file).
  bool legacy_psk = false;

  // psk modifiers present (section 9.2): an "e" token then also does MixKey.
  bool uses_psk() const { return legacy_psk || pattern.psk_count > 0; }
};

// The base pattern "NN", "IK", ... with `modifiers` applied ("psk0+psk2", or
// empty). InvalidArgument with "unsupported" in the message for a pattern or
// modifier we don't implement (deferred patterns, fallback, ...), and for a
// psk modifier whose position is past the last message.
[[nodiscard]] Result<HandshakePattern> LookUpPattern(std::string_view base_name,
                                                     std::string_view modifiers);

// Parses "Noise_<pattern>_<dh>_<cipher>_<hash>" (or the legacy "NoisePSK_"
// form). InvalidArgument on a malformed name; InvalidArgument with
// "unsupported" in the message for well-formed names naming something we
// don't implement (448, BLAKE2s, AESGCM without AES-NI, unknown patterns),
// so callers can tell "skip" from "broken".
[[nodiscard]] Result<Protocol> ParseProtocolName(std::string_view name);

}  // namespace confab::crypto::noise
