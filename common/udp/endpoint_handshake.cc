// Endpoint's handshakes: initiations, responses, cookie replies and rekeys.
// The data path, the timer and the API are in endpoint.cc.
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/udp/endpoint.h"
#include "common/udp/endpoint_session.h"

namespace confab::udp {
namespace {

using datagram::Connection;
using datagram::HandshakeInitiator;
using datagram::HandshakeResponder;

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

uint64_t Endpoint::WallUs() const {
  if (options_.wall_us)
    return options_.wall_us();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Result<SessionId> Endpoint::Connect(std::vector<net::Address> candidates,
                                    const PublicKey& remote_static, Bytes payload, uint32_t slot) {
  if (candidates.empty())
    return Status::InvalidArgument("no address to connect to");
  uint8_t header[5] = {kNewSession, static_cast<uint8_t>(slot), static_cast<uint8_t>(slot >> 8),
                       static_cast<uint8_t>(slot >> 16), static_cast<uint8_t>(slot >> 24)};
  payload.insert(payload.begin(), header, header + sizeof(header));
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<HandshakeInitiator> handshake,
                          HandshakeInitiator::Create(options_.static_key, remote_static, payload));
  auto s = std::make_unique<Session>();
  s->id = NewIndex();
  s->initiator = true;
  s->remote_static = remote_static;
  s->slot = slot;
  s->candidates = std::move(candidates);
  s->started_us = NowUs();
  s->handshake = std::move(handshake);
  const SessionId id = s->id;
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  dirty_.insert(id);
  index_owner_[id] = id;
  SendInitiation(ref);
  Rearm();
  return id;
}

void Endpoint::SendInitiation(Session& s) {
  const uint64_t now = NowUs();
  s.next_retry_us = now + datagram::kHandshakeRetryUs;
  Result<Bytes> initiation = s.handshake->MakeInitiation(s.id, WallUs(), now);
  if (!initiation.ok()) {
    s.ended = initiation.status();
    return;
  }
  // Every candidate at once: whichever path opens first wins.
  for (const net::Address& to : s.candidates)
    (void)socket_->Send(*initiation, to);
}

void Endpoint::StartRekey(Session& s, uint64_t now) {
  Bytes payload(5);
  payload[0] = kRekeySession;
  for (int i = 0; i < 4; ++i)
    payload[1 + i] = static_cast<uint8_t>(s.peer_session >> (8 * i));
  Result<std::unique_ptr<HandshakeInitiator>> rekey =
      HandshakeInitiator::Create(options_.static_key, s.remote_static, std::move(payload));
  if (!rekey.ok())
    return;
  s.rekey = std::move(*rekey);
  s.rekey_index = NewIndex();
  index_owner_[s.rekey_index] = s.id;
  SendRekeyInitiation(s, now);
}

void Endpoint::SendRekeyInitiation(Session& s, uint64_t now) {
  s.rekey_next_retry_us = now + datagram::kHandshakeRetryUs;
  Result<Bytes> initiation = s.rekey->MakeInitiation(s.rekey_index, WallUs(), now);
  if (initiation.ok() && s.peer)
    (void)socket_->Send(std::move(*initiation), *s.peer);
}

void Endpoint::OnInitiation(ByteView data, const net::Address& from) {
  const uint64_t now = NowUs();
  if (now - load_window_start_us_ >= 1'000'000) {
    load_window_start_us_ = now;
    initiations_in_window_ = 0;
  }
  const bool under_load = ++initiations_in_window_ > options_.handshakes_per_second;
  Result<HandshakeResponder::Outcome> outcome =
      responder_.OnInitiation(data, SourceBytes(from), under_load, now);
  if (!outcome.ok())
    return;  // junk, forgeries and replays get no answer
  if (!outcome->pending) {
    (void)socket_->Send(std::move(outcome->cookie_reply), from);
    return;
  }
  HandshakeResponder::Pending pending = std::move(*outcome->pending);
  if (pending.payload.empty())
    return;
  if (pending.payload[0] == kRekeySession) {
    if (pending.payload.size() == 5) {
      const SessionId id = GetLe32(pending.payload.data() + 1);
      OnRekeyInitiation(std::move(pending), id, from, now);
    }
    return;
  }
  if (pending.payload[0] != kNewSession || pending.payload.size() < 5)
    return;
  const uint32_t slot = GetLe32(pending.payload.data() + 1);
  pending.payload.erase(pending.payload.begin(), pending.payload.begin() + 5);
  // Both sides initiating at once (hole punching does that): the side with
  // the larger static key keeps its own initiation and ignores the other's.
  SessionId reuse_id = 0;
  for (auto& [id, s] : sessions_) {
    if (s->remote_static == pending.remote_static && s->slot == slot &&
        s->phase == Session::Phase::kInitiating) {
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
  const SessionId peer_session = pending.remote_index;
  Result<HandshakeResponder::Accepted> accepted =
      responder_.Accept(std::move(pending), *reply, id, now);
  if (!accepted.ok())
    return;
  // An older session with the same peer in this slot (it restarted) gives
  // way.
  std::vector<SessionId> replaced;
  for (auto& [other_id, s] : sessions_) {
    if (other_id != id && s->remote_static == remote_static && s->slot == slot &&
        s->phase != Session::Phase::kInitiating) {
      s->ended = Status::Closed("replaced by a new handshake from the same peer");
      replaced.push_back(other_id);
    }
  }
  if (Session* old = Find(id))
    ForgetIndexes(old->keys.indexes());
  auto s = std::make_unique<Session>();
  s->id = id;
  s->phase = Session::Phase::kUnconfirmed;
  s->remote_static = remote_static;
  s->slot = slot;
  s->peer = from;
  s->peer_session = peer_session;
  s->started_us = now;
  s->payload = std::move(peer_payload);
  (void)s->keys.InstallAsResponder(std::move(accepted->protector));
  s->conn = std::make_unique<Connection>(options_.connection, now);
  sessions_[id] = std::move(s);
  dirty_.insert(id);
  index_owner_[id] = id;
  (void)socket_->Send(std::move(accepted->response), from);
  Rearm();
  for (SessionId r : replaced)
    Report(r);
}

void Endpoint::OnRekeyInitiation(HandshakeResponder::Pending pending, SessionId id,
                                 const net::Address& from, uint64_t now) {
  // Only the peer this session belongs to may rekey it; its key was
  // authorised when the session began.
  Session* s = Find(id);
  if (s == nullptr || s->initiator || s->phase != Session::Phase::kOpen ||
      s->remote_static != pending.remote_static)
    return;
  const uint32_t index = NewIndex();
  Result<HandshakeResponder::Accepted> accepted =
      responder_.Accept(std::move(pending), {}, index, now);
  if (!accepted.ok())
    return;
  ForgetIndexes(s->keys.InstallAsResponder(std::move(accepted->protector)));
  index_owner_[index] = id;
  (void)socket_->Send(std::move(accepted->response), from);
  Rearm();
}

void Endpoint::OnResponse(ByteView data, const net::Address& from) {
  if (data.size() < 9)
    return;
  const uint32_t index = GetLe32(data.data() + 5);
  Session* s = FindByIndex(index);
  if (s == nullptr)
    return;
  const uint64_t now = NowUs();
  if (s->phase == Session::Phase::kOpen && s->rekey && index == s->rekey_index) {
    Result<HandshakeInitiator::Established> fresh = s->rekey->OnResponse(data, now);
    if (!fresh.ok())
      return;
    s->rekey.reset();
    ++s->rekeys;
    ForgetIndexes(s->keys.InstallAsInitiator(std::move(fresh->protector)));
    Flush(*s);
    Rearm();
    return;
  }
  if (s->phase != Session::Phase::kInitiating || index != s->id)
    return;
  Result<HandshakeInitiator::Established> established = s->handshake->OnResponse(data, now);
  if (!established.ok())
    return;
  s->handshake.reset();
  s->peer_session = established->protector->remote_index();
  (void)s->keys.InstallAsInitiator(std::move(established->protector));
  s->payload = std::move(established->payload);
  s->peer = from;
  s->phase = Session::Phase::kOpen;
  s->conn = std::make_unique<Connection>(options_.connection, now);
  s->conn->RequestPing();  // confirms the keys to the responder at once
  Flush(*s);
  Rearm();
  Report(s->id);
}

void Endpoint::OnCookieReply(ByteView data) {
  if (data.size() < 5)
    return;
  const uint32_t index = GetLe32(data.data() + 1);
  Session* s = FindByIndex(index);
  if (s == nullptr)
    return;
  const uint64_t now = NowUs();
  if (s->phase == Session::Phase::kInitiating && index == s->id) {
    if (s->handshake->OnCookieReply(data, now).ok())
      SendInitiation(*s);  // again at once, now with mac2
  } else if (s->rekey && index == s->rekey_index) {
    if (s->rekey->OnCookieReply(data, now).ok())
      SendRekeyInitiation(*s, now);
  }
  Rearm();
}

}  // namespace confab::udp
