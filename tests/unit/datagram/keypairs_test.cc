#include "common/datagram/keypairs.h"

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

// Keys as both sides of one handshake would hold them, with the indexes
// each side chose.
struct KeyPairPair {
  std::unique_ptr<PacketProtector> initiator, responder;
};
KeyPairPair Handshake(uint8_t seed, uint32_t i_index, uint32_t r_index) {
  crypto::noise::CipherKey k1, k2;
  for (size_t i = 0; i < k1.size(); ++i) {
    k1.data()[i] = static_cast<uint8_t>(seed + i);
    k2.data()[i] = static_cast<uint8_t>(seed + 100 + i);
  }
  crypto::noise::CipherState is, ir, rs, rr;
  is.InitializeKey(k1);
  rr.InitializeKey(k1);
  rs.InitializeKey(k2);
  ir.InitializeKey(k2);
  return {std::make_unique<PacketProtector>(is, ir, i_index, r_index, 0),
          std::make_unique<PacketProtector>(rs, rr, r_index, i_index, 0)};
}

Bytes Seal(PacketProtector& p, uint64_t n) {
  Bytes out(4 + kDataOverheadBytes);
  REQUIRE(p.Seal(n, AsBytes("data"), out).ok());
  return out;
}

TEST_CASE("Keypairs rotate as WireGuard's: next is confirmed by the initiator's first packet",
          "[datagram][keypairs]") {
  Keypairs initiator, responder;
  std::vector<uint32_t> dropped;
  auto first = Handshake(1, 10, 20);
  CHECK(initiator.InstallAsInitiator(std::move(first.initiator)).empty());
  CHECK(responder.InstallAsResponder(std::move(first.responder)).empty());
  CHECK(responder.sending() == nullptr);  // unconfirmed: the responder may not send
  Bytes p1 = Seal(*initiator.sending(), 0);
  REQUIRE(responder.Open(p1, &dropped).ok());
  REQUIRE(responder.sending() != nullptr);
  CHECK(responder.sending()->local_index() == 20);

  // A rekey: the initiator switches at once, the responder on confirmation.
  auto second = Handshake(2, 11, 21);
  CHECK(initiator.InstallAsInitiator(std::move(second.initiator)).empty());
  CHECK(responder.InstallAsResponder(std::move(second.responder)).empty());
  CHECK(responder.sending()->local_index() == 20);  // still the confirmed key
  // A packet in flight under the old key still opens after the switch.
  Bytes late = Seal(*initiator.sending(), 5);
  REQUIRE(responder.Open(late, &dropped).ok());
  CHECK(responder.sending()->local_index() == 21);  // confirmed: rotated
  CHECK(dropped.empty());
  std::vector<uint32_t> idx = responder.indexes();
  CHECK(idx.size() == 2);  // current 21 and previous 20

  // A third rotation drops the oldest.
  auto third = Handshake(3, 12, 22);
  (void)initiator.InstallAsInitiator(std::move(third.initiator));
  (void)responder.InstallAsResponder(std::move(third.responder));
  Bytes p3 = Seal(*initiator.sending(), 6);
  REQUIRE(responder.Open(p3, &dropped).ok());
  CHECK(dropped == std::vector<uint32_t>{20});
  CHECK(responder.Open(p1, &dropped).status().code() == Status::Code::kNotFound);
}

TEST_CASE("Keypairs refuse packets for indexes they do not hold", "[datagram][keypairs][error]") {
  Keypairs k;
  std::vector<uint32_t> dropped;
  auto h = Handshake(1, 10, 20);
  Bytes p = Seal(*h.initiator, 0);
  CHECK(k.Open(p, &dropped).status().code() == Status::Code::kNotFound);
  Bytes junk(5);
  CHECK(k.Open(junk, &dropped).status().code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace confab::datagram
