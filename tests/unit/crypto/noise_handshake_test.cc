// HandshakeState: round trips, and every error path of WriteMessage and
// ReadMessage (flipped bytes, truncation, wrong keys, wrong phase, size).
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/noise.h"

#include "tests/unit/crypto/noise_test_util.h"

namespace confab::crypto::noise {
namespace {

using testing::Complete;
using testing::Handshake;
using testing::MakeConfig;
using testing::Parties;
using testing::Start;
using testing::TestPsk;
using Phase = HandshakeState::Phase;

// Both sides split; each direction carries a few messages.
void CheckTransport(Handshake& hs) {
  auto init = hs.initiator->SplitForTransport();
  auto resp = hs.responder->SplitForTransport();
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  for (int i = 0; i < 3; ++i) {
    const Bytes hello = {'p', static_cast<uint8_t>(i)};
    auto sealed = init->send.EncryptWithAd({}, hello);
    REQUIRE(sealed.ok());
    auto opened = resp->receive.DecryptWithAd({}, *sealed);
    REQUIRE(opened.ok());
    CHECK(*opened == hello);
    auto back = resp->send.EncryptWithAd({}, hello);
    REQUIRE(back.ok());
    auto back_opened = init->receive.DecryptWithAd({}, *back);
    REQUIRE(back_opened.ok());
    CHECK(*back_opened == hello);
  }
}

// Drives `hs` until it is `sender`'s turn to write message `index`.
Bytes MessageAt(Handshake& hs, int index) {
  for (int i = 0; i < index; ++i) {
    const bool from_initiator = i % 2 == 0;
    auto m = (from_initiator ? hs.initiator : hs.responder)->WriteMessage({});
    REQUIRE(m.ok());
    REQUIRE((from_initiator ? hs.responder : hs.initiator)->ReadMessage(*m).ok());
  }
  auto m = (index % 2 == 0 ? hs.initiator : hs.responder)->WriteMessage(AsBytes("payload"));
  REQUIRE(m.ok());
  return *m;
}

}  // namespace

TEST_CASE("IK, XX, NN and IKpsk2 handshakes complete and both sides agree", "[noise]") {
  Parties parties;
  for (const std::string name :
       {"Noise_IK_25519_ChaChaPoly_BLAKE2b", "Noise_XX_25519_ChaChaPoly_SHA256",
        "Noise_NN_25519_ChaChaPoly_SHA512", "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256"}) {
    INFO(name);
    auto protocol = ParseProtocolName(name);
    REQUIRE(protocol.ok());
    std::vector<SecretArray<32>> psks;
    for (int i = 0; i < protocol->pattern.psk_count; ++i)
      psks.push_back(TestPsk(static_cast<uint8_t>(i)));
    Handshake hs = Start(name, parties, psks);
    CHECK(Complete(hs) == static_cast<int>(protocol->pattern.messages.size()));
    auto h1 = hs.initiator->GetHandshakeHash();
    auto h2 = hs.responder->GetHandshakeHash();
    REQUIRE(h1.ok());
    REQUIRE(h2.ok());
    CHECK(*h1 == *h2);
    if (name.find("_NN") == std::string::npos) {
      REQUIRE(hs.responder->remote_static().has_value());
      CHECK(*hs.responder->remote_static() == parties.initiator_static.public_key);
      CHECK(*hs.initiator->remote_static() == parties.responder_static.public_key);
      CHECK(hs.initiator->local_static_public() == parties.initiator_static.public_key);
    }
    CheckTransport(hs);
  }
}

TEST_CASE("AESGCM handshakes complete where the CPU has AES-NI", "[noise]") {
  Parties parties;
  const std::string name = "Noise_IK_25519_AESGCM_SHA256";
  if (!CheckCipherAvailable(CipherKind::kAesGcm).ok()) {
    CHECK(HandshakeState::Create(MakeConfig(name, true, parties)).status().code() ==
          Status::Code::kInvalidArgument);
    return;
  }
  Handshake hs = Start(name, parties);
  Complete(hs);
  CheckTransport(hs);
}

TEST_CASE("A one-way N handshake takes one message and the responder can read after it",
          "[noise]") {
  Parties parties;
  Handshake hs = Start("Noise_N_25519_ChaChaPoly_BLAKE2b", parties);
  CHECK(Complete(hs) == 1);
  auto init = hs.initiator->Split();
  auto resp = hs.responder->Split();
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  auto sealed = init->first.EncryptWithAd({}, AsBytes("one way"));
  REQUIRE(sealed.ok());
  CHECK(resp->first.DecryptWithAd({}, *sealed).ok());
}

TEST_CASE("The ephemeral key source makes handshakes deterministic", "[noise]") {
  Parties parties;
  auto source = [] {
    PrivateKey e;
    e.data()[0] = 42;
    return e;
  };
  Bytes first[2];
  for (Bytes& out : first) {
    HandshakeConfig config = MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties);
    config.ephemeral_source = source;
    auto hs = HandshakeState::Create(std::move(config));
    REQUIRE(hs.ok());
    auto m = (*hs)->WriteMessage(AsBytes("x"));
    REQUIRE(m.ok());
    out = *m;
  }
  CHECK(first[0] == first[1]);
  auto expected = KeyPairFromPrivate(source().view());
  REQUIRE(expected.ok());
  CHECK(Bytes(first[0].begin(), first[0].begin() + 32) ==
        Bytes(expected->public_key.begin(), expected->public_key.end()));
}

