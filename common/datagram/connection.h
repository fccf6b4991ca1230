// Connection: reliable, ordered, flow- and congestion-controlled byte
// streams over unreliable datagrams, sans-I/O (in the manner of QUIC's
// transport, RFC 9000/9002, much reduced). It turns writes into packet
// payloads and received payloads into in-order reads; the caller moves the
// payloads (sealed by a PacketProtector) and drives time:
//
//   conn.Write(kChatStream, bytes);                 // application side
//   while (auto p = conn.NextPacket(now, buf)) send(Seal(p->number, ...));
//   conn.OnPacket(now, number, payload);            // network side
//   arm one timer at conn.NextDeadlineUs(); on expiry conn.OnTimeout(now)
//
// Packet numbers are the PacketProtector's counters: one number space per
// direction, strictly increasing, never reused (a retransmission is new data
// in a new packet), which is what lets the AEAD use them as nonces.
//
// Both ends must use the same receive_window_bytes: it is each stream's
// initial flow-control limit and is not negotiated (yet).
//
// Streams: kMaxStreams fixed byte streams with strict priority by id (0
// first), so a file on stream 1 never holds back chat on stream 0. Each has
// its own send buffer and receive window, so memory is bounded by
// kMaxStreams * (send_buffer_bytes + 3 * receive_window_bytes).
//
// Path MTU discovery (a simplified DPLPMTUD, RFC 8899 with RFC 9000 14.3):
// every datagram starts at most config.max_datagram_bytes (the base, safe on
// any path). Once a packet has been acknowledged, one PING+PADDING probe at
// a time searches sizes up to max_probe_datagram_bytes: first the ceiling,
// then a binary search below the smallest size that failed. An acknowledged
// probe raises the datagram size. Probes are never retransmitted and their
// loss is no congestion signal; after kMtuProbeAttempts losses at one size,
// nothing at or above it is probed again. A black hole after raising
// (kMtuBlackHolePtos probe timeouts in a row, or kMtuBlackHoleLosses losses
// in a row of packets above the base with none of them acknowledged) drops
// back to the base and searches below the size that failed. Probing needs
// NextPacket buffers of max_packet_payload_bytes(); a caller that passes
// smaller ones turns it off (and nothing changes for it).
//
// Errors from the peer (malformed frames, flow-control violations, ACKs for
// packets never sent) close the connection: closed() turns true and
// close_status() says why. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/base/bytes.h"
#include "common/base/status.h"
#include "common/datagram/congestion_controller.h"
#include "common/datagram/frame.h"
#include "common/datagram/loss_detector.h"
#include "common/datagram/packet_protector.h"
#include "common/datagram/range_set.h"
#include "common/datagram/rate_sampler.h"
#include "common/datagram/receive_stream.h"
#include "common/datagram/send_stream.h"

namespace confab::datagram {

inline constexpr uint8_t kChatStream = 0;
inline constexpr uint8_t kFileStream = 1;

enum class CongestionControl {
  kBbr,    // model-based (bbr.h): holds the path rate under random loss
  kCubic,  // loss-based (cubic.h): RFC 9438, TCP-friendly
};

struct ConnectionConfig {
  // The largest UDP payload we send (RFC 9000 14: 1200 is safe on any path
  // that carries IPv6; larger needs path MTU discovery).
  size_t max_datagram_bytes = 1200;
  // The largest datagram path MTU discovery tries. 1452 fits a 1500-byte
  // Ethernet MTU under IPv6 (40 + 8 bytes of headers; 1472 is IPv4's exact
  // limit). At or below max_datagram_bytes: no probing.
  size_t max_probe_datagram_bytes = 1452;
  size_t send_buffer_bytes = 4 << 20;     // per stream
  size_t receive_window_bytes = 4 << 20;  // per stream
  uint64_t max_ack_delay_us = 25'000;     // RFC 9000's default
  uint64_t idle_timeout_us = 60'000'000;  // nothing heard for this long: closed
  // Send a PING after this long without sending anything, to hold NAT
  // mappings open (WireGuard's persistent keepalive is 25 s; many NATs drop
  // idle UDP mappings after 30 s).
  uint64_t keepalive_us = 15'000'000;
  CongestionControl congestion_control = CongestionControl::kBbr;

  size_t max_payload_bytes() const { return max_datagram_bytes - kDataOverheadBytes; }
  // The buffer NextPacket needs so that it may send path MTU probes.
  size_t max_packet_payload_bytes() const {
    return (max_probe_datagram_bytes > max_datagram_bytes ? max_probe_datagram_bytes
                                                          : max_datagram_bytes) -
           kDataOverheadBytes;
  }
};

struct ConnectionStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t packets_lost = 0;
  uint64_t bytes_retransmitted = 0;
  uint64_t congestion_events = 0;  // CUBIC: window reductions; BBR: losses
  size_t cwnd_bytes = 0;
  uint64_t smoothed_rtt_us = 0;
  size_t bytes_in_flight = 0;
  // Path MTU discovery.
  size_t max_datagram_bytes = 0;  // what data packets may use now
  uint64_t mtu_probes_sent = 0;
  uint64_t mtu_probes_lost = 0;  // not in congestion_events
  uint64_t mtu_black_holes = 0;  // falls back to the base size
};

