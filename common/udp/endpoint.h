// Endpoint: the I/O driver of confab's UDP sessions. One UDP socket, one
// timer, and any number of sessions, each a Noise IK handshake
// (datagram/handshake.h) followed by a datagram::Connection whose packets a
// PacketProtector seals. Everything protocol-shaped lives in the sans-I/O
// datagram module; this class only moves bytes and time:
//
//   socket datagram -> type byte -> handshake / cookie / data -> session
//   session's NextDeadlineUs() -> the one timer (no polling)
//
// Sessions are named by the index this side chose (SessionId); data packets
// carry it, so a session follows its peer across address changes: the
// reply address is the source of the last authenticated packet.
//
// Keys are replaced in flight, as WireGuard does: the session's initiator
// runs a new handshake after rekey_after_us (or 2^60 packets), the streams
// go on, and packets under the previous keys are still accepted.
//
// Connect sends the initiation to every candidate address at once (LAN and
// public, for hole punching) and resends a fresh one every
// kHandshakeRetryUs; the first address that answers wins. Under a flood of
// initiations (more than `handshakes_per_second` in a second) only those
// carrying a cookie for their source address get a handshake.
//
// Upcalls go to the Delegate, always as the last thing a callback does. The
// delegate may call any method, including CloseSession, from an upcall, but
// must not destroy the Endpoint there (Close() it instead).
// Not thread-safe: one loop, one thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/crypto/noise.h"
#include "common/datagram/connection.h"
#include "common/datagram/handshake.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "common/net/udp_socket.h"
#include "common/udp/timer_queue.h"

