#include "common/crypto/noise.h"

#include <algorithm>
#include <cstring>

#include "common/base/check.h"
#include "common/crypto/sodium.h"

namespace confab::crypto::noise {
namespace {

// The first 32 bytes of an HKDF output as a cipher key (section 5.2: "If
// HASHLEN is 64, then truncates temp_k to 32 bytes").
CipherKey TruncateToKey(const Digest& digest) {
  CipherKey key;
  std::memcpy(key.data(), digest.data(), kKeyLen);
  return key;
}

bool Contains(const std::vector<Token>& tokens, Token token) {
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

}  // namespace

// ---------------------------------------------------------------------------
// CipherState (section 5.1)

void CipherState::InitializeKey(const CipherKey& key) {
  k_ = key;
  has_key_ = true;
  n_ = 0;
}

void CipherState::ClearKey() {
  k_ = CipherKey();
  has_key_ = false;
  n_ = 0;
}

Status CipherState::CheckCanUseNonce() const {
  if (n_ == kReservedNonce)
    return Status::ResourceExhausted("Noise nonce exhausted (2^64-1 is reserved)");
  return Status::Ok();
}

Status CipherState::EncryptWithAdInto(ByteView ad, ByteView plaintext, std::span<uint8_t> out) {
  if (!has_key_) {
    if (out.size() != plaintext.size())
      return Status::InvalidArgument("output buffer must match the plaintext without a key");
    if (out.data() != plaintext.data() && !plaintext.empty())
      std::memmove(out.data(), plaintext.data(), plaintext.size());
    return Status::Ok();
  }
  if (plaintext.size() + kTagLen > kMaxMessageBytes)
    return Status::InvalidArgument("Noise message would exceed 65535 bytes");
  CONFAB_RETURN_IF_ERROR(CheckCanUseNonce());
  CONFAB_RETURN_IF_ERROR(EncryptInto(cipher_, k_, n_, ad, plaintext, out));
  ++n_;
  return Status::Ok();
}

Status CipherState::DecryptWithAdInto(ByteView ad, ByteView ciphertext, std::span<uint8_t> out) {
  if (ciphertext.size() > kMaxMessageBytes)
    return Status::InvalidArgument("Noise message exceeds 65535 bytes");
  if (!has_key_) {
    if (out.size() != ciphertext.size())
      return Status::InvalidArgument("output buffer must match the ciphertext without a key");
    if (out.data() != ciphertext.data() && !ciphertext.empty())
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    return Status::Ok();
  }
  CONFAB_RETURN_IF_ERROR(CheckCanUseNonce());
  CONFAB_RETURN_IF_ERROR(DecryptInto(cipher_, k_, n_, ad, ciphertext, out));
  ++n_;
  return Status::Ok();
}

Result<Bytes> CipherState::EncryptWithAd(ByteView ad, ByteView plaintext) {
  Bytes out(plaintext.size() + (has_key_ ? kTagLen : 0));
  CONFAB_RETURN_IF_ERROR(EncryptWithAdInto(ad, plaintext, out));
  return out;
}

Result<Bytes> CipherState::DecryptWithAd(ByteView ad, ByteView ciphertext) {
  if (has_key_ && ciphertext.size() < kTagLen)
    return Status::AuthFailed("ciphertext shorter than the 16-byte tag");
  Bytes out(ciphertext.size() - (has_key_ ? kTagLen : 0));
  CONFAB_RETURN_IF_ERROR(DecryptWithAdInto(ad, ciphertext, out));
  return out;
}

Status CipherState::Rekey() {
  if (!has_key_)
    return Status::FailedPrecondition("Rekey needs a key");
  // REKEY(k) = ENCRYPT(k, maxnonce, zerolen, zeros), first 32 bytes.
  SecretArray<kKeyLen> zeros;
  SecretArray<kKeyLen + kTagLen> encrypted;
  CONFAB_RETURN_IF_ERROR(
      EncryptInto(cipher_, k_, kReservedNonce, {}, zeros.view(), encrypted.span()));
  std::memcpy(k_.data(), encrypted.data(), kKeyLen);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// SymmetricState (section 5.2)

void SymmetricState::InitializeSymmetric(std::string_view protocol_name) {
  const size_t hash_len = HashLen(hash_);
  if (protocol_name.size() <= hash_len) {
    h_ = Digest(hash_len);  // zero-filled
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    h_ = Hash(hash_, {AsBytes(protocol_name)});
  }
  ck_ = h_;
  cipher_state_.ClearKey();
}

void SymmetricState::MixKey(ByteView input_key_material) {
  auto out = Hkdf(hash_, ck_.view(), input_key_material, 2);
  ck_ = out[0];
  cipher_state_.InitializeKey(TruncateToKey(out[1]));
}

void SymmetricState::MixHash(ByteView data) {
  h_ = Hash(hash_, {h_.view(), data});
}

void SymmetricState::MixKeyAndHash(ByteView input_key_material) {
  auto out = Hkdf(hash_, ck_.view(), input_key_material, 3);
  ck_ = out[0];
  MixHash(out[1].view());
  cipher_state_.InitializeKey(TruncateToKey(out[2]));
}

void SymmetricState::LegacyMixPsk(ByteView psk) {
  auto out = Hkdf(hash_, ck_.view(), psk, 2);
  ck_ = out[0];
  MixHash(out[1].view());
}

Result<Bytes> SymmetricState::EncryptAndHash(ByteView plaintext) {
  CONFAB_ASSIGN_OR_RETURN(Bytes ciphertext, cipher_state_.EncryptWithAd(h_.view(), plaintext));
  MixHash(ciphertext);
  return ciphertext;
}

Result<Bytes> SymmetricState::DecryptAndHash(ByteView ciphertext) {
  CONFAB_ASSIGN_OR_RETURN(Bytes plaintext, cipher_state_.DecryptWithAd(h_.view(), ciphertext));
  MixHash(ciphertext);
  return plaintext;
}

std::pair<CipherState, CipherState> SymmetricState::Split() const {
  auto out = Hkdf(hash_, ck_.view(), {}, 2);
  std::pair<CipherState, CipherState> ciphers{CipherState(cipher_state_.cipher()),
                                              CipherState(cipher_state_.cipher())};
  ciphers.first.InitializeKey(TruncateToKey(out[0]));
  ciphers.second.InitializeKey(TruncateToKey(out[1]));
  return ciphers;
}

// ---------------------------------------------------------------------------
// HandshakeState (section 5.3)

Result<std::unique_ptr<HandshakeState>> HandshakeState::Create(HandshakeConfig config) {
  CONFAB_RETURN_IF_ERROR(InitSodium());
  Protocol protocol;
  if (config.protocol) {
    protocol = *config.protocol;
    CONFAB_RETURN_IF_ERROR(CheckCipherAvailable(protocol.cipher));
  } else {
    CONFAB_ASSIGN_OR_RETURN(protocol, ParseProtocolName(config.protocol_name));
  }
  const HandshakePattern& pattern = protocol.pattern;
  const size_t psks_needed = protocol.legacy_psk ? 1 : static_cast<size_t>(pattern.psk_count);
  if (config.psks.size() != psks_needed)
    return Status::InvalidArgument(protocol.name + " needs " + std::to_string(psks_needed) +
                                   " PSK(s), got " + std::to_string(config.psks.size()));

  // Which keys this side needs up front: its own static if it ever sends
  // "s" or uses it in a DH, and the peer's pre-message keys.
  const bool me_initiator = config.initiator;
  const auto& my_pre = me_initiator ? pattern.initiator_pre_message : pattern.responder_pre_message;
  const auto& their_pre =
      me_initiator ? pattern.responder_pre_message : pattern.initiator_pre_message;
  bool needs_s = Contains(my_pre, Token::kS);
  for (size_t i = 0; i < pattern.messages.size(); ++i) {
    const bool mine = (i % 2 == 0) == me_initiator;
    const auto& tokens = pattern.messages[i];
    needs_s = needs_s || (mine && Contains(tokens, Token::kS)) || Contains(tokens, Token::kSs) ||
              Contains(tokens, me_initiator ? Token::kSe : Token::kEs);
  }
  if (needs_s && !config.s)
    return Status::InvalidArgument(protocol.name + " needs our static key (s)");
  if (Contains(their_pre, Token::kS) && !config.rs)
    return Status::InvalidArgument(protocol.name + " needs the peer's static key (rs)");
  if (Contains(their_pre, Token::kE) && !config.re)
    return Status::InvalidArgument(protocol.name + " needs the peer's ephemeral key (re)");
  if (Contains(my_pre, Token::kE) && !config.e)
    return Status::InvalidArgument(protocol.name + " needs our pre-message ephemeral (e)");

  // Remote keys count only where a pre-message says the peer's key is known
  // in advance; a transmitted "s" or "e" always comes from the message.
  if (!Contains(their_pre, Token::kS))
    config.rs.reset();
  if (!Contains(their_pre, Token::kE))
    config.re.reset();

  State state{SymmetricState(protocol.cipher, protocol.hash), {}, {}, {}, 0, 0};
  auto hs = std::unique_ptr<HandshakeState>(
      new HandshakeState(std::move(protocol), me_initiator, std::move(state)));
  if (config.s && config.s_public) {
    hs->s_ = KeyPair{*config.s, *config.s_public};
    CONFAB_DCHECK(KeyPairFromPrivate(config.s->view())->public_key == *config.s_public);
  } else if (config.s) {
    CONFAB_ASSIGN_OR_RETURN(hs->s_, KeyPairFromPrivate(config.s->view()));
  }
  hs->Initialize(config);
  return hs;
}

HandshakeState::HandshakeState(Protocol protocol, bool initiator, State state)
    : protocol_(std::move(protocol)),
      initiator_(initiator),
      phase_(initiator ? Phase::kWriting : Phase::kReading),
      state_(std::move(state)) {}

void HandshakeState::Initialize(HandshakeConfig& config) {
  fixed_e_ = std::move(config.e);
  ephemeral_source_ = std::move(config.ephemeral_source);
  psks_ = std::move(config.psks);
  state_.rs = config.rs;
  state_.re = config.re;

  SymmetricState& ss = state_.symmetric;
  ss.InitializeSymmetric(protocol_.name);
  ss.MixHash(config.prologue);
  // LEGACY ("NoisePSK_", pre-revision-30): the one PSK goes in right after
  // the prologue, before the pre-messages (checked against the old
  // cacophony vectors, whose K/KK/... PSK variants pin this order).
  if (protocol_.legacy_psk)
    ss.LegacyMixPsk(psks_[0].view());

  // Pre-messages, initiator's first (section 5.3 Initialize()).
  const HandshakePattern& pattern = protocol_.pattern;
  for (bool initiator_side : {true, false}) {
    const bool mine = initiator_side == initiator_;
    const auto& tokens =
        initiator_side ? pattern.initiator_pre_message : pattern.responder_pre_message;
    for (Token token : tokens) {
      if (token == Token::kS) {
        ss.MixHash(mine ? ByteView(s_->public_key) : ByteView(*state_.rs));
      } else if (token == Token::kE) {
        if (mine) {
          state_.e = *KeyPairFromPrivate(fixed_e_->view());
          fixed_e_.reset();
        }
        const PublicKey& pub = mine ? state_.e->public_key : *state_.re;
        ss.MixHash(pub);
        if (protocol_.uses_psk())
          ss.MixKey(pub);
      }
    }
  }
}

Result<KeyPair> HandshakeState::NextEphemeral() {
  if (fixed_e_) {
    auto pair = KeyPairFromPrivate(fixed_e_->view());
    return pair;
  }
  if (ephemeral_source_)
    return KeyPairFromPrivate(ephemeral_source_().view());
  return GenerateKeyPair();
}

// The DH tokens. Which of our keys and which of theirs depends on our role:
// "es" is DH(e, rs) for the initiator and DH(s, re) for the responder.
Status HandshakeState::MixDh(State& state, Token token) const {
  const std::optional<KeyPair>* mine = nullptr;
  const std::optional<PublicKey>* theirs = nullptr;
  switch (token) {
    case Token::kEe:  // ee
      mine = &state.e;
      theirs = &state.re;
      break;
    case Token::kEs:  // es
      mine = initiator_ ? &state.e : &s_;
      theirs = initiator_ ? &state.rs : &state.re;
      break;
    case Token::kSe:  // se
      mine = initiator_ ? &s_ : &state.e;
      theirs = initiator_ ? &state.re : &state.rs;
      break;
    case Token::kSs:  // ss
      mine = &s_;
      theirs = &state.rs;
      break;
    default:
      return Status::FailedPrecondition("not a DH token");
  }
  if (!mine->has_value() || !theirs->has_value())
    return Status::FailedPrecondition("Noise " + std::string(TokenName(token)) +
                                      ": a key is missing");
  CONFAB_ASSIGN_OR_RETURN(auto shared, Dh((*mine)->private_key, **theirs));
  state.symmetric.MixKey(shared.view());
  return Status::Ok();
}

// psk (section 9.2): MixKeyAndHash(psk), the PSKs used in order.
Status HandshakeState::MixPsk(State& state) const {
  if (state.next_psk >= psks_.size())
    return Status::FailedPrecondition("Noise psk: no PSK left");
  state.symmetric.MixKeyAndHash(psks_[state.next_psk++].view());
  return Status::Ok();
}

void HandshakeState::Advance(State& next) {
  ++next.next_message;
  state_ = std::move(next);
  if (state_.next_message == protocol_.pattern.messages.size())
    phase_ = Phase::kComplete;
  else
    phase_ = phase_ == Phase::kWriting ? Phase::kReading : Phase::kWriting;
}

Result<Bytes> HandshakeState::WriteMessage(ByteView payload) {
  if (phase_ != Phase::kWriting)
    return Status::FailedPrecondition("Noise WriteMessage: not our turn to write");
  if (payload.size() > kMaxMessageBytes)
    return Status::InvalidArgument("Noise handshake payload exceeds 65535 bytes");
  State next = state_;
  Bytes message;
  bool used_fixed_e = false;
  for (Token token : protocol_.pattern.messages[next.next_message]) {
    switch (token) {
      case Token::kE: {  // e: new ephemeral; MixHash(e.pub); psk: MixKey(e.pub)
        CONFAB_ASSIGN_OR_RETURN(next.e, NextEphemeral());
        used_fixed_e = fixed_e_.has_value();
        const PublicKey& pub = next.e->public_key;
        message.insert(message.end(), pub.begin(), pub.end());
        next.symmetric.MixHash(pub);
        if (protocol_.uses_psk())
          next.symmetric.MixKey(pub);
        break;
      }
      case Token::kS: {  // s: EncryptAndHash(s.pub)
        if (!s_)
          return Status::FailedPrecondition("Noise s: no static key");
        CONFAB_ASSIGN_OR_RETURN(Bytes sealed, next.symmetric.EncryptAndHash(s_->public_key));
        message.insert(message.end(), sealed.begin(), sealed.end());
        break;
      }
      case Token::kEe:  // ee
      case Token::kEs:  // es
      case Token::kSe:  // se
      case Token::kSs:  // ss
        CONFAB_RETURN_IF_ERROR(MixDh(next, token));
        break;
      case Token::kPsk:  // psk
        CONFAB_RETURN_IF_ERROR(MixPsk(next));
        break;
    }
  }
  CONFAB_ASSIGN_OR_RETURN(Bytes sealed_payload, next.symmetric.EncryptAndHash(payload));
  message.insert(message.end(), sealed_payload.begin(), sealed_payload.end());
  if (message.size() > kMaxMessageBytes)
    return Status::InvalidArgument("Noise handshake message would exceed 65535 bytes");
  if (used_fixed_e)
    fixed_e_.reset();
  Advance(next);
  return message;
}

Result<Bytes> HandshakeState::ReadMessage(ByteView message) {
  if (phase_ != Phase::kReading)
    return Status::FailedPrecondition("Noise ReadMessage: not our turn to read");
  if (message.size() > kMaxMessageBytes)
    return Status::InvalidArgument("Noise handshake message exceeds 65535 bytes");
  // Work on a copy; commit only once everything verified (WireGuard's
  // "Success! Copy everything to peer").
  State next = state_;
  ByteView rest = message;
  for (Token token : protocol_.pattern.messages[next.next_message]) {
    switch (token) {
      case Token::kE: {  // e: re = the next DHLEN bytes; MixHash(re); psk: MixKey(re)
        if (rest.size() < kDhLen)
          return Status::Corruption("Noise handshake message too short for e");
        PublicKey re;
        std::memcpy(re.data(), rest.data(), kDhLen);
        rest = rest.subspan(kDhLen);
        next.re = re;
        next.symmetric.MixHash(re);
        if (protocol_.uses_psk())
          next.symmetric.MixKey(re);
        break;
      }
      case Token::kS: {  // s: rs = DecryptAndHash(the next DHLEN (+16) bytes)
        const size_t len = kDhLen + (next.symmetric.HasKey() ? kTagLen : 0);
        if (rest.size() < len)
          return Status::Corruption("Noise handshake message too short for s");
        CONFAB_ASSIGN_OR_RETURN(Bytes rs, next.symmetric.DecryptAndHash(rest.first(len)));
        rest = rest.subspan(len);
        next.rs.emplace();
        std::memcpy(next.rs->data(), rs.data(), kDhLen);
        break;
      }
      case Token::kEe:  // ee
      case Token::kEs:  // es
      case Token::kSe:  // se
      case Token::kSs:  // ss
        CONFAB_RETURN_IF_ERROR(MixDh(next, token));
        break;
      case Token::kPsk:  // psk
        CONFAB_RETURN_IF_ERROR(MixPsk(next));
        break;
    }
  }
  if (next.symmetric.HasKey() && rest.size() < kTagLen)
    return Status::Corruption("Noise handshake message too short for the payload tag");
  CONFAB_ASSIGN_OR_RETURN(Bytes payload, next.symmetric.DecryptAndHash(rest));
  Advance(next);
  return payload;
}

Result<std::pair<CipherState, CipherState>> HandshakeState::Split() {
  if (phase_ != Phase::kComplete)
    return Status::FailedPrecondition(phase_ == Phase::kSplit
                                          ? "Noise Split: already split"
                                          : "Noise Split: handshake not complete");
  auto ciphers = state_.symmetric.Split();
  phase_ = Phase::kSplit;
  // Nothing after Split needs ck, the ephemeral or the PSKs; keep only h.
  state_.symmetric.WipeChainingKey();
  state_.e.reset();
  fixed_e_.reset();
  psks_.clear();
  return ciphers;
}

Result<HandshakeState::TransportCiphers> HandshakeState::SplitForTransport() {
  CONFAB_ASSIGN_OR_RETURN(auto ciphers, Split());
  if (initiator_)
    return TransportCiphers{std::move(ciphers.first), std::move(ciphers.second)};
  return TransportCiphers{std::move(ciphers.second), std::move(ciphers.first)};
}

Result<Bytes> HandshakeState::GetHandshakeHash() const {
  if (phase_ != Phase::kComplete && phase_ != Phase::kSplit)
    return Status::FailedPrecondition("Noise GetHandshakeHash: handshake not complete");
  return ToBytes(state_.symmetric.GetHandshakeHash());
}

}  // namespace confab::crypto::noise
