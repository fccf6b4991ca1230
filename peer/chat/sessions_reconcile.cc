// ChatSessions, chat protocol 2 (docs/design.md, "Chat"): the hello, the
// upgrade refusal of a protocol 1 peer, and one ReconcileSession per
// connection over the node's ReplicaView.
#include <spdlog/spdlog.h>

#include <limits>
#include <utility>

#include <sodium.h>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"
#include "peer/chat/sessions.h"
#include "peer/chat/sessions_link.h"
#include "proto/peer.pb.h"

namespace confab::peer {
namespace {

constexpr std::string_view kNoticeContext = "confab upgrade notice v2";

Bytes NoticeId(const std::string& self) {
  Bytes in(kNoticeContext.begin(), kNoticeContext.end());
  in.push_back(0);
  in.insert(in.end(), self.begin(), self.end());
  Bytes id(kMessageIdBytes);
  crypto_generichash(id.data(), id.size(), in.data(), in.size(), nullptr, 0);
  return id;
}

bool AckNames(const proto::Ack& ack, const Bytes& id) {
  for (const std::string& raw : ack.ids()) {
    if (ToBytes(AsBytes(raw)) == id)
      return true;
  }
  return false;
}

std::string OlderWhy(const std::string& peer) {
  return peer + " runs an older confab; ask them to upgrade";
}

}  // namespace

proto::ChatMessage UpgradeNotice(const std::string& self, int64_t now_ms) {
  proto::ChatMessage m;
  m.set_id(std::string(AsChars(NoticeId(self))));
  m.set_seq(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  m.set_sent_unix_ms(now_ms);
  m.set_text("[confab] " + self + " runs a newer confab (chat protocol " +
             std::to_string(kChatProtocolVersion) + "), which this one cannot talk to. Upgrade " +
             "confab to chat with " + self + " again; your messages to " + self +
             " stay queued until then. (Sent by " + self + "'s node, not typed by " + self + ".)");
  return m;
}

Status ChatSessions::SendHello(Link& link, bool with_notice) {
  proto::PeerMessage m;
  m.mutable_hello()->set_version(params_.protocol_version);
  if (with_notice)
    *m.mutable_chat() = UpgradeNotice(params_.self_name, NowMs());
  link.hello_sent = true;
  return link.conn->Send(SerializeToBytes(m));
}

void ChatSessions::DeliverReconcile(const std::string& name) {
  if (Link* link = EstablishedLinkTo(name)) {
    if (link->reconcile) {
      if (Status s = link->reconcile->OnLocalChange(); s.ok())
        s = DrainReconcile(*link);
    }
    return;
  }
  if (dialer_.InFlight(name, proto::PURPOSE_CHAT, this))
    return;
  // Whom to dial: a member we share a conversation with. (Whether they lack
  // anything needs their last vector, which the view keeps but does not
  // expose yet: an idle round costs a connection and two roots.)
  Result<chat::DigestMap> shared = params_.replicas->SharedWith(name);
  if (!shared.ok() || shared->empty()) {
    spdlog::debug("not dialing {}: no conversation shared", name);
    return;
  }
  Dialer::Request request;
  request.name = name;
  request.initiator = ChatInitiator();
  if (Status s = dialer_.Reach(std::move(request), this); !s.ok())
    spdlog::debug("not dialing {} now: {}", name, s.ToString());
}

Status ChatSessions::RefuseOutdated(Link& link, const proto::PeerMessage& message) {
  const std::string why = OlderWhy(link.peer);
  if (!link.peer_outdated) {
    link.peer_outdated = true;
    spdlog::warn("{} (its chat connection speaks protocol 1, ours {})", why, kChatProtocolVersion);
    if (!link.hello_sent) {
      // They dialed us: the notice goes back on their connection. Their
      // messages are never acknowledged, so they stay in their outbox.
      if (Status s = SendHello(link, /*with_notice=*/true); !s.ok())
        return s;
    }
    if (outdated_told_.insert(link.peer).second)
      delegate_->OnPeerOutdated(link.peer, why);
  }
  // Their ack of the notice says it is stored and shown there: now close.
  if (message.has_ack() && AckNames(message.ack(), NoticeId(params_.self_name)))
    return Status::FailedPrecondition(why);
  return Status::Ok();
}

Status ChatSessions::HandleReconcile(Link& link, const proto::PeerMessage& message) {
  if (link.peer_outdated)
    return RefuseOutdated(link, message);
  if (!link.reconcile) {
    // The peer's first message: its hello says which protocol it speaks.
    if (!message.has_hello() || message.hello().version() < params_.protocol_version)
      return RefuseOutdated(link, message);
    if (message.hello().version() > params_.protocol_version) {
      std::string why = link.peer + " runs a newer confab (chat protocol " +
                        std::to_string(message.hello().version()) +
                        "); upgrade confab to chat with them";
      spdlog::warn("{}", why);
      if (outdated_told_.insert(link.peer).second)
        delegate_->OnPeerOutdated(link.peer, why);
      return Status::FailedPrecondition(why);
    }
    if (!link.hello_sent)
      CONFAB_RETURN_IF_ERROR(SendHello(link, /*with_notice=*/false));
    link.reconcile = std::make_unique<chat::ReconcileSession>(*params_.replicas, link.peer);
    CONFAB_RETURN_IF_ERROR(link.reconcile->Start());
    // The dialer's hello carries the notice for old nodes in `chat`: ignored.
    if (message.body_case() != proto::PeerMessage::kReconcile)
      return DrainReconcile(link);
  } else if (message.has_hello()) {
    return Status::Corruption("a second chat hello");
  }
  if (message.body_case() != proto::PeerMessage::kReconcile)
    return Status::Corruption("a chat protocol 1 message after the protocol 2 hello");
  Status s = link.reconcile->OnMessage(message.reconcile(), NowMs());
  if (!s.ok())
    return s;  // the session logged it; the connection closes with it
  return DrainReconcile(link);
}

Status ChatSessions::DrainReconcile(Link& link) {
  if (!link.conn)
    return Status::Ok();
  for (proto::ReconcileMessage& m : link.reconcile->TakeOutgoing()) {
    proto::PeerMessage wire;
    *wire.mutable_reconcile() = std::move(m);
    CONFAB_RETURN_IF_ERROR(link.conn->Send(SerializeToBytes(wire)));
  }
  bool received = false;
  bool round_done = false;
  for (const chat::ReconcileEvent& e : link.reconcile->TakeEvents()) {
    if (e.kind == chat::ReconcileEvent::Kind::kReceived && e.count > 0)
      received = true;
    if (e.kind == chat::ReconcileEvent::Kind::kRoundDone)
      round_done = true;
  }
  if (received) {
    // What came in here may be what another connected member lacks (Carol
    // passes Alice's entries on to Bob): a round on every other connection.
    for (auto& [raw, other] : links_) {
      if (raw != &link && other->reconcile && other->conn &&
          other->reconcile->OnLocalChange().ok()) {
        if (Status s = DrainReconcile(*other); !s.ok())
          other->conn->Fail(std::move(s));  // OnClosed follows from a fresh stack
      }
    }
  }
  if (round_done)
    delegate_->OnReconciled(link.peer);  // last
  return Status::Ok();
}

}  // namespace confab::peer