// ---------------------------------------------------------------------------
// Tests of all the error paths in HandshakeState follow.

TEST_CASE(
    "A flipped byte anywhere in an IK or XX message fails with AuthFailed and changes nothing",
    "[noise][error]") {
  Parties parties;
  struct Case {
    std::string name;
    int index;
  };
  // NN and XX message 1 carry no authenticated data, so they are not listed.
  for (const Case& c :
       {Case{"Noise_IK_25519_ChaChaPoly_BLAKE2b", 0}, Case{"Noise_IK_25519_ChaChaPoly_BLAKE2b", 1},
        Case{"Noise_XX_25519_ChaChaPoly_SHA256", 1}, Case{"Noise_XX_25519_ChaChaPoly_SHA256", 2},
        Case{"Noise_IKpsk2_25519_ChaChaPoly_SHA512", 1}}) {
    INFO(c.name << " message " << c.index);
    std::vector<SecretArray<32>> psks;
    if (c.name.find("psk2") != std::string::npos)
      psks.push_back(TestPsk(7));
    Handshake hs = Start(c.name, parties, psks);
    const Bytes message = MessageAt(hs, c.index);
    HandshakeState& receiver = c.index % 2 == 0 ? *hs.responder : *hs.initiator;
    for (size_t i = 0; i < message.size(); ++i) {
      Bytes bad = message;
      bad[i] ^= 0x01;
      auto result = receiver.ReadMessage(bad);
      REQUIRE_FALSE(result.ok());
      CHECK(result.status().code() == Status::Code::kAuthFailed);
      CHECK(receiver.phase() == Phase::kReading);
    }
    // The genuine message still reads: nothing was committed.
    auto payload = receiver.ReadMessage(message);
    REQUIRE(payload.ok());
    CHECK(*payload == ToBytes(AsBytes("payload")));
  }
}

TEST_CASE("A truncated handshake message is rejected and the whole one still reads",
          "[noise][error]") {
  Parties parties;
  for (int index : {0, 1}) {
    Handshake hs = Start("Noise_IK_25519_ChaChaPoly_BLAKE2b", parties);
    const Bytes message = MessageAt(hs, index);
    HandshakeState& receiver = index == 0 ? *hs.responder : *hs.initiator;
    for (size_t len = 0; len < message.size(); ++len) {
      auto result = receiver.ReadMessage(ByteView(message).first(len));
      REQUIRE_FALSE(result.ok());
      CHECK((result.status().code() == Status::Code::kCorruption ||
             result.status().code() == Status::Code::kAuthFailed));
    }
    CHECK(receiver.ReadMessage(message).ok());
  }
}

TEST_CASE("IK fails when the initiator has the wrong responder static key", "[noise][error]") {
  Parties parties;
  HandshakeConfig init_config = MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties);
  init_config.rs = GenerateKeyPair().public_key;
  auto init = HandshakeState::Create(std::move(init_config));
  auto resp =
      HandshakeState::Create(MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", false, parties));
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  auto m1 = (*init)->WriteMessage(AsBytes("hello"));
  REQUIRE(m1.ok());
  CHECK((*resp)->ReadMessage(*m1).status().code() == Status::Code::kAuthFailed);
  CHECK_FALSE((*resp)->remote_static().has_value());
}

