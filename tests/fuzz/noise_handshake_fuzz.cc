// Fuzzes HandshakeState::ReadMessage with arbitrary bytes as each handshake
// message a party reads.
//
// Input layout: byte 0 picks the scenario, the rest is the message:
//   0  IK responder reads message 1
//   1  IK initiator reads message 2 (after a genuine message 1)
//   2  XX responder reads message 1
//   3  XX initiator reads message 2 (after a genuine message 1)
//   4  XX responder reads message 3 (after genuine messages 1 and 2)
//   5  IKpsk2 initiator reads message 2 (after a genuine message 1)
// Keys and ephemerals are fixed, so every run is deterministic. Invariants
// checked on every input:
//  - nothing crashes, and an error is one of the documented codes;
//  - a failed ReadMessage leaves the handshake untouched: the genuine message
//    still reads afterwards and gives the genuine payload;
//  - a successful read is followed by a handshake that can carry on.
//
// The seeds in corpus/noise_handshake_fuzz/ are the genuine messages, made by
// building this file with -DNOISE_FUZZ_WRITE_SEEDS (see WriteSeeds below).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/noise.h"

namespace {

namespace noise = confab::crypto::noise;
using confab::Bytes;
using confab::ByteView;
using confab::Status;

#define FUZZ_CHECK(cond)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant failed: %s\n", #cond); \
      std::abort();                                          \
    }                                                        \
  } while (0)

constexpr int kScenarios = 6;

noise::PrivateKey FixedKey(uint8_t fill) {
  noise::PrivateKey key;
  for (size_t i = 0; i < key.size(); ++i)
    key.data()[i] = static_cast<uint8_t>(fill * 7 + i);
  return key;
}

struct Scenario {
  std::string protocol;
  int index;  // which message the fuzzer supplies (0-based)
};

Scenario ScenarioFor(int selector) {
  switch (selector) {
    case 0:
      return {"Noise_IK_25519_ChaChaPoly_BLAKE2b", 0};
    case 1:
      return {"Noise_IK_25519_ChaChaPoly_BLAKE2b", 1};
    case 2:
      return {"Noise_XX_25519_ChaChaPoly_BLAKE2b", 0};
    case 3:
      return {"Noise_XX_25519_ChaChaPoly_BLAKE2b", 1};
    case 4:
      return {"Noise_XX_25519_ChaChaPoly_BLAKE2b", 2};
    default:
      return {"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", 1};
  }
}

std::unique_ptr<noise::HandshakeState> Make(const std::string& protocol, bool initiator) {
  noise::HandshakeConfig config;
  config.protocol_name = protocol;
  config.initiator = initiator;
  config.prologue = {'f', 'u', 'z', 'z'};
  config.s = FixedKey(initiator ? 1 : 2);
  config.e = FixedKey(initiator ? 3 : 4);
  auto peer = noise::KeyPairFromPrivate(FixedKey(initiator ? 2 : 1).view());
  FUZZ_CHECK(peer.ok());
  config.rs = peer->public_key;
  if (protocol.find("psk") != std::string::npos)
    config.psks.push_back(FixedKey(5));
  auto hs = noise::HandshakeState::Create(std::move(config));
  FUZZ_CHECK(hs.ok());
  return std::move(*hs);
}

Bytes PayloadFor(int index) {
  return Bytes(static_cast<size_t>(index) + 3, static_cast<uint8_t>('a' + index));
}

// Runs messages 0..index-1 genuinely, then returns the genuine message
// `index` and leaves `reader` waiting to read it.
Bytes Prepare(const Scenario& s, std::unique_ptr<noise::HandshakeState>& init,
              std::unique_ptr<noise::HandshakeState>& resp) {
  init = Make(s.protocol, true);
  resp = Make(s.protocol, false);
  for (int i = 0;; ++i) {
    noise::HandshakeState& writer = i % 2 == 0 ? *init : *resp;
    noise::HandshakeState& reader = i % 2 == 0 ? *resp : *init;
    auto message = writer.WriteMessage(PayloadFor(i));
    FUZZ_CHECK(message.ok());
    if (i == s.index)
      return *message;
    FUZZ_CHECK(reader.ReadMessage(*message).ok());
  }
}

bool DocumentedError(const Status& status) {
  switch (status.code()) {
    case Status::Code::kAuthFailed:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const Scenario scenario = ScenarioFor(data[0] % kScenarios);
  const ByteView fuzzed(data + 1, size - 1);
  std::unique_ptr<noise::HandshakeState> init, resp;
  const Bytes genuine = Prepare(scenario, init, resp);
  noise::HandshakeState& reader = scenario.index % 2 == 0 ? *resp : *init;

  auto result = reader.ReadMessage(fuzzed);
  if (!result.ok()) {
    FUZZ_CHECK(DocumentedError(result.status()));
    FUZZ_CHECK(reader.phase() == noise::HandshakeState::Phase::kReading);
    auto again = reader.ReadMessage(genuine);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == PayloadFor(scenario.index));
    return 0;
  }
  // Accepted: the handshake must be able to go on from here (it may be a
  // different handshake than the genuine one, e.g. XX message 1 is unsigned).
  // The one way writing may then fail: the accepted "e" was a low-order
  // point, so our next DH with it is zero.
  if (reader.phase() == noise::HandshakeState::Phase::kWriting) {
    auto next = reader.WriteMessage(Bytes{1, 2, 3});
    FUZZ_CHECK(next.ok() || next.status().code() == Status::Code::kAuthFailed);
  } else
    FUZZ_CHECK(reader.phase() == noise::HandshakeState::Phase::kComplete);
  return 0;
}

#ifdef NOISE_FUZZ_WRITE_SEEDS
// Writes one seed per scenario (selector byte + the genuine message) into the
// directory named by argv[1].
int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  for (int selector = 0; selector < kScenarios; ++selector) {
    const Scenario scenario = ScenarioFor(selector);
    std::unique_ptr<noise::HandshakeState> init, resp;
    Bytes seed = Prepare(scenario, init, resp);
    seed.insert(seed.begin(), static_cast<uint8_t>(selector));
    const std::string path = std::string(argv[1]) + "/seed-" + std::to_string(selector);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr)
      return 1;
    std::fwrite(seed.data(), 1, seed.size(), f);
    std::fclose(f);
  }
  return 0;
}
#endif
