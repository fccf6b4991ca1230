#include "common/datagram/packet_protector.h"

#include <catch2/catch.hpp>

#include "common/crypto/noise.h"

#include "tests/unit/datagram/sim_link.h"

namespace confab::datagram {
namespace {

using crypto::noise::HandshakeConfig;
using crypto::noise::HandshakeState;

Bytes Sealed(PacketProtector& p, uint64_t counter, std::string_view text) {
  Bytes out(text.size() + kDataOverheadBytes);
  Result<size_t> n = p.Seal(counter, AsBytes(text), out);
  REQUIRE(n.ok());
  REQUIRE(*n == out.size());
  return out;
}

TEST_CASE("PacketProtector works with the transport keys of a Noise IK handshake",
          "[datagram][protector]") {
  const auto is = crypto::noise::GenerateKeyPair();
  const auto rs = crypto::noise::GenerateKeyPair();
  HandshakeConfig ic, rc;
  ic.protocol_name = rc.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  ic.initiator = true;
  ic.prologue = rc.prologue = ToBytes(AsBytes("confab/1 udp"));
  ic.s = is.private_key;
  ic.rs = rs.public_key;
  rc.s = rs.private_key;
  auto i = HandshakeState::Create(ic);
  auto r = HandshakeState::Create(rc);
  REQUIRE(i.ok());
  REQUIRE(r.ok());
  auto m1 = (*i)->WriteMessage({});
  REQUIRE(m1.ok());
  REQUIRE((*r)->ReadMessage(*m1).ok());
  auto m2 = (*r)->WriteMessage({});
  REQUIRE(m2.ok());
  REQUIRE((*i)->ReadMessage(*m2).ok());
  auto ik = (*i)->SplitForTransport();
  auto rk = (*r)->SplitForTransport();
  REQUIRE(ik.ok());
  REQUIRE(rk.ok());
  PacketProtector a(ik->send, ik->receive, 11, 22, 0);
  PacketProtector b(rk->send, rk->receive, 22, 11, 0);

  Bytes to_b = Sealed(a, 0, "hello b");
  CHECK(PeekReceiverIndex(to_b).value() == 22);
  auto opened = b.Open(to_b);
  REQUIRE(opened.ok());
  CHECK(AsChars(opened->payload) == "hello b");
  Bytes to_a = Sealed(b, 0, "hello a");
  auto back = a.Open(to_a);
  REQUIRE(back.ok());
  CHECK(AsChars(back->payload) == "hello a");
}

TEST_CASE("PacketProtector refuses replays, old counters and forgeries", "[datagram][protector]") {
  auto [a, b] = testing::MakeProtectorPair();

  SECTION("a replay is refused, the original still counts") {
    Bytes p = Sealed(*a, 7, "x");
    Bytes copy = p;
    REQUIRE(b->Open(p).ok());
    CHECK(b->Open(copy).status().code() == Status::Code::kUnavailable);
  }
  SECTION("a counter older than the window is refused") {
    Bytes old = Sealed(*a, 1, "old");
    Bytes recent = Sealed(*a, kReplayWindowSize + 10, "new");
    REQUIRE(b->Open(recent).ok());
    CHECK(b->Open(old).status().code() == Status::Code::kUnavailable);
  }
  SECTION("reordering within the window is fine") {
    Bytes p1 = Sealed(*a, 1, "1");
    Bytes p2 = Sealed(*a, 2, "2");
    REQUIRE(b->Open(p2).ok());
    REQUIRE(b->Open(p1).ok());
  }
  SECTION("a flipped bit anywhere fails authentication and does not move the window") {
    Bytes good = Sealed(*a, 5, "payload");
    for (size_t i = 5; i < good.size(); ++i) {
      Bytes bad = good;
      bad[i] ^= 0x01;
      const Status s = b->Open(bad).status();
      INFO("byte " << i);
      // Bytes 5..12 are the counter: a different nonce, so the tag fails too.
      CHECK(s.code() == Status::Code::kAuthFailed);
    }
    CHECK(b->Open(good).ok());
  }
  SECTION("a forged packet with a huge counter does not block later ones") {
    Bytes forged = Sealed(*a, 1000000, "f");
    forged.back() ^= 1;
    CHECK(b->Open(forged).status().code() == Status::Code::kAuthFailed);
    Bytes real = Sealed(*a, 1000001, "r");  // a above the forged number
    Bytes early = Sealed(*a, 1000002, "e");
    CHECK(b->Open(early).ok());
    CHECK(b->Open(real).ok());
  }
  SECTION("a packet for another session index is refused") {
    Bytes p = Sealed(*a, 1, "x");
    p[1] ^= 0xff;
    CHECK(b->Open(p).status().code() == Status::Code::kCorruption);
  }
  SECTION("the packet b sealed cannot be opened by b (direction keys differ)") {
    auto [a2, b2] = testing::MakeProtectorPair();
    Bytes p = Sealed(*b2, 1, "x");
    p[1] = 2;  // b2's own index, so only the key can tell
    p[2] = p[3] = p[4] = 0;
    CHECK(b2->Open(p).status().code() == Status::Code::kAuthFailed);
  }
  SECTION("short datagrams and other types are corrupt") {
    Bytes tiny(kDataOverheadBytes - 1, kDataPacketType);
    CHECK(b->Open(tiny).status().code() == Status::Code::kCorruption);
    Bytes p = Sealed(*a, 1, "x");
    p[0] = 0x01;
    CHECK(b->Open(p).status().code() == Status::Code::kCorruption);
    CHECK_FALSE(PeekReceiverIndex(tiny).ok());
  }
}

TEST_CASE("PacketProtector Seal needs increasing counters and enough room",
          "[datagram][protector]") {
  auto [a, b] = testing::MakeProtectorPair();
  Bytes out(64);
  REQUIRE(a->Seal(3, AsBytes("x"), out).ok());
  CHECK(a->Seal(3, AsBytes("x"), out).status().code() == Status::Code::kInvalidArgument);
  CHECK(a->Seal(2, AsBytes("x"), out).status().code() == Status::Code::kInvalidArgument);
  Bytes small(kDataOverheadBytes);
  CHECK(a->Seal(4, AsBytes("x"), small).status().code() == Status::Code::kInvalidArgument);
  CHECK(a->Seal(kRejectAfterMessages, AsBytes("x"), out).status().code() ==
        Status::Code::kResourceExhausted);
  CHECK(a->next_send_counter() == 4);
}

TEST_CASE("PacketProtector states when to rekey and when the key is dead",
          "[datagram][protector]") {
  auto [a, b] = testing::MakeProtectorPair(1000);
  CHECK_FALSE(a->ShouldRekey(1000 + kRekeyAfterUs - 1));
  CHECK(a->ShouldRekey(1000 + kRekeyAfterUs));
  CHECK_FALSE(a->Expired(1000 + kRejectAfterUs - 1));
  CHECK(a->Expired(1000 + kRejectAfterUs));
  Bytes out(64);
  REQUIRE(a->Seal(kRekeyAfterMessages, AsBytes("x"), out).ok());
  CHECK(a->ShouldRekey(1000));
}

}  // namespace
}  // namespace confab::datagram