TEST_CASE("A wrong PSK fails the handshake at the first message that uses it", "[noise][error]") {
  Parties parties;
  SECTION("IKpsk2: the initiator cannot read message 2") {
    const std::string name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
    auto init = HandshakeState::Create(MakeConfig(name, true, parties, {TestPsk(1)}));
    auto resp = HandshakeState::Create(MakeConfig(name, false, parties, {TestPsk(2)}));
    REQUIRE(init.ok());
    REQUIRE(resp.ok());
    auto m1 = (*init)->WriteMessage({});
    REQUIRE(m1.ok());
    REQUIRE((*resp)->ReadMessage(*m1).ok());
    auto m2 = (*resp)->WriteMessage({});
    REQUIRE(m2.ok());
    CHECK((*init)->ReadMessage(*m2).status().code() == Status::Code::kAuthFailed);
  }
  SECTION("NNpsk0: the responder cannot read message 1") {
    const std::string name = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
    auto init = HandshakeState::Create(MakeConfig(name, true, parties, {TestPsk(1)}));
    auto resp = HandshakeState::Create(MakeConfig(name, false, parties, {TestPsk(2)}));
    REQUIRE(init.ok());
    REQUIRE(resp.ok());
    auto m1 = (*init)->WriteMessage({});
    REQUIRE(m1.ok());
    CHECK((*resp)->ReadMessage(*m1).status().code() == Status::Code::kAuthFailed);
  }
}

TEST_CASE("A low-order ephemeral or static key fails with AuthFailed", "[noise][error]") {
  Parties parties;
  SECTION("the initiator's rs is the zero point") {
    HandshakeConfig config = MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties);
    config.rs = PublicKey{};
    auto init = HandshakeState::Create(std::move(config));
    REQUIRE(init.ok());
    CHECK((*init)->WriteMessage({}).status().code() == Status::Code::kAuthFailed);
    CHECK((*init)->phase() == Phase::kWriting);
  }
  SECTION("message 1 carries the zero point as e") {
    Handshake hs = Start("Noise_IK_25519_ChaChaPoly_BLAKE2b", parties);
    Bytes m1 = MessageAt(hs, 0);
    std::fill(m1.begin(), m1.begin() + 32, 0);
    CHECK(hs.responder->ReadMessage(m1).status().code() == Status::Code::kAuthFailed);
  }
}

TEST_CASE("Calling a method in the wrong phase returns FailedPrecondition", "[noise][error]") {
  Parties parties;
  Handshake hs = Start("Noise_IK_25519_ChaChaPoly_BLAKE2b", parties);
  const auto kFailedPrecondition = Status::Code::kFailedPrecondition;
  CHECK(hs.responder->WriteMessage({}).status().code() == kFailedPrecondition);
  CHECK(hs.initiator->ReadMessage(Bytes(100)).status().code() == kFailedPrecondition);
  CHECK(hs.initiator->Split().status().code() == kFailedPrecondition);
  CHECK(hs.initiator->GetHandshakeHash().status().code() == kFailedPrecondition);
  auto m1 = hs.initiator->WriteMessage({});
  REQUIRE(m1.ok());
  CHECK(hs.initiator->WriteMessage({}).status().code() == kFailedPrecondition);
  REQUIRE(hs.responder->ReadMessage(*m1).ok());
  CHECK(hs.responder->ReadMessage(*m1).status().code() == kFailedPrecondition);
  auto m2 = hs.responder->WriteMessage({});
  REQUIRE(m2.ok());
  REQUIRE(hs.initiator->ReadMessage(*m2).ok());
  CHECK(hs.initiator->phase() == Phase::kComplete);
  CHECK(hs.initiator->WriteMessage({}).status().code() == kFailedPrecondition);
  CHECK(hs.initiator->ReadMessage(*m2).status().code() == kFailedPrecondition);
  CHECK(hs.initiator->Split().ok());
  CHECK(hs.initiator->phase() == Phase::kSplit);
  CHECK(hs.initiator->Split().status().code() == kFailedPrecondition);
  CHECK(hs.initiator->GetHandshakeHash().ok());
}

