#include "common/channel/secure_channel.h"

#include <string>
#include <utility>

namespace confab::channel {
namespace {

namespace noise = crypto::noise;

constexpr uint32_t kHandshakeVersion = 1;
constexpr std::string_view kIk = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kIkPsk2 = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
constexpr std::string_view kIkAesGcm = "Noise_IK_25519_AESGCM_BLAKE2b";

// AESGCM is offered for bulk file data only, and only where libsodium can run it.
Status CheckCipher(proto::Purpose purpose, proto::Cipher cipher) {
  if (cipher == proto::CIPHER_CHACHAPOLY)
    return Status::Ok();
  if (cipher != proto::CIPHER_AESGCM || purpose != proto::PURPOSE_FILE)
    return Status::PermissionDenied("that cipher is not offered for this purpose");
  return noise::CheckCipherAvailable(noise::CipherKind::kAesGcm);
}

std::string_view PurposeName(proto::Purpose purpose) {
  switch (purpose) {
    case proto::PURPOSE_JOIN:
      return "join";
    case proto::PURPOSE_TRACKER:
      return "tracker";
    case proto::PURPOSE_CHAT:
      return "chat";
    case proto::PURPOSE_FILE:
      return "file";
    case proto::PURPOSE_ADMIN:
      return "admin";
    case proto::PURPOSE_RELAY:
      return "relay";
    default:
      return "";
  }
}

noise::PrivateKey CopyKey(const noise::PrivateKey& key) {
  return key;
}

Result<std::unique_ptr<noise::HandshakeState>> NewHandshake(
    proto::Purpose purpose, bool initiator, const noise::PrivateKey& local_static,
    const std::optional<PublicKey>& local_static_public, std::optional<PublicKey> remote_static,
    std::optional<Psk> psk, const std::function<noise::PrivateKey()>& ephemeral_source,
    proto::Cipher cipher) {
  noise::HandshakeConfig config;
  config.protocol_name = std::string(purpose == proto::PURPOSE_JOIN   ? kIkPsk2
                                     : cipher == proto::CIPHER_AESGCM ? kIkAesGcm
                                                                      : kIk);
  config.initiator = initiator;
  config.prologue = PrologueFor(purpose);
  config.s = CopyKey(local_static);
  config.s_public = local_static_public;
  config.rs = remote_static;
  config.ephemeral_source = ephemeral_source;
  if (psk)
    config.psks.push_back(*psk);
  return noise::HandshakeState::Create(std::move(config));
}

}  // namespace

Bytes PrologueFor(proto::Purpose purpose) {
  std::string prologue = "confab/1 ";
  prologue += PurposeName(purpose);
  return ToBytes(AsBytes(prologue));
}

Result<std::unique_ptr<SecureChannel>> SecureChannel::Initiate(InitiatorParams params,
                                                               Bytes* first_frame) {
  if (PurposeName(params.purpose).empty())
    return Status::InvalidArgument("no purpose");
  if ((params.purpose == proto::PURPOSE_JOIN) != params.psk.has_value()) {
    return Status::InvalidArgument("a psk is used for joining, and only for joining");
  }
  CONFAB_RETURN_IF_ERROR(CheckCipher(params.purpose, params.cipher));
  std::unique_ptr<SecureChannel> channel(new SecureChannel(params.max_frame_payload));
  channel->initiator_ = true;
  channel->purpose_ = params.purpose;
  channel->remote_static_ = params.remote_static;
  channel->rekey_after_messages_ = params.rekey_after_messages;
  CONFAB_ASSIGN_OR_RETURN(
      channel->handshake_,
      NewHandshake(params.purpose, true, params.local_static, params.local_static_public,
                   params.remote_static, params.psk, params.ephemeral_source, params.cipher));
  CONFAB_ASSIGN_OR_RETURN(Bytes message, channel->handshake_->WriteMessage(params.payload));
  proto::HandshakeInit init;
  init.set_version(kHandshakeVersion);
  init.set_purpose(params.purpose);
  init.set_cipher(params.cipher);
  init.set_noise(message.data(), message.size());
  Bytes frame_payload(init.ByteSizeLong());
  init.SerializeToArray(frame_payload.data(), static_cast<int>(frame_payload.size()));
  CONFAB_ASSIGN_OR_RETURN(*first_frame, wire::EncodeFrame(frame_payload));
  channel->state_ = State::kAwaitingWelcome;
  return channel;
}

std::unique_ptr<SecureChannel> SecureChannel::Respond(ResponderParams params) {
  std::unique_ptr<SecureChannel> channel(new SecureChannel(params.max_frame_payload));
  channel->initiator_ = false;
  channel->local_static_ = std::move(params.local_static);
  channel->local_static_public_ = params.local_static_public;
  channel->purposes_ = std::move(params.purposes);
  channel->ephemeral_source_ = std::move(params.ephemeral_source);
  channel->rekey_after_messages_ = params.rekey_after_messages;
  channel->state_ = State::kAwaitingHello;
  return channel;
}

Status SecureChannel::Fail(Status status) {
  if (status_.ok())
    status_ = std::move(status);
  state_ = State::kFailed;
  handshake_.reset();
  return status_;
}

Status SecureChannel::Feed(ByteView bytes) {
  if (!status_.ok())
    return status_;
  Status s = reader_.Feed(bytes);
  if (!s.ok() && s.code() != Status::Code::kFailedPrecondition)
    return Fail(s);
  return s;
}

Result<std::optional<Event>> SecureChannel::Next() {
  if (!status_.ok())
    return status_;
  if (state_ == State::kHelloReceived) {
    // Nothing may follow message 1 until we answer it.
    if (reader_.has_pending() || reader_.mid_frame()) {
      return Fail(Status::FailedPrecondition("data before the handshake reply"));
    }
    return std::optional<Event>();
  }
  auto frame = reader_.Next();
  if (!frame.ok())
    return Fail(frame.status());
  if (!frame->has_value())
    return std::optional<Event>();
  Bytes bytes = std::move(**frame);
  switch (state_) {
    case State::kAwaitingHello:
      return HandleHello(std::move(bytes));
    case State::kAwaitingWelcome:
      return HandleWelcome(std::move(bytes));
    case State::kEstablished:
      return HandleTransport(std::move(bytes));
    default:
      return Fail(Status::FailedPrecondition("channel is closed"));
  }
}

Result<std::optional<Event>> SecureChannel::HandleHello(Bytes frame) {
  proto::HandshakeInit init;
  if (!init.ParseFromArray(frame.data(), static_cast<int>(frame.size())) ||
      init.version() != kHandshakeVersion) {
    return Fail(Status::Corruption("not a confab handshake"));
  }
  if (purposes_.count(init.purpose()) == 0) {
    return Fail(Status::PermissionDenied("this endpoint does not serve that purpose"));
  }
  if (Status cipher = CheckCipher(init.purpose(), init.cipher()); !cipher.ok())
    return Fail(Status::PermissionDenied("cipher refused: " + std::string(cipher.message())));
  purpose_ = init.purpose();
  // For a join the psk comes from message 1's payload. Message 1 of IKpsk2
  // does not use the psk, so a placeholder reads it; Accept() reads it again
  // with the real psk before writing message 2.
  std::optional<Psk> placeholder;
  if (purpose_ == proto::PURPOSE_JOIN)
    placeholder.emplace();
  auto handshake = NewHandshake(purpose_, false, local_static_, local_static_public_, std::nullopt,
                                placeholder, ephemeral_source_, init.cipher());
  if (!handshake.ok())
    return Fail(handshake.status());
  hello_message_ = ToBytes(AsBytes(init.noise()));
  auto payload = (*handshake)->ReadMessage(hello_message_);
  if (!payload.ok())
    return Fail(payload.status());
  if (!(*handshake)->remote_static())
    return Fail(Status::AuthFailed("no static key"));
  remote_static_ = *(*handshake)->remote_static();
  handshake_ = std::move(handshake).value();
  state_ = State::kHelloReceived;
  Event event;
  event.kind = Event::Kind::kHello;
  event.purpose = purpose_;
  event.remote_static = remote_static_;
  event.payload = std::move(payload).value();
  return std::optional<Event>(std::move(event));
}

Result<Bytes> SecureChannel::Accept(ByteView payload, std::optional<Psk> psk) {
  if (state_ != State::kHelloReceived) {
    return Status::FailedPrecondition("Accept() answers a hello");
  }
  if ((purpose_ == proto::PURPOSE_JOIN) != psk.has_value()) {
    return Status::InvalidArgument("a psk is used for joining, and only for joining");
  }
  if (psk) {
    auto handshake = NewHandshake(purpose_, false, local_static_, local_static_public_,
                                  std::nullopt, psk, ephemeral_source_, proto::CIPHER_CHACHAPOLY);
    if (!handshake.ok())
      return Fail(handshake.status());
    auto again = (*handshake)->ReadMessage(hello_message_);
    if (!again.ok())
      return Fail(again.status());
    handshake_ = std::move(handshake).value();
  }
  auto message = handshake_->WriteMessage(payload);
  if (!message.ok())
    return Fail(message.status());
  proto::HandshakeReply reply;
  reply.set_noise(message->data(), message->size());
  Bytes frame_payload(reply.ByteSizeLong());
  reply.SerializeToArray(frame_payload.data(), static_cast<int>(frame_payload.size()));
  auto frame = wire::EncodeFrame(frame_payload);
  if (!frame.ok())
    return Fail(frame.status());
  CONFAB_RETURN_IF_ERROR(Establish(*handshake_));
  return frame;
}

Result<std::optional<Event>> SecureChannel::HandleWelcome(Bytes frame) {
  proto::HandshakeReply reply;
  if (!reply.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Fail(Status::Corruption("not a confab handshake reply"));
  }
  auto payload = handshake_->ReadMessage(AsBytes(reply.noise()));
  if (!payload.ok())
    return Fail(payload.status());
  CONFAB_RETURN_IF_ERROR(Establish(*handshake_));
  Event event;
  event.kind = Event::Kind::kWelcome;
  event.purpose = purpose_;
  event.remote_static = remote_static_;
  event.payload = std::move(payload).value();
  return std::optional<Event>(std::move(event));
}

Status SecureChannel::Establish(noise::HandshakeState& handshake) {
  auto hash = handshake.GetHandshakeHash();
  if (!hash.ok())
    return Fail(hash.status());
  auto ciphers = handshake.SplitForTransport();
  if (!ciphers.ok())
    return Fail(ciphers.status());
  handshake_hash_ = std::move(hash).value();
  send_ = std::move(ciphers->send);
  receive_ = std::move(ciphers->receive);
  handshake_.reset();
  hello_message_.clear();
  local_static_ = noise::PrivateKey();  // wiped: no longer needed
  state_ = State::kEstablished;
  return Status::Ok();
}

Result<std::optional<Event>> SecureChannel::HandleTransport(Bytes frame) {
  if (frame.size() < noise::kTagLen)
    return Fail(Status::Corruption("short transport message"));
  std::span<uint8_t> out(frame.data(), frame.size() - noise::kTagLen);
  Status s = receive_.DecryptWithAdInto({}, frame, out);
  if (!s.ok())
    return Fail(s);
  if (++received_since_rekey_ == rekey_after_messages_) {
    received_since_rekey_ = 0;
    CONFAB_RETURN_IF_ERROR(receive_.Rekey());
  }
  frame.resize(out.size());
  Event event;
  event.kind = Event::Kind::kMessage;
  event.payload = std::move(frame);
  return std::optional<Event>(std::move(event));
}

Status SecureChannel::SealAppend(ByteView plaintext, Bytes* out) {
  if (state_ != State::kEstablished) {
    return Status::FailedPrecondition("the channel is not established");
  }
  if (plaintext.size() > kMaxPlaintextBytes) {
    return Status::InvalidArgument("message of " + std::to_string(plaintext.size()) +
                                   " bytes is over the frame limit");
  }
  const size_t cipher_size = plaintext.size() + noise::kTagLen;
  const size_t start = out->size();
  out->resize(start + wire::kFrameHeaderBytes + cipher_size);
  uint8_t* header = out->data() + start;
  header[0] = static_cast<uint8_t>(cipher_size >> 8);
  header[1] = static_cast<uint8_t>(cipher_size & 0xff);
  std::span<uint8_t> body(header + wire::kFrameHeaderBytes, cipher_size);
  Status s = send_.EncryptWithAdInto({}, plaintext, body);
  if (!s.ok()) {
    out->resize(start);
    return s;
  }
  if (++sent_since_rekey_ == rekey_after_messages_) {
    sent_since_rekey_ = 0;
    CONFAB_RETURN_IF_ERROR(send_.Rekey());
  }
  return Status::Ok();
}

Result<Bytes> SecureChannel::Seal(ByteView plaintext) {
  Bytes frame;
  CONFAB_RETURN_IF_ERROR(SealAppend(plaintext, &frame));
  return frame;
}

}  // namespace confab::channel
