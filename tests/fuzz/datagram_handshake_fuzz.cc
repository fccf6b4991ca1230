// Fuzzes everything a stranger's datagram reaches before any session key is
// involved, and the data-packet opener: HandshakeResponder::OnInitiation
// (with and without load), HandshakeInitiator::OnResponse and OnCookieReply,
// PacketProtector::Open. Byte 0 picks the entry point; the rest is the
// datagram. Invariants: no crash or out-of-bounds access (ASan), and a
// forged input never completes a handshake or opens a packet: the keys are
// fixed, so only inputs made with them could, and the fuzzer cannot make
// those without breaking BLAKE2b or Poly1305.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/datagram/handshake.h"
#include "common/datagram/packet_protector.h"

namespace {

using confab::Bytes;
using confab::ByteView;
using namespace confab::datagram;
using confab::crypto::noise::KeyPair;
using confab::crypto::noise::KeyPairFromPrivate;

#define FUZZ_CHECK(cond)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant failed: %s\n", #cond); \
      std::abort();                                          \
    }                                                        \
  } while (0)

KeyPair Fixed(uint8_t fill) {
  uint8_t priv[32];
  for (auto& b : priv)
    b = fill;
  return *KeyPairFromPrivate(ByteView(priv, sizeof(priv)));
}

struct World {
  KeyPair alice = Fixed(1);
  KeyPair bob = Fixed(2);
  HandshakeResponder responder{bob};
  std::unique_ptr<HandshakeInitiator> initiator =
      std::move(*HandshakeInitiator::Create(alice, bob.public_key, {}));
  Bytes initiation = *initiator->MakeInitiation(7, 1, 0);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  static World* world = new World();
  const ByteView input(data + 1, size - 1);
  const Bytes source = {10, 0, 0, 1, 0, 1};
  switch (data[0] % 5) {
    case 0:
    case 1: {
      auto outcome = world->responder.OnInitiation(input, source, data[0] % 5 == 1, 0);
      FUZZ_CHECK(!outcome.ok() || !outcome->pending);  // never accepted: forged
      break;
    }
    case 2:
      FUZZ_CHECK(!world->initiator->OnResponse(input, 0).ok());
      break;
    case 3:
      (void)world->initiator->OnCookieReply(input, 0);  // may not crash
      break;
    case 4: {
      auto pair_keys = [] {
        confab::crypto::noise::CipherKey k;
        confab::crypto::noise::CipherState s;
        s.InitializeKey(k);
        return s;
      };
      PacketProtector p(pair_keys(), pair_keys(), 1, 2, 0);
      Bytes copy(input.begin(), input.end());
      FUZZ_CHECK(!p.Open(copy).ok());
      break;
    }
  }
  return 0;
}
