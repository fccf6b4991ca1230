// SecureChannel: the Noise IK handshake and the encrypted transport of one
// TCP connection, sans-I/O: bytes in from the socket, frames out to write.
//
//   initiator                                  responder
//   Initiate(params) -> frame 1  ----------->  Feed(bytes); Next() -> kHello
//                                              {purpose, remote static, payload}
//                                              (the owner checks the payload)
//   Feed(bytes); Next() -> kWelcome  <-------  Accept(reply payload) -> frame 2
//   {payload}  (the owner checks it)
//   Seal(plaintext) -> frame  <------------->  Feed; Next() -> kMessage
//
// Frame 1 is a proto::HandshakeInit naming the purpose; the purpose is also
// in the Noise prologue ("confab/1 <purpose>"), so it cannot be changed in
// flight. Joins use Noise_IKpsk2 with a psk the responder learns only from
// message 1's payload (see crypto/invite.h); everything else uses Noise_IK.
// Both use 25519, ChaChaPoly and BLAKE2b (DESIGN.md, Protocols); a file
// connection may name AESGCM instead in HandshakeInit.cipher, for speed where
// the CPU has AES-NI.
//
// Each direction rekeys (Noise section 11.3) after every
// kRekeyAfterMessages messages: both sides count, and TCP keeps the order,
// so no rekey message is needed.
//
// Errors from Feed/Next are final: the channel is poisoned and the owner
// closes the connection (DESIGN.md: nothing a bad peer sent is half-applied).
//
// Not thread-safe; one channel per connection, on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/noise.h"
#include "common/wire/frame_reader.h"
#include "proto/channel.pb.h"

namespace confab::channel {

using crypto::noise::PublicKey;
using Psk = SecretArray<32>;

inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 20;
// The largest plaintext one transport frame carries.
inline constexpr size_t kMaxPlaintextBytes = wire::kMaxFramePayloadBytes - crypto::noise::kTagLen;

// The Noise prologue for a purpose: "confab/1 join", "confab/1 tracker", ...
Bytes PrologueFor(proto::Purpose purpose);

struct InitiatorParams {
  proto::Purpose purpose = proto::PURPOSE_UNKNOWN;
  crypto::noise::PrivateKey local_static;
  // Its public half if known (saves a scalar multiplication per handshake).
  std::optional<PublicKey> local_static_public;
  PublicKey remote_static{};
  std::optional<Psk> psk;  // required for PURPOSE_JOIN, refused otherwise
  // CIPHER_AESGCM only with PURPOSE_FILE where AES-NI is available
  // (InvalidArgument "unsupported" otherwise); the responder refuses it
  // likewise (PermissionDenied).
  proto::Cipher cipher = proto::CIPHER_CHACHAPOLY;
  Bytes payload;  // handshake message 1 payload
  // Test seam: where ephemeral keys come from (default: the CSPRNG).
  std::function<crypto::noise::PrivateKey()> ephemeral_source;
  // Test seam: both sides must use the same value (the protocol's is
  // kRekeyAfterMessages); tests shrink it to cross a rekey quickly.
  uint64_t rekey_after_messages = kRekeyAfterMessages;
  // Frames the peer sends may not exceed this (at most 65535). A smaller
  // limit bounds what a connection can make us buffer.
  size_t max_frame_payload = wire::kMaxFramePayloadBytes;
};

struct ResponderParams {
  crypto::noise::PrivateKey local_static;
  std::optional<PublicKey> local_static_public;  // see InitiatorParams
  std::set<proto::Purpose> purposes;             // what this listener serves
  std::function<crypto::noise::PrivateKey()> ephemeral_source;
  uint64_t rekey_after_messages = kRekeyAfterMessages;     // see InitiatorParams
  size_t max_frame_payload = wire::kMaxFramePayloadBytes;  // see InitiatorParams
};

struct Event {
  enum class Kind {
    kHello,    // responder: message 1 arrived; Accept() or drop the connection
    kWelcome,  // initiator: message 2 arrived; the channel is established
    kMessage,  // a transport message
  };
  Kind kind = Kind::kMessage;
  proto::Purpose purpose = proto::PURPOSE_UNKNOWN;  // kHello
  PublicKey remote_static{};                        // kHello
  Bytes payload;
};

class SecureChannel {
 public:
  enum class State { kAwaitingHello, kHelloReceived, kAwaitingWelcome, kEstablished, kFailed };

