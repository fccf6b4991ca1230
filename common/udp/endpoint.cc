// Endpoint's data path, timer and API. Handshakes, cookies and rekeying are
// in endpoint_handshake.cc.
#include "common/udp/endpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/crypto/sodium.h"
#include "common/udp/endpoint_session.h"

namespace confab::udp {
namespace {

using datagram::Connection;
using datagram::kDataOverheadBytes;
using datagram::kMaxStreams;
using datagram::PacketProtector;

// Stop handing packets to the kernel above this much queued in libuv: the
// timer retries a millisecond later.
constexpr size_t kMaxSendQueueBytes = 1 << 20;

}  // namespace

Result<std::unique_ptr<Endpoint>> Endpoint::Create(net::Loop& loop, EndpointOptions options,
                                                   Delegate* delegate) {
  std::unique_ptr<Endpoint> e(new Endpoint(loop, std::move(options), delegate));
  // Don't-fragment: a path MTU probe too big for the path must be lost,
  // not fragmented (RFC 8899 3); the datagram module sizes everything else.
  net::UdpSocketOptions socket_options;
  socket_options.dont_fragment = true;
  CONFAB_ASSIGN_OR_RETURN(e->socket_,
                          net::UdpSocket::Create(loop, e->options_.bind, e.get(), socket_options));
  CONFAB_ASSIGN_OR_RETURN(e->timer_, net::Timer::Create(loop, e.get()));
  CONFAB_RETURN_IF_ERROR(e->socket_->StartReceiving());
  return e;
}

Endpoint::Endpoint(net::Loop& loop, EndpointOptions options, Delegate* delegate)
    : loop_(loop),
      options_(std::move(options)),
      delegate_(delegate),
      responder_(options_.static_key),
      packet_buffer_(64 * 1024),
      send_batch_(net::UdpSocket::kMaxBatch),
      // Room for path MTU probes above max_payload_bytes().
      payload_buffer_(options_.connection.max_packet_payload_bytes()) {}

Endpoint::~Endpoint() {
  *alive_ = false;
  Close();
}

void Endpoint::Close() {
  if (socket_)
    socket_->Close();
  if (timer_)
    timer_->Close();
  sessions_.clear();
  index_owner_.clear();
  timers_ = TimerQueue();
  dirty_.clear();
}

uint64_t Endpoint::NowUs() const {
  if (options_.monotonic_us)
    return options_.monotonic_us();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

uint32_t Endpoint::NewIndex() const {
  for (;;) {
    uint32_t index = 0;
    crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&index), sizeof(index)));
    if (index != 0 && sessions_.count(index) == 0 && index_owner_.count(index) == 0)
      return index;
  }
}

Endpoint::Session* Endpoint::Find(SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return nullptr;
  dirty_.insert(id);
  return it->second.get();
}

