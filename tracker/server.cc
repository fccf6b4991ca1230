#include "tracker/server.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"
#include "common/crypto/identity.h"
#include "tracker/pg_schema.h"

namespace confab::tracker {
namespace {

// A relay slot whose two legs have not both arrived by then is dropped.
constexpr uint64_t kRelaySlotMaxAgeMs = 15000;

}  // namespace

TrackerServer::TrackerServer(net::Loop& loop, TrackerState& state)
    : loop_(loop),
      state_(state),
      service_(state),
      handshake_limiter_(static_cast<double>(state.config().handshakes_per_second_per_address),
                         static_cast<double>(state.config().handshake_burst_per_address)) {}

TrackerServer::~TrackerServer() {
  // Connections closed by Stop() recorded their members' last-seen times.
  service_.FlushDurable();
}

Result<std::unique_ptr<TrackerServer>> TrackerServer::Start(net::Loop& loop, TrackerState& state) {
  std::unique_ptr<TrackerServer> server(new TrackerServer(loop, state));
  CONFAB_ASSIGN_OR_RETURN(net::Address listen, net::Address::Parse(state.config().listen));
  // UDP on the same port number as TCP. With port 0 the kernel picks a port
  // free for TCP, which some other socket may hold for UDP: then pick again.
  const int picks = listen.port() == 0 ? net::kSamePortPicks : 1;
  for (int pick = 1;; ++pick) {
    auto listener = net::TcpListener::Create(loop, listen, server.get(), 1024);
    if (!listener.ok())
      return listener.status().WithContext("listen " + listen.ToString() + " (TCP)");
    server->listener_ = std::move(listener).value();
    CONFAB_ASSIGN_OR_RETURN(net::Address udp_at,
                            net::Address::FromIp(listen.ip(), server->listener_->port()));
    auto udp = net::UdpSocket::Create(loop, udp_at, server.get());
    if (udp.ok()) {
      server->udp_ = std::move(udp).value();
      break;
    }
    if (pick == picks)
      return udp.status().WithContext("listen " + udp_at.ToString() + " (UDP)");
    server->listener_.reset();  // its handle closes on its own (STYLE.md A4)
  }
  CONFAB_RETURN_IF_ERROR(server->udp_->StartReceiving());
  CONFAB_ASSIGN_OR_RETURN(net::Address probe_at,
                          net::Address::FromIp(listen.ip(), state.config().second_probe_port));
  server->second_probe_delegate_.server = server.get();
  auto second = net::UdpSocket::Create(loop, probe_at, &server->second_probe_delegate_);
  if (!second.ok() && state.config().second_probe_port_is_default) {
    // Only the default (listen + 1) falls back; a port ops set must bind.
    CONFAB_ASSIGN_OR_RETURN(net::Address any_port, net::Address::FromIp(listen.ip(), 0));
    second = net::UdpSocket::Create(loop, any_port, &server->second_probe_delegate_);
    if (second.ok()) {
      spdlog::warn(
          "second probe port {} (listen + 1) is unavailable, using a kernel-picked "
          "port instead; set second_probe_port in tracker.toml to fix it",
          probe_at.ToString());
    }
  }
  if (!second.ok()) {
    return second.status().WithContext("second_probe_port " + probe_at.ToString() + " (UDP)");
  }
  server->second_probe_ = std::move(second).value();
  CONFAB_ASSIGN_OR_RETURN(net::Address probe_bound, server->second_probe_->local_address());
  server->second_probe_port_ = probe_bound.port();
  server->service_.set_second_probe_port(server->second_probe_port_);
  CONFAB_RETURN_IF_ERROR(server->second_probe_->StartReceiving());
  if (!state.config().metrics_listen.empty()) {
    CONFAB_ASSIGN_OR_RETURN(net::Address at, net::Address::Parse(state.config().metrics_listen));
    auto metrics = MetricsHttp::Start(loop, at, server.get());
    if (!metrics.ok())
      return metrics.status().WithContext("metrics.listen " + at.ToString());
    server->metrics_ = std::move(metrics).value();
  }
  if (!state.config().database_url.empty())
    CONFAB_RETURN_IF_ERROR(server->JoinClusterPresence().WithContext("cluster presence"));
  CONFAB_ASSIGN_OR_RETURN(server->splice_, RelaySplice::Create(loop, server->service_.relay()));
  CONFAB_ASSIGN_OR_RETURN(server->housekeeping_, net::Timer::Create(loop, server.get()));
  CONFAB_RETURN_IF_ERROR(server->housekeeping_->Start(1000, 1000));
  return server;
}

Status TrackerServer::JoinClusterPresence() {
  const std::string url = state_.config().database_url;
  CONFAB_ASSIGN_OR_RETURN(net::Address listen, net::Address::Parse(state_.config().listen));
  CONFAB_ASSIGN_OR_RETURN(net::Address bound, net::Address::FromIp(listen.ip(), port()));
  CONFAB_ASSIGN_OR_RETURN(cluster_, PgPresence::Open(url, bound.ToString()));
  CONFAB_RETURN_IF_ERROR(cluster_->Register(NowUnix()));
  CONFAB_ASSIGN_OR_RETURN(cluster_listener_, PgListener::Start(loop_, url,
                                                               {std::string(kPgPresenceChannel),
                                                                std::string(kPgRevocationChannel),
                                                                std::string(kPgPunchChannel)},
                                                               this));
  service_.set_cluster(cluster_.get());
  service_.OnClusterResync(NowUnix());  // after LISTEN: nothing falls in between
  spdlog::info("sharing presence with the cluster as tracker {}", cluster_->tracker_id());
  return Status::Ok();
}

void TrackerServer::OnNotification(std::string_view channel, std::string_view payload) {
  if (channel == kPgRevocationChannel)
    service_.OnClusterRevoked(payload, NowUnix());
  else if (channel == kPgPunchChannel)
    service_.OnClusterPunch(payload);
  else
    service_.OnClusterPresence(payload, NowUnix());
  Flush();
}

void TrackerServer::OnListening() {
  spdlog::info("listening to the cluster's presence again");
  service_.OnClusterResync(NowUnix());
  Flush();
}

void TrackerServer::OnListenLost(const Status& why) {
  spdlog::warn("lost the cluster's presence channel, retrying: {}", why.ToString());
}

std::optional<uint16_t> TrackerServer::metrics_port() const {
  if (!metrics_)
    return std::nullopt;
  return metrics_->port();
}

int64_t TrackerServer::NowUnix() const {
  return confab::NowUnix();
}

void TrackerServer::Stop() {
  if (stopping_)
    return;
  stopping_ = true;
  listener_->Close();
  udp_->Close();
  second_probe_->Close();
  housekeeping_->Close();
  if (cluster_listener_)
    cluster_listener_->Close();
  if (cluster_) {
    // Our members' shared presence goes with our row; the others hear it.
    service_.set_cluster(nullptr);
    if (Status s = cluster_->Unregister(); !s.ok())
      spdlog::warn("could not leave the cluster cleanly: {}", s.ToString());
  }
  splice_->Stop();
  if (metrics_)
    metrics_->Close();
  service_.FlushDurable();
  for (auto& [id, connection] : connections_)
    connection.channel->Close();
}

void TrackerServer::OnIncoming(Status status) {
  if (!status.ok()) {
    spdlog::warn("accept failed: {}", status.ToString());
    return;
  }
  channel::ResponderParams params;
  params.local_static = state_.noise_static().secret_key;
  params.local_static_public = state_.noise_static().public_key;
  params.purposes = {proto::PURPOSE_JOIN, proto::PURPOSE_TRACKER, proto::PURPOSE_ADMIN,
                     proto::PURPOSE_RELAY};
  // A frame, at most: only a mailbox deposit comes near it (the service
  // bounds every other message at 16 KiB).
  params.max_frame_payload = kMaxInboundFrameBytes;
  auto accepted = channel::ChannelConnection::Accept(*listener_, std::move(params), this);
  if (!accepted.ok())
    return;
  std::unique_ptr<channel::ChannelConnection> c = std::move(accepted).value();
  std::string ip = c->peer_address() ? c->peer_address()->ip() : std::string();
  const uint64_t now_ms = loop_.now_ms();
  if (stopping_ || connections_.size() >= static_cast<size_t>(state_.config().max_sessions)) {
    ++service_refusals_["capacity"];
    c->Close();
    graveyard_.push_back(std::move(c));
    return;
  }
  if (!handshake_limiter_.Allow(ip, now_ms)) {
    ++rate_limited_;
    c->Close();
    graveyard_.push_back(std::move(c));
    return;
  }
  ++accepted_;
  const SessionId id = next_id_++;
  ids_[c.get()] = id;
  handshaking_.insert(id);
  connections_[id] = Connection{std::move(c), now_ms, false, std::move(ip)};
}

Result<channel::ChannelConnection::HelloAnswer> TrackerServer::OnHello(
    channel::ChannelConnection& c, const channel::Event& hello) {
  const SessionId id = ids_.at(&c);
  Connection& connection = connections_.at(id);
  channel::ChannelConnection::HelloAnswer answer;
  if (hello.purpose == proto::PURPOSE_ADMIN) {
    // Only the holder of the tracker's own key file (ops on this host).
    if (hello.remote_static != state_.noise_static().public_key) {
      return Status::PermissionDenied("admin requests need the tracker key");
    }
    connection.admin = true;
    handshaking_.erase(id);
    return answer;
  }
  if (hello.purpose == proto::PURPOSE_RELAY)
    return AdmitRelayLeg(id, c, hello);
  CONFAB_ASSIGN_OR_RETURN(TrackerService::HelloReply reply,
                          service_.OnHello(id, hello.purpose, hello.remote_static, hello.payload,
                                           connection.peer_ip, NowUnix()));
  handshaking_.erase(id);
  answer.payload = std::move(reply.payload);
  answer.psk = std::move(reply.psk);
  answer.close_after_reply = reply.close_after_reply;
  // Tells followers the member is online. Nothing queued targets this
  // connection itself: it is not established until our reply is written.
  Flush();
  return answer;
}

Result<channel::ChannelConnection::HelloAnswer> TrackerServer::AdmitRelayLeg(
    SessionId id, channel::ChannelConnection& c, const channel::Event& hello) {
  CONFAB_ASSIGN_OR_RETURN(
      TrackerService::RelayAdmission admission,
      service_.AdmitRelay(hello.remote_static, hello.payload, static_cast<uint64_t>(NowMs())));
  handshaking_.erase(id);
  if (admission.accepted) {
    connections_.at(id).relay = true;
    splice_->AddLeg(admission.slot, id, &c);
  }
  channel::ChannelConnection::HelloAnswer answer;
  answer.payload = std::move(admission.reply.payload);
  answer.close_after_reply = admission.reply.close_after_reply;
  return answer;
}

void TrackerServer::OnWritable(channel::ChannelConnection& c) {
  auto it = ids_.find(&c);
  if (it != ids_.end() && splice_->IsLeg(it->second))
    splice_->OnWritable(it->second, static_cast<uint64_t>(NowMs()));
}

Status TrackerServer::OnWelcome(channel::ChannelConnection&, ByteView) {
  return Status::FailedPrecondition("the tracker never initiates");
}

Status TrackerServer::OnMessage(channel::ChannelConnection& c, ByteView plaintext) {
  const SessionId id = ids_.at(&c);
  if (connections_.at(id).admin)
    return HandleAdmin(c, plaintext);
  if (connections_.at(id).relay)
    return splice_->OnMessage(id, plaintext, static_cast<uint64_t>(NowMs()));
  Status s = service_.OnMessage(id, plaintext, NowUnix());
  Flush();
  return s;
}

Status TrackerServer::HandleAdmin(channel::ChannelConnection& c, ByteView plaintext) {
  proto::AdminRequest request;
  if (!ParseFromBytes(plaintext, &request)) {
    return Status::Corruption("malformed admin request");
  }
  proto::AdminResponse response;
  Status result;
  switch (request.body_case()) {
    case proto::AdminRequest::kListUsers: {
      auto users = service_.Users();
      result = users.status();
      if (users.ok()) {
        for (const UserInfo& u : *users) {
          proto::AdminUser* out = response.add_users();
          out->set_name(u.name);
          out->set_online(u.online);
          out->set_status(u.status);
          out->set_text(u.text);
          out->set_revoked(u.revoked);
          out->set_enrolled_unix(u.enrolled_unix);
          out->set_last_seen_unix(u.last_seen_unix);
          out->set_fingerprint(u.fingerprint);
          out->set_certificate_expires_unix(u.certificate_expires_unix);
        }
      }
      break;
    }
    case proto::AdminRequest::kRevoke:
      result = service_.Revoke(request.revoke().name(), request.revoke().reason(), NowUnix());
      if (result.ok())
        spdlog::info("revoked {}: {}", request.revoke().name(), request.revoke().reason());
      break;
    case proto::AdminRequest::kRenew:
      result = service_.Renew(request.renew(), NowUnix());
      break;
    case proto::AdminRequest::BODY_NOT_SET:
      return Status::Corruption("empty admin request");
  }
  response.set_ok(result.ok());
  if (!result.ok())
    response.set_error(result.ToString());
  CONFAB_RETURN_IF_ERROR(c.Send(SerializeToBytes(response)));
  c.Shutdown();
  Flush();
  return Status::Ok();
}

TrackerServer::Connection* TrackerServer::Find(SessionId id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

void TrackerServer::Flush() {
  for (Outgoing& out : service_.TakeOutgoing()) {
    Connection* connection = Find(out.to);
    if (connection == nullptr)
      continue;
    if (connection->channel->write_queue_bytes() > kMaxQueuedBytesPerSession) {
      ++slow_consumers_;
      connection->channel->Fail(Status::ResourceExhausted("peer is not reading"));
      continue;
    }
    Status s = connection->channel->Send(SerializeToBytes(out.message));
    if (!s.ok() && s.code() != Status::Code::kFailedPrecondition) {
      connection->channel->Fail(s);
    }
  }
  for (SessionId id : service_.TakeToClose()) {
    if (Connection* connection = Find(id))
      connection->channel->Close();
  }
  for (uint64_t slot : service_.TakeRelaysToClose())
    splice_->CloseSlot(slot);
}

void TrackerServer::OnClosed(channel::ChannelConnection& c, Status status) {
  auto it = ids_.find(&c);
  if (it == ids_.end())
    return;
  const SessionId id = it->second;
  ids_.erase(it);
  handshaking_.erase(id);
  if (auto slot = splice_->OnLegClosed(id))
    service_.OnRelayClosed(*slot);
  if (const std::string* name = service_.NameOf(id)) {
    spdlog::info("session {} closed: {} ({})", id, *name,
                 status.ok() || status.code() == Status::Code::kClosed
                     ? std::string("closed")
                     : std::string(status.message()));
  } else if (!status.ok() && status.code() != Status::Code::kClosed) {
    spdlog::debug("connection {} closed: {}", id, status.ToString());
  }
  service_.OnClosed(id, NowUnix());
  // Destroyed on the next housekeeping tick, not under its own callback.
  auto node = connections_.extract(id);
  if (!node.empty())
    graveyard_.push_back(std::move(node.mapped().channel));
  Flush();
}

void TrackerServer::OnTimer() {
  graveyard_.clear();
  const uint64_t now_ms = loop_.now_ms();
  const uint64_t handshake_ms =
      static_cast<uint64_t>(state_.config().handshake_timeout.count()) * 1000;
  std::vector<SessionId> expired;
  for (SessionId id : handshaking_) {
    Connection* connection = Find(id);
    if (connection != nullptr && now_ms - connection->accepted_ms > handshake_ms) {
      expired.push_back(id);
    }
  }
  for (SessionId id : expired) {
    ++handshake_timeouts_;
    handshaking_.erase(id);
    if (Connection* connection = Find(id)) {
      connection->channel->Fail(Status::Unavailable("handshake timed out"));
    }
  }
  const int64_t cutoff = NowUnix() - state_.config().session_timeout.count();
  for (SessionId id : service_.SilentSince(cutoff)) {
    if (Connection* connection = Find(id)) {
      connection->channel->Fail(Status::Unavailable("session timed out"));
    }
  }
  service_.ExpireRelays(static_cast<uint64_t>(NowMs()), kRelaySlotMaxAgeMs);
  service_.ExpireMailbox(NowUnix());
  Flush();
  service_.FlushDurable();
  if (cluster_) {
    auto dead = cluster_->Heartbeat(NowUnix(), state_.config().cluster_dead_after.count());
    if (!dead.ok())
      spdlog::warn("cluster heartbeat failed: {}", dead.status().ToString());
    else if (*dead > 0)
      spdlog::warn("{} tracker(s) of the cluster stopped heartbeating; their members are offline",
                   *dead);
  }
  handshake_limiter_.Sweep(now_ms);
}

void TrackerServer::OnDatagram(ByteView data, const net::Address& from) {
  AnswerProbe(*udp_, /*main_port=*/true, data, from);
}

void TrackerServer::SecondProbeSocket::OnDatagram(ByteView data, const net::Address& from) {
  server->AnswerProbe(*server->second_probe_, /*main_port=*/false, data, from);
}

void TrackerServer::SecondProbeSocket::OnError(Status status) {
  spdlog::debug("udp (second probe port): {}", status.ToString());
}

void TrackerServer::AnswerProbe(net::UdpSocket& socket, bool main_port, ByteView data,
                                const net::Address& from) {
  proto::TrackerDatagram datagram;
  if (data.size() > 512 || !ParseFromBytes(data, &datagram) || !datagram.has_probe()) {
    return;  // unauthenticated parties learn nothing
  }
  auto name = service_.NameForUdpToken(AsBytes(datagram.probe().token()));
  if (!name)
    return;
  if (main_port)
    service_.SetObservedUdp(*name, from.ip(), from.port());
  proto::TrackerDatagram reply;
  reply.mutable_observed()->set_nonce(datagram.probe().nonce());
  reply.mutable_observed()->set_address(from.ip());
  reply.mutable_observed()->set_port(from.port());
  if (socket.Send(SerializeToBytes(reply), from).ok())
    ++(main_port ? udp_probes_answered_ : second_port_probes_answered_);
}

void TrackerServer::OnError(Status status) {
  spdlog::debug("udp: {}", status.ToString());
}

std::string TrackerServer::RenderMetrics() {
  const ServiceCounters& c = service_.counters();
  std::string out;
  AppendMetric(&out, "confab_tracker_online_members", "gauge", "Members with a session.",
               static_cast<double>(service_.online()));
  AppendMetric(&out, "confab_tracker_connections", "gauge", "Open TCP connections.",
               static_cast<double>(connections_.size()));
  AppendMetric(&out, "confab_tracker_handshakes_total", "counter",
               "Completed handshakes (joins and sessions).", static_cast<double>(c.handshakes));
  AppendMetric(&out, "confab_tracker_joins_total", "counter", "Members enrolled.",
               static_cast<double>(c.joins));
  AppendMetric(&out, "confab_tracker_renewals_total", "counter",
               "Member certificates reissued for the same key (automatic or ops).",
               static_cast<double>(c.renewals));
  AppendMetric(&out, "confab_tracker_lookups_total", "counter", "Member lookups answered.",
               static_cast<double>(c.lookups));
  AppendMetric(&out, "confab_tracker_presence_updates_total", "counter",
               "Presence entries pushed to subscribers.",
               static_cast<double>(c.presence_updates_sent));
  AppendMetric(&out, "confab_tracker_accepted_total", "counter", "TCP connections accepted.",
               static_cast<double>(accepted_));
  std::map<std::string, uint64_t> refusals = c.refusals;
  refusals["rate_limited"] += rate_limited_;
  refusals["handshake_timeout"] += handshake_timeouts_;
  refusals["slow_consumer"] += slow_consumers_;
  for (const auto& [reason, n] : service_refusals_)
    refusals[reason] += n;
  for (const auto& [reason, n] : refusals) {
    AppendMetric(&out, "confab_tracker_refusals_total", "counter", "Refusals by reason.",
                 static_cast<double>(n), "reason=\"" + reason + "\"");
  }
  AppendMetric(&out, "confab_tracker_udp_probes_total", "counter",
               "UDP address probes answered, by tracker port.",
               static_cast<double>(udp_probes_answered_), "port=\"main\"");
  AppendMetric(&out, "confab_tracker_udp_probes_total", "counter",
               "UDP address probes answered, by tracker port.",
               static_cast<double>(second_port_probes_answered_), "port=\"second\"");
  AppendRelayMetrics(&out);
  AppendMailboxMetrics(&out);
  AppendMetric(&out, "confab_tracker_resident_bytes", "gauge", "Resident memory of the tracker.",
               static_cast<double>(ResidentBytes()));
  AppendProcessMetrics(&out);
  AppendBuildInfo(&out);
  return out;
}

void TrackerServer::AppendRelayMetrics(std::string* out) {
  const RelayCore& relay = service_.relay();
  AppendMetric(out, "confab_tracker_relay_pairs", "gauge", "Relayed pairs with both legs joined.",
               static_cast<double>(relay.active_pairs()));
  AppendMetric(out, "confab_tracker_relay_pairs_opened_total", "counter", "Relayed pairs opened.",
               static_cast<double>(relay.metrics().pairs_opened));
  AppendMetric(out, "confab_tracker_relay_bytes_total", "counter",
               "Bytes copied between relayed legs.",
               static_cast<double>(relay.metrics().bytes_relayed));
  for (const auto& [reason, n] : service_.RelayRefusals()) {
    AppendMetric(out, "confab_tracker_relay_refusals_total", "counter", "Relay refusals by reason.",
                 static_cast<double>(n), "reason=\"" + reason + "\"");
  }
}

void TrackerServer::AppendMailboxMetrics(std::string* out) {
  const MailboxCounters& m = service_.mailbox_counters();
  AppendMetric(out, "confab_tracker_mailbox_envelopes", "gauge", "Envelopes held in the mailbox.",
               static_cast<double>(m.envelopes));
  AppendMetric(out, "confab_tracker_mailbox_bytes", "gauge", "Bytes of envelopes held.",
               static_cast<double>(m.bytes));
  AppendMetric(out, "confab_tracker_mailbox_deposits_total", "counter", "Envelopes stored.",
               static_cast<double>(m.deposits));
  AppendMetric(out, "confab_tracker_mailbox_fetches_total", "counter", "Mailbox fetches answered.",
               static_cast<double>(m.fetches));
  AppendMetric(out, "confab_tracker_mailbox_acked_total", "counter",
               "Envelopes deleted as their recipient acknowledged them.",
               static_cast<double>(m.acked));
  AppendMetric(out, "confab_tracker_mailbox_expired_total", "counter",
               "Envelopes deleted unfetched after mailbox.retain_days.",
               static_cast<double>(m.expired));
  for (const auto& [reason, n] : m.refusals) {
    AppendMetric(out, "confab_tracker_mailbox_refusals_total", "counter",
                 "Mailbox requests refused, by reason.", static_cast<double>(n),
                 "reason=\"" + reason + "\"");
  }
}

}  // namespace confab::tracker
