// TrackerLink (tracker_link.h). One connection at a time; three timers:
// reconnect (backoff), handshake (no welcome in time) and keepalive (send,
// and notice a silent tracker).
#include "peer/tracker_link/tracker_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/protocol/tracker_features.h"
#include "proto/channel.pb.h"
#include "proto/identity.pb.h"

namespace confab::peer {
namespace {

// 2: takes FromTracker.renewed (a renewed certificate).
constexpr uint32_t kProtocolVersion = 2;

}  // namespace

Result<std::unique_ptr<TrackerLink>> TrackerLink::Create(net::Loop& loop, TrackerLinkParams params,
                                                         Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<TrackerLink> link(new TrackerLink(loop, std::move(params), delegate));
  CONFAB_ASSIGN_OR_RETURN(link->reconnect_timer_, net::Timer::Create(loop, &link->reconnect_hook_));
  CONFAB_ASSIGN_OR_RETURN(link->handshake_timer_, net::Timer::Create(loop, &link->handshake_hook_));
  CONFAB_ASSIGN_OR_RETURN(link->keepalive_timer_, net::Timer::Create(loop, &link->keepalive_hook_));
  return link;
}

TrackerLink::TrackerLink(net::Loop& loop, TrackerLinkParams params, Delegate* delegate)
    : loop_(loop), params_(std::move(params)), delegate_(delegate) {
  reconnect_hook_.link = handshake_hook_.link = keepalive_hook_.link = this;
  reconnect_hook_.fire = &TrackerLink::Dial;
  handshake_hook_.fire = &TrackerLink::OnHandshakeTimer;
  keepalive_hook_.fire = &TrackerLink::OnKeepaliveTimer;
  rng_.seed(params_.random_seed != 0 ? params_.random_seed : std::random_device{}());
}

TrackerLink::~TrackerLink() {
  closed_ = true;
  // The connection goes first: destroying it closes it without an upcall.
  connection_.reset();
}

void TrackerLink::Start() {
  if (started_ || closed_)
    return;
  started_ = true;
  Dial();
}

void TrackerLink::Close() {
  if (closed_)
    return;
  closed_ = true;
  connected_ = false;
  reconnect_timer_->Close();
  handshake_timer_->Close();
  keepalive_timer_->Close();
  if (connection_)
    connection_->Close();  // OnClosed comes, and is ignored
}

void TrackerLink::Dial() {
  if (closed_ || refused_ || connection_ != nullptr)
    return;
  proto::SessionHello hello;
  if (!ParseFromBytes(params_.certificate, hello.mutable_certificate())) {
    refused_ = true;
    delegate_->OnRefused(Status::Corruption("the stored certificate does not parse"));
    return;
  }
  hello.set_protocol_version(kProtocolVersion);
  channel::InitiatorParams init;
  init.purpose = proto::PURPOSE_TRACKER;
  init.local_static = params_.local_static.secret_key;
  init.remote_static = params_.tracker_static_key;
  init.payload = SerializeToBytes(hello);
  auto connection =
      channel::ChannelConnection::Connect(loop_, tracker_address(), std::move(init), this);
  if (!connection.ok()) {
    if (loop_.closing())
      return;
    ScheduleReconnect(connection.status(), false);
    return;
  }
  connection_ = std::move(*connection);
  (void)handshake_timer_->Start(params_.handshake_timeout_ms);
}

Result<channel::ChannelConnection::HelloAnswer> TrackerLink::OnHello(channel::ChannelConnection&,
                                                                     const channel::Event&) {
  return Status::FailedPrecondition("the tracker link is an initiator");
}

Status TrackerLink::RelayOffered() const {
  if (!connected_)
    return Status::Unavailable("relay: no session with the tracker");
  return protocol::RelayOffered(welcome_);
}

Status TrackerLink::OnWelcome(channel::ChannelConnection& c, ByteView payload) {
  handshake_timer_->Stop();
  proto::SessionWelcome welcome;
  if (!ParseFromBytes(payload, &welcome))
    return Status::Corruption("the tracker's welcome does not parse");
  if (!welcome.accepted()) {
    // A refusal from the genuine tracker (it answered under its key):
    // retrying cannot help. The tracker closes after its reply.
    refused_ = true;
    refusal_ = Status::PermissionDenied(
        "the tracker refused the session: " +
        (welcome.refusal().empty() ? std::string("no reason given") : welcome.refusal()));
    c.Close();  // OnClosed reports the refusal
    return Status::Ok();
  }
  connected_ = true;
  attempts_ = 0;
  udp_token_ = welcome.udp_token();
  welcome_ = welcome;
  // A port number the tracker cannot have bound means "none".
  second_probe_port_ =
      welcome.second_probe_port() <= 65535 ? static_cast<uint16_t>(welcome.second_probe_port()) : 0;
  keepalive_ms_ = std::clamp<uint64_t>(uint64_t{welcome.keepalive_seconds()} * 1000, 1000, 600000);
  last_heard_ms_ = loop_.now_ms();
  keepalive_sequence_ = 0;
  (void)keepalive_timer_->Start(keepalive_ms_, keepalive_ms_);
  Replay();
  delegate_->OnConnected(welcome);  // last
  return Status::Ok();
}

void TrackerLink::Replay() {
  proto::ToTracker m;
  if (announce_) {
    *m.mutable_announce() = *announce_;
    (void)SendToTracker(m);
  }
  if (status_) {
    *m.mutable_set_status() = *status_;
    (void)SendToTracker(m);
  }
  if (subscribe_) {
    *m.mutable_subscribe() = *subscribe_;
    (void)SendToTracker(m);
  }
}

Status TrackerLink::OnMessage(channel::ChannelConnection&, ByteView plaintext) {
  last_heard_ms_ = loop_.now_ms();
  proto::FromTracker m;
  if (!ParseFromBytes(plaintext, &m))
    return Status::Corruption("a message from the tracker does not parse");
  switch (m.body_case()) {
    case proto::FromTracker::kPresence:
      delegate_->OnPresence(m.presence());
      break;
    case proto::FromTracker::kLookup:
      pending_lookups_.erase(m.lookup().request_id());
      delegate_->OnLookupResult(m.lookup());
      break;
    case proto::FromTracker::kKeepaliveAck:
      break;
    case proto::FromTracker::kRevoked:
      delegate_->OnRevoked(m.revoked());
      break;
    case proto::FromTracker::kPunch:
      delegate_->OnPunch(m.punch());
      break;
    case proto::FromTracker::kRelayOffer:
      delegate_->OnRelayOffer(m.relay_offer());
      break;
    case proto::FromTracker::kRelayNotice:
      delegate_->OnRelayNotice(m.relay_notice());
      break;
    case proto::FromTracker::kError:
      delegate_->OnTrackerError(m.error().message());
      break;
    case proto::FromTracker::kRenewed:
      delegate_->OnCertificateRenewed(m.renewed().certificate());
      break;
    case proto::FromTracker::kMailboxDeposited:
      // An answer to no deposit of this session (one failed when the last
      // session ended) is not passed on: it was answered already.
      if (pending_deposits_.erase(m.mailbox_deposited().request_id()) > 0)
        delegate_->OnMailboxDeposited(m.mailbox_deposited());
      break;
    case proto::FromTracker::kMailboxEnvelopes:
      delegate_->OnMailboxEnvelopes(m.mailbox_envelopes());
      break;
    case proto::FromTracker::kMailboxNotice:
      delegate_->OnMailboxNotice(m.mailbox_notice());
      break;
    case proto::FromTracker::BODY_NOT_SET:
      break;  // a newer tracker's message: ignore it
  }
  return Status::Ok();
}

void TrackerLink::OnClosed(channel::ChannelConnection&, Status status) {
  // Destroying the connection here is allowed (ChannelConnection's contract).
  std::unique_ptr<channel::ChannelConnection> gone = std::move(connection_);
  const bool was_connected = connected_;
  connected_ = false;
  udp_token_.clear();
  second_probe_port_ = 0;
  if (closed_)
    return;
  handshake_timer_->Stop();
  keepalive_timer_->Stop();
  FailPendingLookups("the tracker connection was lost");
  if (closed_)
    return;  // the delegate closed the link from OnLookupResult
  FailPendingDeposits();
  if (closed_)
    return;
  if (refused_) {
    reconnect_timer_->Stop();
    delegate_->OnRefused(refusal_);  // last
    return;
  }
  if (status.ok())
    status = Status::Closed("the tracker closed the session");
  if (loop_.closing())
    return;
  ScheduleReconnect(std::move(status), was_connected);
}

void TrackerLink::ScheduleReconnect(Status reason, bool was_connected) {
  const BackoffPolicy& b = params_.backoff;
  const uint32_t shift = std::min<uint32_t>(attempts_, 20);
  const double base = std::min<double>(static_cast<double>(b.initial_ms) * std::ldexp(1.0, shift),
                                       static_cast<double>(b.max_ms));
  std::uniform_real_distribution<double> spread(1.0 - b.jitter, 1.0 + b.jitter);
  const uint64_t delay = static_cast<uint64_t>(std::max(1.0, base * spread(rng_)));
  ++attempts_;
  if (!params_.other_trackers.empty())  // the next tracker of the cluster
    current_ = (current_ + 1) % (params_.other_trackers.size() + 1);
  (void)reconnect_timer_->Start(delay);
  delegate_->OnDisconnected(Disconnect{std::move(reason), was_connected, delay});  // last
}

void TrackerLink::OnHandshakeTimer() {
  if (connection_ && !connected_)
    connection_->Fail(Status::ResourceExhausted("no welcome from the tracker in time"));
}

void TrackerLink::OnKeepaliveTimer() {
  if (!connected_ || !connection_)
    return;
  const uint64_t silent_ms = loop_.now_ms() - last_heard_ms_;
  if (silent_ms > keepalive_ms_ * params_.dead_after_keepalives) {
    connection_->Fail(Status::Unavailable("the tracker went silent"));
    return;
  }
  proto::ToTracker m;
  m.mutable_keepalive()->set_sequence(++keepalive_sequence_);
  (void)SendToTracker(m);
}

void TrackerLink::FailPendingLookups(const std::string& why) {
  // Taken first: the delegate may start new lookups from the upcall (they
  // fail with Unavailable while disconnected).
  std::map<uint64_t, std::string> pending = std::exchange(pending_lookups_, {});
  for (const auto& [id, name] : pending) {
    proto::LookupResult r;
    r.set_request_id(id);
    r.set_found(false);
    r.set_error(why);
    delegate_->OnLookupResult(r);
    if (closed_)
      return;
  }
}

void TrackerLink::FailPendingDeposits() {
  std::set<uint64_t> pending = std::exchange(pending_deposits_, {});
  for (uint64_t id : pending) {
    proto::MailboxDepositAnswer a;
    a.set_request_id(id);
    a.set_stored(false);
    a.set_refusal("no answer: the tracker session ended");
    delegate_->OnMailboxDeposited(a);
    if (closed_)
      return;
  }
}

Status TrackerLink::SendToTracker(const proto::ToTracker& message) {
  if (!connected_ || !connection_)
    return Status::Unavailable("not connected to the tracker");
  Status s = connection_->Send(SerializeToBytes(message));
  if (!s.ok()) {
    spdlog::warn("tracker link: send failed: {}", s.ToString());
    connection_->Fail(s);
  }
  return s;
}

void TrackerLink::Announce(std::vector<proto::Endpoint> endpoints) {
  proto::Announce a;
  for (proto::Endpoint& e : endpoints)
    *a.add_endpoints() = std::move(e);
  announce_ = a;
  proto::ToTracker m;
  *m.mutable_announce() = std::move(a);
  (void)SendToTracker(m);
}

void TrackerLink::SetStatus(proto::PresenceStatus status, std::string text) {
  proto::SetStatus s;
  s.set_status(status);
  s.set_text(std::move(text));
  status_ = s;
  proto::ToTracker m;
  *m.mutable_set_status() = std::move(s);
  (void)SendToTracker(m);
}

void TrackerLink::Subscribe(std::vector<std::string> names) {
  proto::Subscribe s;
  for (std::string& n : names)
    s.add_names(std::move(n));
  subscribe_ = s;
  proto::ToTracker m;
  *m.mutable_subscribe() = std::move(s);
  (void)SendToTracker(m);
}

Result<uint64_t> TrackerLink::Lookup(const std::string& name) {
  if (!connected_)
    return Status::Unavailable("not connected to the tracker");
  const uint64_t id = next_request_id_++;
  proto::ToTracker m;
  m.mutable_lookup()->set_request_id(id);
  m.mutable_lookup()->set_name(name);
  CONFAB_RETURN_IF_ERROR(SendToTracker(m));
  pending_lookups_[id] = name;
  return id;
}

Result<uint64_t> TrackerLink::Punch(const std::string& name) {
  if (!connected_)
    return Status::Unavailable("not connected to the tracker");
  const uint64_t id = next_request_id_++;
  proto::ToTracker m;
  m.mutable_punch()->set_request_id(id);
  m.mutable_punch()->set_name(name);
  CONFAB_RETURN_IF_ERROR(SendToTracker(m));
  return id;
}

Result<uint64_t> TrackerLink::RequestRelay(const std::string& name) {
  CONFAB_RETURN_IF_ERROR(RelayOffered());
  const uint64_t id = next_request_id_++;
  proto::ToTracker m;
  m.mutable_relay()->set_request_id(id);
  m.mutable_relay()->set_name(name);
  CONFAB_RETURN_IF_ERROR(SendToTracker(m));
  return id;
}

Status TrackerLink::MailboxOffered() const {
  if (!connected_)
    return Status::Unavailable("mailbox: no session with the tracker");
  return protocol::MailboxOffered(welcome_);
}

Result<uint64_t> TrackerLink::DepositMailbox(const std::string& recipient, const Bytes& envelope) {
  CONFAB_RETURN_IF_ERROR(MailboxOffered());
  if (envelope.empty() || envelope.size() > protocol::kMaxMailboxEnvelopeBytes) {
    return Status::InvalidArgument("mailbox: an envelope is 1 to " +
                                   std::to_string(protocol::kMaxMailboxEnvelopeBytes) +
                                   " bytes, not " + std::to_string(envelope.size()));
  }
  const uint64_t id = next_request_id_++;
  proto::ToTracker m;
  m.mutable_mailbox_deposit()->set_request_id(id);
  m.mutable_mailbox_deposit()->set_recipient(recipient);
  m.mutable_mailbox_deposit()->set_envelope(std::string(AsChars(envelope)));
  CONFAB_RETURN_IF_ERROR(SendToTracker(m));
  pending_deposits_.insert(id);
  return id;
}

Status TrackerLink::FetchMailbox(uint64_t after_id) {
  CONFAB_RETURN_IF_ERROR(MailboxOffered());
  proto::ToTracker m;
  m.mutable_mailbox_fetch()->set_after_id(after_id);
  return SendToTracker(m);
}

Status TrackerLink::AckMailbox(const std::vector<uint64_t>& ids) {
  CONFAB_RETURN_IF_ERROR(MailboxOffered());
  if (ids.empty() || ids.size() > protocol::kMaxMailboxAckIds) {
    return Status::InvalidArgument("mailbox: an ack names 1 to " +
                                   std::to_string(protocol::kMaxMailboxAckIds) + " envelopes");
  }
  proto::ToTracker m;
  for (uint64_t id : ids)
    m.mutable_mailbox_ack()->add_ids(id);
  return SendToTracker(m);
}

}  // namespace confab::peer