TEST_CASE("Handshake messages and payloads over 65535 bytes are refused", "[noise][error]") {
  Parties parties;
  Handshake hs = Start("Noise_IK_25519_ChaChaPoly_BLAKE2b", parties);
  // IK message 1 adds 32 + 48 + 16 bytes to the payload.
  CHECK(hs.initiator->WriteMessage(Bytes(kMaxMessageBytes - 96 + 1)).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(hs.initiator->WriteMessage(Bytes(kMaxMessageBytes + 1)).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(hs.responder->ReadMessage(Bytes(kMaxMessageBytes + 1)).status().code() ==
        Status::Code::kInvalidArgument);
  auto largest = hs.initiator->WriteMessage(Bytes(kMaxMessageBytes - 96));
  REQUIRE(largest.ok());
  CHECK(largest->size() == kMaxMessageBytes);
  CHECK(hs.responder->ReadMessage(*largest).ok());
}

TEST_CASE("Create refuses configs that do not fit the pattern", "[noise][error]") {
  Parties parties;
  const auto kInvalidArgument = Status::Code::kInvalidArgument;
  SECTION("unsupported protocol names") {
    for (const char* name :
         {"Noise_IK_448_ChaChaPoly_BLAKE2b", "Noise_IK_25519_ChaChaPoly_BLAKE2s", "garbage"}) {
      auto hs = HandshakeState::Create(MakeConfig(name, true, parties));
      CHECK(hs.status().code() == kInvalidArgument);
    }
  }
  SECTION("the wrong number of PSKs") {
    CHECK(HandshakeState::Create(MakeConfig("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", true, parties))
              .status()
              .code() == kInvalidArgument);
    CHECK(HandshakeState::Create(
              MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties, {TestPsk(0)}))
              .status()
              .code() == kInvalidArgument);
    CHECK(HandshakeState::Create(MakeConfig("NoisePSK_NN_25519_ChaChaPoly_SHA256", true, parties))
              .status()
              .code() == kInvalidArgument);
  }
  SECTION("a missing static key or remote static key") {
    HandshakeConfig no_s = MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties);
    no_s.s.reset();
    CHECK(HandshakeState::Create(std::move(no_s)).status().code() == kInvalidArgument);
    HandshakeConfig no_rs = MakeConfig("Noise_IK_25519_ChaChaPoly_BLAKE2b", true, parties);
    no_rs.rs.reset();
    CHECK(HandshakeState::Create(std::move(no_rs)).status().code() == kInvalidArgument);
    // NN needs neither.
    HandshakeConfig nn = MakeConfig("Noise_NN_25519_ChaChaPoly_BLAKE2b", true, parties);
    nn.s.reset();
    nn.rs.reset();
    CHECK(HandshakeState::Create(std::move(nn)).ok());
  }
}

TEST_CASE("Legacy NoisePSK_ handshakes complete with one shared PSK and fail with another",
          "[noise][legacy]") {
  Parties parties;
  const std::string name = "NoisePSK_XX_25519_ChaChaPoly_SHA256";
  Handshake hs = Start(name, parties, {TestPsk(3)});
  Complete(hs);
  CheckTransport(hs);

  auto init = HandshakeState::Create(MakeConfig(name, true, parties, {TestPsk(3)}));
  auto resp = HandshakeState::Create(MakeConfig(name, false, parties, {TestPsk(4)}));
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  auto m1 = (*init)->WriteMessage(AsBytes("x"));
  REQUIRE(m1.ok());
  CHECK((*resp)->ReadMessage(*m1).status().code() == Status::Code::kAuthFailed);
}

}  // namespace confab::crypto::noise

namespace confab::crypto::noise {
namespace {

TEST_CASE("A precomputed static public key gives the same handshake as deriving it", "[noise]") {
  Parties parties;
  const std::string name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  HandshakeConfig init_config = MakeConfig(name, true, parties);
  HandshakeConfig resp_config = MakeConfig(name, false, parties);
  init_config.s_public = parties.initiator_static.public_key;
  resp_config.s_public = parties.responder_static.public_key;
  auto init = HandshakeState::Create(std::move(init_config));
  auto resp = HandshakeState::Create(std::move(resp_config));
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  CHECK((*init)->local_static_public() == parties.initiator_static.public_key);
  auto m1 = (*init)->WriteMessage(AsBytes("one"));
  REQUIRE(m1.ok());
  auto p1 = (*resp)->ReadMessage(*m1);
  REQUIRE(p1.ok());
  CHECK(*(*resp)->remote_static() == parties.initiator_static.public_key);
  auto m2 = (*resp)->WriteMessage(AsBytes("two"));
  REQUIRE(m2.ok());
  REQUIRE((*init)->ReadMessage(*m2).ok());
  auto h1 = (*init)->GetHandshakeHash();
  auto h2 = (*resp)->GetHandshakeHash();
  REQUIRE(h1.ok());
  REQUIRE(h2.ok());
  CHECK(*h1 == *h2);
}

}  // namespace
}  // namespace confab::crypto::noise
