#include "peer/node/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/service_notify.h"
#include "common/base/utc_time.h"
#include "common/base/wall_clock.h"
#include "common/config/config.h"
#include "common/crypto/certificate.h"
#include "common/crypto/noise_primitives.h"
#include "common/net/interfaces.h"
#include "common/protocol/presence_names.h"
#include "peer/chat/body_cipher.h"
#include "peer/node/node_config.h"
#include "peer/store/peer_database.h"
#include "proto/identity.pb.h"

namespace confab::peer {
namespace {

// [transfers] from $CONFAB_HOME/config.toml (every default when absent).
Result<transfer::ReceivePolicy> LoadFilePolicy(const Home& home) {
  const std::string path = home.Path("config.toml");
  Result<config::Config> cfg = config::Config::Load(path, NodeConfigKeys());
  if (!cfg.ok() && cfg.status().code() == Status::Code::kNotFound)
    cfg = config::Config::Parse("", path);
  if (!cfg.ok())
    return cfg.status();
  return transfer::LoadReceivePolicy(*cfg, home.dir());
}

// The tracker's second UDP probe port (0: it has none), for telling a NAT
// that maps every destination alike from one that does not.
uint16_t SecondProbePort(const proto::SessionWelcome& welcome) {
  return welcome.second_probe_port() <= 65535 ? static_cast<uint16_t>(welcome.second_probe_port())
                                              : 0;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Create(net::Loop& loop, const Home& home,
                                           const crypto::SigningKey& identity,
                                           const NodeOptions& options) {
  CONFAB_ASSIGN_OR_RETURN(Enrollment enrollment, home.LoadEnrollment());
  if (enrollment.checked.identity_key != identity.public_key())
    return Status::AuthFailed("the identity key does not match the stored certificate");
  CONFAB_ASSIGN_OR_RETURN(net::Address listen, ResolveHostPort(options.listen));
  // tracker.address: one host:port, or several of one cluster separated by
  // commas (issue 16: the node fails over between them).
  std::vector<net::Address> trackers;
  for (const std::string& one : SplitTrackerAddresses(enrollment.tracker_address)) {
    CONFAB_ASSIGN_OR_RETURN(net::Address a, ResolveHostPort(one));
    trackers.push_back(a);
  }
  if (trackers.empty())
    return Status::InvalidArgument("enrollment.toml: tracker.address names no tracker");
  const net::Address tracker = trackers.front();

  std::unique_ptr<Node> node(new Node(loop, options));
  node->name_ = enrollment.name;
  node->tracker_ = tracker;
  node->control_path_ = home.Path(kControlSocketFile);
  node->certificate_path_ = home.Path(kCertificateFile);
  node->org_public_key_ = enrollment.org_public_key;
  node->identity_key_ = identity.public_key();
  node->certificate_expires_unix_ = enrollment.checked.expires_unix;

  CONFAB_ASSIGN_OR_RETURN(node->db_, OpenPeerDatabase(home.Path(kDatabaseFile)));
  CONFAB_ASSIGN_OR_RETURN(node->contacts_, ContactBook::Open(node->db_.get()));
  // The conversations first: their Open records our name and completes the
  // migration (direct ids and members), which HistoryStore relies on.
  CONFAB_ASSIGN_OR_RETURN(BodyCipher conv_cipher,
                          BodyCipher::FromIdentitySeed(identity.seed().view()));
  CONFAB_ASSIGN_OR_RETURN(
      node->conversations_,
      chat::ConversationStore::Open(node->db_.get(), std::move(conv_cipher), enrollment.name));
  CONFAB_ASSIGN_OR_RETURN(node->identity_, crypto::SigningKey::FromSeed(identity.seed().view()));
  Node* self = node.get();
  node->replicas_ = std::make_unique<chat::Replicas>(
      node->conversations_.get(), &*node->identity_,
      [self](const std::string& person) { return self->AuthorKey(person); });
  CONFAB_ASSIGN_OR_RETURN(BodyCipher cipher, BodyCipher::FromIdentitySeed(identity.seed().view()));
  CONFAB_ASSIGN_OR_RETURN(node->history_, HistoryStore::Open(node->db_.get(), std::move(cipher)));
  node->messenger_ = std::make_unique<Messenger>(*node->history_, *node->contacts_);
  CONFAB_ASSIGN_OR_RETURN(node->directory_, DirectoryCache::Open(node->db_.get()));

  // Ahead of the sockets: a second node on this home must fail before it
  // takes a port. Its handlers are given once the parts they use exist.
  CONFAB_ASSIGN_OR_RETURN(
      node->control_, ControlServer::Create(loop, node->control_path_, nullptr, options.control));
  node->feed_ = std::make_unique<EventFeed>(*node->control_, *node->contacts_, enrollment.name);
  CONFAB_RETURN_IF_ERROR(node->feed_->EnableGrace(loop, options.presence_grace_ms));
  node->replicas_->set_observer(node.get());
  // Before anything is shown or sent.
  CONFAB_ASSIGN_OR_RETURN(
      node->purge_,
      HistoryPurge::Create(loop, *node->replicas_, options.retain_days, options.purge_every_ms));

  const crypto::X25519KeyPair local_static = identity.DeriveX25519();
  PeerPortParams port;
  port.self_name = enrollment.name;
  port.local_static = local_static;
  port.certificate = enrollment.certificate;
  port.org_public_key = enrollment.org_public_key;
  CONFAB_ASSIGN_OR_RETURN(
      node->port_, PeerPort::Create(loop, listen, std::move(port), *node->contacts_, node.get()));

  // One Dialer for chat and files, UDP through the port's UdpPaths. A UDP
  // dial gets the endpoint's give-up time plus a channel handshake's.
  DialerParams dial;
  dial.org_public_key = enrollment.org_public_key;
  dial.paths = options.paths;
  dial.udp_head_start_ms = options.udp_head_start_ms;
  dial.udp_dial_timeout_ms = node->port_->udp().handshake_give_up_ms() + 10'000;
  // The relay lane: on once a tracker's welcome offers it (OnConnected);
  // network.path = relay keeps it on, so a refusal is shown.
  dial.relay = options.paths == PathPolicy::kRelayOnly;
  dial.relay_after_ms = options.relay_after_ms;
  node->clock_ = std::make_unique<LoopClock>(loop);
  node->transports_ = std::make_unique<ChannelTransports>(loop, &node->port_->udp());
  Dialer::Directory& directory = *node;  // a private base: converted here
  node->dialer_ = std::make_unique<Dialer>(dial, *node->clock_, *node->transports_, directory,
                                           *node->contacts_, node->port_->revoked_keys());

  ChatSessionsParams chat;
  chat.self_name = enrollment.name;
  chat.local_static = local_static;
  chat.certificate = enrollment.certificate;
  chat.replicas = node->replicas_.get();   // chat protocol 2: reconcile
  if (options.paths == PathPolicy::kAuto)  // only "auto" has direct paths and the relay
    chat.direct_retry_ms = options.direct_retry_s * 1000;
  CONFAB_ASSIGN_OR_RETURN(node->sessions_,
                          ChatSessions::Create(loop, std::move(chat), *node->messenger_,
                                               *node->dialer_, node->port_->udp(), node.get()));

  transfer::TransfersParams files;
  files.self_name = enrollment.name;
  files.quarantine_dir = home.Path("quarantine");
  files.local_static = local_static;
  files.certificate = enrollment.certificate;
  files.dialer = node->dialer_.get();
  CONFAB_ASSIGN_OR_RETURN(files.policy, LoadFilePolicy(home));
  if (crypto::noise::CheckCipherAvailable(crypto::noise::CipherKind::kAesGcm).ok())
    files.cipher = proto::CIPHER_AESGCM;
  CONFAB_ASSIGN_OR_RETURN(node->transfers_,
                          transfer::Transfers::Create(loop, std::move(files), node->db_.get(),
                                                      *node->contacts_, node.get()));
  node->transfers_->set_observer(node->feed_.get());
  node->port_->SetHandler(proto::PURPOSE_CHAT, node->sessions_.get());
  node->port_->SetHandler(proto::PURPOSE_FILE, node->transfers_.get());

  TrackerLinkParams link{.tracker = tracker,
                         .tracker_static_key = enrollment.tracker_static_key,
                         .local_static = local_static,
                         .certificate = enrollment.certificate};
  link.other_trackers.assign(trackers.begin() + 1, trackers.end());
  CONFAB_RETURN_IF_ERROR(node->LoadRevocations());
  CONFAB_ASSIGN_OR_RETURN(node->link_, TrackerLink::Create(loop, std::move(link), node.get()));
  node->relay_ =
      std::make_unique<RelayWiring>(loop, *node->link_, *node->port_, *node->transports_);

  CONFAB_ASSIGN_OR_RETURN(node->retry_,
                          OutboxRetry::Create(
                              loop,
                              [self]() -> Result<std::vector<std::string>> {
                                CONFAB_ASSIGN_OR_RETURN(std::set<std::string> lacking,
                                                        self->replicas_->MembersLacking());
                                return std::vector<std::string>(lacking.begin(), lacking.end());
                              },
                              *node->sessions_, options.retry_ms));
  node->correspondents_ = std::make_unique<Correspondents>(
      *node->contacts_, [self] { return self->replicas_->People(); }, *node->link_);
  node->access_ = std::make_unique<PeerAccess>(*node->port_, *node->sessions_, *node->transfers_,
                                               *node->directory_);
  node->member_check_ = std::make_unique<MemberCheck>(MemberCheckParams{
      .loop = loop,
      .known =
          [self](const std::string& who) {
            return self->contacts_->Get(who).ok() || self->CachedLookup(who).has_value();
          },
      .lookup = [self](const std::string& who) { return self->link_->Lookup(who); }});
  node->handlers_ = std::make_unique<ControlHandlers>(
      ControlParts{.self_name = enrollment.name,
                   .identity_key = identity.public_key(),
                   .paths = options.paths,
                   .certificate_expires_unix = &node->certificate_expires_unix_,
                   .contacts = *node->contacts_,
                   .history = *node->history_,
                   .messenger = *node->messenger_,
                   .replicas = *node->replicas_,
                   .port = *node->port_,
                   .sessions = *node->sessions_,
                   .transfers = *node->transfers_,
                   .link = *node->link_,
                   .correspondents = *node->correspondents_,
                   .feed = *node->feed_,
                   .retry = *node->retry_,
                   .access = *node->access_,
                   .members = *node->member_check_});
  node->control_->set_delegate(node->handlers_.get());

  node->signal_hook_.node = node.get();
  CONFAB_ASSIGN_OR_RETURN(node->sigint_,
                          net::SignalWatcher::Create(loop, SIGINT, &node->signal_hook_));
  CONFAB_ASSIGN_OR_RETURN(node->sigterm_,
                          net::SignalWatcher::Create(loop, SIGTERM, &node->signal_hook_));
  // A queued message of the old protocol would never leave on the new one.
  if (Result<size_t> adopted = node->replicas_->AdoptLegacyOutbox(NowMs()); !adopted.ok())
    spdlog::warn("the old outbox stays as it was: {}", adopted.status().ToString());
  node->retry_->Arm();

  node->link_->Announce(node->Endpoints());
  node->link_->SetStatus(proto::PRESENCE_ONLINE, "");
  node->correspondents_->Refresh();
  node->link_->Start();
  return node;
}

Node::~Node() = default;

void Node::Shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  link_->Close();
  relay_->Close();
  port_->Close();  // nothing new comes in
  transfers_->Close();
  sessions_->Close();
  dialer_->Close();
  control_->Close();
  feed_->Close();
  sigint_->Close();
  sigterm_->Close();
  retry_->Close();
  purge_->Close();
}

void Node::SignalHook::OnSignal(int signum) {
  spdlog::info("signal {}: shutting down", signum);
  NotifyStopping();  // to systemd, under Type=notify (no-op otherwise)
  node->Shutdown();
}

Result<std::vector<chat::HistoryEntry>> Node::Queue(const std::string& to,
                                                    std::span<const std::string> texts) {
  return handlers_->messages().Queue(to, texts);
}

std::vector<proto::Endpoint> Node::Endpoints() const {
  const net::Address& bound = port_->local_address();
  const std::string ip = bound.ip();
  std::vector<std::string> ips;
  if (ip == "0.0.0.0" || ip == "::")
    ips = net::InterfaceAddresses();
  else
    ips.push_back(ip);
  // The tracker keeps 14 announced endpoints: one TCP and one UDP for each
  // of the first 7 addresses.
  if (ips.size() > 7)
    ips.resize(7);
  std::vector<proto::Endpoint> endpoints;
  for (bool udp : {false, true}) {
    for (const std::string& address : ips) {
      proto::Endpoint e;
      e.set_address(address);
      e.set_port(bound.port());  // UDP is bound to the same number
      e.set_kind(proto::Endpoint::KIND_LAN);
      e.set_udp(udp);
      endpoints.push_back(std::move(e));
    }
  }
  return endpoints;
}

// ---- events ---------------------------------------------------------------

void Node::OnConnected(const proto::SessionWelcome& welcome) {
  spdlog::info("connected to the tracker");
  feed_->OnTrackerUp();
  // Our public UDP address and NAT mapping, from the tracker's probe ports,
  // through the very socket peers will reach.
  tracker_ = link_->tracker_address();  // the one this session is on
  spdlog::info("tracker session on {}", tracker_->ToString());
  std::vector<net::Address> probes = {*tracker_};
  if (Result<net::Address> second = net::Address::FromIp(tracker_->ip(), SecondProbePort(welcome));
      second.ok() && second->port() != 0)
    probes.push_back(*second);
  const ByteView token = AsBytes(welcome.udp_token());
  port_->udp().Discover(Bytes(token.begin(), token.end()), std::move(probes));
  const Status relay = link_->RelayOffered();
  dialer_->set_relay(relay.ok() || options_.paths == PathPolicy::kRelayOnly);
  spdlog::info("relay through the tracker: {}", relay.ok() ? "offered" : relay.message());
  sessions_->DeliverAll(correspondents_->names());
}

Status Node::RequestPunch(const std::string& name) {
  return link_->Punch(name).status();
}

bool Node::ReachedOverUdp(const std::string& name) {
  std::optional<PathReport> path = sessions_->PathTo(name);
  return sessions_->HasSession(name) && path && path->transport == Transport::kUdp;
}

void Node::OnPunch(const proto::PunchNotice& notice) {
  // Someone we may not know yet is about to punch through to us: datagrams
  // from our socket to their UDP addresses open our NAT to their handshake.
  // Their session is still checked (certificate, revocation, blocking).
  std::vector<net::Address> to;
  for (const proto::Endpoint& e : notice.endpoints()) {
    if (!e.udp() || e.port() == 0 || e.port() > 65535)
      continue;
    if (Result<net::Address> a = net::Address::FromIp(e.address(), static_cast<uint16_t>(e.port()));
        a.ok())
      to.push_back(*a);
  }
  if (to.empty() || notice.name() == name_)
    return;
  spdlog::info("punching towards {} ({} addresses)", notice.name(), to.size());
  port_->udp().Punch(to);
}

void Node::OnPresence(const proto::PresenceDelta& delta) {
  for (const proto::PresenceEntry& entry : delta.entries()) {
    feed_->OnPresence(entry);
    if (protocol::ShowsOnline(entry.status())) {
      sessions_->RetryNow(entry.name());  // the presence push: retry now
      transfers_->OnPeerOnline(entry.name());
    }
  }
}

void Node::OnLookupResult(const proto::LookupResult& result) {
  if (member_check_ != nullptr && member_check_->OnLookupResult(result))
    return;                         // a name a person typed, checked
  dialer_->OnLookupResult(result);  // chat's and files' lookups alike
}

void Node::OnRevoked(const proto::Revoked& revoked) {
  access_->Revoke(revoked);
  feed_->OnRevoked(revoked.name());
}

void Node::OnCertificateRenewed(const proto::Certificate& certificate) {
  Result<crypto::CheckedCertificate> checked =
      crypto::VerifyCertificate(certificate, org_public_key_, NowUnix(), name_);
  if (!checked.ok()) {
    spdlog::warn("the tracker's renewed certificate does not check out ({}); keeping ours",
                 checked.status().ToString());
    return;
  }
  if (checked->identity_key != identity_key_) {
    spdlog::warn("the tracker's renewed certificate is for another key; keeping ours");
    return;
  }
  if (checked->expires_unix <= certificate_expires_unix_)
    return;  // not newer than ours: nothing to do
  Bytes bytes = SerializeToBytes(certificate);
  // On disk first: if that fails we keep presenting the old one, which
  // is what certificate.pb holds for the next start.
  if (Status s = config::WriteFileAtomically(certificate_path_, AsChars(bytes), 0600); !s.ok()) {
    spdlog::error("cannot keep the renewed certificate in {}: {}", certificate_path_, s.ToString());
    return;
  }
  link_->SetCertificate(bytes);
  port_->udp().SetCertificate(bytes);
  sessions_->SetCertificate(bytes);
  transfers_->SetCertificate(std::move(bytes));
  certificate_expires_unix_ = checked->expires_unix;
  spdlog::info("certificate renewed by the tracker: serial {}, valid until {}", checked->serial,
               UtcIso8601(checked->expires_unix));
}

void Node::OnDisconnected(const TrackerLink::Disconnect& disconnect) {
  spdlog::info("tracker link down ({}); retrying in {} ms", disconnect.reason.ToString(),
               disconnect.retry_in_ms);
  feed_->OnTrackerDown(disconnect.reason, disconnect.was_connected, disconnect.retry_in_ms);
  relay_->OnTrackerDown();
}

void Node::OnRefused(const Status& reason) {
  spdlog::error("the tracker refused this node: {}; known contacts only from now on",
                reason.ToString());
  feed_->OnTrackerRefused(reason);
}

Result<uint64_t> Node::RequestLookup(const std::string& name) {
  return link_->Lookup(name);
}

void Node::OnSessionUp(const std::string& name) {
  correspondents_->Follow(name);
}

void Node::OnDelivered(const std::string& name, int64_t count) {
  if (options_.observer != nullptr)
    options_.observer->OnDelivered(name, count);
}

void Node::OnReceived(const std::string& /*from*/, const std::vector<StoredMessage>& fresh) {
  feed_->OnMessages(fresh);
}

void Node::OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                           MessageState state) {
  feed_->OnMessageStates(contact, ids, state);
}

void Node::OnKeyChange(const std::string& name, const Status& why) {
  feed_->OnKeyChange(name, why);
}

void Node::OnEntriesStored(const chat::ConversationInfo& conversation,
                           const std::vector<chat::HistoryEntry>& fresh) {
  feed_->OnEntries(conversation, fresh);
  const bool membership = std::any_of(fresh.begin(), fresh.end(), [](const chat::HistoryEntry& h) {
    return h.entry.kind != proto::ENTRY_TEXT;
  });
  if (membership && correspondents_)
    correspondents_->Refresh();  // follow the group's new members
  if (retry_)
    retry_->Arm();  // what came in may be what another member lacks
}

void Node::OnStatesMoved(const chat::ConversationInfo& conversation,
                         const std::vector<chat::HistoryEntry>& moved) {
  feed_->OnEntryStates(conversation, moved);
  const auto delivered = std::count_if(moved.begin(), moved.end(), [](const chat::HistoryEntry& h) {
    return h.entry.state == MessageState::kDelivered;
  });
  if (delivered > 0 && options_.observer != nullptr)
    options_.observer->OnDelivered(conversation.label(), delivered);
}

void Node::OnPeerOutdated(const std::string& name, const std::string& why) {
  spdlog::warn("{}", why);
  feed_->OnPeerOutdated(name, why);
}

std::optional<crypto::Ed25519PublicKey> Node::AuthorKey(const std::string& person) {
  crypto::Ed25519PublicKey key{};
  if (Result<Contact> c = contacts_->Get(person);
      c.ok() && c->identity_key.size() == crypto::kEd25519PublicKeyBytes) {
    std::copy(c->identity_key.begin(), c->identity_key.end(), key.begin());
    return key;
  }
  if (std::optional<proto::LookupResult> kept = CachedLookup(person)) {
    proto::CertificateBody body;
    if (body.ParseFromString(kept->certificate().body()) && body.name() == person &&
        body.identity_key().size() == crypto::kEd25519PublicKeyBytes) {
      std::copy(body.identity_key().begin(), body.identity_key().end(), key.begin());
      return key;
    }
  }
  if (link_)
    (void)link_->Lookup(person);  // its verified answer is kept (OnLookupVerified)
  return std::nullopt;
}

}  // namespace confab::peer
