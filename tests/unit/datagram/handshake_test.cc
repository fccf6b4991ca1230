#include "common/datagram/handshake.h"

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

using crypto::noise::GenerateKeyPair;
using crypto::noise::KeyPair;

const Bytes kSource = {10, 0, 0, 1, 0x1d, 0xe3};

struct Parties {
  KeyPair alice = GenerateKeyPair();
  KeyPair bob = GenerateKeyPair();
  std::unique_ptr<HandshakeInitiator> initiator;
  HandshakeResponder responder{bob};

  Parties() {
    auto i = HandshakeInitiator::Create(alice, bob.public_key, ToBytes(AsBytes("alice cert")));
    REQUIRE(i.ok());
    initiator = std::move(*i);
  }
};

Bytes Seal(PacketProtector& p, uint64_t n, std::string_view text) {
  Bytes out(text.size() + kDataOverheadBytes);
  REQUIRE(p.Seal(n, AsBytes(text), out).ok());
  return out;
}

TEST_CASE("UDP handshake establishes matching sessions and carries both payloads",
          "[datagram][handshake]") {
  Parties p;
  auto init = p.initiator->MakeInitiation(0x1111, 1'000'000, 0);
  REQUIRE(init.ok());
  CHECK(init->size() <= 1200);
  auto outcome = p.responder.OnInitiation(*init, kSource, false, 0);
  REQUIRE(outcome.ok());
  REQUIRE(outcome->pending);
  CHECK(outcome->pending->remote_static == p.alice.public_key);
  CHECK(AsChars(outcome->pending->payload) == "alice cert");
  CHECK(outcome->pending->remote_index == 0x1111);
  auto accepted = p.responder.Accept(std::move(*outcome->pending), AsBytes("bob cert"), 0x2222, 0);
  REQUIRE(accepted.ok());
  auto established = p.initiator->OnResponse(accepted->response, 0);
  REQUIRE(established.ok());
  CHECK(AsChars(established->payload) == "bob cert");

  PacketProtector& a = *established->protector;
  PacketProtector& b = *accepted->protector;
  CHECK(a.remote_index() == 0x2222);
  CHECK(b.remote_index() == 0x1111);
  Bytes to_b = Seal(a, 0, "first");
  auto opened = b.Open(to_b);
  REQUIRE(opened.ok());
  CHECK(AsChars(opened->payload) == "first");
  Bytes to_a = Seal(b, 0, "reply");
  REQUIRE(a.Open(to_a).ok());
}

