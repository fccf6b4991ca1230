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
                           Dialer& dialer, UdpPaths& udp, Delegate* delegate)
    : loop_(loop),
      params_(std::move(params)),
      messenger_(messenger),
      dialer_(dialer),
      udp_(udp),
      delegate_(delegate) {}

ChatSessions::~ChatSessions() = default;

Result<std::unique_ptr<ChatSessions>> ChatSessions::Create(net::Loop& loop,
                                                           ChatSessionsParams params,
                                                           Messenger& messenger, Dialer& dialer,
                                                           UdpPaths& udp, Delegate* delegate) {
  std::unique_ptr<ChatSessions> sessions(
      new ChatSessions(loop, std::move(params), messenger, dialer, udp, delegate));
  CONFAB_ASSIGN_OR_RETURN(sessions->soon_timer_, net::Timer::Create(loop, sessions.get()));
  if (const uint64_t every = sessions->params_.direct_retry_ms; every > 0) {
    sessions->direct_hook_.sessions = sessions.get();
    CONFAB_ASSIGN_OR_RETURN(sessions->direct_timer_,
                            net::Timer::Create(loop, &sessions->direct_hook_));
    CONFAB_RETURN_IF_ERROR(sessions->direct_timer_->Start(every, every));
  }
  return sessions;
}

void ChatSessions::Close() {
  closed_ = true;
  dialer_.Cancel(this);
  if (soon_timer_)
    soon_timer_->Close();
  if (direct_timer_)
    direct_timer_->Close();
  for (auto& [raw, link] : links_) {
    if (link->conn)
      link->conn->Close();
  }
}

channel::InitiatorParams ChatSessions::ChatInitiator() const {
  channel::InitiatorParams params;
  params.purpose = proto::PURPOSE_CHAT;
  params.local_static = params_.local_static.secret_key;
  params.local_static_public = params_.local_static.public_key;
  params.payload = params_.certificate;
  return params;
}

bool ChatSessions::HasSession(const std::string& name) const {
  return EstablishedLinkTo(name) != nullptr;
}

size_t ChatSessions::SessionsOver(Transport transport) const {
  size_t n = 0;
  for (const auto& [raw, link] : links_)
    n += link->conn && link->transport == transport ? 1 : 0;
  return n;
}

ChatSessions::Link* ChatSessions::EstablishedLinkTo(const std::string& name) const {
  Link* relayed = nullptr;
  for (const auto& [raw, link] : links_) {
    if (link->peer != name || !link->conn)
      continue;
    if (link->transport != Transport::kRelay)
      return raw;
    relayed = raw;
  }
  return relayed;
}

ChatSessions::Link* ChatSessions::AddLink(std::string peer) {
  auto link = std::make_unique<Link>(*this, std::move(peer));
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
  dialer_.RetryNow(name);
  Deliver(name);
}

void ChatSessions::DeliverSoon(const std::string& name) {
  kick_.insert(name);
  ArmSoonTimer();
}

void ChatSessions::Deliver(const std::string& name) {
  if (closed_ || name == params_.self_name)
    return;
  if (params_.replicas != nullptr) {
    DeliverReconcile(name);
    return;
  }
  if (Link* link = EstablishedLinkTo(name)) {
    SendPending(*link);
    return;
  }
  if (dialer_.InFlight(name, proto::PURPOSE_CHAT, this))
    return;
  Result<std::vector<StoredMessage>> pending = messenger_.PendingFor(name, 0, 1);
  if (!pending.ok() || pending->empty())
    return;
  Dialer::Request request;
  request.name = name;
  request.initiator = ChatInitiator();
  if (Status s = dialer_.Reach(std::move(request), this); !s.ok())
    spdlog::debug("not dialing {} now: {}", name, s.ToString());
}

