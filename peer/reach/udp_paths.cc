#include "peer/reach/udp_paths.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/crypto/noise_primitives.h"
#include "common/crypto/sodium.h"
#include "common/net/interfaces.h"
#include "proto/peer.pb.h"

namespace confab::peer {
namespace {

// A punch datagram: outside every session type (0x01-0x04) and not a
// tracker answer, so a peer's endpoint passes it over. Its only job is to
// leave through our NAT towards the peer.
constexpr uint8_t kPunchBytes[] = {0xcf, 'p', 'u', 'n', 'c', 'h'};

uint32_t RandomSlot() {
  uint32_t slot = 0;
  while (slot == 0)
    crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&slot), sizeof(slot)));
  return slot;
}

}  // namespace

Result<PathPolicy> ParsePathPolicy(std::string_view text) {
  if (text == "auto")
    return PathPolicy::kAuto;
  if (text == "tcp")
    return PathPolicy::kTcpOnly;
  if (text == "udp")
    return PathPolicy::kUdpOnly;
  if (text == "relay")
    return PathPolicy::kRelayOnly;
  return Status::InvalidArgument(
      "network.path must be \"auto\", \"tcp\", \"udp\" or \"relay\", not \"" +
      std::string(text.substr(0, 32)) + "\"");
}

std::string_view PathPolicyName(PathPolicy policy) {
  switch (policy) {
    case PathPolicy::kAuto:
      return "auto";
    case PathPolicy::kTcpOnly:
      return "tcp";
    case PathPolicy::kUdpOnly:
      return "udp";
    case PathPolicy::kRelayOnly:
      return "relay";
  }
  return "auto";
}

uint8_t StreamFor(proto::Purpose purpose) {
  return purpose == proto::PURPOSE_FILE ? datagram::kFileStream : datagram::kChatStream;
}

UdpPaths::UdpPaths(net::Loop& loop, UdpPathsParams params, Delegate* delegate)
    : loop_(loop), params_(std::move(params)), delegate_(delegate) {}

UdpPaths::~UdpPaths() {
  table_->endpoint = nullptr;
}

Result<std::unique_ptr<UdpPaths>> UdpPaths::Create(net::Loop& loop, const net::Address& bind,
                                                   UdpPathsParams params, Delegate* delegate) {
  std::unique_ptr<UdpPaths> paths(new UdpPaths(loop, std::move(params), delegate));
  const crypto::X25519KeyPair& key = paths->params_.local_static;
  CONFAB_ASSIGN_OR_RETURN(
      crypto::noise::KeyPair static_key,
      crypto::noise::KeyPairFromPrivate(ByteView(key.secret_key.data(), key.secret_key.size())));
  udp::EndpointOptions options{.bind = bind,
                               .static_key = std::move(static_key),
                               .connection = {},
                               .monotonic_us = {},
                               .wall_us = {}};
  options.handshake_give_up_us = paths->params_.handshake_give_up_ms * 1000;
  CONFAB_ASSIGN_OR_RETURN(paths->endpoint_,
                          udp::Endpoint::Create(loop, std::move(options), paths.get()));
  paths->table_->endpoint = paths->endpoint_.get();
  CONFAB_ASSIGN_OR_RETURN(paths->timer_, net::Timer::Create(loop, paths.get()));
  paths->local_ips_ = net::InterfaceAddresses();
  return paths;
}

Result<net::Address> UdpPaths::local_address() const {
  if (!endpoint_)
    return Status::FailedPrecondition("closed");
  return endpoint_->local_address();
}

void UdpPaths::Close() {
  if (timer_)
    timer_->Close();
  table_->endpoint = nullptr;
  if (endpoint_)
    endpoint_->Close();
  // Streams still registered end now, each from its own timer.
  std::map<udp::SessionId, udp::SessionStream*> streams;
  streams.swap(table_->streams);
  for (auto& [id, stream] : streams)
    stream->OnSessionClosed(Status::Closed("the node is shutting down"));
}

uint64_t UdpPaths::NowUs() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// ---- dialing and accepting -------------------------------------------------