TEST_CASE("UDP handshake refuses a replayed initiation but takes a retransmitted one",
          "[datagram][handshake][error]") {
  Parties p;
  auto first = p.initiator->MakeInitiation(1, 5'000, 0);
  REQUIRE(first.ok());
  auto o1 = p.responder.OnInitiation(*first, kSource, false, 0);
  REQUIRE(o1.ok());
  REQUIRE(p.responder.Accept(std::move(*o1->pending), {}, 9, 0).ok());
  // The same bytes again (an attacker's replay): refused before any state changes.
  CHECK(p.responder.OnInitiation(*first, kSource, false, 0).status().code() ==
        Status::Code::kUnavailable);
  // A retransmission is a fresh initiation with a newer timestamp, even if
  // the initiator's clock stepped back.
  auto retry = p.initiator->MakeInitiation(2, 4'000, 1'000'000);
  REQUIRE(retry.ok());
  auto o2 = p.responder.OnInitiation(*retry, kSource, false, 1'000'000);
  REQUIRE(o2.ok());
  REQUIRE(o2->pending);
  CHECK(o2->pending->timestamp == 5'001);
}

TEST_CASE("UDP handshake ignores the response to an earlier attempt", "[datagram][handshake]") {
  Parties p;
  auto first = p.initiator->MakeInitiation(1, 1, 0);
  REQUIRE(first.ok());
  auto o1 = p.responder.OnInitiation(*first, kSource, false, 0);
  REQUIRE(o1.ok());
  auto late = p.responder.Accept(std::move(*o1->pending), {}, 7, 0);
  REQUIRE(late.ok());
  auto second = p.initiator->MakeInitiation(2, 2, 1'000'000);
  REQUIRE(second.ok());
  CHECK(p.initiator->OnResponse(late->response, 1'000'000).status().code() ==
        Status::Code::kCorruption);
  auto o2 = p.responder.OnInitiation(*second, kSource, false, 1'000'000);
  REQUIRE(o2.ok());
  auto current = p.responder.Accept(std::move(*o2->pending), {}, 8, 1'000'000);
  REQUIRE(current.ok());
  CHECK(p.initiator->OnResponse(current->response, 1'000'000).ok());
  // Done: a further response has nothing to complete.
  CHECK(p.initiator->OnResponse(current->response, 1'000'000).status().code() ==
        Status::Code::kFailedPrecondition);
}

TEST_CASE("UDP handshake rejects initiations for another key or with tampering",
          "[datagram][handshake][error]") {
  Parties p;
  auto init = p.initiator->MakeInitiation(1, 1, 0);
  REQUIRE(init.ok());
  SECTION("a responder with another static key drops it at mac1, before any DH") {
    HandshakeResponder carol(GenerateKeyPair());
    CHECK(carol.OnInitiation(*init, kSource, false, 0).status().code() ==
          Status::Code::kAuthFailed);
  }
  SECTION("a flipped bit anywhere before mac2 fails") {
    // mac2 counts only under load (WireGuard's rule); see the cookie test.
    for (size_t i = 0; i < init->size() - kMacBytes; ++i) {
      Bytes bad = *init;
      bad[i] ^= 0x80;
      INFO("byte " << i);
      CHECK_FALSE(p.responder.OnInitiation(bad, kSource, false, 0).ok());
    }
  }
  SECTION("truncated") {
    CHECK(p.responder.OnInitiation(ByteView(*init).first(20), kSource, false, 0).status().code() !=
          Status::Code::kOk);
  }
  SECTION("a response with a flipped bit does not spoil the genuine one") {
    auto o = p.responder.OnInitiation(*init, kSource, false, 0);
    REQUIRE(o.ok());
    auto acc = p.responder.Accept(std::move(*o->pending), {}, 3, 0);
    REQUIRE(acc.ok());
    Bytes bad = acc->response;
    bad[20] ^= 1;
    CHECK_FALSE(p.initiator->OnResponse(bad, 0).ok());
    CHECK(p.initiator->OnResponse(acc->response, 0).ok());
  }
}

TEST_CASE("UDP handshake under load demands a cookie bound to the source address",
          "[datagram][handshake][cookie]") {
  Parties p;
  auto init = p.initiator->MakeInitiation(1, 1, 0);
  REQUIRE(init.ok());
  auto o = p.responder.OnInitiation(*init, kSource, /*under_load=*/true, 0);
  REQUIRE(o.ok());
  CHECK_FALSE(o->pending);  // no Diffie-Hellman done
  REQUIRE(o->cookie_reply.size() == kCookieReplyBytes);

  // A forged reply, or one for another message, is refused.
  Bytes forged = o->cookie_reply;
  forged.back() ^= 1;
  CHECK(p.initiator->OnCookieReply(forged, 0).code() == Status::Code::kAuthFailed);
  REQUIRE(p.initiator->OnCookieReply(o->cookie_reply, 0).ok());

  auto retry = p.initiator->MakeInitiation(2, 2, 100'000);
  REQUIRE(retry.ok());
  // From the same address the cookie passes; from another it does not.
  const Bytes elsewhere = {10, 0, 0, 2, 0x1d, 0xe3};
  auto spoofed = p.responder.OnInitiation(*retry, elsewhere, true, 100'000);
  REQUIRE(spoofed.ok());
  CHECK_FALSE(spoofed->pending);
  auto ok = p.responder.OnInitiation(*retry, kSource, true, 100'000);
  REQUIRE(ok.ok());
  CHECK(ok->pending);
  // After the responder's secret rotates the old cookie no longer works.
  auto stale = p.initiator->MakeInitiation(3, 3, kCookieRotateUs + 1);
  REQUIRE(stale.ok());
  auto rotated = p.responder.OnInitiation(*stale, kSource, true, kCookieRotateUs + 1);
  REQUIRE(rotated.ok());
  CHECK_FALSE(rotated->pending);
}

TEST_CASE("UDP handshake refuses an oversized payload", "[datagram][handshake][error]") {
  KeyPair a = GenerateKeyPair(), b = GenerateKeyPair();
  CHECK(HandshakeInitiator::Create(a, b.public_key, Bytes(kMaxHandshakePayloadBytes + 1))
            .status()
            .code() == Status::Code::kInvalidArgument);
  auto max = HandshakeInitiator::Create(a, b.public_key, Bytes(kMaxHandshakePayloadBytes));
  REQUIRE(max.ok());
  auto init = (*max)->MakeInitiation(1, 1, 0);
  REQUIRE(init.ok());
  CHECK(init->size() + 28 <= 1280);  // within the IPv6 minimum MTU with headers
}

}  // namespace
}  // namespace confab::datagram
