#include "tracker/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/channel/secure_channel.h"
#include "common/crypto/certificate.h"
#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/crypto/sodium.h"
#include "common/net/address.h"
#include "common/protocol/presence_names.h"
#include "common/protocol/tracker_features.h"

namespace confab::tracker {
namespace {

constexpr size_t kMaxTrackerMessageBytes = 16 * 1024;
constexpr size_t kMaxDepositMessageBytes = channel::kMaxPlaintextBytes;

std::string TokenKey(ByteView token) {
  return std::string(AsChars(token));
}

proto::PresenceEntry ToProto(const PresenceEntry& e) {
  proto::PresenceEntry out;
  out.set_name(e.name);
  out.set_status(e.status);
  out.set_text(e.text);
  out.set_last_seen_unix(e.last_seen_unix);
  return out;
}

// Whether `presented` is exactly the serialized certificate `stored`.
bool SameCertificate(const proto::Certificate& presented, const Bytes& stored) {
  proto::Certificate kept;
  return ParseFromBytes(stored, &kept) && kept.body() == presented.body() &&
         kept.signature() == presented.signature();
}

}  // namespace

TrackerService::TrackerService(TrackerState& state)
    : state_(state),
      presence_(PresenceLimits{.max_subscriptions_per_member = static_cast<size_t>(
                                   state.config().max_subscriptions_per_member)}),
      relay_(state.config().relay,
             [this](const std::string& name) { return RelayMemberState(name); }) {
  CountMailboxTotals();
}

Status TrackerService::Refuse(std::string_view reason, Status status) {
  ++counters_.refusals[std::string(reason)];
  // Unauthenticated garbage can come at the handshake rate: debug only.
  spdlog::debug("hello refused ({}): {}", reason, status.ToString());
  return status;
}

const std::string* TrackerService::NameOf(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second.name;
}

Result<TrackerService::HelloReply> TrackerService::OnHello(
    SessionId session, proto::Purpose purpose, const crypto::noise::PublicKey& remote_static,
    ByteView payload, const std::string& peer_address, int64_t now_unix) {
  switch (purpose) {
    case proto::PURPOSE_JOIN:
      return Join(remote_static, payload, peer_address, now_unix);
    case proto::PURPOSE_TRACKER:
      return Admit(session, remote_static, payload, peer_address, now_unix);
    default:
      return Refuse("purpose", Status::PermissionDenied("not a tracker purpose"));
  }
}

Result<TrackerService::HelloReply> TrackerService::Join(
    const crypto::noise::PublicKey& remote_static, ByteView payload,
    const std::string& peer_address, int64_t now) {
  proto::JoinRequest request;
  if (!ParseFromBytes(payload, &request) ||
      request.invite_secret().size() != crypto::kInviteSecretBytes) {
    return Refuse("join_malformed", Status::Corruption("malformed join request"));
  }
  // Whatever happens next, the reply is keyed with the psk of the secret the
  // party presented: it proves we read message 1, and only they can read
  // our answer.
  HelloReply reply;
  reply.psk = crypto::DeriveJoinPsk(AsBytes(request.invite_secret()));
  reply.close_after_reply = true;
  proto::JoinResponse response;

  auto refuse = [&](std::string_view reason, const std::string& text) {
    ++counters_.refusals[std::string(reason)];
    spdlog::info("join refused from {}: {} ({})", peer_address, text, reason);
    response.set_accepted(false);
    response.set_refusal(text);
    reply.payload = SerializeToBytes(response);
    return reply;
  };

  auto key = crypto::Ed25519PublicKeyFromBytes(AsBytes(request.identity_key()));
  if (!key.ok())
    return refuse("join_malformed", "malformed identity key");
  auto x25519 = crypto::X25519FromEd25519(*key);
  if (!x25519.ok() || *x25519 != remote_static) {
    return refuse("join_key_mismatch", "the handshake key is not the identity key's");
  }
  const crypto::OrgKey& org = state_.org_key();
  const int64_t lifetime = state_.config().certificate_lifetime.count();
  auto hash = crypto::HashInviteSecret(AsBytes(request.invite_secret()));
  auto member = state_.directory().Enroll(hash, *key, now, [&](const Issuance& in) {
    return org.Issue(in.name, *key, in.serial, in.issued_at, lifetime);
  });
  if (!member.ok()) {
    std::string reason = "join_refused";
    switch (member.status().code()) {
      case Status::Code::kNotFound:
        reason = "join_unknown_invite";
        break;
      case Status::Code::kPermissionDenied:
        reason = "join_revoked";
        break;
      case Status::Code::kFailedPrecondition:
        reason = "join_used_or_expired";
        break;
      default:
        break;
    }
    return refuse(reason, std::string(member.status().message()));
  }
  ++counters_.joins;
  ++counters_.handshakes;
  response.set_accepted(true);
  if (!ParseFromBytes(member->certificate, response.mutable_certificate())) {
    return Status::Corruption("issued certificate does not parse");
  }
  response.set_org_public_key(org.public_key().data(), org.public_key().size());
  response.set_org(state_.config().org);
  reply.payload = SerializeToBytes(response);
  spdlog::info("joined: {} from {} (certificate serial {})", member->name, peer_address,
               member->serial);
  return reply;
}

Result<TrackerService::HelloReply> TrackerService::Admit(
    SessionId id, const crypto::noise::PublicKey& remote_static, ByteView payload,
    const std::string& peer_address, int64_t now) {
  proto::SessionHello hello;
  if (!ParseFromBytes(payload, &hello)) {
    return Refuse("session_malformed", Status::Corruption("malformed session hello"));
  }
  // The common case: the member whose Noise key the handshake just proved
  // presents, byte for byte, the certificate we issued them and keep in the
  // directory. Its signature was good when we issued it; checking it again
  // (and converting keys) would be a third of the handshake's cost.
  // Anything else takes the full check below.
  auto known = state_.directory().GetMemberByNoiseKey(remote_static);
  const bool issued_here = known.ok() && SameCertificate(hello.certificate(), known->certificate);
  // An invalid signature means an outsider: they get nothing but a failed
  // handshake. A genuine certificate that we refuse gets a reason.
  auto cert =
      issued_here
          ? crypto::CheckKnownCertificate(hello.certificate(), state_.org_key().public_key(), now)
          : crypto::VerifyCertificate(hello.certificate(), state_.org_key().public_key(), now);
  if (!cert.ok() && cert.status().code() != Status::Code::kFailedPrecondition) {
    return Refuse("session_bad_certificate", cert.status());
  }
  HelloReply reply;
  proto::SessionWelcome welcome;
  auto refuse = [&](std::string_view reason, std::string text) {
    ++counters_.refusals[std::string(reason)];
    spdlog::info("session refused for {} from {}: {} ({})",
                 cert.ok() ? cert->name : std::string("a member"), peer_address, text, reason);
    welcome.set_accepted(false);
    welcome.set_refusal(std::move(text));
    reply.payload = SerializeToBytes(welcome);
    reply.close_after_reply = true;
    return reply;
  };
  if (!cert.ok())
    return refuse("session_expired", std::string(cert.status().message()));
  if (!issued_here && !crypto::CheckMatchesNoiseStatic(*cert, remote_static).ok()) {
    return Refuse("session_key_mismatch", Status::AuthFailed("certificate is not the peer's"));
  }
  auto member = issued_here ? std::move(known) : state_.directory().GetMember(cert->name);
  if (!member.ok()) {
    if (member.status().code() != Status::Code::kNotFound)
      return member.status();
    return refuse("session_unknown_member", "not a member of this organisation");
  }
  if (member->revoked)
    return refuse("session_revoked", "membership revoked");
  if (member->identity_key != Bytes(cert->identity_key.begin(), cert->identity_key.end())) {
    return refuse("session_stale_certificate", "certificate replaced; join again");
  }

  Session session;
  session.name = cert->name;
  session.identity_key = member->identity_key;
  session.certificate = member->certificate;
  session.peer_address = peer_address;
  session.last_activity = now;
  session.protocol_version = hello.protocol_version();
  session.certificate_expires = cert->expires_unix;
  session.presented_current = issued_here;
  crypto::RandomBytes(session.udp_token);
  udp_tokens_[TokenKey(session.udp_token)] = id;
  sessions_[id] = std::move(session);

  if (auto replaced = presence_.Attach(cert->name, id, now))
    to_close_.push_back(*replaced);
  DeliverPresence();
  ShareOwn(cert->name, now);
  ++counters_.handshakes;
  spdlog::info("session {} opened: {} from {}", id, cert->name, peer_address);

  welcome.set_accepted(true);
  welcome.set_udp_token(sessions_[id].udp_token.data(), kUdpTokenBytes);
  welcome.set_keepalive_seconds(static_cast<uint32_t>(state_.config().keepalive_interval.count()));
  welcome.set_second_probe_port(second_probe_port_);
  welcome.set_protocol_version(protocol::kTrackerProtocolVersion);
  if (state_.config().relay.enabled)
    welcome.add_features(std::string(protocol::kFeatureRelay));
  if (mailbox_served())
    welcome.add_features(std::string(protocol::kFeatureMailbox));
  reply.payload = SerializeToBytes(welcome);
  return reply;
}

Status TrackerService::OnMessage(SessionId id, ByteView plaintext, int64_t now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return Status::FailedPrecondition("no such session");
  Session& s = it->second;
  // A deposit may fill a frame (an envelope is up to kMaxEnvelopeBytes);
  // every other message is small.
  if (plaintext.size() > kMaxDepositMessageBytes) {
    return Refuse("message_too_large", Status::ResourceExhausted("message too large"));
  }
  proto::ToTracker message;
  if (!ParseFromBytes(plaintext, &message)) {
    return Refuse("message_malformed", Status::Corruption("malformed message"));
  }
  if (plaintext.size() > kMaxTrackerMessageBytes &&
      message.body_case() != proto::ToTracker::kMailboxDeposit) {
    return Refuse("message_too_large", Status::ResourceExhausted("message too large"));
  }
  s.last_activity = now;
  if (!s.renewal_checked) {
    s.renewal_checked = true;
    CONFAB_RETURN_IF_ERROR(MaybeRenew(id, s, now));
  }
  Status result;
  switch (message.body_case()) {
    case proto::ToTracker::kAnnounce:
      result = HandleAnnounce(s, message.announce());
      break;
    case proto::ToTracker::kSetStatus:
      result = presence_.SetStatus(s.name, message.set_status().status(),
                                   message.set_status().text(), now);
      if (result.ok())
        ShareOwn(s.name, now);
      break;
    case proto::ToTracker::kSubscribe:
      result = HandleSubscribe(id, s, message.subscribe());
      break;
    case proto::ToTracker::kLookup:
      result = HandleLookup(id, s, message.lookup(), now);
      break;
    case proto::ToTracker::kKeepalive: {
      proto::FromTracker ack;
      ack.mutable_keepalive_ack()->set_sequence(message.keepalive().sequence());
      Send(id, std::move(ack));
      break;
    }
    case proto::ToTracker::kPunch:
      result = HandlePunch(id, s, message.punch());
      break;
    case proto::ToTracker::kRelay:
      result = HandleRelayRequest(id, s, message.relay(), now);
      break;
    case proto::ToTracker::kMailboxDeposit:
      result = HandleDeposit(id, s, message.mailbox_deposit(), now);
      break;
    case proto::ToTracker::kMailboxFetch:
      result = HandleFetch(id, s, message.mailbox_fetch());
      break;
    case proto::ToTracker::kMailboxAck:
      result = HandleMailboxAck(s, message.mailbox_ack());
      break;
    case proto::ToTracker::BODY_NOT_SET:
      // Bytes that parse but set no body we know: a newer node's request.
      // It is told so and the session goes on; an empty message is garbage.
      result =
          plaintext.empty()
              ? Refuse("message_empty", Status::Corruption("empty message"))
              : Refuse("message_unknown",
                       Status::InvalidArgument("unknown request: this tracker speaks protocol " +
                                               std::to_string(protocol::kTrackerProtocolVersion)));
      break;
  }
  // A bad request is answered with an error, not a disconnect, when the
  // message itself was well formed.
  if (!result.ok() && result.code() != Status::Code::kCorruption) {
    ++counters_.refusals["request_refused"];
    proto::FromTracker error;
    error.mutable_error()->set_message(result.ToString());
    Send(id, std::move(error));
    result = Status::Ok();
  }
  DeliverPresence();
  return result;
}

Status TrackerService::HandleAnnounce(Session& s, const proto::Announce& m) {
  if (m.endpoints_size() > static_cast<int>(kMaxEndpointsPerMember) - 2) {
    return Status::InvalidArgument("too many endpoints");
  }
  std::vector<proto::Endpoint> endpoints;
  uint32_t tcp_port = 0;
  for (const proto::Endpoint& e : m.endpoints()) {
    if (e.port() == 0 || e.port() > 65535 ||
        !net::Address::FromIp(e.address(), static_cast<uint16_t>(e.port())).ok()) {
      return Status::InvalidArgument("endpoint '" + e.address().substr(0, 64) +
                                     "' is not an IP address and port");
    }
    proto::Endpoint copy = e;
    copy.set_kind(proto::Endpoint::KIND_LAN);
    if (!copy.udp() && tcp_port == 0)
      tcp_port = copy.port();
    endpoints.push_back(std::move(copy));
  }
  // The address the tracker sees, with the port the node listens on: the
  // way in from outside the node's LAN, if its firewall forwards it.
  if (tcp_port != 0 && !s.peer_address.empty()) {
    bool known = std::any_of(endpoints.begin(), endpoints.end(), [&](const proto::Endpoint& e) {
      return e.address() == s.peer_address;
    });
    if (!known) {
      proto::Endpoint observed;
      observed.set_address(s.peer_address);
      observed.set_port(tcp_port);
      observed.set_kind(proto::Endpoint::KIND_PUBLIC);
      endpoints.push_back(std::move(observed));
    }
  }
  s.announced = std::move(endpoints);
  return PublishEndpoints(s);
}

Status TrackerService::PublishEndpoints(const Session& s) {
  std::vector<proto::Endpoint> endpoints = s.announced;
  if (s.observed_udp)
    endpoints.push_back(*s.observed_udp);
  CONFAB_RETURN_IF_ERROR(presence_.SetEndpoints(s.name, std::move(endpoints)));
  ShareOwn(s.name, s.last_activity);
  return Status::Ok();
}

void TrackerService::ShareOwn(const std::string& name, int64_t now) {
  if (cluster_ == nullptr)
    return;
  PresenceEntry view = presence_.View(name);
  SharedPresence shared{name, cluster_->tracker_id(), view.status, view.text, {}};
  if (view.status != proto::PRESENCE_OFFLINE)
    shared.endpoints = EndpointsOf(name);
  Status s = cluster_->Publish(shared, now);
  if (!s.ok()) {
    ++counters_.refusals["cluster_publish_failed"];
    spdlog::warn("presence of {} not shared with the cluster: {}", name, s.ToString());
  }
}

Status TrackerService::HandleSubscribe(SessionId id, Session& s, const proto::Subscribe& m) {
  std::vector<std::string> names(m.names().begin(), m.names().end());
  CONFAB_ASSIGN_OR_RETURN(std::vector<PresenceEntry> initial, presence_.Subscribe(s.name, names));
  proto::FromTracker delta;
  for (const PresenceEntry& e : initial) {
    *delta.mutable_presence()->add_entries() = ToProto(e);
  }
  if (!initial.empty()) {
    counters_.presence_updates_sent += initial.size();
    Send(id, std::move(delta));
  }
  return Status::Ok();
}

Status TrackerService::HandleLookup(SessionId id, Session& s, const proto::Lookup& m, int64_t now) {
  if (s.lookup_window != now) {
    s.lookup_window = now;
    s.lookups_in_window = 0;
  }
  if (++s.lookups_in_window > kMaxLookupsPerSecond) {
    return Refuse("lookup_rate", Status::ResourceExhausted("too many lookups; slow down"));
  }
  ++counters_.lookups;
  proto::FromTracker reply;
  proto::LookupResult* result = reply.mutable_lookup();
  result->set_request_id(m.request_id());
  auto member = ValidateMemberName(m.name()).ok() ? state_.directory().GetMember(m.name())
                                                  : Result<Member>(Status::NotFound("bad name"));
  if (!member.ok() || member->revoked) {
    result->set_found(false);
    result->set_error(member.ok() ? "revoked" : "no such member");
    result->set_no_such_member(!member.ok() && member.status().code() == Status::Code::kNotFound);
    result->set_revoked(member.ok());
    audit_.push_back({now, s.name, AuditAction::kLookupRefused, m.name().substr(0, 64)});
  } else {
    result->set_found(true);
    // Checked when it was issued and stored; the peer checks it again.
    (void)ParseFromBytes(member->certificate, result->mutable_certificate());
    for (proto::Endpoint& e : EndpointsOf(m.name()))
      *result->add_endpoints() = std::move(e);
    *result->mutable_presence() = ToProto(presence_.View(m.name()));
    audit_.push_back({now, s.name, AuditAction::kLookup, m.name()});
  }
  Send(id, std::move(reply));
  return Status::Ok();
}

std::vector<proto::Endpoint> TrackerService::EndpointsOf(const std::string& name) const {
  return presence_.Endpoints(name);
}

Status TrackerService::HandlePunch(SessionId id, Session& s, const proto::PunchRequest& m) {
  auto target = presence_.SessionOf(m.name());
  if (presence_.View(m.name()).status == proto::PRESENCE_OFFLINE) {
    return Status::Unavailable(m.name().substr(0, 64) + " is not online");
  }
  if (!target)  // online on another tracker of the cluster
    return PunchAcrossCluster(id, s, m);
  proto::FromTracker to_target;
  proto::PunchNotice* notice = to_target.mutable_punch();
  notice->set_request_id(m.request_id());
  notice->set_name(s.name);
  for (proto::Endpoint& e : EndpointsOf(s.name))
    *notice->add_endpoints() = std::move(e);
  Send(*target, std::move(to_target));

  proto::FromTracker to_requester;
  notice = to_requester.mutable_punch();
  notice->set_request_id(m.request_id());
  notice->set_name(m.name());
  for (proto::Endpoint& e : EndpointsOf(m.name()))
    *notice->add_endpoints() = std::move(e);
  Send(id, std::move(to_requester));
  return Status::Ok();
}

void TrackerService::Send(SessionId to, proto::FromTracker message) {
  outgoing_.push_back({to, std::move(message)});
}

void TrackerService::DeliverPresence() {
  std::vector<Notification> notes = presence_.TakeNotifications();
  if (notes.empty())
    return;
  // One PresenceDelta per subscriber, entries in the order they changed.
  std::unordered_map<SessionId, size_t> index;
  for (Notification& n : notes) {
    auto [it, fresh] = index.try_emplace(n.subscriber, outgoing_.size());
    if (fresh)
      outgoing_.push_back({n.subscriber, proto::FromTracker()});
    *outgoing_[it->second].message.mutable_presence()->add_entries() = ToProto(n.entry);
    ++counters_.presence_updates_sent;
  }
}

void TrackerService::OnClosed(SessionId id, int64_t now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return;
  const std::string name = it->second.name;
  udp_tokens_.erase(TokenKey(it->second.udp_token));
  const bool current = presence_.SessionOf(name) == std::optional<SessionId>(id);
  sessions_.erase(it);
  presence_.Detach(name, id, now);
  DeliverPresence();
  if (current && cluster_ != nullptr) {
    if (Status w = cluster_->Withdraw(name); !w.ok())
      spdlog::warn("presence of {} not withdrawn from the cluster: {}", name, w.ToString());
  }
  if (current) {
    // Written with the next FlushDurable(), in one transaction with others.
    last_seen_[name] = now;
  }
}

Result<std::vector<UserInfo>> TrackerService::Users() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<UserInfo> users, ListUsers(state_));
  for (UserInfo& u : users) {
    if (auto seen = last_seen_.find(u.name); seen != last_seen_.end()) {
      u.last_seen_unix = seen->second;  // left since the last flush
    }
    auto session = presence_.SessionOf(u.name);
    if (!session && !u.revoked) {
      // A session on another tracker of the cluster (invisible ones show
      // offline there too: their tracker publishes what members see).
      PresenceEntry remote = presence_.View(u.name);
      if (remote.status != proto::PRESENCE_OFFLINE) {
        u.online = true;
        u.status = std::string(protocol::PresenceStatusName(remote.status));
        u.text = remote.text;
      }
    }
    if (!session || u.revoked)
      continue;
    u.online = true;
    // Ops see the real status, invisible included.
    PresenceEntry view = presence_.View(u.name);
    u.status = view.status == proto::PRESENCE_OFFLINE
                   ? "invisible"
                   : std::string(protocol::PresenceStatusName(view.status));
    u.text = view.text;
    auto it = sessions_.find(*session);
    if (it != sessions_.end())
      u.last_seen_unix = it->second.last_activity;
  }
  return users;
}

