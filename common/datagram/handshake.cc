#include "common/datagram/handshake.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "common/datagram/little_endian.h"

namespace confab::datagram {
namespace {

using crypto::noise::HandshakeConfig;
using crypto::noise::HandshakeState;

constexpr std::string_view kProtocolName = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kPrologue = "confab/1 udp";
constexpr size_t kTimestampBytes = 8;

Result<std::unique_ptr<HandshakeState>> NewState(bool initiator,
                                                 const crypto::noise::KeyPair& local,
                                                 const crypto::noise::PublicKey* remote) {
  HandshakeConfig config;
  config.protocol_name = std::string(kProtocolName);
  config.initiator = initiator;
  config.prologue = ToBytes(UdpPrologue());
  config.s = local.private_key;
  config.s_public = local.public_key;
  if (remote != nullptr)
    config.rs = *remote;
  return HandshakeState::Create(std::move(config));
}

// Both sides' transport ciphers, as a protector for this side.
Result<std::unique_ptr<PacketProtector>> ProtectorFrom(HandshakeState& state, uint32_t local_index,
                                                       uint32_t remote_index, uint64_t now_us) {
  CONFAB_ASSIGN_OR_RETURN(HandshakeState::TransportCiphers ciphers, state.SplitForTransport());
  return std::make_unique<PacketProtector>(std::move(ciphers.send), std::move(ciphers.receive),
                                           local_index, remote_index, now_us);
}

}  // namespace

ByteView UdpPrologue() {
  return AsBytes(kPrologue);
}

Result<std::unique_ptr<HandshakeInitiator>> HandshakeInitiator::Create(
    const crypto::noise::KeyPair& local_static, const crypto::noise::PublicKey& remote_static,
    Bytes payload) {
  if (payload.size() > kMaxHandshakePayloadBytes)
    return Status::InvalidArgument("handshake payload too large for one datagram");
  return std::unique_ptr<HandshakeInitiator>(
      new HandshakeInitiator(local_static, remote_static, std::move(payload)));
}

HandshakeInitiator::HandshakeInitiator(const crypto::noise::KeyPair& local_static,
                                       const crypto::noise::PublicKey& remote_static, Bytes payload)
    : local_static_(local_static),
      remote_static_(remote_static),
      payload_(std::move(payload)),
      cookies_(remote_static),
      response_macs_(local_static.public_key) {}

Result<Bytes> HandshakeInitiator::MakeInitiation(uint32_t local_index, uint64_t clock_us,
                                                 uint64_t now_us) {
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<HandshakeState> state,
                          NewState(true, local_static_, &remote_static_));
  // Strictly increasing even if the clock steps back.
  const uint64_t timestamp = std::max(clock_us, last_timestamp_ + 1);
  Bytes inner(kTimestampBytes + payload_.size());
  PutLe64(inner.data(), timestamp);
  std::copy(payload_.begin(), payload_.end(), inner.begin() + kTimestampBytes);
  CONFAB_ASSIGN_OR_RETURN(Bytes noise, state->WriteMessage(inner));
  Bytes message(1 + 4 + noise.size() + kMacsBytes);
  message[0] = kInitiationType;
  PutLe32(message.data() + 1, local_index);
  std::copy(noise.begin(), noise.end(), message.begin() + 5);
  cookies_.AddMacs(message, now_us);
  state_ = std::move(state);
  local_index_ = local_index;
  last_timestamp_ = timestamp;
  return message;
}

Result<HandshakeInitiator::Established> HandshakeInitiator::OnResponse(ByteView response,
                                                                       uint64_t now_us) {
  if (state_ == nullptr)
    return Status::FailedPrecondition("no handshake initiation outstanding");
  if (response.size() < 1 + 4 + 4 + kMacsBytes || response[0] != kResponseType)
    return Status::Corruption("malformed handshake response");
  if (GetLe32(response.data() + 5) != local_index_)
    return Status::Corruption("handshake response for another attempt");
  if (response_macs_.Check(response, {}, false, now_us) == CookieChecker::Verdict::kBadMac1)
    return Status::AuthFailed("handshake response with a bad mac1");
  const uint32_t remote_index = GetLe32(response.data() + 1);
  const ByteView noise = response.subspan(9, response.size() - 9 - kMacsBytes);
  // ReadMessage leaves the state untouched on error, so a forged response
  // does not spoil the genuine one that may follow.
  CONFAB_ASSIGN_OR_RETURN(Bytes payload, state_->ReadMessage(noise));
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<PacketProtector> protector,
                          ProtectorFrom(*state_, local_index_, remote_index, now_us));
  state_.reset();
  return Established{std::move(protector), std::move(payload)};
}

