#include "peer/node/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <utility>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "common/config/config.h"
#include "common/crypto/noise_primitives.h"
#include "common/net/interfaces.h"
#include "common/protocol/presence_names.h"
#include "peer/chat/body_cipher.h"
#include "peer/control/control_frame.h"
#include "peer/control/control_response.h"
#include "peer/node/node_config.h"
#include "peer/store/peer_database.h"

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
  CONFAB_ASSIGN_OR_RETURN(net::Address tracker, ResolveHostPort(enrollment.tracker_address));

  std::unique_ptr<Node> node(new Node(loop, options));
  node->name_ = enrollment.name;
  node->tracker_ = tracker;
  node->identity_key_ = identity.public_key();
  node->control_path_ = home.Path(kControlSocketFile);

  CONFAB_ASSIGN_OR_RETURN(node->db_, OpenPeerDatabase(home.Path(kDatabaseFile)));
  CONFAB_ASSIGN_OR_RETURN(node->contacts_, ContactBook::Open(node->db_.get()));
  CONFAB_ASSIGN_OR_RETURN(BodyCipher cipher, BodyCipher::FromIdentitySeed(identity.seed().view()));
  CONFAB_ASSIGN_OR_RETURN(node->history_, HistoryStore::Open(node->db_.get(), std::move(cipher)));
  node->messenger_ = std::make_unique<Messenger>(*node->history_, *node->contacts_);
  CONFAB_ASSIGN_OR_RETURN(node->directory_, DirectoryCache::Open(node->db_.get()));

  // Ahead of the sockets: a second node on this home must fail before it
  // takes a port.
  CONFAB_ASSIGN_OR_RETURN(node->control_, ControlServer::Create(loop, node->control_path_,
                                                                node.get(), options.control));
  node->PurgeHistory();  // before anything is shown or sent

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
  node->clock_ = std::make_unique<LoopClock>(loop);
  node->transports_ = std::make_unique<ChannelTransports>(loop, &node->port_->udp());
  Dialer::Directory& directory = *node;  // a private base: converted here
  node->dialer_ = std::make_unique<Dialer>(dial, *node->clock_, *node->transports_, directory,
                                           *node->contacts_, node->port_->revoked_keys());

  ChatSessionsParams chat;
  chat.self_name = enrollment.name;
  chat.local_static = local_static;
  chat.certificate = enrollment.certificate;
  chat.org_public_key = enrollment.org_public_key;
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
  node->port_->SetHandler(proto::PURPOSE_CHAT, node->sessions_.get());
  node->port_->SetHandler(proto::PURPOSE_FILE, node->transfers_.get());

  TrackerLinkParams link{.tracker = tracker,
                         .tracker_static_key = enrollment.tracker_static_key,
                         .local_static = local_static,
                         .certificate = enrollment.certificate};
  CONFAB_RETURN_IF_ERROR(node->LoadRevocations());
  CONFAB_ASSIGN_OR_RETURN(node->link_, TrackerLink::Create(loop, std::move(link), node.get()));

  CONFAB_ASSIGN_OR_RETURN(node->sigint_, net::SignalWatcher::Create(loop, SIGINT, node.get()));
  CONFAB_ASSIGN_OR_RETURN(node->sigterm_, net::SignalWatcher::Create(loop, SIGTERM, node.get()));
  CONFAB_ASSIGN_OR_RETURN(node->retry_timer_, net::Timer::Create(loop, node.get()));
  node->ArmRetry();
  node->purge_hook_.node = node.get();
  CONFAB_ASSIGN_OR_RETURN(node->purge_timer_, net::Timer::Create(loop, &node->purge_hook_));
  if (options.retain_days > 0)
    CONFAB_RETURN_IF_ERROR(
        node->purge_timer_->Start(options.purge_every_ms, options.purge_every_ms));

  node->link_->Announce(node->Endpoints());
  node->link_->SetStatus(proto::PRESENCE_ONLINE, "");
  node->RefreshSubscriptions();
  node->link_->Start();
  return node;
}

Node::~Node() = default;

void Node::Shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  link_->Close();
  port_->Close();  // nothing new comes in
  transfers_->Close();
  sessions_->Close();
  dialer_->Close();
  control_->Close();
  sigint_->Close();
  sigterm_->Close();
  retry_timer_->Close();
  purge_timer_->Close();
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

