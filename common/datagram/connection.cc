#include "common/datagram/connection.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <variant>

#include "common/datagram/bbr.h"
#include "common/datagram/cubic.h"

namespace confab::datagram {

static_assert(kMaxStreams == 4, "Connection's constructor builds four streams");

Connection::Connection(const ConnectionConfig& config, uint64_t now_us)
    : config_(config),
      streams_{Stream(config_), Stream(config_), Stream(config_), Stream(config_)},
      loss_(config_.max_ack_delay_us),
      cc_(config_.congestion_control == CongestionControl::kCubic
              ? std::unique_ptr<CongestionController>(
                    std::make_unique<Cubic>(config_.max_datagram_bytes))
              : std::make_unique<Bbr>(config_.max_datagram_bytes)),
      last_received_us_(now_us),
      last_sent_us_(now_us),
      mtu_bytes_(config_.max_datagram_bytes),
      mtu_ceiling_(std::max(config_.max_probe_datagram_bytes, config_.max_datagram_bytes)) {}

size_t Connection::Write(uint8_t stream, ByteView data) {
  if (closed_ || stream >= kMaxStreams)
    return 0;
  return streams_[stream].send.Write(data);
}

size_t Connection::writable(uint8_t stream) const {
  if (closed_ || stream >= kMaxStreams)
    return 0;
  return streams_[stream].send.writable();
}

size_t Connection::Read(uint8_t stream, std::span<uint8_t> out) {
  if (stream >= kMaxStreams)
    return 0;
  Stream& s = streams_[stream];
  const size_t n = s.receive.Read(out);
  if (s.receive.ShouldAdvertise())
    s.max_data_pending = true;
  return n;
}

size_t Connection::readable(uint8_t stream) const {
  return stream < kMaxStreams ? streams_[stream].receive.readable() : 0;
}

bool Connection::AllAcked(uint8_t stream) const {
  return stream < kMaxStreams &&
         streams_[stream].send.acked_end() == streams_[stream].send.write_end();
}

Status Connection::Fail(Status status) {
  if (!closed_) {
    closed_ = true;
    close_status_ = status;
    close_reason_ = status.ToString();
    close_frame_pending_ = true;
  }
  return status;
}

void Connection::Close(std::string_view reason) {
  if (closed_)
    return;
  closed_ = true;
  close_status_ = Status::Closed(reason);
  close_reason_ = std::string(reason);
  close_frame_pending_ = true;
}

Status Connection::OnPacket(uint64_t now_us, uint64_t number, ByteView payload) {
  if (closed_)
    return Status::Closed("connection closed");
  // Parse everything first: a malformed packet changes nothing.
  Result<std::vector<Frame>> frames = ParseFrames(payload);
  if (!frames.ok())
    return Fail(frames.status());
  ++stats_.packets_received;
  last_received_us_ = now_us;

  bool eliciting = false;
  for (const Frame& f : *frames)
    eliciting |= !std::holds_alternative<AckFrame>(f);
  // RFC 9000 13.2.1: acknowledge at once what arrives out of order, so the
  // sender detects the hole without waiting for the ACK delay.
  if (any_received_ && number != largest_received_ + 1 && eliciting)
    ack_now_ = true;
  if (!any_received_ || number > largest_received_) {
    largest_received_ = number;
    largest_received_us_ = now_us;
  }
  any_received_ = true;
  received_.Add(number, number + 1);
  received_.KeepHighest(256);

  for (const Frame& f : *frames) {
    if (const auto* ack = std::get_if<AckFrame>(&f)) {
      CONFAB_RETURN_IF_ERROR(OnAckFrame(now_us, *ack));
    } else if (const auto* data = std::get_if<StreamFrame>(&f)) {
      Status s = streams_[data->stream].receive.OnData(data->offset, data->data);
      if (!s.ok())
        return Fail(s);
    } else if (const auto* max = std::get_if<MaxStreamDataFrame>(&f)) {
      Stream& s = streams_[max->stream];
      s.peer_max = std::max(s.peer_max, max->max_offset);
    } else if (const auto* close = std::get_if<CloseFrame>(&f)) {
      closed_ = true;
      close_status_ = Status::Closed("peer closed: " + close->reason);
      return Status::Ok();
    }
  }
  if (eliciting) {
    ack_pending_ = true;
    if (++eliciting_since_ack_ >= 2)
      ack_now_ = true;  // RFC 9000 13.2.2: at least every second packet
    ack_deadline_us_ = std::min(ack_deadline_us_, now_us + config_.max_ack_delay_us);
  }
  return Status::Ok();
}

Status Connection::OnAckFrame(uint64_t now_us, const AckFrame& ack) {
  const size_t in_flight_before = loss_.bytes_in_flight();
  Result<LossDetector::AckOutcome> outcome = loss_.OnAck(now_us, ack);
  if (!outcome.ok())
    return Fail(outcome.status());
  const bool cwnd_limited = HasDataToSend() || 2 * in_flight_before >= cc_->cwnd();
  bool big_acked = false;  // a packet above the base size got through
  for (const SentPacket& p : outcome->acked) {
    if (p.mtu_probe)
      OnMtuProbeResolved(now_us, p, /*acked=*/true);
    else if (p.ack_eliciting && p.bytes > config_.max_datagram_bytes)
      big_acked = true;
    if (p.ack_eliciting)
      sampler_.OnPacketAcked(now_us, p.stamp, p.sent_us, p.bytes);
    for (const SentChunk& c : p.chunks)
      streams_[c.stream].send.OnAcked(c.offset, c.length);
    if (p.ack_eliciting)
      cc_->OnAcked(now_us, p.sent_us, p.bytes, loss_.rtt().smoothed_us(), cwnd_limited);
    // The peer has seen our ACK up to this number: stop repeating those
    // ranges (QUIC's "ACK of an ACK"), so ACK frames stay small.
    if (p.largest_acked_in_ack)
      received_.Remove(0, std::min(*p.largest_acked_in_ack, largest_received_));
  }
  if (big_acked)
    mtu_big_losses_ = 0;
  // Losses this ACK reveals next to a delivered big packet are the queue's
  // doing, not the path MTU's: they do not count towards a black hole.
  OnPacketsLost(now_us, outcome->lost, /*count_big_losses=*/!big_acked);
  const uint64_t min_rtt = loss_.rtt().has_sample() ? loss_.rtt().min_us() : 0;
  cc_->OnAckProcessed(now_us, sampler_.TakeSample(min_rtt), sampler_.delivered(),
                      loss_.bytes_in_flight());
  return Status::Ok();
}

void Connection::OnPacketsLost(uint64_t now_us, const std::vector<SentPacket>& lost,
                               bool count_big_losses) {
  for (const SentPacket& p : lost) {
    if (p.mtu_probe) {
      // Too big for the path, most likely: not congestion, and nothing in
      // it to send again (RFC 8899 4.4, RFC 9000 14.4).
      OnMtuProbeResolved(now_us, p, /*acked=*/false);
      continue;
    }
    for (const SentChunk& c : p.chunks)
      streams_[c.stream].send.OnLost(c.offset, c.length);
    for (uint8_t i = 0; i < kMaxStreams; ++i) {
      if (p.max_stream_data_mask & (1u << i))
        streams_[i].max_data_pending = true;
    }
    if (p.ack_eliciting)
      cc_->OnLost(now_us, p.sent_us);
    // Only while raised: stragglers from before a fallback say nothing new.
    if (count_big_losses && mtu_bytes_ > config_.max_datagram_bytes && p.ack_eliciting &&
        p.bytes > config_.max_datagram_bytes && ++mtu_big_losses_ >= kMtuBlackHoleLosses)
      OnMtuBlackHole(now_us);
  }
}

size_t Connection::NextMtuProbeBytes() const {
  if (!mtu_ceiling_failed_)
    return mtu_ceiling_ > mtu_bytes_ ? mtu_ceiling_ : 0;
  if (mtu_ceiling_ < mtu_bytes_ + kMtuSearchStepBytes)
    return 0;  // close enough: the search is over
  return (mtu_bytes_ + mtu_ceiling_ + 1) / 2;
}

uint64_t Connection::MtuProbeDueUs() const {
  // Only on a path that has carried an acknowledged packet (RFC 8899 5.2:
  // probing starts once the path is confirmed), one probe at a time.
  if (closed_ || !mtu_probing_ || mtu_probe_number_ || !loss_.rtt().has_sample() ||
      NextMtuProbeBytes() == 0)
    return UINT64_MAX;
  return mtu_next_probe_us_;
}

std::optional<Connection::Outgoing> Connection::SendMtuProbe(uint64_t now_us,
                                                             std::span<uint8_t> out, size_t bytes) {
  const size_t payload = bytes - kDataOverheadBytes;
  FrameWriter w(out.first(payload));
  // PING elicits the ACK; PADDING makes the size. Nothing else rides along,
  // so a lost probe loses nothing that must be sent again.
  if (!w.AddPing() || !w.AddPadding(payload - 1))
    return std::nullopt;
  SentPacket record;
  record.sent_us = now_us;
  record.ack_eliciting = true;
  record.mtu_probe = true;
  record.bytes = static_cast<uint32_t>(bytes);
  record.stamp = sampler_.OnPacketSent(now_us, loss_.bytes_in_flight());
  cc_->OnPacketSent(now_us, record.bytes, loss_.rtt().smoothed_us());
  last_sent_us_ = now_us;
  const uint64_t number = next_number_++;
  mtu_probe_number_ = number;
  loss_.OnPacketSent(std::move(record));
  ++stats_.packets_sent;
  ++stats_.mtu_probes_sent;
  return Outgoing{number, w.size()};
}

void Connection::OnMtuProbeResolved(uint64_t now_us, const SentPacket& p, bool acked) {
  if (!acked)
    ++stats_.mtu_probes_lost;
  // A probe from before a black hole reset says nothing about the search now.
  if (!mtu_probe_number_ || *mtu_probe_number_ != p.number)
    return;
  mtu_probe_number_.reset();
  if (acked) {
    mtu_bytes_ = std::max<size_t>(mtu_bytes_, p.bytes);
    mtu_probe_losses_ = 0;
    mtu_big_losses_ = 0;
    mtu_next_probe_us_ = now_us;
    return;
  }
  mtu_next_probe_us_ = now_us + kMtuProbeRetryUs;
  if (++mtu_probe_losses_ >= kMtuProbeAttempts) {
    // This size does not pass: search below it from now on.
    mtu_ceiling_ = p.bytes - 1;
    mtu_ceiling_failed_ = true;
    mtu_probe_losses_ = 0;
  }
}

void Connection::OnMtuBlackHole(uint64_t now_us) {
  if (mtu_bytes_ <= config_.max_datagram_bytes)
    return;  // nothing raised: the losses are someone else's doing
  // RFC 8899 4.3: back to the base size, then search again below the size
  // that stopped passing (the path changed, or a middlebox drops big ones).
  mtu_ceiling_ = mtu_bytes_ - 1;
  mtu_ceiling_failed_ = true;
  mtu_bytes_ = config_.max_datagram_bytes;
  mtu_probe_number_.reset();
  mtu_probe_losses_ = 0;
  mtu_big_losses_ = 0;
  mtu_next_probe_us_ = now_us + kMtuProbeRetryUs;
  ++stats_.mtu_black_holes;
}

bool Connection::HasDataToSend() const {
  for (const Stream& s : streams_) {
    if (s.send.HasDataToSend(s.peer_max) || s.max_data_pending)
      return true;
  }
  return false;
}

bool Connection::CanSendData(uint64_t now_us) const {
  return loss_.bytes_in_flight() + mtu_bytes_ <= cc_->cwnd() && now_us >= cc_->NextSendTimeUs();
}

bool Connection::AckDue(uint64_t now_us) const {
  return ack_pending_ && (ack_now_ || now_us >= ack_deadline_us_);
}

std::optional<Connection::Outgoing> Connection::NextPacket(uint64_t now_us,
                                                           std::span<uint8_t> out) {
  const size_t room = std::min(out.size(), mtu_bytes_ - kDataOverheadBytes);
  FrameWriter w(out.first(room));
  if (closed_) {
    if (!close_frame_pending_)
      return std::nullopt;
    close_frame_pending_ = false;
    w.AddClose(close_reason_);
    ++stats_.packets_sent;
    return Outgoing{next_number_++, w.size()};
  }
  if (const size_t size = NextMtuProbeBytes(); size != 0 && now_us >= MtuProbeDueUs()) {
    if (out.size() < config_.max_packet_payload_bytes()) {
      mtu_probing_ = false;  // this caller's buffers cannot carry probes
    } else if (!loss_.probe_needed() && loss_.bytes_in_flight() + size <= cc_->cwnd() &&
               now_us >= cc_->NextSendTimeUs()) {
      return SendMtuProbe(now_us, out, size);
    }
  }
  const bool probe = loss_.probe_needed() || ping_pending_;
  const bool has_data = HasDataToSend();
  if (!has_data && loss_.bytes_in_flight() + mtu_bytes_ <= cc_->cwnd())
    sampler_.OnAppLimited(loss_.bytes_in_flight());  // the window is not what limits us
  const bool send_data = probe || (has_data && CanSendData(now_us));
  if (!send_data && !AckDue(now_us))
    return std::nullopt;

  SentPacket record;
  record.sent_us = now_us;
  if (ack_pending_ && !received_.empty() && w.AddAck(received_, now_us - largest_received_us_)) {
    record.largest_acked_in_ack = received_.Last()->end - 1;
    ack_pending_ = false;
    ack_now_ = false;
    eliciting_since_ack_ = 0;
    ack_deadline_us_ = UINT64_MAX;
  }
  if (send_data) {
    if (loss_.probe_needed()) {
      // RFC 9002 6.2.4: a probe carries data when it can; resend the oldest
      // unacknowledged data (the original stays in flight).
      if (const SentPacket* oldest = loss_.OldestInFlight()) {
        for (const SentChunk& c : oldest->chunks)
          streams_[c.stream].send.OnLost(c.offset, c.length);
      }
      loss_.clear_probe_needed();
    }
    for (uint8_t i = 0; i < kMaxStreams; ++i) {
      Stream& s = streams_[i];
      if (s.max_data_pending && w.AddMaxStreamData(i, s.receive.Advertise())) {
        s.max_data_pending = false;
        record.max_stream_data_mask |= static_cast<uint8_t>(1u << i);
      }
    }
    // Strict priority: stream 0 (chat) drains before stream 1 (files).
    for (uint8_t i = 0; i < kMaxStreams; ++i) {
      Stream& s = streams_[i];
      while (w.StreamRoom() > 0) {
        std::optional<SendStream::Chunk> chunk = s.send.NextChunk(w.StreamRoom(), s.peer_max);
        if (!chunk)
          break;
        w.AddStream(i, chunk->offset, chunk->data);
        record.chunks.push_back(
            SentChunk{i, chunk->offset, static_cast<uint32_t>(chunk->data.size())});
      }
    }
    record.ack_eliciting = !record.chunks.empty() || record.max_stream_data_mask != 0;
    if (!record.ack_eliciting && probe && w.AddPing())
      record.ack_eliciting = true;
    ping_pending_ = false;
  }
  if (w.size() == 0)
    return std::nullopt;
  record.bytes = static_cast<uint32_t>(w.size() + kDataOverheadBytes);
  if (record.ack_eliciting) {
    record.stamp = sampler_.OnPacketSent(now_us, loss_.bytes_in_flight());
    cc_->OnPacketSent(now_us, record.bytes, loss_.rtt().smoothed_us());
    last_sent_us_ = now_us;
  }
  const uint64_t number = next_number_++;
  loss_.OnPacketSent(std::move(record));
  ++stats_.packets_sent;
  return Outgoing{number, w.size()};
}

uint64_t Connection::NextDeadlineUs() const {
  if (closed_)
    return close_frame_pending_ ? 0 : UINT64_MAX;
  uint64_t d = last_received_us_ + config_.idle_timeout_us;
  d = std::min(d, last_sent_us_ + config_.keepalive_us);
  if (ack_pending_)
    d = std::min(d, ack_now_ ? 0 : ack_deadline_us_);
  if (std::optional<uint64_t> t = loss_.NextTimeoutUs())
    d = std::min(d, *t);
  if (loss_.probe_needed() || ping_pending_)
    d = 0;
  if (HasDataToSend() && loss_.bytes_in_flight() + mtu_bytes_ <= cc_->cwnd())
    d = std::min(d, cc_->NextSendTimeUs());
  if (const uint64_t probe = MtuProbeDueUs();
      probe != UINT64_MAX && loss_.bytes_in_flight() + NextMtuProbeBytes() <= cc_->cwnd())
    d = std::min(d, std::max(probe, cc_->NextSendTimeUs()));
  return d;
}

void Connection::OnTimeout(uint64_t now_us) {
  if (closed_)
    return;
  if (now_us >= last_received_us_ + config_.idle_timeout_us) {
    closed_ = true;  // no CLOSE frame: the peer is gone
    close_status_ = Status::Unavailable("peer silent past the idle timeout");
    return;
  }
  if (std::optional<uint64_t> t = loss_.NextTimeoutUs(); t && now_us >= *t) {
    OnPacketsLost(now_us, loss_.OnTimeout(now_us));
    // Nothing acknowledged for several probe timeouts after raising the
    // size: maybe nothing big gets through any more.
    if (loss_.pto_count() >= kMtuBlackHolePtos)
      OnMtuBlackHole(now_us);
  }
  if (now_us >= last_sent_us_ + config_.keepalive_us)
    ping_pending_ = true;
}

ConnectionStats Connection::stats() const {
  ConnectionStats s = stats_;
  s.packets_lost = loss_.packets_lost() - stats_.mtu_probes_lost;  // probes are not data
  for (const Stream& st : streams_)
    s.bytes_retransmitted += st.send.retransmitted_bytes();
  s.congestion_events = cc_->congestion_events();
  s.cwnd_bytes = cc_->cwnd();
  s.smoothed_rtt_us = loss_.rtt().smoothed_us();
  s.bytes_in_flight = loss_.bytes_in_flight();
  s.max_datagram_bytes = mtu_bytes_;
  return s;
}

}  // namespace confab::datagram
