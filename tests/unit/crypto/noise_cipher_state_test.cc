// CipherState after the handshake: replay and reordering, nonce exhaustion,
// Rekey, flipped bytes and size limits.
#include <cstddef>

#include <catch2/catch.hpp>

#include "common/crypto/noise.h"

#include "tests/unit/crypto/noise_test_util.h"

namespace confab::crypto::noise {
namespace {

// A keyed pair: `send` on one side, `receive` on the other, as after Split.
struct Link {
  CipherState send;
  CipherState receive;
};

Link MakeLink(CipherKind cipher = CipherKind::kChaChaPoly) {
  testing::Parties parties;
  testing::Handshake hs = testing::Start("Noise_IK_25519_ChaChaPoly_BLAKE2b", parties);
  testing::Complete(hs);
  auto init = hs.initiator->Split();
  auto resp = hs.responder->Split();
  REQUIRE(init.ok());
  REQUIRE(resp.ok());
  if (cipher == CipherKind::kChaChaPoly)
    return {std::move(init->first), std::move(resp->first)};
  // Same keys, other cipher: rebuild both from a fixed key.
  CipherKey key = testing::TestPsk(9);
  Link link{CipherState(cipher), CipherState(cipher)};
  link.send.InitializeKey(key);
  link.receive.InitializeKey(key);
  return link;
}

Bytes Seal(CipherState& cs, std::string_view text) {
  auto sealed = cs.EncryptWithAd({}, AsBytes(text));
  REQUIRE(sealed.ok());
  return *sealed;
}

}  // namespace

TEST_CASE("CipherState without a key passes data through and does not count", "[noise]") {
  CipherState cs;
  CHECK_FALSE(cs.HasKey());
  auto out = cs.EncryptWithAd(AsBytes("ad"), AsBytes("plain"));
  REQUIRE(out.ok());
  CHECK(*out == ToBytes(AsBytes("plain")));
  CHECK(cs.nonce() == 0);
  CHECK(cs.Rekey().code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("Replayed and reordered transport messages are rejected", "[noise][error]") {
  Link link = MakeLink();
  const Bytes m0 = Seal(link.send, "zero");
  const Bytes m1 = Seal(link.send, "one");
  const Bytes m2 = Seal(link.send, "two");
  // Reordered: m1 before m0 fails and does not move the nonce.
  CHECK(link.receive.DecryptWithAd({}, m1).status().code() == Status::Code::kAuthFailed);
  CHECK(link.receive.nonce() == 0);
  CHECK(link.receive.DecryptWithAd({}, m0).ok());
  // Replayed: m0 again fails; the nonce only moves forward.
  CHECK(link.receive.DecryptWithAd({}, m0).status().code() == Status::Code::kAuthFailed);
  CHECK(link.receive.DecryptWithAd({}, m1).ok());
  CHECK(link.receive.DecryptWithAd({}, m1).status().code() == Status::Code::kAuthFailed);
  CHECK(link.receive.DecryptWithAd({}, m2).ok());
  CHECK(link.receive.nonce() == 3);
}

TEST_CASE("A flipped byte or wrong ad in a transport message fails and leaves the nonce",
          "[noise][error]") {
  for (CipherKind cipher : {CipherKind::kChaChaPoly, CipherKind::kAesGcm}) {
    if (!CheckCipherAvailable(cipher).ok())
      continue;
    Link link = MakeLink(cipher);
    const Bytes message = Seal(link.send, "a transport message");
    for (size_t i = 0; i < message.size(); ++i) {
      Bytes bad = message;
      bad[i] ^= 0x80;
      CHECK(link.receive.DecryptWithAd({}, bad).status().code() == Status::Code::kAuthFailed);
    }
    CHECK(link.receive.DecryptWithAd(AsBytes("other ad"), message).status().code() ==
          Status::Code::kAuthFailed);
    CHECK(link.receive.DecryptWithAd({}, ByteView(message).first(kTagLen - 1)).status().code() ==
          Status::Code::kAuthFailed);
    CHECK(link.receive.nonce() == 0);
    auto opened = link.receive.DecryptWithAd({}, message);
    REQUIRE(opened.ok());
    CHECK(*opened == ToBytes(AsBytes("a transport message")));
  }
}

TEST_CASE("Nonce 2^64-1 is reserved: encryption and decryption refuse it, never wrap",
          "[noise][error]") {
  Link link = MakeLink();
  link.send.SetNonce(kReservedNonce - 1);
  link.receive.SetNonce(kReservedNonce - 1);
  const Bytes last = Seal(link.send, "last");
  CHECK(link.receive.DecryptWithAd({}, last).ok());
  CHECK(link.send.nonce() == kReservedNonce);
  auto refused = link.send.EncryptWithAd({}, AsBytes("one too many"));
  CHECK(refused.status().code() == Status::Code::kResourceExhausted);
  CHECK(link.send.nonce() == kReservedNonce);
  CHECK(link.receive.DecryptWithAd({}, last).status().code() == Status::Code::kResourceExhausted);
}

TEST_CASE("Rekey on both sides keeps working and a side that did not rekey fails", "[noise]") {
  for (CipherKind cipher : {CipherKind::kChaChaPoly, CipherKind::kAesGcm}) {
    if (!CheckCipherAvailable(cipher).ok())
      continue;
    Link link = MakeLink(cipher);
    CHECK(link.receive.DecryptWithAd({}, Seal(link.send, "before")).ok());
    CipherState stale = link.receive;  // a copy that will miss the rekey
    REQUIRE(link.send.Rekey().ok());
    REQUIRE(link.receive.Rekey().ok());
    CHECK(link.send.nonce() == 1);  // Rekey leaves n alone
    const Bytes after = Seal(link.send, "after");
    auto opened = link.receive.DecryptWithAd({}, after);
    REQUIRE(opened.ok());
    CHECK(*opened == ToBytes(AsBytes("after")));
    CHECK(stale.DecryptWithAd({}, after).status().code() == Status::Code::kAuthFailed);
  }
}

TEST_CASE("Transport messages over 65535 bytes are refused", "[noise][error]") {
  Link link = MakeLink();
  CHECK(link.send.EncryptWithAd({}, Bytes(kMaxMessageBytes - kTagLen + 1)).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(link.send.nonce() == 0);
  auto largest = link.send.EncryptWithAd({}, Bytes(kMaxMessageBytes - kTagLen));
  REQUIRE(largest.ok());
  CHECK(largest->size() == kMaxMessageBytes);
  CHECK(link.receive.DecryptWithAd({}, *largest).ok());
  CHECK(link.receive.DecryptWithAd({}, Bytes(kMaxMessageBytes + 1)).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("The in-place variants match the allocating ones", "[noise]") {
  Link a = MakeLink();
  CipherState a_send_copy = a.send;
  Bytes buffer = ToBytes(AsBytes("in place please"));
  const size_t plain_len = buffer.size();
  buffer.resize(plain_len + kTagLen);
  // Plaintext at the front of the buffer, ciphertext over the whole of it.
  Bytes copy(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(plain_len));
  REQUIRE(a.send.EncryptWithAdInto({}, copy, buffer).ok());
  CHECK(buffer == Seal(a_send_copy, "in place please"));
  Bytes plain(plain_len);
  REQUIRE(a.receive.DecryptWithAdInto({}, buffer, plain).ok());
  CHECK(plain == ToBytes(AsBytes("in place please")));
  Bytes wrong_size(3);
  CHECK(a.receive.DecryptWithAdInto({}, buffer, wrong_size).code() ==
        Status::Code::kInvalidArgument);
}

}  // namespace confab::crypto::noise
