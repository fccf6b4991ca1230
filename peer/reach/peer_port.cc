#include "peer/reach/peer_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/base/wall_clock.h"
#include "peer/reach/contact_route.h"

namespace confab::peer {

PeerPort::PeerPort(net::Loop& loop, PeerPortParams params, ContactBook& contacts,
                   Delegate* delegate)
    : loop_(loop),
      params_(std::move(params)),
      contacts_(contacts),
      delegate_(delegate),
      limiter_(params_.handshakes_per_second_per_address, params_.handshake_burst_per_address) {}

PeerPort::~PeerPort() = default;

Result<std::unique_ptr<PeerPort>> PeerPort::Create(net::Loop& loop, const net::Address& listen,
                                                   PeerPortParams params, ContactBook& contacts,
                                                   Delegate* delegate) {
  std::unique_ptr<PeerPort> port(new PeerPort(loop, std::move(params), contacts, delegate));
  UdpPathsParams udp = port->params_.udp;
  udp.local_static = port->params_.local_static;
  udp.certificate = port->params_.certificate;
  // UDP on the TCP port's number; with port 0, pick again while another
  // socket holds that number for UDP.
  const int picks = listen.port() == 0 ? net::kSamePortPicks : 1;
  for (int pick = 1;; ++pick) {
    CONFAB_ASSIGN_OR_RETURN(port->listener_, net::TcpListener::Create(loop, listen, port.get()));
    CONFAB_ASSIGN_OR_RETURN(net::Address bound, port->listener_->local_address());
    Result<std::unique_ptr<UdpPaths>> paths = UdpPaths::Create(loop, bound, udp, port.get());
    if (paths.ok()) {
      port->local_address_ = bound;
      port->udp_ = std::move(*paths);
      break;
    }
    if (pick == picks)
      return paths.status().WithContext("listen " + bound.ToString() + " (UDP)");
    port->listener_.reset();  // its handle closes on its own (STYLE.md A4)
  }
  CONFAB_ASSIGN_OR_RETURN(port->deadline_timer_, net::Timer::Create(loop, port.get()));
  return port;
}

void PeerPort::SetHandler(proto::Purpose purpose, Handler* handler) {
  if (handler == nullptr)
    handlers_.erase(purpose);
  else
    handlers_[purpose] = handler;
}

channel::ResponderParams PeerPort::Responder() const {
  channel::ResponderParams params;
  params.local_static = params_.local_static.secret_key;
  params.local_static_public = params_.local_static.public_key;
  for (const auto& [purpose, handler] : handlers_)
    params.purposes.insert(purpose);
  return params;
}

size_t PeerPort::pending() const {
  return static_cast<size_t>(std::count_if(pending_.begin(), pending_.end(),
                                           [](const auto& p) { return !p.second.closing; }));
}

void PeerPort::Close() {
  if (closed_)
    return;
  closed_ = true;
  if (deadline_timer_)
    deadline_timer_->Close();
  if (listener_)
    listener_->Close();
  for (auto& [raw, p] : pending_) {
    p.closing = true;
    p.conn->Close();
  }
  if (udp_)
    udp_->Close();
}

// ---- admission and the deadline ----------------------------------------------

Status PeerPort::Admit(const std::string& ip) {
  const uint64_t now = loop_.now_ms();
  if (now - last_sweep_ms_ >= 1000) {  // memory stays bounded by recent sources
    limiter_.Sweep(now);
    last_sweep_ms_ = now;
  }
  if (closed_)
    return Status::Unavailable("the peer port is closed");
  if (pending() >= params_.max_pending) {
    ++stats_.over_capacity;
    return Status::ResourceExhausted("too many handshakes under way");
  }
  if (!limiter_.Allow(ip, now)) {
    ++stats_.rate_limited;
    return Status::ResourceExhausted("too many handshakes from " + ip);
  }
  return Status::Ok();
}

void PeerPort::Track(std::unique_ptr<channel::ChannelConnection> conn, Transport transport,
                     udp::SessionId session, bool refused) {
  channel::ChannelConnection* raw = conn.get();
  Pending& p = pending_[raw];
  p.conn = std::move(conn);
  p.transport = transport;
  p.udp_session = session;
  p.deadline_ms = loop_.now_ms() + params_.handshake_deadline_ms;
  if (refused) {
    p.closing = true;
    raw->Close();  // OnClosed frees it
    return;
  }
  ++stats_.accepted;
  Rearm();
}

void PeerPort::Rearm() {
  if (closed_ || !deadline_timer_)
    return;
  uint64_t earliest = UINT64_MAX;
  for (const auto& [raw, p] : pending_) {
    if (!p.closing)
      earliest = std::min(earliest, p.deadline_ms);
  }
  if (earliest == UINT64_MAX) {
    deadline_timer_->Stop();
    return;
  }
  const uint64_t now = loop_.now_ms();
  (void)deadline_timer_->Start(earliest > now ? earliest - now : 0);
}

void PeerPort::OnTimer() {
  const uint64_t now = loop_.now_ms();
  for (auto& [raw, p] : pending_) {
    if (p.closing || now < p.deadline_ms)
      continue;
    ++stats_.deadline_expired;
    p.closing = true;
    p.conn->Fail(Status::Unavailable("no handshake in time"));
  }
  Rearm();
}

// ---- accepting ---------------------------------------------------------------

void PeerPort::OnIncoming(Status status) {
  if (!status.ok()) {
    spdlog::warn("peer port: {}", status.ToString());
    return;
  }
  Result<std::unique_ptr<channel::ChannelConnection>> conn =
      channel::ChannelConnection::Accept(*listener_, Responder(), this);
  if (!conn.ok()) {
    spdlog::warn("peer port: {}", conn.status().ToString());
    return;
  }
  const std::optional<net::Address>& from = (*conn)->peer_address();
  const Status admitted = Admit(from ? from->ip() : std::string());
  if (!admitted.ok())
    spdlog::debug("peer port: refused {}: {}", from ? from->ToString() : "?", admitted.ToString());
  Track(std::move(*conn), Transport::kTcp, 0, /*refused=*/!admitted.ok());
}

void PeerPort::AcceptRelayed(std::unique_ptr<net::ByteStream> stream) {
  if (closed_)
    return;  // destroying the open stream closes it
  Result<std::unique_ptr<channel::ChannelConnection>> conn =
      channel::ChannelConnection::AcceptOver(std::move(stream), std::nullopt, Responder(), this);
  if (!conn.ok()) {
    spdlog::warn("relayed stream: {}", conn.status().ToString());
    return;
  }
  // Every relayed stream comes from the tracker: one bucket for them all,
  // under a key no IP address can be.
  const Status admitted = Admit("relay");
  if (!admitted.ok())
    spdlog::debug("peer port: refused a relayed stream: {}", admitted.ToString());
  Track(std::move(*conn), Transport::kRelay, 0, /*refused=*/!admitted.ok());
}

Status PeerPort::CheckUdpHello(proto::Purpose purpose, ByteView certificate,
                               const crypto::X25519PublicKey& remote_static,
                               const net::Address& from) {
  // Before the endpoint keeps any state; the channel inside the session
  // is checked again at its own hello.
  CONFAB_RETURN_IF_ERROR(Admit(from.ip()));
  return Check(purpose, certificate, remote_static).status();
}

void PeerPort::OnUdpStream(proto::Purpose /*purpose*/, std::unique_ptr<udp::SessionStream> stream,
                           const net::Address& from) {
  if (closed_)
    return;
  const udp::SessionId session = stream->session();
  Result<std::unique_ptr<channel::ChannelConnection>> conn =
      channel::ChannelConnection::AcceptOver(std::move(stream), from, Responder(), this);
  if (!conn.ok()) {
    spdlog::warn("UDP session from {}: {}", from.ToString(), conn.status().ToString());
    return;
  }
  // The bucket was charged at the session's hello; the cap may have filled
  // since.
  const bool full = pending() >= params_.max_pending;
  if (full)
    ++stats_.over_capacity;
  Track(std::move(*conn), Transport::kUdp, session, full);
}

Result<std::string> PeerPort::Check(proto::Purpose purpose, ByteView certificate,
                                    const crypto::X25519PublicKey& remote_static) {
  if (handlers_.count(purpose) == 0) {
    ++stats_.refused_hello;
    return Status::PermissionDenied("this node does not serve that purpose");
  }
  std::string claimed;
  Result<std::string> peer =
      CheckPeerHello(certificate, remote_static, params_.self_name, revoked_.keys(),
                     params_.org_public_key, contacts_, NowUnix(), NowMs(), &claimed);
  if (!peer.ok()) {
    ++stats_.refused_hello;
    if (peer.status().code() == Status::Code::kAuthFailed && !claimed.empty() &&
        claimed != params_.self_name) {
      spdlog::error("REFUSED a connection from {}: {}", claimed, peer.status().ToString());
      if (delegate_ != nullptr)
        delegate_->OnKeyChange(claimed, peer.status());
    }
  }
  return peer;
}

Result<channel::ChannelConnection::HelloAnswer> PeerPort::OnHello(channel::ChannelConnection& c,
                                                                  const channel::Event& hello) {
  auto it = pending_.find(&c);
  if (it == pending_.end() || it->second.closing)
    return Status::FailedPrecondition("a hello on a connection being closed");
  CONFAB_ASSIGN_OR_RETURN(std::string peer,
                          Check(hello.purpose, hello.payload, hello.remote_static));
  it->second.peer = std::move(peer);
  it->second.purpose = hello.purpose;
  // Answered now; handed over once the peer's first message shows it holds
  // the key (a replayed hello gets this far and no further).
  return channel::ChannelConnection::HelloAnswer{};
}

Status PeerPort::OnWelcome(channel::ChannelConnection&, ByteView) {
  return Status::FailedPrecondition("the peer port never initiates");
}

Status PeerPort::OnMessage(channel::ChannelConnection& c, ByteView plaintext) {
  auto it = pending_.find(&c);
  if (it == pending_.end() || it->second.closing || it->second.peer.empty())
    return Status::FailedPrecondition("a message before the hello check");
  auto handler = handlers_.find(it->second.purpose);
  if (handler == handlers_.end())
    return Status::PermissionDenied("nobody serves that purpose any more");
  PeerChannel channel;
  channel.peer = it->second.peer;
  channel.purpose = it->second.purpose;
  channel.transport = it->second.transport;
  channel.from = c.peer_address();
  channel.udp_session = it->second.udp_session;
  channel.connection = std::move(it->second.conn);
  Status served = handler->second->OnPeerChannel(channel, plaintext);
  it = pending_.find(&c);
  if (channel.connection) {  // refused: ours to close, and to free from OnClosed
    ++stats_.refused_hello;
    it->second.conn = std::move(channel.connection);
    it->second.closing = true;
    Rearm();
    return served.ok() ? Status::PermissionDenied("the channel was not taken") : served;
  }
  pending_.erase(it);  // the connection and its events are the handler's now
  ++stats_.handed_over;
  Rearm();
  return served;
}

void PeerPort::OnClosed(channel::ChannelConnection& c, Status status) {
  auto it = pending_.find(&c);
  if (it == pending_.end())
    return;
  if (!status.ok() && !it->second.closing)
    spdlog::debug("peer port: {} connection{}{} closed: {}", TransportName(it->second.transport),
                  it->second.peer.empty() ? "" : " from ", it->second.peer, status.ToString());
  pending_.erase(it);  // destroys the connection, from its OnClosed: last
  Rearm();
}

// ---- cutting off -------------------------------------------------------------

void PeerPort::RefuseKey(const std::string& name, ByteView identity_key) {
  revoked_.Refuse(identity_key);
  Drop(name, Status::PermissionDenied(name + "'s identity key was revoked"));
}

void PeerPort::Drop(const std::string& name, const Status& why) {
  for (auto& [raw, p] : pending_) {
    if (p.peer == name && !p.closing) {
      p.closing = true;
      p.conn->Fail(why);
    }
  }
  Rearm();
}

}  // namespace confab::peer
