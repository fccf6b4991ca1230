// PeerPort: the node's one door for contacts (DESIGN.md, Protocols). It
// listens on TCP and UDP with the same port number (it owns the TcpListener
// and the UdpPaths), runs the channel responder on every inbound
// connection, checks the hello once (CheckPeerHello: a certificate signed
// by the org key, not ours, its identity key not revoked, matching the Noise
// static key, not blocked, matching the pin, pinned now on first contact),
// and hands each channel by purpose to the one Handler registered for it:
// PURPOSE_CHAT to ChatSessions, PURPOSE_FILE to Transfers. A purpose with no
// handler is refused at the hello; anything that fails a check is dropped
// without an answer. A UDP session's own hello (UdpHello) gets the same
// check before the endpoint keeps any state.
//
// A channel is handed over with the peer's first transport message, not at
// the hello: a Noise IK initiation can be replayed by anyone who saw it, and
// passes the hello check, but only the holder of the key can send a message
// after our answer. Until then it is pending, and the hostile-input limits
// below apply (modelled on the tracker's, tracker/server.h):
//   - a handshake deadline: a connection (TCP or a UDP session's stream)
//     not handed over within handshake_deadline_ms of reaching the port is
//     closed, whether it sent nothing, stopped halfway or replayed an
//     initiation. A UDP session reaches the port when it opens; before
//     that, one whose initiator never confirms it is the endpoint's to end
//     (UdpPathsParams::handshake_give_up_ms), and a replayed UDP
//     initiation is refused there outright (its timestamp is not newer);
//   - a token bucket per source IP for new handshakes (TCP accepts and UDP
//     session initiations alike; common/base/rate_limiter.h);
//   - a cap on pending handshakes (max_pending); over it, new ones are
//     closed at once.
// Every refusal and expiry is counted in stats().
//
// The revocation registry lives here too (RefuseKey, revoked_keys()).
// Dropping a cut-off peer's established connections stays with their
// owners (ChatSessions::DropSessions, Transfers::DropPeer); Drop closes the
// port's pending ones.
//
// The dial side gets the UDP side from here (udp()): chat and file dials
// over UDP leave from the same socket.
//
// Lifetime: `loop`, `contacts` and `delegate` outlive the port; a handler
// lives while it is registered and the port is open (Close() stops the
// hand-overs). Whoever dials through udp() or reads revoked_keys() goes
// before the port does. Not thread-safe (the loop's thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/rate_limiter.h"
#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/byte_stream.h"
#include "common/net/loop.h"
#include "common/net/tcp_listener.h"
#include "common/net/timer.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/path_report.h"
#include "peer/reach/revoked_keys.h"
#include "peer/reach/udp_paths.h"
#include "proto/channel.pb.h"

namespace confab::peer {

struct PeerPortParams {
  std::string self_name;
  crypto::X25519KeyPair local_static{};  // the identity key's X25519 form
  Bytes certificate;                     // ours, a serialized proto::Certificate
  crypto::Ed25519PublicKey org_public_key{};
  UdpPathsParams udp;  // local_static and certificate are filled in from above