HandshakeResponder::HandshakeResponder(const crypto::noise::KeyPair& local_static)
    : local_static_(local_static), cookies_(local_static.public_key) {}

Result<HandshakeResponder::Outcome> HandshakeResponder::OnInitiation(ByteView initiation,
                                                                     ByteView source,
                                                                     bool under_load,
                                                                     uint64_t now_us) {
  if (initiation.size() < 1 + 4 + kMacsBytes || initiation[0] != kInitiationType)
    return Status::Corruption("malformed handshake initiation");
  // MACs first: no Diffie-Hellman for junk or, under load, for spoofers.
  switch (cookies_.Check(initiation, source, under_load, now_us)) {
    case CookieChecker::Verdict::kBadMac1:
      return Status::AuthFailed("handshake initiation with a bad mac1");
    case CookieChecker::Verdict::kNeedCookie:
      return Outcome{std::nullopt, cookies_.MakeReply(GetLe32(initiation.data() + 1), initiation,
                                                      source, now_us)};
    case CookieChecker::Verdict::kValid:
    case CookieChecker::Verdict::kValidCookie:
      break;
  }
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<HandshakeState> state,
                          NewState(false, local_static_, nullptr));
  const ByteView noise = initiation.subspan(5, initiation.size() - 5 - kMacsBytes);
  CONFAB_ASSIGN_OR_RETURN(Bytes inner, state->ReadMessage(noise));
  if (inner.size() < kTimestampBytes)
    return Status::Corruption("handshake initiation without a timestamp");
  Pending pending;
  pending.remote_static = *state->remote_static();
  pending.timestamp = GetLe64(inner.data());
  auto last = last_timestamp_.find(pending.remote_static);
  if (last != last_timestamp_.end() && pending.timestamp <= last->second)
    return Status::Unavailable("replayed or stale handshake initiation");
  pending.payload.assign(inner.begin() + kTimestampBytes, inner.end());
  pending.remote_index = GetLe32(initiation.data() + 1);
  pending.state = std::move(state);
  return Outcome{std::move(pending), {}};
}

Result<HandshakeResponder::Accepted> HandshakeResponder::Accept(Pending pending, ByteView payload,
                                                                uint32_t local_index,
                                                                uint64_t now_us) {
  if (payload.size() > kMaxHandshakePayloadBytes)
    return Status::InvalidArgument("handshake payload too large for one datagram");
  // A later initiation from the same key may have been accepted meanwhile.
  auto last = last_timestamp_.find(pending.remote_static);
  if (last != last_timestamp_.end() && pending.timestamp <= last->second)
    return Status::Unavailable("replayed or stale handshake initiation");
  CONFAB_ASSIGN_OR_RETURN(Bytes noise, pending.state->WriteMessage(payload));
  Bytes response(1 + 4 + 4 + noise.size() + kMacsBytes);
  response[0] = kResponseType;
  PutLe32(response.data() + 1, local_index);
  PutLe32(response.data() + 5, pending.remote_index);
  std::copy(noise.begin(), noise.end(), response.begin() + 9);
  CookieMaker macs(pending.remote_static);
  macs.AddMacs(response, now_us);
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<PacketProtector> protector,
                          ProtectorFrom(*pending.state, local_index, pending.remote_index, now_us));
  // Bounded: past the limit an arbitrary entry goes (its key could then
  // replay one old initiation, which only restarts its own session).
  if (last_timestamp_.size() >= kMaxRememberedInitiators &&
      last_timestamp_.count(pending.remote_static) == 0)
    last_timestamp_.erase(last_timestamp_.begin());
  last_timestamp_[pending.remote_static] = pending.timestamp;
  return Accepted{std::move(response), std::move(protector)};
}

}  // namespace confab::datagram