Result<std::unique_ptr<udp::SessionStream>> UdpPaths::Dial(
    const crypto::X25519PublicKey& remote_static, std::vector<net::Address> candidates,
    proto::Purpose purpose) {
  if (!endpoint_ || table_->endpoint == nullptr)
    return Status::FailedPrecondition("the UDP endpoint is closed");
  proto::UdpHello hello;
  hello.set_purpose(purpose);
  hello.set_certificate(params_.certificate.data(), params_.certificate.size());
  const Bytes payload = SerializeToBytes(hello);
  udp::PublicKey key{};
  std::copy(remote_static.begin(), remote_static.end(), key.begin());
  const uint32_t slot = purpose == proto::PURPOSE_CHAT ? 0 : RandomSlot();
  CONFAB_ASSIGN_OR_RETURN(udp::SessionId id,
                          endpoint_->Connect(std::move(candidates), key, std::move(payload), slot));
  Result<std::unique_ptr<udp::SessionStream>> stream =
      udp::SessionStream::Create(loop_, table_, id, StreamFor(purpose), /*open=*/false);
  if (!stream.ok())
    endpoint_->CloseSession(id, "no stream");
  return stream;
}

Result<std::unique_ptr<channel::ChannelConnection>> UdpPaths::DialChannel(
    std::vector<net::Address> candidates, channel::InitiatorParams params,
    channel::ChannelConnection::Delegate* delegate, udp::SessionId* session) {
  if (candidates.empty())
    return Status::InvalidArgument("no UDP address to dial");
  const net::Address first = candidates.front();
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<udp::SessionStream> stream,
                          Dial(params.remote_static, std::move(candidates), params.purpose));
  if (session != nullptr)
    *session = stream->session();
  return channel::ChannelConnection::ConnectOver(std::move(stream), first, std::move(params),
                                                 delegate);
}

Result<Bytes> UdpPaths::OnIncomingSession(const udp::PublicKey& remote_static, ByteView payload,
                                          const net::Address& from) {
  proto::UdpHello hello;
  if (!ParseFromBytes(payload, &hello))
    return Status::Corruption("a UDP hello that does not parse");
  if (hello.purpose() != proto::PURPOSE_CHAT && hello.purpose() != proto::PURPOSE_FILE)
    return Status::InvalidArgument("a UDP session for another purpose");
  crypto::X25519PublicKey key{};
  std::copy(remote_static.begin(), remote_static.end(), key.begin());
  Status checked =
      delegate_->CheckUdpHello(hello.purpose(), AsBytes(hello.certificate()), key, from);
  if (!checked.ok()) {
    // A flood's refusals (rate, capacity) are counted, not logged one by one.
    spdlog::log(checked.code() == Status::Code::kResourceExhausted ? spdlog::level::debug
                                                                   : spdlog::level::info,
                "refused a UDP session from {}: {}", from.ToString(), checked.ToString());
    return checked;
  }
  return Bytes{};
}

void UdpPaths::OnSessionOpen(udp::SessionId id, ByteView payload) {
  Result<udp::SessionInfo> info = endpoint_->Info(id);
  if (!info.ok())
    return;
  if (udp::SessionStream* stream = table_->Find(id)) {
    if (info->initiator) {
      stream->OnOpen();  // last
      return;
    }
    // Both sides dialed at once and the peer's handshake won (Endpoint's
    // tie-break): our dial gives way to the session it opened, which is
    // served as an inbound one below.
    stream->Abandon(Status::Closed(kCrossedDial));  // its bytes are the new stream's
  }
  proto::UdpHello hello;
  if (!ParseFromBytes(payload, &hello) || !info->peer) {
    endpoint_->CloseSession(id, "bad hello");
    return;
  }
  Result<std::unique_ptr<udp::SessionStream>> stream =
      udp::SessionStream::Create(loop_, table_, id, StreamFor(hello.purpose()), /*open=*/true);
  if (!stream.ok()) {
    endpoint_->CloseSession(id, "no stream");
    return;
  }
  delegate_->OnUdpStream(hello.purpose(), std::move(*stream), *info->peer);  // last
}

void UdpPaths::OnSessionReadable(udp::SessionId id, uint8_t stream_id) {
  udp::SessionStream* stream = table_->Find(id);
  if (stream == nullptr)
    return;
  if (stream_id != stream->stream()) {
    // The hello named one purpose, and with it one stream (design.md, UDP
    // sessions): bytes on another are refused, not buffered unread.
    const std::string reason =
        fmt::format("stream {} is not open for this session's purpose", stream_id);
    spdlog::info("closing a UDP session: {}", reason);
    endpoint_->CloseSession(id, reason);
    stream->OnSessionClosed(Status::PermissionDenied(reason));  // last
    return;
  }
  stream->OnReadable();
}

void UdpPaths::OnSessionWritable(udp::SessionId id, uint8_t /*stream*/) {
  if (udp::SessionStream* stream = table_->Find(id))
    stream->OnWritable();
}

