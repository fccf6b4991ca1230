#include "common/udp/endpoint.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/crypto/sodium.h"

namespace confab::udp {
namespace {

using datagram::Connection;
using datagram::HandshakeInitiator;
using datagram::kDataOverheadBytes;
using datagram::kMaxStreams;
using datagram::PacketProtector;

// Stop handing packets to the kernel above this much queued in libuv: the
// timer retries a millisecond later.
constexpr size_t kMaxSendQueueBytes = 1 << 20;

uint32_t GetLe32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

// The source address as bytes, for cookies: IP then port.
Bytes SourceBytes(const net::Address& a) {
  Bytes out;
  const sockaddr* sa = a.sockaddr_ptr();
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* ip = reinterpret_cast<const uint8_t*>(&in->sin_addr);
    out.assign(ip, ip + 4);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const auto* ip = reinterpret_cast<const uint8_t*>(&in6->sin6_addr);
    out.assign(ip, ip + 16);
  }
  out.push_back(static_cast<uint8_t>(a.port() >> 8));
  out.push_back(static_cast<uint8_t>(a.port()));
  return out;
}

}  // namespace

struct Endpoint::Session {
  enum class Phase {
    kInitiating,   // our initiation is out; waiting for a response
    kUnconfirmed,  // we responded; waiting for the initiator's first data packet
    kOpen,
  };
  SessionId id = 0;
  Phase phase = Phase::kInitiating;
  bool initiator = false;
  PublicKey remote_static{};
  std::vector<net::Address> candidates;
  std::optional<net::Address> peer;
  uint64_t started_us = 0;
  uint64_t next_retry_us = 0;
  std::unique_ptr<HandshakeInitiator> handshake;
  Bytes payload;  // ours while initiating, then the peer's
  std::unique_ptr<PacketProtector> protector;
  std::unique_ptr<Connection> conn;
  bool open_reported = false;
  std::array<bool, kMaxStreams> want_writable{};
  std::optional<Status> ended;  // set when the session is over
};

Result<std::unique_ptr<Endpoint>> Endpoint::Create(net::Loop& loop, EndpointOptions options,
                                                   Delegate* delegate) {
  std::unique_ptr<Endpoint> e(new Endpoint(loop, std::move(options), delegate));
  CONFAB_ASSIGN_OR_RETURN(e->socket_, net::UdpSocket::Create(loop, e->options_.bind, e.get()));
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
      payload_buffer_(options_.connection.max_payload_bytes()) {}

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
    if (index != 0 && sessions_.count(index) == 0)
      return index;
  }
}

