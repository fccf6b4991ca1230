#include "peer/chat/sessions.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"
#include "peer/chat/sessions_link.h"
#include "peer/reach/contact_route.h"
#include "proto/channel.pb.h"
#include "proto/identity.pb.h"
#include "proto/peer.pb.h"

namespace confab::peer {

ChatSessions::ChatSessions(net::Loop& loop, ChatSessionsParams params, Messenger& messenger,
                           ContactBook& contacts, Delegate* delegate)
    : loop_(loop),
      params_(std::move(params)),
      messenger_(messenger),
      contacts_(contacts),
      delegate_(delegate) {}

ChatSessions::~ChatSessions() = default;

Result<std::unique_ptr<ChatSessions>> ChatSessions::Create(
    net::Loop& loop, const net::Address& listen, ChatSessionsParams params, Messenger& messenger,
    ContactBook& contacts, Delegate* delegate) {
  std::unique_ptr<ChatSessions> sessions(
      new ChatSessions(loop, std::move(params), messenger, contacts, delegate));
  CONFAB_ASSIGN_OR_RETURN(sessions->listener_,
                          net::TcpListener::Create(loop, listen, sessions.get()));
  CONFAB_ASSIGN_OR_RETURN(net::Address bound, sessions->listener_->local_address());
  sessions->local_address_ = bound;
  UdpPathsParams udp = sessions->params_.udp;
  udp.local_static = sessions->params_.local_static;
  udp.certificate = sessions->params_.certificate;
  Result<std::unique_ptr<UdpPaths>> paths = UdpPaths::Create(loop, bound, udp, sessions.get());
  if (!paths.ok())
    return paths.status().WithContext("listen " + bound.ToString() + " (UDP)");
  sessions->udp_ = std::move(*paths);
  CONFAB_ASSIGN_OR_RETURN(sessions->soon_timer_, net::Timer::Create(loop, sessions.get()));
  return sessions;
}

void ChatSessions::Close() {
  closed_ = true;
  if (soon_timer_)
    soon_timer_->Close();
  if (listener_)
    listener_->Close();
  for (auto& [raw, link] : links_) {
    if (link->handshake_timer)
      link->handshake_timer->Close();
    if (link->conn)
      link->conn->Close();
  }
  if (udp_)
    udp_->Close();
}

channel::InitiatorParams ChatSessions::ChatInitiator(
    const crypto::X25519PublicKey& remote_static) const {
  channel::InitiatorParams params;
  params.purpose = proto::PURPOSE_CHAT;
  params.local_static = params_.local_static.secret_key;
  params.local_static_public = params_.local_static.public_key;
  params.remote_static = remote_static;
  params.payload = params_.certificate;
  return params;
}

channel::ResponderParams ChatSessions::PeerResponder() const {
  channel::ResponderParams params;
  params.local_static = params_.local_static.secret_key;
  params.local_static_public = params_.local_static.public_key;
  params.purposes = {proto::PURPOSE_CHAT, proto::PURPOSE_FILE};
  return params;
}

bool ChatSessions::HasSession(const std::string& name) const {
  return EstablishedLinkTo(name) != nullptr;
}

ChatSessions::Link* ChatSessions::EstablishedLinkTo(const std::string& name) const {
  for (const auto& [raw, link] : links_) {
    if (link->established && link->peer == name && link->conn)
      return raw;
  }
  return nullptr;
}

ChatSessions::Link* ChatSessions::AddLink(std::string peer, bool outbound, uint64_t timeout_ms) {
  auto link = std::make_unique<Link>(*this, std::move(peer), outbound);
  Result<std::unique_ptr<net::Timer>> timer = net::Timer::Create(loop_, link.get());
  if (!timer.ok() || !(*timer)->Start(timeout_ms).ok())
    return nullptr;
  link->handshake_timer = std::move(*timer);
  Link* raw = link.get();
  links_.emplace(raw, std::move(link));
  return raw;
}

// ---- sending --------------------------------------------------------------

void ChatSessions::DeliverAll(const std::set<std::string>& names) {
  for (const std::string& name : names)
    Deliver(name);
}

void ChatSessions::RetryNow(const std::string& name) {
  if (auto it = attempts_.find(name); it != attempts_.end())
    it->second.no_path_until_ms = 0;
  Deliver(name);
}

void ChatSessions::DeliverSoon(const std::string& name) {
  kick_.insert(name);
  ArmSoonTimer();
}

void ChatSessions::Deliver(const std::string& name) {
  if (closed_ || name == params_.self_name)
    return;
  if (Link* link = EstablishedLinkTo(name)) {
    SendPending(*link);
    return;
  }
  Attempt& attempt = attempts_[name];
  if (attempt.lookup_in_flight || attempt.dialing != nullptr || NowMs() < attempt.no_path_until_ms)
    return;
  Result<std::vector<StoredMessage>> pending = messenger_.PendingFor(name, 0, 1);
  if (!pending.ok() || pending->empty())
    return;
  Result<uint64_t> id = delegate_->RequestLookup(name);
  if (!id.ok()) {
    std::optional<proto::LookupResult> kept = delegate_->CachedLookup(name);
    if (!kept) {
      spdlog::info("cannot reach {} yet: {}", name, id.status().ToString());
      return;
    }
    spdlog::info("no lookup ({}); trying {}'s last known endpoints", id.status().ToString(), name);
    ReachWith(name, *kept, /*fresh=*/false);
    return;
  }
  attempt.lookup_in_flight = true;
  lookups_[*id] = name;
}

void ChatSessions::OnLookupResult(const proto::LookupResult& result) {
  auto found = lookups_.find(result.request_id());
  if (found == lookups_.end())
    return;
  const std::string name = found->second;
  lookups_.erase(found);
  Attempt& attempt = attempts_[name];
  attempt.lookup_in_flight = false;
  if (closed_)
    return;
  if (!result.found()) {
    // Revoked or unknown: ask again later, not on every retry tick.
    spdlog::info("lookup of {} failed: {}; next try in {} s", name, result.error(),
                 params_.no_path_retry_ms / 1000);
    attempt.no_path_until_ms = NowMs() + static_cast<int64_t>(params_.no_path_retry_ms);
    paths_[name] = PathReport{"none", "", "the tracker's lookup failed: " + result.error()};
    return;
  }
  ReachWith(name, result, /*fresh=*/true);
}

void ChatSessions::ReachWith(const std::string& name, const proto::LookupResult& result,
                             bool fresh) {
  Attempt& attempt = attempts_[name];
  Result<ContactRoute> route = RouteFromLookup(result, name, params_.org_public_key, revoked_keys_,
                                               contacts_, NowUnix(), NowMs());
  if (!route.ok()) {
    if (route.status().code() == Status::Code::kAuthFailed) {
      spdlog::error("NOT SENDING to {}: {} (their identity key changed; messages stay queued)",
                    name, route.status().ToString());
      delegate_->OnKeyChange(name, route.status());
    } else {
      spdlog::info("cannot reach {} ({}): {}", name,
                   fresh ? "from the tracker" : "kept from an earlier lookup",
                   route.status().ToString());
    }
    return;
  }
  attempt.remote_static = route->remote_static;
  attempt.endpoints = std::move(route->endpoints);
  attempt.udp_candidates = std::move(route->udp_candidates);
  attempt.udp_tried = false;
  attempt.failures.clear();
  if (params_.paths == PathPolicy::kUdpOnly)
    attempt.endpoints.clear();
  if (params_.paths == PathPolicy::kTcpOnly)
    attempt.udp_candidates.clear();
  if (fresh)
    delegate_->OnLookupVerified(name, result);
  DialNext(name);
}

void ChatSessions::DialNext(const std::string& name) {
  Attempt& attempt = attempts_[name];
  while (!attempt.endpoints.empty() && !closed_) {
    const net::Address to = attempt.endpoints.front();
    attempt.endpoints.erase(attempt.endpoints.begin());
    Link* link = AddLink(name, /*outbound=*/true, params_.tcp_dial_timeout_ms);
    if (link == nullptr)
      return;
    link->dialed = to.ToString();
    Result<std::unique_ptr<channel::ChannelConnection>> conn =
        channel::ChannelConnection::Connect(loop_, to, ChatInitiator(attempt.remote_static), link);
    if (conn.ok()) {
      link->conn = std::move(*conn);
      attempt.dialing = link;
      return;
    }
    spdlog::info("dialing {} at {}: {}", name, to.ToString(), conn.status().ToString());
    attempt.failures.push_back("tcp " + to.ToString() + ": " +
                               std::string(conn.status().message()));
    links_.erase(link);  // nothing was opened on its behalf but the timer
  }
  if (closed_ || DialUdp(name))
    return;
  // Nothing left to try: no direct path this time.
  std::string tried = fmt::format("{}", fmt::join(attempt.failures, "; "));
  if (tried.empty())
    tried = "no address to try";
  attempt.no_path_until_ms = NowMs() + static_cast<int64_t>(params_.no_path_retry_ms);
  paths_[name] = PathReport{"none", "", "no direct path (" + tried + ")"};
  spdlog::warn("no direct path to {} ({}); messages stay queued, next try in {} s", name, tried,
               params_.no_path_retry_ms / 1000);
}

void ChatSessions::SendPending(Link& link) {
  if (!link.established || !link.conn)
    return;
  const uint64_t sent_before = link.sent_through_seq;
  std::vector<MessageId> newly_sent;  // for the event stream
  bool more = true;
  while (more && link.conn->want_write()) {
    Result<std::vector<StoredMessage>> page =
        messenger_.PendingFor(link.peer, link.sent_through_seq, kSendPage);
    if (!page.ok()) {
      spdlog::warn("outbox of {}: {}", link.peer, page.status().ToString());
      break;
    }
    more = page->size() == kSendPage;
    for (const StoredMessage& message : *page) {
      if (!link.conn->want_write()) {
        more = false;
        break;  // OnWritable brings us back
      }
      proto::PeerMessage wire;
      *wire.mutable_chat() = Messenger::ToWire(message);
      if (Status s = link.conn->Send(SerializeToBytes(wire)); !s.ok()) {
        spdlog::warn("sending to {}: {}", link.peer, s.ToString());
        more = false;
        break;
      }
      link.sent_through_seq = message.seq;
      if (message.state == MessageState::kQueued)
        newly_sent.push_back(message.id);
    }
  }
  // One statement and one commit for everything this call wrote: the outbox
  // messages in (sent_before, sent_through_seq], all of them (any others in
  // that range are delivered, and the update leaves them alone).
  if (link.sent_through_seq > sent_before) {
    if (Result<int64_t> marked =
            messenger_.MarkSentThrough(link.peer, sent_before, link.sent_through_seq, NowMs());
        !marked.ok())
      spdlog::warn("marking sent to {}: {}", link.peer, marked.status().ToString());
    else if (!newly_sent.empty())
      delegate_->OnMessageStates(link.peer, newly_sent, MessageState::kSent);
  }
}

// ---- accepting and receiving -----------------------------------------------

void ChatSessions::OnIncoming(Status status) {
  if (!status.ok()) {
    spdlog::warn("peer port: {}", status.ToString());
    return;
  }
  Link* link = AddLink("", /*outbound=*/false, params_.handshake_timeout_ms);
  if (link == nullptr) {
    listener_->Close();  // cannot take it; libuv would keep announcing it
    return;
  }
  Result<std::unique_ptr<channel::ChannelConnection>> conn =
      channel::ChannelConnection::Accept(*listener_, PeerResponder(), link);
  if (!conn.ok()) {
    spdlog::warn("peer port: {}", conn.status().ToString());
    links_.erase(link);
    return;
  }
  link->conn = std::move(*conn);
}

Result<channel::ChannelConnection::HelloAnswer> ChatSessions::CheckHello(
    Link& link, const channel::Event& hello) {
  std::string claimed;
  Result<std::string> peer =
      CheckPeerHello(hello.payload, hello.remote_static, params_.self_name, revoked_keys_,
                     params_.org_public_key, contacts_, NowUnix(), NowMs(), &claimed);
  if (!peer.ok()) {
    if (peer.status().code() == Status::Code::kAuthFailed && !claimed.empty() &&
        claimed != params_.self_name) {
      spdlog::error("REFUSED a connection from {}: {}", claimed, peer.status().ToString());
      delegate_->OnKeyChange(claimed, peer.status());
    }
    return peer.status();
  }
  if (hello.purpose == proto::PURPOSE_FILE) {
    // Not ours: the delegate serves file connections. The channel answers
    // the hello once this returns, then talks to the new owner.
    CONFAB_ASSIGN_OR_RETURN(channel::ChannelConnection::HelloAnswer answer,
                            delegate_->AdoptFileConnection(*peer, &link.conn));
    if (link.conn)
      return Status::PermissionDenied("file connection not taken");
    if (link.handshake_timer)
      link.handshake_timer->Close();
    handed_off_.insert(&link);
    ArmSoonTimer();
    return answer;
  }
  link.peer = *peer;
  if (EstablishedLinkTo(link.peer) == nullptr) {
    const std::optional<net::Address>& from = link.conn->peer_address();
    paths_[link.peer] = PathReport{link.transport, from ? from->ToString() : "",
                                   "they reached us (inbound " + link.transport + ")"};
  }

  // The channel is established once this returns: OnEstablished then.
  link.established = true;
  if (link.handshake_timer)
    link.handshake_timer->Close();
  spdlog::info("chat session from {}", link.peer);
  // The channel is established only after this returns: our outbox for
  // them goes out on this connection from the kick.
  sessions_up_.insert(link.peer);
  DeliverSoon(link.peer);
  return channel::ChannelConnection::HelloAnswer{};
}

void ChatSessions::OnEstablished(Link& link) {
  link.established = true;
  if (link.handshake_timer)
    link.handshake_timer->Close();
  Attempt& attempt = attempts_[link.peer];
  if (attempt.dialing == &link)
    attempt.dialing = nullptr;
  attempt.endpoints.clear();
  const std::string tried = fmt::format("{}", fmt::join(attempt.failures, "; "));
  std::string reason = link.transport == "udp" ? "UDP hole punching" : "direct TCP";
  if (!tried.empty())
    reason += " after: " + tried;
  else if (link.transport == "udp")
    reason += " (network.path = udp)";
  paths_[link.peer] = PathReport{link.transport, link.dialed, reason};
  attempt.failures.clear();
  spdlog::info("chat session to {} over {} ({})", link.peer, link.transport, reason);
  SendPending(link);
  delegate_->OnSessionUp(link.peer);  // last
}

Status ChatSessions::HandleMessage(Link& link, ByteView plaintext) {
  if (!link.established || link.peer.empty())
    return Status::FailedPrecondition("a chat message before the session is up");
  proto::PeerMessage message;
  if (!ParseFromBytes(plaintext, &message))
    return Status::Corruption("a chat message that does not parse");
  switch (message.body_case()) {
    case proto::PeerMessage::kChat: {
      link.inbox.push_back(std::move(*message.mutable_chat()));
      if (link.inbox.size() >= kMaxReceiveBatch)
        return FlushInbox(link);
      // Everything else read from the socket in this loop iteration joins
      // the batch; the commit and the ack follow from the soon timer.
      flush_.insert(&link);
      ArmSoonTimer();
      return Status::Ok();
    }
    case proto::PeerMessage::kAck: {
      CONFAB_ASSIGN_OR_RETURN(int64_t delivered,
                              messenger_.OnAck(link.peer, message.ack(), NowMs()));
      if (delivered > 0) {
        std::vector<MessageId> ids;
        for (const std::string& raw : message.ack().ids()) {
          if (raw.size() != kMessageIdBytes)
            continue;
          MessageId id{};
          std::copy(raw.begin(), raw.end(), id.begin());
          ids.push_back(id);
        }
        delegate_->OnMessageStates(link.peer, ids, MessageState::kDelivered);
        delegate_->OnDelivered(link.peer, delivered);
      }
      return Status::Ok();
    }
    case proto::PeerMessage::BODY_NOT_SET:
      break;
  }
  return Status::Corruption("an empty chat message");
}

Status ChatSessions::FlushInbox(Link& link) {
  flush_.erase(&link);
  if (link.inbox.empty())
    return Status::Ok();
  std::vector<proto::ChatMessage> batch;
  batch.swap(link.inbox);
  CONFAB_ASSIGN_OR_RETURN(ReceiveResult received, messenger_.Receive(link.peer, batch, NowMs()));
  for (const StoredMessage& fresh : received.fresh)
    spdlog::debug("message from {} (seq {})", link.peer, fresh.seq);
  proto::PeerMessage ack;
  *ack.mutable_ack() = std::move(received.ack);
  if (!received.fresh.empty())
    delegate_->OnReceived(link.peer, received.fresh);
  return link.conn->Send(SerializeToBytes(ack));  // after the commit
}

void ChatSessions::ArmSoonTimer() {
  if (soon_timer_ && !soon_timer_->active())
    (void)soon_timer_->Start(0);
}

void ChatSessions::OnTimer() {
  for (Link* link : handed_off_)
    links_.erase(link);  // its connection moved to the delegate
  handed_off_.clear();
  std::set<Link*> links;
  links.swap(flush_);
  for (Link* link : links) {
    if (Status flushed = FlushInbox(*link); !flushed.ok() && link->conn)
      link->conn->Fail(std::move(flushed));  // OnClosed follows from a fresh stack
  }
  std::set<std::string> names;
  names.swap(kick_);
  DeliverAll(names);
  std::set<std::string> up;
  up.swap(sessions_up_);
  for (const std::string& name : up)
    delegate_->OnSessionUp(name);
}

void ChatSessions::RefuseKey(const std::string& name, ByteView identity_key) {
  revoked_keys_.insert(std::string(AsChars(identity_key)));
  DropSessions(name, Status::PermissionDenied(name + "'s identity key was revoked"));
}

void ChatSessions::DropSessions(const std::string& name, const Status& reason) {
  for (auto& [raw, link] : links_) {
    if (link->peer == name && link->conn)
      link->conn->Fail(reason);
  }
}

void ChatSessions::OnLinkClosed(Link& link, const Status& status) {
  const std::string peer = link.peer;
  const bool retry_dial = link.outbound && !link.established;
  if (!status.ok())
    spdlog::info("chat connection{}{} closed: {}", peer.empty() ? "" : " with ", peer,
                 status.ToString());
  flush_.erase(&link);  // unflushed messages were never acked: the sender retries
  auto attempt = attempts_.find(peer);
  if (attempt != attempts_.end() && attempt->second.dialing == &link) {
    attempt->second.dialing = nullptr;
    if (retry_dial && status.message() != kCrossedDial)
      attempt->second.failures.push_back(link.transport + " " + link.dialed + ": " +
                                         std::string(status.message()));
  }
  links_.erase(&link);  // destroys the link and its connection: nothing follows
  // A UDP dial that crossed the peer's own is no failure: their session is
  // ours as an inbound one.
  if (retry_dial && !closed_ && status.message() != kCrossedDial)
    DialNext(peer);
}

}  // namespace confab::peer