void ChatSessions::OnReached(const std::string& name,
                             std::unique_ptr<channel::ChannelConnection> connection,
                             const PathReport& path, udp::SessionId session) {
  Link* link = AddLink(name);
  link->transport = path.transport;
  link->udp_session = session;
  link->conn = std::move(connection);
  link->conn->set_delegate(link);
  paths_[name] = path;
  spdlog::info("chat session to {} over {} ({})", name, TransportName(path.transport), path.reason);
  if (closed_) {
    link->conn->Close();  // OnLinkClosed frees it
    return;
  }
  if (path.transport != Transport::kRelay)
    ShutRelayedLinks(name);
  if (params_.replicas != nullptr) {
    // Protocol 2: our hello (with the notice an old node would show); the
    // round starts when theirs is in.
    if (Status s = SendHello(*link, /*with_notice=*/true); !s.ok())
      spdlog::warn("sending to {}: {}", name, s.ToString());
    delegate_->OnSessionUp(name);  // last
    return;
  }
  SendPending(*link);
  if (link->sent_through_seq == 0 && link->conn) {
    // Nothing to send (delivered meanwhile): the peer port hands a channel
    // over only with our first message, so say something: an empty Ack.
    proto::PeerMessage ack;
    ack.mutable_ack();
    if (Status s = link->conn->Send(SerializeToBytes(ack)); !s.ok())
      spdlog::warn("sending to {}: {}", name, s.ToString());
  }
  delegate_->OnSessionUp(name);  // last
}

void ChatSessions::OnNotReached(const std::string& name, const Status& why,
                                const std::optional<PathReport>& path) {
  if (EstablishedLinkTo(name) != nullptr) {
    // The direct retry while relayed: the relayed session goes on.
    spdlog::info("still no direct path to {} ({}); staying on the relay", name, why.ToString());
    return;
  }
  if (path)
    paths_[name] = *path;
  spdlog::info("cannot reach {} now ({}); messages stay queued", name, why.ToString());
}

void ChatSessions::SendPending(Link& link) {
  if (!link.conn)
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

Status ChatSessions::OnPeerChannel(PeerChannel& channel, ByteView first_message) {
  if (closed_)
    return Status::Unavailable("shutting down");
  // Asked before the new link holds its connection, or it would find itself.
  // A direct channel while we had only relayed ones is a move to it.
  const bool first = EstablishedLinkTo(channel.peer) == nullptr ||
                     (channel.transport != Transport::kRelay && OnlyRelayed(channel.peer));
  Link& link = *AddLink(channel.peer);
  link.transport = channel.transport;
  link.udp_session = channel.udp_session;
  link.conn = std::move(channel.connection);
  link.conn->set_delegate(&link);
  if (first) {
    paths_[link.peer] =
        PathReport{link.transport, channel.from ? channel.from->ToString() : "",
                   "they reached us (inbound " + std::string(TransportName(link.transport)) + ")"};
  }
  spdlog::info("chat session from {}", link.peer);
  // Our outbox for them goes out on this connection from the kick, and the
  // delegate hears of the session from there too.
  sessions_up_.insert(link.peer);
  DeliverSoon(link.peer);
  return HandleMessage(link, first_message);
}

Status ChatSessions::HandleMessage(Link& link, ByteView plaintext) {
  proto::PeerMessage message;
  if (!ParseFromBytes(plaintext, &message))
    return Status::Corruption("a chat message that does not parse");
  if (params_.replicas != nullptr)
    return HandleReconcile(link, message);
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
    case proto::PeerMessage::kReconcile:
      return Status::FailedPrecondition(
          link.peer + " speaks chat protocol 2 (reconcile), which this node does not run yet");
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

void ChatSessions::DropSessions(const std::string& name, const Status& reason) {
  for (auto& [raw, link] : links_) {
    if (link->peer == name && link->conn)
      link->conn->Fail(reason);
  }
}

void ChatSessions::OnLinkClosed(Link& link, const Status& status) {
  const std::string peer = link.peer;
  if (!status.ok())
    spdlog::info("chat connection{}{} closed: {}", peer.empty() ? "" : " with ", peer,
                 status.ToString());
  flush_.erase(&link);  // unflushed messages were never acked: the sender retries
  links_.erase(&link);  // destroys the link and its connection: nothing follows
}

}  // namespace confab::peer
