// TrackerServer: the tracker's I/O. It owns the TCP listener (joins, member
// sessions, admin requests), the UDP socket on the same port number, a second
// UDP probe socket on the same IP, the optional metrics listener and a
// one-second housekeeping timer, and moves bytes between them and
// TrackerService, which decides everything.
//
// UDP address probes get the same answer on both UDP sockets, from the
// socket they arrived on. Only the main port's answer is recorded as the
// member's public UDP endpoint that lookups publish: that is the mapping the
// node keeps open with its regular probes and the one hole punching uses.
// Under an endpoint-independent ("cone") NAT both are the same; under an
// endpoint-dependent one the second port's mapping is useless to peers, and
// comparing the two is exactly how the node finds that out.
//
// Hostile input (issue: tracker, item 6): handshakes are rate-limited per
// source address; connections that do not finish the handshake within
// handshake_timeout, and sessions silent for session_timeout, are closed; a
// peer that stops reading is cut off once its queue passes
// kMaxQueuedBytesPerSession; at most max_sessions connections exist at once.
//
// Lifetime: create on a Loop, Stop() to close every handle; the Loop can then
// be closed. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/base/rate_limiter.h"
#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/net/loop.h"
#include "common/net/tcp_listener.h"
#include "common/net/timer.h"
#include "common/net/udp_socket.h"
#include "common/wire/frame.h"
#include "tracker/metrics.h"
#include "tracker/pg_listener.h"
#include "tracker/pg_presence.h"
#include "tracker/relay_splice.h"
#include "tracker/service.h"
#include "tracker/state.h"

namespace confab::tracker {

inline constexpr size_t kMaxQueuedBytesPerSession = 4 << 20;
// Largest frame a node may send the tracker: a mailbox deposit may fill a
// frame; every other message is at most 16 KiB (TrackerService checks).
inline constexpr size_t kMaxInboundFrameBytes = wire::kMaxFramePayloadBytes;

class TrackerServer final : private net::TcpListener::Delegate,
                            private channel::ChannelConnection::Delegate,
                            private net::UdpSocket::Delegate,
                            private net::Timer::Delegate,
                            private PgListener::Delegate,
                            private MetricsSource {
 public:
  // Binds TCP and UDP on config().listen, the second probe port on the
  // same IP (config().second_probe_port; 0 = any free port), and the
  // metrics port if set. Unavailable "address in use" when a port is taken.
  [[nodiscard]] static Result<std::unique_ptr<TrackerServer>> Start(net::Loop& loop,
                                                                    TrackerState& state);
  ~TrackerServer() override;

  uint16_t port() const { return listener_->port(); }
  // The bound second UDP probe port (never 0 once started).
  uint16_t second_probe_port() const { return second_probe_port_; }
  std::optional<uint16_t> metrics_port() const;

  // The metrics text the metrics port serves (also without one).
  std::string Metrics() { return RenderMetrics(); }

  // Closes the listeners and every connection; the loop then runs dry.
  void Stop();

 private:
  struct Connection {
    std::unique_ptr<channel::ChannelConnection> channel;
    uint64_t accepted_ms = 0;
    bool admin = false;
    std::string peer_ip;
    bool relay = false;  // a relayed leg (RelaySplice)
  };

  // Forwards the second probe socket's datagrams (UdpSocket::Delegate has no
  // socket argument, so each socket gets its own delegate).
  struct SecondProbeSocket final : net::UdpSocket::Delegate {
    TrackerServer* server = nullptr;
    void OnDatagram(ByteView data, const net::Address& from) override;
    void OnError(Status status) override;
  };

  TrackerServer(net::Loop& loop, TrackerState& state);

  // net::TcpListener::Delegate
  void OnIncoming(Status status) override;
  // channel::ChannelConnection::Delegate
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection& c,
                                                          const channel::Event& hello) override;
  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override;
  void OnWritable(channel::ChannelConnection& c) override;
  void OnClosed(channel::ChannelConnection& c, Status status) override;
  // net::UdpSocket::Delegate
  void OnDatagram(ByteView data, const net::Address& from) override;
  void OnError(Status status) override;
  // net::Timer::Delegate: housekeeping once a second.
  void OnTimer() override;
  // PgListener::Delegate: presence changes from the cluster.
  void OnNotification(std::string_view channel, std::string_view payload) override;
  void OnListening() override;
  void OnListenLost(const Status& why) override;
  // With [database] url: this tracker's row, its shared presence and the
  // listener for the others'.
  Status JoinClusterPresence();

  // MetricsSource
  std::string RenderMetrics() override;

  Status HandleAdmin(channel::ChannelConnection& c, ByteView plaintext);
  Result<channel::ChannelConnection::HelloAnswer> AdmitRelayLeg(SessionId id,
                                                                channel::ChannelConnection& c,
                                                                const channel::Event& hello);
  void AppendRelayMetrics(std::string* out);
  void AppendMailboxMetrics(std::string* out);
  // Answers a UdpProbe with a live session's token from `socket`, the one it
  // came in on; records the observed endpoint only when `main_port`.
  void AnswerProbe(net::UdpSocket& socket, bool main_port, ByteView data, const net::Address& from);
  // Sends what the service queued and closes what it asked to close.
  void Flush();
  Connection* Find(SessionId id);
  int64_t NowUnix() const;

  net::Loop& loop_;
  TrackerState& state_;
  TrackerService service_;
  RateLimiter handshake_limiter_;
  std::unique_ptr<net::TcpListener> listener_;
  std::unique_ptr<net::UdpSocket> udp_;
  SecondProbeSocket second_probe_delegate_;
  std::unique_ptr<net::UdpSocket> second_probe_;
  uint16_t second_probe_port_ = 0;
  std::unique_ptr<net::Timer> housekeeping_;
  std::unique_ptr<PgPresence> cluster_;
  std::unique_ptr<PgListener> cluster_listener_;
  std::unique_ptr<MetricsHttp> metrics_;
  std::unique_ptr<RelaySplice> splice_;
  std::unordered_map<SessionId, Connection> connections_;
  std::unordered_map<const channel::ChannelConnection*, SessionId> ids_;
  std::unordered_set<SessionId> handshaking_;
  // Connections are destroyed here, on the next housekeeping tick or with
  // the server, never inside their own callbacks.
  std::vector<std::unique_ptr<channel::ChannelConnection>> graveyard_;
  std::map<std::string, uint64_t> service_refusals_;  // refused before the service saw them
  SessionId next_id_ = 1;
  bool stopping_ = false;
  uint64_t accepted_ = 0;
  uint64_t rate_limited_ = 0;
  uint64_t handshake_timeouts_ = 0;
  uint64_t slow_consumers_ = 0;
  uint64_t udp_probes_answered_ = 0;
  uint64_t second_port_probes_answered_ = 0;
};

}  // namespace confab::tracker
