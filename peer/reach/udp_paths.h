// UdpPaths: the node's UDP side (DESIGN.md, Protocols; issue 6). One
// udp::Endpoint bound to the peer port's number, so that one NAT mapping
// serves the tracker's address probes and every peer session:
//
//   discovery  the tracker's probe ports answer with the address they saw
//              (NatDiscovery): our public UDP address and whether the NAT
//              maps every destination alike (hole punching works) or not;
//   dialing    a session per connection (chat, each file transfer: their own
//              slot), its first message carrying our certificate; the
//              channel layer then runs over the session's stream exactly as
//              over TCP (udp::SessionStream);
//   punching   when a peer dials us through the tracker (PunchNotice), a few
//              datagrams to its addresses open our NAT to its handshake;
//   accepting  an inbound session's certificate is checked before any state
//              is kept (the delegate's CheckUdpHello), and the open session
//              is handed over as a stream to run the channel responder on.
//
// The PeerPort (peer_port.h) owns it and is its delegate; dialers borrow it
// from there.
//
// Content never passes through the tracker: it only relays the punch
// request. Not thread-safe (the loop's thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "common/udp/endpoint.h"
#include "common/udp/nat_discovery.h"
#include "common/udp/session_stream.h"
#include "proto/channel.pb.h"

namespace confab::peer {

// Which paths a node dials (config.toml [network] path).
enum class PathPolicy {
  kAuto,       // LAN TCP, then public TCP, then UDP through hole punching
  kTcpOnly,    // "tcp"
  kUdpOnly,    // "udp": no TCP attempts (a lab and benchmark setting)
  kRelayOnly,  // "relay": only the relay through the tracker (tests and labs)
};
// "auto", "tcp", "udp"; InvalidArgument naming the choices otherwise.
Result<PathPolicy> ParsePathPolicy(std::string_view text);
// The word ParsePathPolicy reads.
std::string_view PathPolicyName(PathPolicy policy);

struct UdpPathsParams {
  crypto::X25519KeyPair local_static{};
  Bytes certificate;  // ours, a serialized proto::Certificate
  // A dial that no address answers within this ends "no direct path".
  uint64_t handshake_give_up_ms = 10'000;
  // Punch datagrams: this many to each address, this far apart.
  int punch_rounds = 12;
  uint64_t punch_interval_ms = 500;
};

struct UdpSessionView {
  std::optional<net::Address> peer;  // where its packets come from
  datagram::ConnectionStats stats;
};

class UdpPaths final : private udp::Endpoint::Delegate, private net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // An inbound session's first message, from `from`: OK to accept it.
    // The PeerPort runs the same checks as a TCP hello (certificate,
    // revocation, blocking, pin) and its limits on new handshakes.
    virtual Status CheckUdpHello(proto::Purpose purpose, ByteView certificate,
                                 const crypto::X25519PublicKey& remote_static,
                                 const net::Address& from) = 0;
    // An accepted session is open; `stream` carries the peer's channel
    // handshake next.
    virtual void OnUdpStream(proto::Purpose purpose, std::unique_ptr<udp::SessionStream> stream,
                             const net::Address& from) = 0;
  };

  // Binds UDP `bind` (the peer port's address and number). The bind error.
  [[nodiscard]] static Result<std::unique_ptr<UdpPaths>> Create(net::Loop& loop,
                                                                const net::Address& bind,
                                                                UdpPathsParams params,
                                                                Delegate* delegate);
  ~UdpPaths() override;

  Result<net::Address> local_address() const;
  // How long a dial keeps trying (UdpPathsParams::handshake_give_up_ms).
  uint64_t handshake_give_up_ms() const { return params_.handshake_give_up_ms; }

  // A session with the holder of `remote_static` at any of `candidates`
  // (all tried at once), for `purpose`: chat on stream 0, a file on stream
  // 1 of a session of its own. The stream connects when the handshake
  // completes, or closes Unavailable ("no direct path") when none answers.
  [[nodiscard]] Result<std::unique_ptr<udp::SessionStream>> Dial(
      const crypto::X25519PublicKey& remote_static, std::vector<net::Address> candidates,
      proto::Purpose purpose);

  // Dial, then the channel's initiator over the session's stream, for
  // `params.purpose`: what chat and file transfers dial. `session` (optional)
  // gets the session's id.
  [[nodiscard]] Result<std::unique_ptr<channel::ChannelConnection>> DialChannel(
      std::vector<net::Address> candidates, channel::InitiatorParams params,
      channel::ChannelConnection::Delegate* delegate, udp::SessionId* session = nullptr);

  // A peer is dialing us through NATs: datagrams to each of `to` for a few
  // seconds, so our NAT lets their handshake in.
  void Punch(const std::vector<net::Address>& to);

  // Learns our public address and NAT mapping from the tracker's probe
  // addresses, with the udp_token of our tracker session. Restarts on every
  // call (a new tracker session).
  void Discover(Bytes token, std::vector<net::Address> servers);
  udp::NatReport nat() const;
  bool discovering() const { return discovery_ && !discovery_->done(); }

  // Sessions with a stream (open or opening).
  size_t stream_count() const { return table_->streams.size(); }
  // What the session under `stream` is doing; nullopt once it is gone.
  std::optional<UdpSessionView> View(udp::SessionId session) const;

  // Our certificate after a renewal (a serialized proto::Certificate),
  // sent from the next handshake on.
  void SetCertificate(Bytes certificate) { params_.certificate = std::move(certificate); }

  // Closes the endpoint; open streams report Closed. Idempotent.
  void Close();

 private:
  UdpPaths(net::Loop& loop, UdpPathsParams params, Delegate* delegate);

  // udp::Endpoint::Delegate
  Result<Bytes> OnIncomingSession(const udp::PublicKey& remote_static, ByteView payload,
                                  const net::Address& from) override;
  void OnSessionOpen(udp::SessionId id, ByteView payload) override;
  void OnSessionReadable(udp::SessionId id, uint8_t stream) override;
  void OnSessionWritable(udp::SessionId id, uint8_t stream) override;
  void OnSessionClosed(udp::SessionId id, Status why) override;
  void OnOtherDatagram(ByteView data, const net::Address& from) override;
  // net::Timer::Delegate: punch rounds and discovery probes.
  void OnTimer() override;
  void Rearm();
  uint64_t NowUs() const;
  void SendProbes();
  void ReportDiscovery();

  struct PunchTarget {
    net::Address to;
    int rounds_left;
  };

  net::Loop& loop_;
  UdpPathsParams params_;
  Delegate* const delegate_;
  std::unique_ptr<udp::Endpoint> endpoint_;
  std::shared_ptr<udp::StreamTable> table_ = std::make_shared<udp::StreamTable>();
  std::unique_ptr<net::Timer> timer_;
  std::vector<PunchTarget> punching_;
  uint64_t next_punch_us_ = UINT64_MAX;
  std::unique_ptr<udp::NatDiscovery> discovery_;
  bool discovery_reported_ = false;
  std::vector<std::string> local_ips_;  // to recognise "no NAT" on a wildcard bind
};

// Why a dial's stream closes when the peer's simultaneous dial won the
// tie-break: not a failure, the session arrives as an inbound one.
inline constexpr std::string_view kCrossedDial = "crossed with the peer's own session";

// The stream a session for `purpose` uses.
uint8_t StreamFor(proto::Purpose purpose);

}  // namespace confab::peer
