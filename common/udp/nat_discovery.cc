#include "common/udp/nat_discovery.h"

#include <utility>

#include "common/base/proto_bytes.h"
#include "common/crypto/sodium.h"
#include "proto/tracker.pb.h"

namespace confab::udp {
namespace {

bool SameAddress(const net::Address& a, const net::Address& b) {
  return a.ip() == b.ip() && a.port() == b.port();
}

}  // namespace

std::string_view NatMappingName(NatMapping mapping) {
  switch (mapping) {
    case NatMapping::kUnknown:
      return "unknown";
    case NatMapping::kNoNat:
      return "none";
    case NatMapping::kEndpointIndependent:
      return "endpoint-independent";
    case NatMapping::kEndpointDependent:
      return "endpoint-dependent";
  }
  return "unknown";
}

NatDiscovery::NatDiscovery(Bytes token, std::vector<net::Address> servers,
                           std::optional<net::Address> local)
    : token_(std::move(token)), local_(std::move(local)) {
  for (net::Address& address : servers) {
    uint64_t nonce = 0;
    crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&nonce), sizeof(nonce)));
    servers_.push_back(Server{std::move(address), nonce, std::nullopt});
  }
}

std::vector<NatDiscovery::Probe> NatDiscovery::Due(uint64_t now_us) {
  std::vector<Probe> probes;
  if (done() || now_us < next_round_us_)
    return probes;
  ++rounds_;
  next_round_us_ = now_us + kProbeRetryUs;
  for (const Server& s : servers_) {
    if (s.observed)
      continue;
    proto::TrackerDatagram datagram;
    datagram.mutable_probe()->set_token(token_.data(), token_.size());
    datagram.mutable_probe()->set_nonce(s.nonce);
    probes.push_back(Probe{SerializeToBytes(datagram), s.address});
  }
  return probes;
}

uint64_t NatDiscovery::NextDeadlineUs() const {
  return done() ? UINT64_MAX : next_round_us_;
}

bool NatDiscovery::OnDatagram(ByteView data, const net::Address& from) {
  proto::TrackerDatagram datagram;
  if (data.size() > 512 || !datagram.ParseFromArray(data.data(), static_cast<int>(data.size())) ||
      !datagram.has_observed())
    return false;
  for (Server& s : servers_) {
    if (!SameAddress(s.address, from) || datagram.observed().nonce() != s.nonce)
      continue;
    if (datagram.observed().port() == 0 || datagram.observed().port() > 65535)
      return false;
    Result<net::Address> observed = net::Address::FromIp(
        datagram.observed().address(), static_cast<uint16_t>(datagram.observed().port()));
    if (!observed.ok())
      return false;
    s.observed = *observed;
    return true;
  }
  return false;
}

bool NatDiscovery::done() const {
  if (rounds_ >= kProbeAttempts)
    return true;
  for (const Server& s : servers_) {
    if (!s.observed)
      return false;
  }
  return true;
}

NatReport NatDiscovery::report() const {
  NatReport r;
  r.servers = servers_.size();
  std::vector<const Server*> answered;
  for (const Server& s : servers_) {
    if (s.observed)
      answered.push_back(&s);
  }
  r.answered = answered.size();
  if (answered.empty())
    return r;
  r.public_address = answered.front()->observed;
  bool all_same = true;
  bool all_local = local_.has_value();
  bool distinct_servers = false;
  for (const Server* s : answered) {
    all_same &= SameAddress(*s->observed, *answered.front()->observed);
    if (local_)
      all_local &= SameAddress(*s->observed, *local_);
    distinct_servers |= !SameAddress(s->address, answered.front()->address);
  }
  if (all_local)
    r.mapping = NatMapping::kNoNat;
  else if (!distinct_servers)
    r.mapping = NatMapping::kUnknown;
  else
    r.mapping = all_same ? NatMapping::kEndpointIndependent : NatMapping::kEndpointDependent;
  return r;
}

}  // namespace confab::udp
