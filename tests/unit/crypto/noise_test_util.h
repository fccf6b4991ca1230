// Helpers shared by the Noise unit tests: configs for two parties and a
// driver that runs a handshake to completion in memory.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/noise.h"

namespace confab::crypto::noise::testing {

inline SecretArray<32> TestPsk(uint8_t fill) {
  SecretArray<32> psk;
  for (size_t i = 0; i < psk.size(); ++i)
    psk.data()[i] = static_cast<uint8_t>(fill + i);
  return psk;
}

// Both sides' static keys, fixed per test run.
struct Parties {
  KeyPair initiator_static = GenerateKeyPair();
  KeyPair responder_static = GenerateKeyPair();
};

// A config for `name` with every key a pattern might need filled in.
inline HandshakeConfig MakeConfig(const std::string& name, bool initiator, const Parties& parties,
                                  std::vector<SecretArray<32>> psks = {}) {
  HandshakeConfig config;
  config.protocol_name = name;
  config.initiator = initiator;
  config.prologue = {'c', 'o', 'n', 'f', 'a', 'b'};
  const KeyPair& mine = initiator ? parties.initiator_static : parties.responder_static;
  const KeyPair& theirs = initiator ? parties.responder_static : parties.initiator_static;
  config.s = mine.private_key;
  config.rs = theirs.public_key;
  config.psks = std::move(psks);
  return config;
}

struct Handshake {
  std::unique_ptr<HandshakeState> initiator;
  std::unique_ptr<HandshakeState> responder;
};

inline Handshake Start(const std::string& name, const Parties& parties,
                       std::vector<SecretArray<32>> psks = {}) {
  std::vector<SecretArray<32>> psks_copy = psks;
  auto init = HandshakeState::Create(MakeConfig(name, true, parties, std::move(psks_copy)));
  auto resp = HandshakeState::Create(MakeConfig(name, false, parties, std::move(psks)));
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  return {std::move(*init), std::move(*resp)};
}

// Runs the handshake to completion, sending `payload` in every message and
// checking it arrives. Returns the number of messages.
inline int Complete(Handshake& hs, const Bytes& payload = {'h', 'i'}) {
  int messages = 0;
  while (hs.initiator->phase() != HandshakeState::Phase::kComplete ||
         hs.responder->phase() != HandshakeState::Phase::kComplete) {
    const bool from_initiator = hs.initiator->phase() == HandshakeState::Phase::kWriting;
    HandshakeState& sender = from_initiator ? *hs.initiator : *hs.responder;
    HandshakeState& receiver = from_initiator ? *hs.responder : *hs.initiator;
    auto message = sender.WriteMessage(payload);
    REQUIRE(message.ok());
    auto received = receiver.ReadMessage(*message);
    REQUIRE(received.ok());
    CHECK(*received == payload);
    ++messages;
    REQUIRE(messages < 10);
  }
  return messages;
}

}  // namespace confab::crypto::noise::testing