class Connection {
 public:
  static constexpr int kMtuProbeAttempts = 3;
  static constexpr uint32_t kMtuBlackHolePtos = 3;
  static constexpr uint32_t kMtuBlackHoleLosses = 3;
  // The search stops when the bounds are closer than this.
  static constexpr size_t kMtuSearchStepBytes = 16;
  // After a lost probe, the next waits this long (probes are occasional).
  static constexpr uint64_t kMtuProbeRetryUs = 1'000'000;

  Connection(const ConnectionConfig& config, uint64_t now_us);

  // Application side. `stream` < kMaxStreams. Write returns the bytes
  // accepted (fewer than given when the send buffer is full; 0 once closed);
  // Read the bytes copied.
  size_t Write(uint8_t stream, ByteView data);
  size_t writable(uint8_t stream) const;
  size_t Read(uint8_t stream, std::span<uint8_t> out);
  size_t readable(uint8_t stream) const;
  // True when everything written to `stream` has been acknowledged.
  bool AllAcked(uint8_t stream) const;

  // Network side. `payload` is the decrypted payload of the packet numbered
  // `number`. Errors close the connection and are returned as well.
  Status OnPacket(uint64_t now_us, uint64_t number, ByteView payload);

  struct Outgoing {
    uint64_t number;
    size_t size;  // payload bytes written to the buffer
  };
  // Writes the next packet payload into `out` (at least max_payload_bytes();
  // max_packet_payload_bytes() to allow path MTU probes) when something may
  // be sent now: ACKs always, data and probes within the congestion window
  // and the pacer's schedule. Call until it returns nullopt.
  std::optional<Outgoing> NextPacket(uint64_t now_us, std::span<uint8_t> out);

  // When OnTimeout must run (absolute, microseconds), or UINT64_MAX.
  // Covers ACK delay, loss and probe timers, pacing, keepalive and idle.
  uint64_t NextDeadlineUs() const;
  void OnTimeout(uint64_t now_us);

  // Sends a PING in the next packet: an initiator's first packet after the
  // handshake, which confirms the keys to the responder.
  void RequestPing() { ping_pending_ = true; }

  // Sends a CLOSE frame with `reason` (once) and stops.
  void Close(std::string_view reason);
  bool closed() const { return closed_; }
  const Status& close_status() const { return close_status_; }

  ConnectionStats stats() const;
  const ConnectionConfig& config() const { return config_; }
  // Path MTU discovery has nothing more to probe (until a black hole).
  bool mtu_search_done() const { return !mtu_probing_ || NextMtuProbeBytes() == 0; }

 private:
  struct Stream {
    explicit Stream(const ConnectionConfig& c)
        : send(c.send_buffer_bytes),
          receive(c.receive_window_bytes),
          peer_max(c.receive_window_bytes) {}
    SendStream send;
    ReceiveStream receive;
    uint64_t peer_max;  // the peer's flow-control limit for our sending
    bool max_data_pending = false;
  };

  Status Fail(Status status);
  Status OnAckFrame(uint64_t now_us, const AckFrame& ack);
  // `count_big_losses`: whether losses of packets above the base size count
  // towards a path MTU black hole.
  void OnPacketsLost(uint64_t now_us, const std::vector<SentPacket>& lost,
                     bool count_big_losses = true);
  bool CanSendData(uint64_t now_us) const;
  bool HasDataToSend() const;
  bool AckDue(uint64_t now_us) const;
  // Path MTU discovery.
  size_t NextMtuProbeBytes() const;  // 0: nothing to probe now
  uint64_t MtuProbeDueUs() const;    // UINT64_MAX: none due
  std::optional<Outgoing> SendMtuProbe(uint64_t now_us, std::span<uint8_t> out, size_t bytes);
  void OnMtuProbeResolved(uint64_t now_us, const SentPacket& p, bool acked);
  void OnMtuBlackHole(uint64_t now_us);

  ConnectionConfig config_;
  std::array<Stream, kMaxStreams> streams_;
  LossDetector loss_;
  std::unique_ptr<CongestionController> cc_;
  DeliveryRateSampler sampler_;

  // Receiving.
  RangeSet received_;
  uint64_t largest_received_ = 0;
  uint64_t largest_received_us_ = 0;
  bool any_received_ = false;
  bool ack_pending_ = false;
  bool ack_now_ = false;
  uint64_t ack_deadline_us_ = UINT64_MAX;
  uint32_t eliciting_since_ack_ = 0;
  uint64_t last_received_us_;

  // Sending.
  uint64_t next_number_ = 0;
  uint64_t last_sent_us_;
  bool ping_pending_ = false;

  // Path MTU discovery. mtu_bytes_ <= mtu_ceiling_ except after a black hole
  // reset; config_.max_datagram_bytes is the floor.
  size_t mtu_bytes_;                          // data packets' datagram size now
  size_t mtu_ceiling_;                        // the largest size still worth probing
  bool mtu_ceiling_failed_ = false;           // binary search from now on
  bool mtu_probing_ = true;                   // off for good when buffers are too small
  std::optional<uint64_t> mtu_probe_number_;  // the probe in flight
  int mtu_probe_losses_ = 0;                  // at NextMtuProbeBytes()
  uint64_t mtu_next_probe_us_ = 0;
  uint32_t mtu_big_losses_ = 0;  // above-base packets lost in a row

  bool closed_ = false;
  bool close_frame_pending_ = false;
  std::string close_reason_;
  Status close_status_;
  ConnectionStats stats_;
};

}  // namespace confab::datagram