std::vector<SessionId> TrackerService::SilentSince(int64_t cutoff) const {
  std::vector<SessionId> silent;
  for (const auto& [id, s] : sessions_) {
    if (s.last_activity < cutoff)
      silent.push_back(id);
  }
  return silent;
}

std::optional<std::string> TrackerService::NameForUdpToken(ByteView token) const {
  if (token.size() != kUdpTokenBytes)
    return std::nullopt;
  auto it = udp_tokens_.find(TokenKey(token));
  if (it == udp_tokens_.end())
    return std::nullopt;
  auto session = sessions_.find(it->second);
  if (session == sessions_.end())
    return std::nullopt;
  return session->second.name;
}

void TrackerService::SetObservedUdp(const std::string& name, const std::string& address,
                                    uint16_t port) {
  auto session = presence_.SessionOf(name);
  if (!session)
    return;
  auto it = sessions_.find(*session);
  if (it == sessions_.end())
    return;
  proto::Endpoint e;
  e.set_address(address);
  e.set_port(port);
  e.set_kind(proto::Endpoint::KIND_PUBLIC);
  e.set_udp(true);
  it->second.observed_udp = std::move(e);
  (void)PublishEndpoints(it->second);
}

void TrackerService::FlushDurable() {
  if (!last_seen_.empty()) {
    std::vector<std::pair<std::string, int64_t>> seen(last_seen_.begin(), last_seen_.end());
    last_seen_.clear();
    // Best effort: presence is soft state.
    (void)state_.directory().RecordLastSeen(seen);
  }
  if (audit_.empty())
    return;
  std::vector<AuditEntry> entries;
  entries.reserve(audit_.size());
  for (PendingAudit& a : audit_) {
    AuditEntry e;
    e.time = a.time;
    e.actor = std::move(a.actor);
    e.action = a.action;
    e.subject = std::move(a.subject);
    entries.push_back(std::move(e));
  }
  audit_.clear();
  (void)state_.directory().AppendAudits(entries);
}

}  // namespace confab::tracker
