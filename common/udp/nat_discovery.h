// NatDiscovery: learns the public address of one UDP socket, and how the NAT
// in front of it maps that socket, from the tracker's UDP probe answers
// (proto/tracker.proto: UdpProbe -> UdpObserved). Sans-I/O: it makes the
// probes and reads the answers; the owner sends and receives them on the
// very socket whose mapping matters (the session Endpoint's).
//
// Classification (RFC 4787's mapping behaviour):
//  - no NAT: every server saw our own bound address;
//  - endpoint-independent: two or more distinct server addresses saw the
//    same public ip:port (a "cone" NAT: hole punching works);
//  - endpoint-dependent: they saw different ones (a "symmetric" NAT: the
//    address the tracker saw is useless to a peer);
//  - unknown: fewer than two distinct servers answered. Ask the tracker's
//    listen address and its second probe port (same IP, the port from
//    SessionWelcome.second_probe_port; TrackerLink::second_probe_port()).
//
// Probes are resent every kProbeRetryUs, up to kProbeAttempts rounds; UDP
// may lose them. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/net/address.h"

namespace confab::udp {

enum class NatMapping { kUnknown, kNoNat, kEndpointIndependent, kEndpointDependent };
// "unknown", "none", "endpoint-independent", "endpoint-dependent".
std::string_view NatMappingName(NatMapping mapping);

struct NatReport {
  std::optional<net::Address> public_address;  // as the first answering server saw it
  NatMapping mapping = NatMapping::kUnknown;
  size_t servers = 0;   // servers asked
  size_t answered = 0;  // servers that answered
};

class NatDiscovery {
 public:
  static constexpr uint64_t kProbeRetryUs = 500'000;
  static constexpr int kProbeAttempts = 6;

  // `token`: the udp_token of the node's tracker session. `servers`: the
  // tracker's probe addresses. `local`: the socket's bound address, if its IP
  // is concrete (to recognise "no NAT").
  NatDiscovery(Bytes token, std::vector<net::Address> servers, std::optional<net::Address> local);

  struct Probe {
    Bytes data;
    net::Address to;
  };
  // The probes due at `now_us`: all unanswered servers, once per round.
  std::vector<Probe> Due(uint64_t now_us);
  // When Due has something again, or UINT64_MAX once done.
  uint64_t NextDeadlineUs() const;
  // Reads a datagram that may be an answer; true when it was one of ours
  // (a UdpObserved from a server we asked, with that server's nonce).
  bool OnDatagram(ByteView data, const net::Address& from);

  // Every server answered, or the attempts ran out.
  bool done() const;
  NatReport report() const;

 private:
  struct Server {
    net::Address address;
    uint64_t nonce;
    std::optional<net::Address> observed;
  };

  Bytes token_;
  std::vector<Server> servers_;
  std::optional<net::Address> local_;
  int rounds_ = 0;
  uint64_t next_round_us_ = 0;
};

}  // namespace confab::udp
