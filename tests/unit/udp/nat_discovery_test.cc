#include "common/udp/nat_discovery.h"

#include <catch2/catch.hpp>

#include "common/base/proto_bytes.h"
#include "common/net/udp_socket.h"
#include "common/udp/endpoint.h"
#include "proto/tracker.pb.h"

#include "tests/unit/net/net_test_util.h"

namespace confab::udp {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

const Bytes kToken(16, 0x42);

net::Address Addr(std::string_view s) {
  return *net::Address::Parse(s);
}

Bytes Observed(uint64_t nonce, std::string_view ip, uint32_t port) {
  proto::TrackerDatagram d;
  d.mutable_observed()->set_nonce(nonce);
  d.mutable_observed()->set_address(std::string(ip));
  d.mutable_observed()->set_port(port);
  return SerializeToBytes(d);
}

uint64_t NonceOf(const NatDiscovery::Probe& p) {
  proto::TrackerDatagram d;
  REQUIRE(d.ParseFromArray(p.data.data(), static_cast<int>(p.data.size())));
  REQUIRE(d.has_probe());
  CHECK(d.probe().token() == std::string(kToken.begin(), kToken.end()));
  return d.probe().nonce();
}

TEST_CASE("NatDiscovery classifies the mapping from what each server saw", "[udp][nat]") {
  const net::Address s1 = Addr("198.18.0.2:7650");
  const net::Address s2 = Addr("198.18.0.2:7651");
  struct Case {
    const char* name;
    std::optional<net::Address> local;
    uint32_t port1, port2;
    NatMapping expected;
  };
  const Case cases[] = {
      {"cone", Addr("10.200.1.2:7651"), 40000, 40000, NatMapping::kEndpointIndependent},
      {"symmetric", Addr("10.200.1.2:7651"), 40000, 40001, NatMapping::kEndpointDependent},
      {"no nat", Addr("198.18.1.2:40000"), 40000, 40000, NatMapping::kNoNat},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    NatDiscovery d(kToken, {s1, s2}, c.local);
    std::vector<NatDiscovery::Probe> probes = d.Due(0);
    REQUIRE(probes.size() == 2);
    CHECK(d.OnDatagram(Observed(NonceOf(probes[0]), "198.18.1.2", c.port1), s1));
    CHECK_FALSE(d.done());
    CHECK(d.OnDatagram(Observed(NonceOf(probes[1]), "198.18.1.2", c.port2), s2));
    CHECK(d.done());
    const NatReport r = d.report();
    CHECK(r.mapping == c.expected);
    CHECK(r.answered == 2);
    CHECK(r.public_address->ToString() == "198.18.1.2:" + std::to_string(c.port1));
  }
}

TEST_CASE("NatDiscovery says unknown with one server and retries what is unanswered",
          "[udp][nat]") {
  const net::Address s1 = Addr("198.18.0.2:7650");
  NatDiscovery d(kToken, {s1}, Addr("10.200.1.2:7651"));
  auto first = d.Due(0);
  REQUIRE(first.size() == 1);
  CHECK(d.Due(100).empty());  // not yet time for a retry
  CHECK(d.NextDeadlineUs() == NatDiscovery::kProbeRetryUs);
  auto again = d.Due(NatDiscovery::kProbeRetryUs);
  REQUIRE(again.size() == 1);
  CHECK(NonceOf(again[0]) == NonceOf(first[0]));
  REQUIRE(d.OnDatagram(Observed(NonceOf(first[0]), "198.18.1.2", 40000), s1));
  CHECK(d.report().mapping == NatMapping::kUnknown);
  CHECK(d.report().public_address->ToString() == "198.18.1.2:40000");
}

TEST_CASE("NatDiscovery ignores answers with the wrong nonce, sender or contents",
          "[udp][nat][error]") {
  const net::Address s1 = Addr("198.18.0.2:7650");
  NatDiscovery d(kToken, {s1}, std::nullopt);
  auto probes = d.Due(0);
  const uint64_t nonce = NonceOf(probes[0]);
  CHECK_FALSE(d.OnDatagram(Observed(nonce + 1, "198.18.1.2", 40000), s1));
  CHECK_FALSE(d.OnDatagram(Observed(nonce, "198.18.1.2", 40000), Addr("198.18.0.3:7650")));
  CHECK_FALSE(d.OnDatagram(Observed(nonce, "not an ip", 40000), s1));
  CHECK_FALSE(d.OnDatagram(Observed(nonce, "198.18.1.2", 70000), s1));
  CHECK_FALSE(d.OnDatagram(AsBytes("garbage"), s1));
  CHECK(d.report().answered == 0);
  for (int i = 1; i < NatDiscovery::kProbeAttempts; ++i)
    CHECK(d.Due(i * NatDiscovery::kProbeRetryUs).size() == 1);
  CHECK(d.done());  // attempts used up
  CHECK(d.NextDeadlineUs() == UINT64_MAX);
  CHECK_FALSE(d.report().public_address);
}

// A stand-in for the tracker's UDP port: answers probes with the source
// address it saw, as tracker/server.cc does (without the token check).
struct FakeTracker final : net::UdpSocket::Delegate {
  std::unique_ptr<net::UdpSocket> socket;
  void OnDatagram(ByteView data, const net::Address& from) override {
    proto::TrackerDatagram d;
    if (!d.ParseFromArray(data.data(), static_cast<int>(data.size())) || !d.has_probe())
      return;
    (void)socket->Send(Observed(d.probe().nonce(), from.ip(), from.port()), from);
  }
  void OnError(Status) override {}
};

struct Owner final : Endpoint::Delegate {
  NatDiscovery* discovery = nullptr;
  Result<Bytes> OnIncomingSession(const PublicKey&, ByteView, const net::Address&) override {
    return Status::PermissionDenied("no");
  }
  void OnSessionOpen(SessionId, ByteView) override {}
  void OnSessionReadable(SessionId, uint8_t) override {}
  void OnSessionWritable(SessionId, uint8_t) override {}
  void OnSessionClosed(SessionId, Status) override {}
  void OnOtherDatagram(ByteView data, const net::Address& from) override {
    (void)discovery->OnDatagram(data, from);
  }
};

TEST_CASE("NatDiscovery through an Endpoint's socket finds no NAT on loopback",
          "[udp][nat][endpoint]") {
  auto loop = MakeLoop();
  FakeTracker t1, t2;
  t1.socket = std::move(*net::UdpSocket::Create(*loop, Addr("127.0.0.1:0"), &t1));
  t2.socket = std::move(*net::UdpSocket::Create(*loop, Addr("127.0.0.1:0"), &t2));
  REQUIRE(t1.socket->StartReceiving().ok());
  REQUIRE(t2.socket->StartReceiving().ok());
  Owner owner;
  EndpointOptions options{.bind = Addr("127.0.0.1:0"),
                          .static_key = crypto::noise::GenerateKeyPair(),
                          .connection = {},
                          .handshakes_per_second = 200,
                          .handshake_give_up_us = datagram::kHandshakeGiveUpUs,
                          .rekey_after_us = datagram::kRekeyAfterUs,
                          .reject_after_us = datagram::kRejectAfterUs,
                          .monotonic_us = {},
                          .wall_us = {}};
  auto endpoint = Endpoint::Create(*loop, options, &owner);
  REQUIRE(endpoint.ok());
  NatDiscovery discovery(kToken, {*t1.socket->local_address(), *t2.socket->local_address()},
                         *(*endpoint)->local_address());
  owner.discovery = &discovery;
  for (auto& probe : discovery.Due(0))
    REQUIRE((*endpoint)->SendDatagram(std::move(probe.data), probe.to).ok());
  REQUIRE(RunUntil(*loop, [&] { return discovery.done(); }));
  const NatReport r = discovery.report();
  CHECK(r.answered == 2);
  CHECK(r.mapping == NatMapping::kNoNat);
  CHECK(NatMappingName(r.mapping) == "none");
  endpoint->reset();
  t1.socket.reset();
  t2.socket.reset();
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::udp