  // Builds the initiator and handshake frame 1 (written by the caller).
  // InvalidArgument for a missing or unexpected psk or an oversize payload.
  [[nodiscard]] static Result<std::unique_ptr<SecureChannel>> Initiate(InitiatorParams params,
                                                                       Bytes* first_frame);
  [[nodiscard]] static std::unique_ptr<SecureChannel> Respond(ResponderParams params);

  // Takes bytes from the socket, any split. Returns the poisoning error.
  [[nodiscard]] Status Feed(ByteView bytes);

  // The next event, nullopt when the bytes fed so far are used up. Errors:
  //   Corruption          a bad frame or handshake message wrapper
  //   PermissionDenied    a purpose this responder does not serve
  //   AuthFailed          a handshake or transport message that fails Noise
  //   FailedPrecondition  data before the owner answered kHello
  // Every error poisons the channel.
  [[nodiscard]] Result<std::optional<Event>> Next();

  // Responder, after kHello: the reply frame carrying `payload`. `psk` is
  // required for PURPOSE_JOIN (derived from message 1's payload). On success
  // the channel is established.
  [[nodiscard]] Result<Bytes> Accept(ByteView payload, std::optional<Psk> psk = std::nullopt);

  // A transport frame carrying `plaintext` (at most kMaxPlaintextBytes).
  // FailedPrecondition before the channel is established.
  [[nodiscard]] Result<Bytes> Seal(ByteView plaintext);

  // Appends the frame to `*out` instead, encrypting in place: for senders
  // that batch many small messages into one socket write.
  [[nodiscard]] Status SealAppend(ByteView plaintext, Bytes* out);

  State state() const { return state_; }
  bool established() const { return state_ == State::kEstablished; }
  proto::Purpose purpose() const { return purpose_; }
  // The peer's static key: known from the start for an initiator, after
  // kHello for a responder.
  const PublicKey& remote_static() const { return remote_static_; }
  // Noise's handshake hash, for channel binding; empty until established.
  ByteView handshake_hash() const { return handshake_hash_; }

 private:
  explicit SecureChannel(size_t max_frame_payload) : reader_(max_frame_payload) {}

  Status Fail(Status status);
  Result<std::optional<Event>> HandleHello(Bytes frame);
  Result<std::optional<Event>> HandleWelcome(Bytes frame);
  Result<std::optional<Event>> HandleTransport(Bytes frame);
  Status Establish(crypto::noise::HandshakeState& handshake);

  State state_ = State::kFailed;
  Status status_;
  bool initiator_ = false;
  proto::Purpose purpose_ = proto::PURPOSE_UNKNOWN;
  PublicKey remote_static_{};
  crypto::noise::PrivateKey local_static_;
  std::optional<PublicKey> local_static_public_;
  std::set<proto::Purpose> purposes_;
  std::function<crypto::noise::PrivateKey()> ephemeral_source_;
  wire::FrameReader reader_;
  std::unique_ptr<crypto::noise::HandshakeState> handshake_;
  Bytes hello_message_;  // responder: message 1, kept until Accept
  crypto::noise::CipherState send_;
  crypto::noise::CipherState receive_;
  uint64_t rekey_after_messages_ = kRekeyAfterMessages;
  uint64_t sent_since_rekey_ = 0;
  uint64_t received_since_rekey_ = 0;
  Bytes handshake_hash_;
};

}  // namespace confab::channel