void Node::RefreshSubscriptions() {
  const size_t before = correspondents_.size();
  if (Result<std::vector<Contact>> all = contacts_->List(); all.ok()) {
    for (const Contact& c : *all)
      correspondents_.insert(c.name);
  }
  if (Result<std::vector<std::string>> waiting = messenger_->ContactsWithOutbox(); waiting.ok())
    correspondents_.insert(waiting->begin(), waiting->end());
  if (correspondents_.size() != before || before == 0)
    link_->Subscribe({correspondents_.begin(), correspondents_.end()});
}

// ---- events ---------------------------------------------------------------

void Node::OnConnected(const proto::SessionWelcome& welcome) {
  spdlog::info("connected to the tracker");
  // Our public UDP address and NAT mapping, from the tracker's probe ports,
  // through the very socket peers will reach.
  std::vector<net::Address> probes = {*tracker_};
  if (Result<net::Address> second = net::Address::FromIp(tracker_->ip(), SecondProbePort(welcome));
      second.ok() && second->port() != 0)
    probes.push_back(*second);
  const ByteView token = AsBytes(welcome.udp_token());
  port_->udp().Discover(Bytes(token.begin(), token.end()), std::move(probes));
  sessions_->DeliverAll(correspondents_);
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
    UpdatePresence(entry);
    if (protocol::ShowsOnline(entry.status())) {
      sessions_->RetryNow(entry.name());  // the presence push: retry now
      transfers_->OnPeerOnline(entry.name());
    }
  }
}

void Node::OnLookupResult(const proto::LookupResult& result) {
  dialer_->OnLookupResult(result);  // chat's and files' lookups alike
}

void Node::OnRevoked(const proto::Revoked& revoked) {
  spdlog::warn("{} was revoked", revoked.name());
  if (revoked.identity_key().size() == 32) {
    // Kept, so the refusal outlives this run and a tracker that is down.
    const ByteView key = AsBytes(revoked.identity_key());
    if (Status kept = directory_->RecordRevocation(revoked.name(), key, NowMs()); !kept.ok())
      spdlog::warn("recording {}'s revocation: {}", revoked.name(), kept.ToString());
    port_->RefuseKey(revoked.name(), key);
    sessions_->DropSessions(revoked.name(),
                            Status::PermissionDenied(revoked.name() + " was revoked"));
    transfers_->DropPeer(revoked.name(), Status::PermissionDenied(revoked.name() + " was revoked"));
  } else {
    // No key to refuse: their sessions go now; the tracker refuses the rest.
    port_->Drop(revoked.name(), Status::PermissionDenied(revoked.name() + " was revoked"));
    sessions_->DropSessions(revoked.name(),
                            Status::PermissionDenied(revoked.name() + " was revoked"));
    transfers_->DropPeer(revoked.name(), Status::PermissionDenied(revoked.name() + " was revoked"));
  }
}

void Node::OnDisconnected(const TrackerLink::Disconnect& disconnect) {
  spdlog::info("tracker link down ({}); retrying in {} ms", disconnect.reason.ToString(),
               disconnect.retry_in_ms);
}

void Node::OnRefused(const Status& reason) {
  spdlog::error("the tracker refused this node: {}; known contacts only from now on",
                reason.ToString());
}

Result<uint64_t> Node::RequestLookup(const std::string& name) {
  return link_->Lookup(name);
}

void Node::OnSessionUp(const std::string& name) {
  if (correspondents_.insert(name).second)
    link_->Subscribe({correspondents_.begin(), correspondents_.end()});
}

void Node::OnDelivered(const std::string& name, int64_t count) {
  if (options_.observer != nullptr)
    options_.observer->OnDelivered(name, count);
}

void Node::ArmRetry() {
  if (!shut_down_ && !retry_timer_->active())
    (void)retry_timer_->Start(options_.retry_ms, options_.retry_ms);
}

void Node::OnSignal(int signum) {
  spdlog::info("signal {}: shutting down", signum);
  Shutdown();
}

void Node::OnTimer() {
  Result<std::vector<std::string>> waiting = messenger_->ContactsWithOutbox();
  if (!waiting.ok()) {
    spdlog::warn("reading the outbox: {}", waiting.status().ToString());
    return;
  }
  if (waiting->empty()) {
    retry_timer_->Stop();  // idle: nothing to retry until the next message
    return;
  }
  sessions_->DeliverAll({waiting->begin(), waiting->end()});
}