namespace confab::udp {

using SessionId = uint32_t;
using crypto::noise::PublicKey;

struct EndpointOptions {
  net::Address bind;
  crypto::noise::KeyPair static_key;
  datagram::ConnectionConfig connection;
  // Above this many initiations in one second, cookies are required.
  uint32_t handshakes_per_second = 200;
  // How long Connect keeps resending initiations before giving up.
  uint64_t handshake_give_up_us = datagram::kHandshakeGiveUpUs;
  // Key lifetimes (packet_protector.h): the session's initiator starts a new
  // handshake for fresh keys after rekey_after_us; keys older than
  // reject_after_us end the session. Tests shorten them.
  uint64_t rekey_after_us = datagram::kRekeyAfterUs;
  uint64_t reject_after_us = datagram::kRejectAfterUs;
  // Test seams: a monotonic and a wall clock in microseconds.
  std::function<uint64_t()> monotonic_us;
  std::function<uint64_t()> wall_us;
};

struct SessionInfo {
  PublicKey remote_static{};
  std::optional<net::Address> peer;  // none until the peer answered
  bool initiator = false;
  bool open = false;
  uint32_t rekeys = 0;  // completed rekeys
  datagram::ConnectionStats stats;
};

class Endpoint final : public net::UdpSocket::Delegate, public net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // An initiation for a session we did not start. Return the payload of
    // our response to accept it, or a failed Status to refuse (no answer is
    // sent: the peer sees silence).
    virtual Result<Bytes> OnIncomingSession(const PublicKey& remote_static, ByteView payload,
                                            const net::Address& from) = 0;
    // The handshake completed (for a responder: the initiator's first data
    // packet confirmed the keys). `payload` is the peer's handshake payload.
    virtual void OnSessionOpen(SessionId id, ByteView payload) = 0;
    // Bytes are ready on `stream`; read them with Read.
    virtual void OnSessionReadable(SessionId id, uint8_t stream) = 0;
    // `stream` has room again after a Write that took less than offered.
    virtual void OnSessionWritable(SessionId id, uint8_t stream) = 0;
    // The session is gone (a Connect that never opened, or a session that
    // was open: closed by either side, timed out, replaced by a new
    // handshake from the same peer in the same slot). During this call Read
    // still returns what the peer sent before it closed, as TCP delivers
    // the bytes before a FIN.
    virtual void OnSessionClosed(SessionId id, Status why) = 0;
    // A datagram that is no session's (first byte outside 0x01-0x04), e.g.
    // the tracker's answer to a NAT probe (a protobuf, first byte 0x0a or
    // 0x12). Unauthenticated: treat with suspicion.
    virtual void OnOtherDatagram(ByteView data, const net::Address& from) {
      (void)data;
      (void)from;
    }
  };

  // Binds the socket and starts receiving. Errors from the socket or timer.
  static Result<std::unique_ptr<Endpoint>> Create(net::Loop& loop, EndpointOptions options,
                                                  Delegate* delegate);
  ~Endpoint() override;

  Result<net::Address> local_address() const { return socket_->local_address(); }

  // Starts a handshake with the holder of `remote_static` at any of
  // `candidates`. OnSessionOpen or OnSessionClosed follows.
  // InvalidArgument without candidates or with a payload too large.
  //
  // `slot` lets two hosts keep several sessions at once (a chat and file
  // transfers, each with its own streams and congestion control): a new
  // session replaces an older one with the same peer only in the same slot
  // (the peer restarted), and simultaneous opens are matched by slot too.
  Result<SessionId> Connect(std::vector<net::Address> candidates, const PublicKey& remote_static,
                            Bytes payload, uint32_t slot = 0);

  // Stream I/O on an open session: bytes accepted / copied (0 for an unknown
  // or closed session).
  size_t Write(SessionId id, uint8_t stream, ByteView data);
  size_t writable(SessionId id, uint8_t stream) const;
  size_t Read(SessionId id, uint8_t stream, std::span<uint8_t> out);
  bool AllAcked(SessionId id, uint8_t stream) const;
  // Sends a CLOSE to the peer and forgets the session; no upcall follows.
  void CloseSession(SessionId id, std::string_view reason);
  // NotFound for an unknown session.
  Result<SessionInfo> Info(SessionId id) const;

  // Data packets sent in batches (UdpSocket::SendBatch's sendmmsg calls),
  // and how many datagrams those carried.
  struct SendCounters {
    uint64_t batches = 0;
    uint64_t datagrams = 0;
  };
  SendCounters send_counters() const;

  // Sends a datagram outside any session from the sessions' own socket (NAT
  // probes to the tracker must leave from it: its mapping is what peers
  // reach). FailedPrecondition once closed; the send error.
  Status SendDatagram(Bytes data, const net::Address& to);

  // Closes the socket and the timer; sessions end silently.
  void Close();

 private:
  struct Session;
  explicit Endpoint(net::Loop& loop, EndpointOptions options, Delegate* delegate);

  // net::UdpSocket::Delegate, net::Timer::Delegate.
  void OnDatagram(ByteView data, const net::Address& from) override;
  void OnError(Status status) override;
  void OnDatagramsEnd() override;
  void OnTimer() override;

  void OnInitiation(ByteView data, const net::Address& from);
  void OnRekeyInitiation(datagram::HandshakeResponder::Pending pending, SessionId id,
                         const net::Address& from, uint64_t now);
  void StartRekey(Session& s, uint64_t now);
  void SendRekeyInitiation(Session& s, uint64_t now);
  void OnResponse(ByteView data, const net::Address& from);
  void OnCookieReply(ByteView data);
  void OnData(ByteView data, const net::Address& from);

  void SendInitiation(Session& s);
  // Seals what session `s` may send now into send_batch_; sent at once,
  // or at the end of the receive batch under way (receiving_).
  void Flush(Session& s);
  void SendBatch();
  // Recomputes the deadlines of the sessions touched since the last call
  // (dirty_), then arms the one timer for the earliest of all.
  void Rearm();
  uint64_t SessionDeadline(const Session& s) const;
  uint64_t NowUs() const;
  uint32_t NewIndex() const;
  uint64_t WallUs() const;
  Session* Find(SessionId id);
  // The session a local index (of a Connect or of any keypair) belongs to.
  Session* FindByIndex(uint32_t index);
  void ForgetIndexes(const std::vector<uint32_t>& indexes);
  void EraseSession(SessionId id);
  const Session* Find(SessionId id) const;
  // Upcalls whatever changed in session `id`, and erases it if it ended.
  // Must be the last thing a callback does.
  void Report(SessionId id);

  net::Loop& loop_;
  EndpointOptions options_;
  Delegate* const delegate_;
  std::unique_ptr<net::UdpSocket> socket_;
  std::unique_ptr<net::Timer> timer_;
  datagram::HandshakeResponder responder_;
  std::map<SessionId, std::unique_ptr<Session>> sessions_;
  std::map<uint32_t, SessionId> index_owner_;
  // Each session's next deadline. Anything that may change a session goes
  // through Find/FindByIndex (non-const) or creates it, which marks it dirty.
  TimerQueue timers_;
  std::set<SessionId> dirty_;
  // What a closed session's peer sent and nobody read yet, readable during
  // OnSessionClosed only.
  std::map<SessionId, std::array<Bytes, datagram::kMaxStreams>> unread_;
  Bytes packet_buffer_;
  // Flush's datagrams, all session batch_session_'s, to batch_to_, sent
  // together (UdpSocket::SendBatch): the first batch_size_ of send_batch_,
  // whose buffers are reused. While a receive batch is delivered (receiving_), the replies to
  // all of it (the ACKs of a receiver, the packets a sender's window
  // opened) wait for its end and leave in one system call.
  std::vector<Bytes> send_batch_;
  size_t batch_size_ = 0;
  SessionId batch_session_ = 0;
  std::optional<net::Address> batch_to_;
  bool receiving_ = false;
  Bytes payload_buffer_;
  uint64_t load_window_start_us_ = 0;
  uint32_t initiations_in_window_ = 0;
  // Set to false on destruction, so a loop of upcalls notices it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace confab::udp
