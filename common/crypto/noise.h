// The Noise Protocol Framework, revision 34, sections 5.1-5.3: CipherState,
// SymmetricState and HandshakeState, with the spec's own operation names.
//
// confab's handshake is
//   Noise_IK_25519_ChaChaPoly_BLAKE2b:  <- s  ...  -> e, es, s, ss  <- e, ee, se
// (and IKpsk2 where a one-time secret is shared), but every pattern in
// noise_patterns.cc runs through the same token interpreter, so the public
// test vectors exercise every token.
//
// Sans-I/O: bytes in, bytes and a Status out. No sockets, no clock; the only
// randomness is the ephemeral key, whose source is a config parameter.
//
// Thread safety: none of these objects may be used from two threads at once;
// different objects are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/crypto/noise_patterns.h"
#include "common/crypto/noise_primitives.h"

namespace confab::crypto::noise {

// Section 5.1: a key k (possibly empty) and a nonce n. Copyable, so that a
// HandshakeState can work on a copy and commit only on success.
class CipherState {
 public:
  explicit CipherState(CipherKind cipher = CipherKind::kChaChaPoly) : cipher_(cipher) {}

  // InitializeKey(key): k = key, n = 0.
  void InitializeKey(const CipherKey& key);
  // InitializeKey(empty): k = empty, n = 0.
  void ClearKey();
  bool HasKey() const { return has_key_; }
  // SetNonce(nonce). Any value may be set; 2^64-1 then makes the next
  // encryption or decryption fail, as the spec reserves it.
  void SetNonce(uint64_t nonce) { n_ = nonce; }
  uint64_t nonce() const { return n_; }
  CipherKind cipher() const { return cipher_; }

  // EncryptWithAd(ad, plaintext): with a key, ENCRYPT(k, n++, ad, plaintext);
  // without one, the plaintext unchanged. Errors (nothing changes):
  //   InvalidArgument   the ciphertext would exceed kMaxMessageBytes;
  //   ResourceExhausted n is 2^64-1 (rekey or start a new session).
  [[nodiscard]] Result<Bytes> EncryptWithAd(ByteView ad, ByteView plaintext);
  // DecryptWithAd(ad, ciphertext): with a key, DECRYPT(k, n, ad, ciphertext)
  // and n++ only on success; without one, the ciphertext unchanged. Errors
  // (n does not move): AuthFailed, ResourceExhausted, InvalidArgument as above.
  // n only moves forward, so a replayed or reordered message fails.
  [[nodiscard]] Result<Bytes> DecryptWithAd(ByteView ad, ByteView ciphertext);

  // The same without allocating: `out` must be exactly plaintext.size() +
  // kTagLen bytes (plaintext.size() when !HasKey()), resp. ciphertext.size()
  // - kTagLen; it may be the input buffer itself.
  [[nodiscard]] Status EncryptWithAdInto(ByteView ad, ByteView plaintext, std::span<uint8_t> out);
  [[nodiscard]] Status DecryptWithAdInto(ByteView ad, ByteView ciphertext, std::span<uint8_t> out);

  // Rekey(), section 11.3: k = the first 32 bytes of
  // ENCRYPT(k, 2^64-1, zerolen, 32 zero bytes). n is unchanged.
  // FailedPrecondition without a key.
  [[nodiscard]] Status Rekey();

 private:
  [[nodiscard]] Status CheckCanUseNonce() const;

  CipherKind cipher_;
  CipherKey k_;
  bool has_key_ = false;
  uint64_t n_ = 0;
};

// Section 5.2: the chaining key ck, the handshake hash h and a CipherState.
class SymmetricState {
 public:
  SymmetricState(CipherKind cipher, HashKind hash) : hash_(hash), cipher_state_(cipher) {}

  // InitializeSymmetric(protocol_name): h = the name padded with zeros to
  // HASHLEN, or HASH(name) if longer; ck = h; no cipher key.
  void InitializeSymmetric(std::string_view protocol_name);
  // MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[:32]).
  void MixKey(ByteView input_key_material);
  // MixHash(data): h = HASH(h || data).
  void MixHash(ByteView data);
  // MixKeyAndHash(ikm): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h);
  // InitializeKey(temp_k[:32]).
  void MixKeyAndHash(ByteView input_key_material);
  // LEGACY, pre-revision-30 PSK mode ("NoisePSK_" names) only:
  // MixPsk(psk): ck, temp = HKDF(ck, psk, 2); MixHash(temp).
  void LegacyMixPsk(ByteView psk);
  // GetHandshakeHash(): h (HASHLEN bytes).
  ByteView GetHandshakeHash() const { return h_.view(); }
  // EncryptAndHash(plaintext): ciphertext = EncryptWithAd(h, plaintext);
  // MixHash(ciphertext). Errors as CipherState::EncryptWithAd.
  [[nodiscard]] Result<Bytes> EncryptAndHash(ByteView plaintext);
  // DecryptAndHash(ciphertext): plaintext = DecryptWithAd(h, ciphertext);
  // MixHash(ciphertext). On error nothing changes.
  [[nodiscard]] Result<Bytes> DecryptAndHash(ByteView ciphertext);
  // Split(): temp_k1, temp_k2 = HKDF(ck, zerolen, 2); two CipherStates
  // keyed with their first 32 bytes. The first is initiator -> responder.
  std::pair<CipherState, CipherState> Split() const;