Endpoint::Session* Endpoint::Find(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

const Endpoint::Session* Endpoint::Find(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Result<SessionId> Endpoint::Connect(std::vector<net::Address> candidates,
                                    const PublicKey& remote_static, Bytes payload) {
  if (candidates.empty())
    return Status::InvalidArgument("no address to connect to");
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<HandshakeInitiator> handshake,
                          HandshakeInitiator::Create(options_.static_key, remote_static, payload));
  auto s = std::make_unique<Session>();
  s->id = NewIndex();
  s->initiator = true;
  s->remote_static = remote_static;
  s->candidates = std::move(candidates);
  s->started_us = NowUs();
  s->handshake = std::move(handshake);
  const SessionId id = s->id;
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  SendInitiation(ref);
  Rearm();
  return id;
}

void Endpoint::SendInitiation(Session& s) {
  const uint64_t now = NowUs();
  const uint64_t wall =
      options_.wall_us
          ? options_.wall_us()
          : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  s.next_retry_us = now + datagram::kHandshakeRetryUs;
  Result<Bytes> initiation = s.handshake->MakeInitiation(s.id, wall, now);
  if (!initiation.ok()) {
    s.ended = initiation.status();
    return;
  }
  // Every candidate at once: whichever path opens first wins.
  for (const net::Address& to : s.candidates)
    (void)socket_->Send(*initiation, to);
}

void Endpoint::OnDatagram(ByteView data, const net::Address& from) {
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

void Endpoint::OnInitiation(ByteView data, const net::Address& from) {
  const uint64_t now = NowUs();
  if (now - load_window_start_us_ >= 1'000'000) {
    load_window_start_us_ = now;
    initiations_in_window_ = 0;
  }
  const bool under_load = ++initiations_in_window_ > options_.handshakes_per_second;
  Result<datagram::HandshakeResponder::Outcome> outcome =
      responder_.OnInitiation(data, SourceBytes(from), under_load, now);
  if (!outcome.ok())
    return;  // junk, forgeries and replays get no answer
  if (!outcome->pending) {
    (void)socket_->Send(std::move(outcome->cookie_reply), from);
    return;
  }
  datagram::HandshakeResponder::Pending pending = std::move(*outcome->pending);
  // Both sides initiating at once (hole punching does that): the side with
  // the larger static key keeps its own initiation and ignores the other's.
  SessionId reuse_id = 0;
  for (auto& [id, s] : sessions_) {
    if (s->remote_static == pending.remote_static && s->phase == Session::Phase::kInitiating) {
      if (options_.static_key.public_key > pending.remote_static)
        return;
      reuse_id = id;
    }
  }
  const std::weak_ptr<bool> alive = alive_;
  Result<Bytes> reply = delegate_->OnIncomingSession(pending.remote_static, pending.payload, from);
  if (alive.expired() || !*alive_ || !reply.ok())
    return;
  // Keep the id of our own attempt, so the owner sees its Connect open.
  const SessionId id = reuse_id != 0 && Find(reuse_id) != nullptr ? reuse_id : NewIndex();
  Bytes peer_payload = pending.payload;
  const PublicKey remote_static = pending.remote_static;
  Result<datagram::HandshakeResponder::Accepted> accepted =
      responder_.Accept(std::move(pending), *reply, id, now);
  if (!accepted.ok())
    return;
  // An older session with the same peer (it restarted) gives way.
  std::vector<SessionId> replaced;
  for (auto& [other_id, s] : sessions_) {
    if (other_id != id && s->remote_static == remote_static &&
        s->phase != Session::Phase::kInitiating) {
      s->ended = Status::Closed("replaced by a new handshake from the same peer");
      replaced.push_back(other_id);
    }
  }
  auto s = std::make_unique<Session>();
  s->id = id;
  s->phase = Session::Phase::kUnconfirmed;
  s->remote_static = remote_static;
  s->peer = from;
  s->started_us = now;
  s->payload = std::move(peer_payload);
  s->protector = std::move(accepted->protector);
  s->conn = std::make_unique<Connection>(options_.connection, now);
  sessions_[id] = std::move(s);
  (void)socket_->Send(std::move(accepted->response), from);
  Rearm();
  for (SessionId r : replaced)
    Report(r);
}

void Endpoint::OnResponse(ByteView data, const net::Address& from) {
  if (data.size() < 9)
    return;
  const SessionId id = GetLe32(data.data() + 5);
  Session* s = Find(id);
  if (s == nullptr || s->phase != Session::Phase::kInitiating)
    return;
  const uint64_t now = NowUs();
  Result<HandshakeInitiator::Established> established = s->handshake->OnResponse(data, now);
  if (!established.ok())
    return;
  s->handshake.reset();
  s->protector = std::move(established->protector);
  s->payload = std::move(established->payload);
  s->peer = from;
  s->phase = Session::Phase::kOpen;
  s->conn = std::make_unique<Connection>(options_.connection, now);
  s->conn->RequestPing();  // confirms the keys to the responder at once
  Flush(*s);
  Rearm();
  Report(id);
}

void Endpoint::OnCookieReply(ByteView data) {
  if (data.size() < 5)
    return;
  Session* s = Find(GetLe32(data.data() + 1));
  if (s == nullptr || s->phase != Session::Phase::kInitiating)
    return;
  if (!s->handshake->OnCookieReply(data, NowUs()).ok())
    return;
  SendInitiation(*s);  // again at once, now with mac2
  Rearm();
}

void Endpoint::OnData(ByteView data, const net::Address& from) {
  Result<uint32_t> index = datagram::PeekReceiverIndex(data);
  if (!index.ok())
    return;
  Session* s = Find(*index);
  if (s == nullptr || s->protector == nullptr)
    return;
  std::copy(data.begin(), data.end(), packet_buffer_.begin());
  Result<PacketProtector::Opened> opened =
      s->protector->Open(std::span<uint8_t>(packet_buffer_.data(), data.size()));
  if (!opened.ok())
    return;  // forged, replayed or too old
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
  if (s.phase != Session::Phase::kOpen || !s.conn || !s.peer || !socket_)
    return;
  const uint64_t now = NowUs();
  while (socket_->send_queue_bytes() < kMaxSendQueueBytes) {
    std::optional<Connection::Outgoing> out = s.conn->NextPacket(now, payload_buffer_);
    if (!out)
      break;
    Bytes packet(out->size + kDataOverheadBytes);
    Result<size_t> sealed =
        s.protector->Seal(out->number, ByteView(payload_buffer_.data(), out->size), packet);
    if (!sealed.ok()) {
      s.ended = sealed.status();
      return;
    }
    (void)socket_->Send(std::move(packet), *s.peer);  // a failed send is a lost packet
  }
}

void Endpoint::OnTimer() {
  const uint64_t now = NowUs();
  std::vector<SessionId> ids;
  for (auto& [id, s] : sessions_) {
    ids.push_back(id);
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
      case Session::Phase::kOpen:
        if (s->conn->NextDeadlineUs() <= now)
          s->conn->OnTimeout(now);
        Flush(*s);
        break;
    }
  }
  Rearm();
  for (SessionId id : ids)
    Report(id);
}

void Endpoint::Rearm() {
  if (!timer_)
    return;
  const uint64_t now = NowUs();
  uint64_t deadline = UINT64_MAX;
  for (auto& [id, s] : sessions_) {
    switch (s->phase) {
      case Session::Phase::kInitiating:
        deadline =
            std::min({deadline, s->next_retry_us, s->started_us + options_.handshake_give_up_us});
        break;
      case Session::Phase::kUnconfirmed:
        deadline = std::min(deadline, s->started_us + options_.handshake_give_up_us);
        break;
      case Session::Phase::kOpen:
        deadline = std::min(deadline, s->conn->NextDeadlineUs());
        break;
    }
  }
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
  sessions_.erase(id);
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
    sessions_.erase(id);
    Rearm();
    if (known)
      delegate_->OnSessionClosed(id, why);
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