const Endpoint::Session* Endpoint::Find(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Endpoint::Session* Endpoint::FindByIndex(uint32_t index) {
  auto it = index_owner_.find(index);
  return it == index_owner_.end() ? nullptr : Find(it->second);
}

void Endpoint::ForgetIndexes(const std::vector<uint32_t>& indexes) {
  for (uint32_t index : indexes) {
    // A session's own id stays its name until the session goes.
    auto it = index_owner_.find(index);
    if (it != index_owner_.end() && it->second != index)
      index_owner_.erase(it);
  }
}

void Endpoint::EraseSession(SessionId id) {
  for (auto it = index_owner_.begin(); it != index_owner_.end();) {
    if (it->second == id)
      it = index_owner_.erase(it);
    else
      ++it;
  }
  sessions_.erase(id);
  timers_.Cancel(id);
  dirty_.erase(id);
}

void Endpoint::OnDatagram(ByteView data, const net::Address& from) {
  receiving_ = true;  // until OnDatagramsEnd
  if (data.empty())
    return;
  switch (data[0]) {
    case datagram::kInitiationType:
      OnInitiation(data, from);
      break;
    case datagram::kResponseType:
      OnResponse(data, from);
      break;
    case datagram::kCookieReplyType:
      OnCookieReply(data);
      break;
    case datagram::kDataPacketType:
      OnData(data, from);
      break;
    default:
      delegate_->OnOtherDatagram(data, from);  // last: nothing follows
      break;
  }
}

Status Endpoint::SendDatagram(Bytes data, const net::Address& to) {
  if (!socket_)
    return Status::FailedPrecondition("udp endpoint closed");
  return socket_->Send(std::move(data), to);
}

void Endpoint::OnError(Status status) {
  // ICMP errors and the like: UDP is lossy anyway, and loss recovery or the
  // handshake retries take care of it.
  spdlog::debug("udp endpoint: {}", status.ToString());
}

void Endpoint::OnData(ByteView data, const net::Address& from) {
  Result<uint32_t> index = datagram::PeekReceiverIndex(data);
  if (!index.ok())
    return;
  Session* s = FindByIndex(*index);
  if (s == nullptr || s->conn == nullptr)
    return;
  std::copy(data.begin(), data.end(), packet_buffer_.begin());
  std::vector<uint32_t> dropped;
  Result<PacketProtector::Opened> opened =
      s->keys.Open(std::span<uint8_t>(packet_buffer_.data(), data.size()), &dropped);
  ForgetIndexes(dropped);
  if (!opened.ok())
    return;  // forged, replayed, too old or for keys we no longer hold
  const uint64_t now = NowUs();
  if (s->phase == Session::Phase::kUnconfirmed)
    s->phase = Session::Phase::kOpen;  // only the real initiator could send this
  s->peer = from;                      // follows the peer across NAT rebinding
  (void)s->conn->OnPacket(now, opened->counter, opened->payload);
  Flush(*s);
  Rearm();
  Report(s->id);
}

void Endpoint::Flush(Session& s) {
  PacketProtector* keys = s.keys.sending();
  if (s.phase != Session::Phase::kOpen || !s.conn || !s.peer || !socket_ || keys == nullptr)
    return;
  const uint64_t now = NowUs();
  // One batch holds one session's packets, to its latest authenticated
  // address. Pacing is unchanged by the batching: NextPacket still decides
  // packet by packet what may leave at `now`.
  if (batch_size_ > 0 && batch_session_ != s.id)
    SendBatch();
  batch_session_ = s.id;
  batch_to_ = s.peer;
  while (socket_->send_queue_bytes() < kMaxSendQueueBytes) {
    std::optional<Connection::Outgoing> out = s.conn->NextPacket(now, payload_buffer_);
    if (!out)
      break;
    Bytes& packet = send_batch_[batch_size_];
    packet.resize(out->size + kDataOverheadBytes);
    Result<size_t> sealed =
        keys->Seal(out->number, ByteView(payload_buffer_.data(), out->size), packet);
    if (!sealed.ok()) {
      s.ended = sealed.status();
      break;
    }
    if (++batch_size_ == send_batch_.size())
      SendBatch();
  }
  if (!receiving_)
    SendBatch();
}

void Endpoint::SendBatch() {
  if (batch_size_ > 0 && socket_ && batch_to_) {
    // A failed send is a lost packet.
    (void)socket_->SendBatch(std::span<Bytes>(send_batch_.data(), batch_size_), *batch_to_);
  }
  batch_size_ = 0;
}

Endpoint::SendCounters Endpoint::send_counters() const {
  if (!socket_)
    return {};
  return {socket_->batched_calls(), socket_->batched_datagrams()};
}

void Endpoint::OnDatagramsEnd() {
  receiving_ = false;
  SendBatch();
}

void Endpoint::OnTimer() {
  // Never inside a receive batch: should a batch's end not have been
  // reported, nothing waits for it from here on.
  receiving_ = false;
  SendBatch();
  const uint64_t now = NowUs();
  // Only the sessions whose deadline has come; idle ones cost nothing.
  const std::vector<SessionId> ids = timers_.TakeDue(now);
  for (SessionId id : ids) {
    Session* s = Find(id);  // marks it dirty, so Rearm reschedules it
    if (s == nullptr)
      continue;
    switch (s->phase) {
      case Session::Phase::kInitiating:
        if (now - s->started_us >= options_.handshake_give_up_us)
          s->ended = Status::Unavailable("no handshake response (no direct UDP path?)");
        else if (now >= s->next_retry_us)
          SendInitiation(*s);
        break;
      case Session::Phase::kUnconfirmed:
        if (now - s->started_us >= options_.handshake_give_up_us)
          s->ended = Status::Unavailable("the initiator never confirmed the handshake");
        break;
      case Session::Phase::kOpen: {
        const PacketProtector* keys = s->keys.sending();
        if (keys != nullptr && now - keys->created_us() >= options_.reject_after_us) {
          s->ended = Status::Unavailable("session keys expired and no rekey succeeded");
          break;
        }
        // The session's initiator rekeys (WireGuard's REKEY_AFTER_TIME and
        // REKEY_AFTER_MESSAGES); a lost rekey handshake is resent.
        if (s->initiator && keys != nullptr && !s->rekey &&
            (now - keys->created_us() >= options_.rekey_after_us ||
             keys->next_send_counter() >= datagram::kRekeyAfterMessages))
          StartRekey(*s, now);
        else if (s->rekey && now >= s->rekey_next_retry_us)
          SendRekeyInitiation(*s, now);
        if (s->conn->NextDeadlineUs() <= now)
          s->conn->OnTimeout(now);
        Flush(*s);
        break;
      }
    }
  }
  Rearm();
  for (SessionId id : ids)
    Report(id);
}

uint64_t Endpoint::SessionDeadline(const Session& s) const {
  uint64_t deadline = UINT64_MAX;
  switch (s.phase) {
    case Session::Phase::kInitiating:
      deadline = std::min(s.next_retry_us, s.started_us + options_.handshake_give_up_us);
      break;
    case Session::Phase::kUnconfirmed:
      deadline = s.started_us + options_.handshake_give_up_us;
      break;
    case Session::Phase::kOpen: {
      deadline = s.conn->NextDeadlineUs();
      if (const PacketProtector* keys = s.keys.sending()) {
        deadline = std::min(deadline, keys->created_us() + options_.reject_after_us);
        if (s.initiator && !s.rekey)
          deadline = std::min(deadline, keys->created_us() + options_.rekey_after_us);
      }
      if (s.rekey)
        deadline = std::min(deadline, s.rekey_next_retry_us);
      break;
    }
  }
  return deadline;
}

void Endpoint::Rearm() {
  if (!timer_)
    return;
  const uint64_t now = NowUs();
  for (SessionId id : dirty_) {
    auto it = sessions_.find(id);
    if (it != sessions_.end())
      timers_.Schedule(id, SessionDeadline(*it->second));
  }
  dirty_.clear();
  const uint64_t deadline = timers_.Earliest();
  if (deadline == UINT64_MAX) {
    timer_->Stop();
    return;
  }
  uint64_t ms = deadline <= now ? 0 : (deadline - now + 999) / 1000;
  // With the send queue full, wait for it to drain rather than spin.
  if (ms == 0 && socket_ && socket_->send_queue_bytes() >= kMaxSendQueueBytes)
    ms = 1;
  (void)timer_->Start(ms);
}

size_t Endpoint::Write(SessionId id, uint8_t stream, ByteView data) {
  Session* s = Find(id);
  if (s == nullptr || s->phase != Session::Phase::kOpen || stream >= kMaxStreams)
    return 0;
  const size_t n = s->conn->Write(stream, data);
  if (n < data.size())
    s->want_writable[stream] = true;
  Flush(*s);
  Rearm();
  return n;
}

size_t Endpoint::writable(SessionId id, uint8_t stream) const {
  const Session* s = Find(id);
  return s == nullptr || s->phase != Session::Phase::kOpen ? 0 : s->conn->writable(stream);
}

size_t Endpoint::Read(SessionId id, uint8_t stream, std::span<uint8_t> out) {
  Session* s = Find(id);
  if (s == nullptr && stream < kMaxStreams) {
    auto unread = unread_.find(id);
    if (unread == unread_.end())
      return 0;
    Bytes& left = unread->second[stream];
    const size_t n = std::min(out.size(), left.size());
    std::copy_n(left.begin(), n, out.begin());
    left.erase(left.begin(), left.begin() + static_cast<ptrdiff_t>(n));
    return n;
  }
  if (s == nullptr || s->phase != Session::Phase::kOpen)
    return 0;
  const size_t n = s->conn->Read(stream, out);
  Flush(*s);  // a read may open the peer's flow-control window
  Rearm();
  return n;
}

bool Endpoint::AllAcked(SessionId id, uint8_t stream) const {
  const Session* s = Find(id);
  return s != nullptr && s->conn && s->conn->AllAcked(stream);
}

void Endpoint::CloseSession(SessionId id, std::string_view reason) {
  Session* s = Find(id);
  if (s == nullptr)
    return;
  if (s->conn && s->phase == Session::Phase::kOpen) {
    s->conn->Close(reason);
    Flush(*s);
  }
  EraseSession(id);
  Rearm();
}

Result<SessionInfo> Endpoint::Info(SessionId id) const {
  const Session* s = Find(id);
  if (s == nullptr)
    return Status::NotFound("no such UDP session");
  SessionInfo info;
  info.remote_static = s->remote_static;
  info.peer = s->peer;
  info.initiator = s->initiator;
  info.open = s->phase == Session::Phase::kOpen;
  info.rekeys = s->rekeys;
  if (s->conn)
    info.stats = s->conn->stats();
  return info;
}

void Endpoint::Report(SessionId id) {
  const std::shared_ptr<bool> alive = alive_;
  auto still_here = [&]() -> Session* { return *alive ? Find(id) : nullptr; };
  Session* s = still_here();
  if (s == nullptr)
    return;
  if (!s->ended && s->conn && s->conn->closed())
    s->ended = s->conn->close_status();
  if (s->ended) {
    const Status why = *s->ended;
    // The owner knows the ids of its Connects and of sessions it saw open; a
    // responder session that never opened (say, superseded by the
    // initiator's retry) ends silently.
    const bool known = s->initiator || s->open_reported;
    bool any_unread = false;
    std::array<Bytes, kMaxStreams> unread;
    if (s->open_reported && s->conn) {
      for (uint8_t stream = 0; stream < kMaxStreams; ++stream) {
        unread[stream].resize(s->conn->readable(stream));
        s->conn->Read(stream, unread[stream]);
        any_unread = any_unread || !unread[stream].empty();
      }
    }
    EraseSession(id);
    Rearm();
    if (!known)
      return;
    if (any_unread)
      unread_[id] = std::move(unread);
    delegate_->OnSessionClosed(id, why);
    if (*alive)
      unread_.erase(id);
    return;
  }
  if (s->phase != Session::Phase::kOpen)
    return;
  if (!s->open_reported) {
    s->open_reported = true;
    const Bytes payload = s->payload;
    delegate_->OnSessionOpen(id, payload);
    if ((s = still_here()) == nullptr)
      return;
  }
  for (uint8_t stream = 0; stream < kMaxStreams; ++stream) {
    if (s->conn->readable(stream) > 0) {
      delegate_->OnSessionReadable(id, stream);
      if ((s = still_here()) == nullptr)
        return;
    }
    if (s->want_writable[stream] && s->conn->writable(stream) > 0) {
      s->want_writable[stream] = false;
      delegate_->OnSessionWritable(id, stream);
      if ((s = still_here()) == nullptr)
        return;
    }
  }
}

}  // namespace confab::udp