// ---- control requests -----------------------------------------------------

proto::Response Node::HandleControl(const proto::Request& request) {
  switch (request.body_case()) {
    case proto::Request::kSend:
      return Send(request.send());
    case proto::Request::kHistory:
      return History(request.history());
    case proto::Request::kWho:
      return Who();
    case proto::Request::kStatus:
      return SetStatus(request.status());
    case proto::Request::kContacts:
      return Contacts(request.contacts());
    case proto::Request::kVerify:
      return Verify(request.verify());
    case proto::Request::kExportHistory:
      return Export(request.export_history());
    case proto::Request::kSendBatch:
      return SendBatch(request.send_batch());
    case proto::Request::kSubscribeEvents:  // ControlServer answers it itself
      break;
    case proto::Request::kTransferSend:
      return SendFile(request.transfer_send());
    case proto::Request::kTransfers:
      return ListTransfers(request.transfers());
    case proto::Request::kTransferAction:
      return TransferAction(request.transfer_action());
    case proto::Request::kNodeStatus:
      return NodeStatus();
    case proto::Request::BODY_NOT_SET:
      break;
  }
  return Failure(Status::InvalidArgument("an empty request"));
}

Result<std::vector<StoredMessage>> Node::Queue(const std::string& to,
                                               std::span<const std::string> texts) {
  if (to == name_)
    return Status::InvalidArgument("you cannot message yourself");
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredMessage> queued,
                          messenger_->ComposeBatch(to, texts, NowMs()));
  if (correspondents_.insert(to).second)
    link_->Subscribe({correspondents_.begin(), correspondents_.end()});
  sessions_->DeliverSoon(to);
  ArmRetry();
  for (const StoredMessage& m : queued) {
    proto::Event event;
    *event.mutable_message() = ToEntry(m);
    Publish(std::move(event));
  }
  return queued;
}

proto::Response Node::Send(const proto::SendRequest& request) {
  const std::string texts[] = {request.text()};
  Result<std::vector<StoredMessage>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  response.set_message_id(ToHex(queued->front().id));
  return response;
}

proto::Response Node::SendBatch(const proto::SendBatchRequest& request) {
  const std::vector<std::string> texts(request.texts().begin(), request.texts().end());
  Result<std::vector<StoredMessage>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  for (const StoredMessage& m : *queued)
    response.add_message_ids(ToHex(m.id));
  return response;
}

proto::Response Node::History(const proto::HistoryRequest& request) {
  if (Status valid = ValidateMemberName(request.contact()); !valid.ok())
    return Failure(valid);
  const size_t limit = request.limit() == 0 ? 100 : request.limit();
  Result<std::vector<StoredMessage>> messages =
      messenger_->History(request.contact(), request.since_unix_ms(), limit);
  if (!messages.ok())
    return Failure(messages.status());
  proto::Response response;
  response.set_ok(true);
  for (const StoredMessage& m : *messages)
    *response.add_history() = ToEntry(m);
  // Over the control socket's limit the answer could not be sent at all, and
  // the CLI would see a closed connection; say what to do instead.
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "that history is too large for one answer; ask for fewer with --limit or --since"));
  }
  return response;
}

proto::Response Node::Who() {
  Result<std::vector<Contact>> all = contacts_->List();
  if (!all.ok())
    return Failure(all.status());
  std::map<std::string, const Contact*> known;
  for (const Contact& c : *all)
    known[c.name] = &c;
  std::set<std::string> names(correspondents_);
  for (const auto& [name, contact] : known)
    names.insert(name);
  proto::Response response;
  response.set_ok(true);
  for (const std::string& name : names) {
    auto c = known.find(name);
    proto::ContactPresence* entry = response.add_contacts();
    *entry = PresenceOf(name, c == known.end() ? nullptr : c->second);
    AddPath(entry);
  }
  return response;
}

proto::Response Node::SetStatus(const proto::StatusRequest& request) {
  std::optional<proto::PresenceStatus> status = protocol::ParseSettableStatus(request.status());
  if (!status)
    return Failure(Status::InvalidArgument("status must be online, away, busy or invisible"));
  if (request.text().size() > 140)
    return Failure(Status::InvalidArgument("status text is at most 140 bytes"));
  link_->SetStatus(*status, request.text());
  proto::Response response;
  response.set_ok(true);
  return response;
}

}  // namespace confab::peer