  // A connection not handed to its handler this long after it reached the
  // port (TCP accept, UDP session open) is closed.
  uint64_t handshake_deadline_ms = 10'000;
  // New handshakes per source IP: this many a second, after a burst of
  // handshake_burst_per_address. A node dials a contact a few times a minute
  // (a chat and a connection per transfer); a NAT shared by an office may
  // put several nodes behind one address.
  double handshakes_per_second_per_address = 10;
  double handshake_burst_per_address = 40;
  // At most this many handshakes pending at once (an idle node has none).
  size_t max_pending = 256;
};

// An inbound channel that passed the hello check: what a Handler is given.
struct PeerChannel {
  std::string peer;  // the contact's name, from their checked certificate
  proto::Purpose purpose = proto::PURPOSE_UNKNOWN;
  Transport transport = Transport::kTcp;
  std::optional<net::Address> from;                        // their address as we see it
  udp::SessionId udp_session = 0;                          // kUdp: the session, for UdpPaths::View
  std::unique_ptr<channel::ChannelConnection> connection;  // established
};

class PeerPort final : private net::TcpListener::Delegate,
                       private channel::ChannelConnection::Delegate,
                       private UdpPaths::Delegate,
                       private net::Timer::Delegate {
 public:
  // Serves one purpose.
  class Handler {
   public:
    virtual ~Handler() = default;
    // A checked channel for the handler's purpose, with the peer's first
    // transport message in `first_message`. To serve it, move
    // `channel.connection` out and make yourself (or what serves it) its
    // delegate before returning: its next events, OnClosed included, go
    // there, and it is destroyed only from that OnClosed (or later), as any
    // ChannelConnection. Leaving it in place refuses it: the port closes
    // it. An error closes the connection (OnClosed carries it).
    virtual Status OnPeerChannel(PeerChannel& channel, ByteView first_message) = 0;
  };

  class Delegate {
   public:
    virtual ~Delegate() = default;
    // `name` presented an identity key other than the pinned one and was
    // refused (ContactBook recorded it as pending); `why` says so.
    virtual void OnKeyChange(const std::string& /*name*/, const Status& /*why*/) {}
  };

  struct Stats {
    uint64_t accepted = 0;          // connections and UDP sessions taken for a handshake
    uint64_t handed_over = 0;       // to a handler, which took it
    uint64_t refused_hello = 0;     // failed the hello check, no handler, or not taken
    uint64_t rate_limited = 0;      // the source's token bucket was empty
    uint64_t over_capacity = 0;     // max_pending handshakes were under way
    uint64_t deadline_expired = 0;  // closed by the handshake deadline
  };

  // Listens on `listen` (port 0 picks one), TCP, then UDP on the number TCP
  // got. The bind errors (UDP's with "(UDP)" in the context).
  [[nodiscard]] static Result<std::unique_ptr<PeerPort>> Create(net::Loop& loop,
                                                                const net::Address& listen,
                                                                PeerPortParams params,
                                                                ContactBook& contacts,
                                                                Delegate* delegate = nullptr);
  ~PeerPort() override;
  PeerPort(const PeerPort&) = delete;
  PeerPort& operator=(const PeerPort&) = delete;

  // A stream relayed through the tracker (issue 15), open: the callee's leg
  // (peer/tracker_link/relay_stream.h). The channel inside it runs the
  // responder and the same hello check as over TCP and UDP, and is handed
  // over marked Transport::kRelay. The capacity cap applies, and one token
  // bucket for all relayed streams (their source is the tracker).
  void AcceptRelayed(std::unique_ptr<net::ByteStream> stream);

  // `handler` serves `purpose` from now on (null: nobody; refused).
  void SetHandler(proto::Purpose purpose, Handler* handler);

  // The bound address (the real port when asked for port 0).
  const net::Address& local_address() const { return *local_address_; }
  // The node's UDP side: discovery and punching (node), UDP dials (chat, files).
  UdpPaths& udp() { return *udp_; }
  const UdpPaths& udp() const { return *udp_; }

  // Refuses certificates carrying `identity_key` at every hello from now on,
  // whatever name they carry, and closes `name`'s pending handshakes.
  void RefuseKey(const std::string& name, ByteView identity_key);
  // Every key refused so far (raw bytes), for the dial side's checks; the
  // reference lives as long as the port.
  const std::set<std::string>& revoked_keys() const { return revoked_.keys(); }
  // Closes `name`'s pending handshakes (e.g. just blocked). `why` is logged.
  void Drop(const std::string& name, const Status& why);

  size_t pending() const;  // handshakes under way
  const Stats& stats() const { return stats_; }

  // Stops listening and closes every pending connection; UDP sessions end.
  // Channels already handed over are their handlers' to close. Idempotent.
  void Close();

 private:
  struct Pending {
    std::unique_ptr<channel::ChannelConnection> conn;
    Transport transport = Transport::kTcp;
    udp::SessionId udp_session = 0;
    uint64_t deadline_ms = 0;
    bool closing = false;  // refused or expired: only its OnClosed is left
    std::string peer;      // after the hello check
    proto::Purpose purpose = proto::PURPOSE_UNKNOWN;
  };

  PeerPort(net::Loop& loop, PeerPortParams params, ContactBook& contacts, Delegate* delegate);

  // net::TcpListener::Delegate
  void OnIncoming(Status status) override;
  // channel::ChannelConnection::Delegate, for pending connections
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection& c,
                                                          const channel::Event& hello) override;
  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override;
  void OnClosed(channel::ChannelConnection& c, Status status) override;
  // UdpPaths::Delegate
  Status CheckUdpHello(proto::Purpose purpose, ByteView certificate,
                       const crypto::X25519PublicKey& remote_static,
                       const net::Address& from) override;
  void OnUdpStream(proto::Purpose purpose, std::unique_ptr<udp::SessionStream> stream,
                   const net::Address& from) override;
  // net::Timer::Delegate: the earliest handshake deadline.
  void OnTimer() override;

  // OK when a new handshake from `ip` may start now (bucket and cap).
  Status Admit(const std::string& ip);
  // The hello check; the contact's name.
  Result<std::string> Check(proto::Purpose purpose, ByteView certificate,
                            const crypto::X25519PublicKey& remote_static);
  void Track(std::unique_ptr<channel::ChannelConnection> conn, Transport transport,
             udp::SessionId session, bool refused);
  void Rearm();
  channel::ResponderParams Responder() const;

  net::Loop& loop_;
  PeerPortParams params_;
  ContactBook& contacts_;
  Delegate* const delegate_;
  RevokedKeys revoked_;
  RateLimiter limiter_;
  std::map<proto::Purpose, Handler*> handlers_;
  std::unique_ptr<net::TcpListener> listener_;
  std::unique_ptr<UdpPaths> udp_;
  std::unique_ptr<net::Timer> deadline_timer_;
  std::optional<net::Address> local_address_;
  std::map<channel::ChannelConnection*, Pending> pending_;
  Stats stats_;
  uint64_t last_sweep_ms_ = 0;
  bool closed_ = false;
};

}  // namespace confab::peer