  bool HasKey() const { return cipher_state_.HasKey(); }
  HashKind hash() const { return hash_; }
  // After Split: wipes ck and the handshake cipher key, keeping h.
  void WipeChainingKey() {
    ck_ = Digest();
    cipher_state_.ClearKey();
  }

 private:
  HashKind hash_;
  CipherState cipher_state_;
  Digest ck_;
  Digest h_;
};

// How to start a handshake. Keys the pattern does not use are ignored;
// keys it needs but that are missing make Create fail.
struct HandshakeConfig {
  // Either a parsed protocol, or a name for ParseProtocolName.
  std::optional<Protocol> protocol;
  std::string protocol_name;
  bool initiator = false;
  Bytes prologue;
  std::optional<PrivateKey> s;  // our static private key (public derived)
  // Our static public key, when the caller already has it: saves deriving it
  // (one scalar multiplication) on every handshake, which a busy responder
  // feels. It must belong to `s`; debug builds check that it does.
  std::optional<PublicKey> s_public;
  // The peer's static key, used only when a pre-message says it is known in
  // advance (IK, NK, KK, ...); a transmitted "s" always comes from the wire.
  std::optional<PublicKey> rs;
  std::optional<PublicKey> re;  // the peer's ephemeral, for pre-message "e" only
  // A fixed ephemeral private key. For test vectors: production code leaves
  // it empty so ephemerals come from `ephemeral_source`.
  std::optional<PrivateKey> e;
  // Where ephemeral private keys come from when `e` is empty. Default (empty
  // function): libsodium's CSPRNG. The test seam for deterministic runs.
  std::function<PrivateKey()> ephemeral_source;
  // The PSKs (32 bytes each), in the order the pattern's psk tokens use them.
  // Exactly as many as the pattern has psk tokens (1 for "NoisePSK_" names).
  std::vector<SecretArray<32>> psks;
};

// Section 5.3. Create() runs Initialize(); WriteMessage/ReadMessage follow
// the pattern; once the last message is processed the handshake is complete
// and Split()/GetHandshakeHash() become available.
class HandshakeState {
 public:
  enum class Phase {
    kWriting,   // our turn to WriteMessage
    kReading,   // our turn to ReadMessage
    kComplete,  // all messages done; Split() and GetHandshakeHash() available
    kSplit,     // Split() was called; the chaining key is wiped
  };

  // Errors: InvalidArgument for a bad or "unsupported" protocol name, a
  // missing key the pattern needs, or the wrong number of PSKs.
  [[nodiscard]] static Result<std::unique_ptr<HandshakeState>> Create(HandshakeConfig config);

  HandshakeState(const HandshakeState&) = delete;
  HandshakeState& operator=(const HandshakeState&) = delete;

  // WriteMessage(payload): the next handshake message, carrying `payload`.
  // FailedPrecondition unless phase() is kWriting; InvalidArgument if the
  // message would exceed kMaxMessageBytes; AuthFailed if a DH gives zero.
  // On error the handshake is unchanged.
  [[nodiscard]] Result<Bytes> WriteMessage(ByteView payload);
  // ReadMessage(message): the payload of the peer's next message.
  // FailedPrecondition unless phase() is kReading; InvalidArgument if the
  // message exceeds kMaxMessageBytes; Corruption if it is too short;
  // AuthFailed if a tag does not verify or a DH gives zero. Works on copies
  // of h, ck and the keys and commits only on success, so after any error
  // the handshake is untouched and the genuine message can still be read.
  [[nodiscard]] Result<Bytes> ReadMessage(ByteView message);

  // Split() (section 5.2), once complete: (initiator -> responder,
  // responder -> initiator). FailedPrecondition before completion or when
  // called twice.
  [[nodiscard]] Result<std::pair<CipherState, CipherState>> Split();
  // The same two CipherStates, named for this side.
  struct TransportCiphers {
    CipherState send;
    CipherState receive;
  };
  [[nodiscard]] Result<TransportCiphers> SplitForTransport();
  // h, for channel binding. FailedPrecondition until complete.
  [[nodiscard]] Result<Bytes> GetHandshakeHash() const;

  Phase phase() const { return phase_; }
  bool is_initiator() const { return initiator_; }
  const Protocol& protocol() const { return protocol_; }
  // Our static public key, if the config gave a static key.
  std::optional<PublicKey> local_static_public() const {
    return s_ ? std::optional<PublicKey>(s_->public_key) : std::nullopt;
  }
  // The peer's static key once known (pre-message or received "s").
  const std::optional<PublicKey>& remote_static() const { return state_.rs; }

 private:
  // Everything a message changes, so a message can run on a copy.
  struct State {
    SymmetricState symmetric;
    std::optional<KeyPair> e;
    std::optional<PublicKey> re;
    std::optional<PublicKey> rs;
    size_t next_message = 0;
    size_t next_psk = 0;
  };

  HandshakeState(Protocol protocol, bool initiator, State state);
  void Initialize(HandshakeConfig& config);
  [[nodiscard]] Status MixDh(State& state, Token token) const;
  [[nodiscard]] Status MixPsk(State& state) const;
  [[nodiscard]] Result<KeyPair> NextEphemeral();
  void Advance(State& next);

  Protocol protocol_;
  bool initiator_;
  Phase phase_;
  std::optional<KeyPair> s_;
  std::optional<PrivateKey> fixed_e_;
  std::function<PrivateKey()> ephemeral_source_;
  std::vector<SecretArray<32>> psks_;
  State state_;
};

}  // namespace confab::crypto::noise