void UdpPaths::OnSessionClosed(udp::SessionId id, Status why) {
  if (udp::SessionStream* stream = table_->Find(id)) {
    if (why.code() == Status::Code::kUnavailable &&
        why.message().find("no handshake response") != std::string_view::npos)
      why = Status::Unavailable("no direct path (no answer to our UDP handshake)");
    stream->OnSessionClosed(std::move(why));
  }
}

std::optional<UdpSessionView> UdpPaths::View(udp::SessionId session) const {
  if (!endpoint_)
    return std::nullopt;
  Result<udp::SessionInfo> info = endpoint_->Info(session);
  if (!info.ok())
    return std::nullopt;
  return UdpSessionView{info->peer, info->stats};
}

// ---- punching and discovery ------------------------------------------------

void UdpPaths::Punch(const std::vector<net::Address>& to) {
  for (const net::Address& address : to) {
    const std::string text = address.ToString();
    auto same = [&](const PunchTarget& t) { return t.to.ToString() == text; };
    auto it = std::find_if(punching_.begin(), punching_.end(), same);
    if (it != punching_.end())
      it->rounds_left = params_.punch_rounds;
    else
      punching_.push_back(PunchTarget{address, params_.punch_rounds});
  }
  next_punch_us_ = NowUs();
  OnTimer();
}

void UdpPaths::Discover(Bytes token, std::vector<net::Address> servers) {
  if (!endpoint_ || servers.empty())
    return;
  std::optional<net::Address> local;
  if (Result<net::Address> bound = endpoint_->local_address(); bound.ok()) {
    if (bound->ip() != "0.0.0.0" && bound->ip() != "::")
      local = *bound;
  }
  discovery_ = std::make_unique<udp::NatDiscovery>(std::move(token), std::move(servers), local);
  discovery_reported_ = false;
  SendProbes();
  Rearm();
}

void UdpPaths::SendProbes() {
  if (!discovery_ || !endpoint_)
    return;
  for (udp::NatDiscovery::Probe& probe : discovery_->Due(NowUs()))
    (void)endpoint_->SendDatagram(std::move(probe.data), probe.to);
}

udp::NatReport UdpPaths::nat() const {
  if (!discovery_)
    return {};
  udp::NatReport report = discovery_->report();
  // Bound to every interface, NatDiscovery cannot tell "no NAT" itself: the
  // tracker saw one of our own addresses with our own port.
  if (report.public_address && report.mapping != udp::NatMapping::kEndpointDependent && endpoint_) {
    Result<net::Address> bound = endpoint_->local_address();
    const std::string ip = report.public_address->ip();
    if (bound.ok() && bound->port() == report.public_address->port() &&
        std::find(local_ips_.begin(), local_ips_.end(), ip) != local_ips_.end())
      report.mapping = udp::NatMapping::kNoNat;
  }
  return report;
}

void UdpPaths::ReportDiscovery() {
  if (discovery_reported_ || !discovery_ || !discovery_->done())
    return;
  discovery_reported_ = true;
  const udp::NatReport report = nat();
  spdlog::info("UDP: public address {}, NAT mapping {} ({} of {} probe addresses answered)",
               report.public_address ? report.public_address->ToString() : "unknown",
               udp::NatMappingName(report.mapping), report.answered, report.servers);
}

void UdpPaths::OnOtherDatagram(ByteView data, const net::Address& from) {
  if (discovery_ && discovery_->OnDatagram(data, from)) {
    ReportDiscovery();
    Rearm();
  }
}

void UdpPaths::OnTimer() {
  const uint64_t now = NowUs();
  if (!punching_.empty() && now >= next_punch_us_ && endpoint_) {
    for (PunchTarget& target : punching_) {
      (void)endpoint_->SendDatagram(Bytes(std::begin(kPunchBytes), std::end(kPunchBytes)),
                                    target.to);
      --target.rounds_left;
    }
    std::erase_if(punching_, [](const PunchTarget& t) { return t.rounds_left <= 0; });
    next_punch_us_ = punching_.empty() ? UINT64_MAX : now + params_.punch_interval_ms * 1000;
  }
  if (discovery_ && !discovery_->done() && now >= discovery_->NextDeadlineUs()) {
    SendProbes();
    ReportDiscovery();
  }
  Rearm();
}

void UdpPaths::Rearm() {
  if (!timer_)
    return;
  uint64_t deadline = next_punch_us_;
  if (discovery_ && !discovery_->done())
    deadline = std::min(deadline, discovery_->NextDeadlineUs());
  if (deadline == UINT64_MAX) {
    timer_->Stop();
    return;
  }
  const uint64_t now = NowUs();
  (void)timer_->Start(deadline <= now ? 0 : (deadline - now + 999) / 1000);
}

}  // namespace confab::peer
