// HMAC/HKDF known answers, nonce encodings, DH and protocol-name parsing.
#include "common/crypto/noise_primitives.h"

#include <string>

#include <catch2/catch.hpp>
#include <sodium.h>

#include "common/base/bytes.h"
#include "common/crypto/noise_patterns.h"
#include "common/crypto/sodium.h"

namespace confab::crypto::noise {
namespace {

std::string Hex(ByteView bytes) {
  return ToHex(bytes);
}

std::string HmacHex(HashKind kind, ByteView key, std::string_view data) {
  return Hex(Hmac(kind, key, {AsBytes(data)}).view());
}

}  // namespace

TEST_CASE("HMAC matches RFC 4231 test cases 1 and 2 for SHA256 and SHA512", "[noise][kat]") {
  const Bytes key1(20, 0x0b);
  CHECK(HmacHex(HashKind::kSha256, key1, "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(HmacHex(HashKind::kSha512, key1, "Hi There") ==
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  CHECK(HmacHex(HashKind::kSha256, AsBytes("Jefe"), "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(HmacHex(HashKind::kSha512, AsBytes("Jefe"), "what do ya want for nothing?") ==
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

TEST_CASE("HMAC hashes a key longer than the block first, as RFC 2104 says", "[noise][kat]") {
  for (HashKind kind : {HashKind::kSha256, HashKind::kSha512, HashKind::kBlake2b}) {
    const Bytes long_key(BlockLen(kind) + 3, 0xaa);
    const Digest hashed_key = Hash(kind, {long_key});
    CHECK(HmacHex(kind, long_key, "data") == HmacHex(kind, hashed_key.view(), "data"));
    // A key of exactly one block is used as is, so it differs from its hash.
    const Bytes block_key(BlockLen(kind), 0xaa);
    CHECK(HmacHex(kind, block_key, "data") !=
          HmacHex(kind, Hash(kind, {block_key}).view(), "data"));
  }
}

TEST_CASE("BLAKE2b is the 64-byte unkeyed crypto_generichash", "[noise][kat]") {
  uint8_t expected[64];
  crypto_generichash(expected, sizeof expected, reinterpret_cast<const uint8_t*>("abc"), 3, nullptr,
                     0);
  const Digest digest = Hash(HashKind::kBlake2b, {AsBytes("a"), AsBytes("bc")});
  CHECK(digest.size() == 64);
  CHECK(Hex(digest.view()) == Hex(ByteView(expected, 64)));
}

TEST_CASE("HKDF chains HMAC outputs exactly as Noise section 4.3 defines", "[noise][kat]") {
  for (HashKind kind : {HashKind::kSha256, HashKind::kSha512, HashKind::kBlake2b}) {
    const Bytes ck(HashLen(kind), 0x11);
    const Bytes ikm = {1, 2, 3, 4, 5};
    const auto out = Hkdf(kind, ck, ikm, 3);
    const Digest temp = Hmac(kind, ck, {ikm});
    const uint8_t one = 1, two = 2, three = 3;
    const Digest o1 = Hmac(kind, temp.view(), {ByteView(&one, 1)});
    const Digest o2 = Hmac(kind, temp.view(), {o1.view(), ByteView(&two, 1)});
    const Digest o3 = Hmac(kind, temp.view(), {o2.view(), ByteView(&three, 1)});
    CHECK(Hex(out[0].view()) == Hex(o1.view()));
    CHECK(Hex(out[1].view()) == Hex(o2.view()));
    CHECK(Hex(out[2].view()) == Hex(o3.view()));
    CHECK(Hkdf(kind, ck, ikm, 2)[2].size() == 0);
  }
}

TEST_CASE("ChaChaPoly puts the nonce little-endian and AESGCM big-endian after 4 zero bytes",
          "[noise][kat]") {
  REQUIRE(InitSodium().ok());
  CipherKey key;
  for (size_t i = 0; i < key.size(); ++i)
    key.data()[i] = static_cast<uint8_t>(i);
  const Bytes plaintext = {'h', 'i'};
  const Bytes ad = {'a', 'd'};
  const uint64_t n = 0x0102030405060708;
  Bytes ours(plaintext.size() + kTagLen), raw(plaintext.size() + kTagLen);

  const uint8_t le_nonce[12] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  REQUIRE(EncryptInto(CipherKind::kChaChaPoly, key, n, ad, plaintext, ours).ok());
  crypto_aead_chacha20poly1305_ietf_encrypt(raw.data(), nullptr, plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr, le_nonce, key.data());
  CHECK(ours == raw);

  if (crypto_aead_aes256gcm_is_available()) {
    const uint8_t be_nonce[12] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    REQUIRE(EncryptInto(CipherKind::kAesGcm, key, n, ad, plaintext, ours).ok());
    crypto_aead_aes256gcm_encrypt(raw.data(), nullptr, plaintext.data(), plaintext.size(),
                                  ad.data(), ad.size(), nullptr, be_nonce, key.data());
    CHECK(ours == raw);
  }
}

TEST_CASE("DecryptInto rejects a bad tag and a too-short ciphertext with AuthFailed",
          "[noise][error]") {
  CipherKey key;
  Bytes ciphertext(5 + kTagLen);
  REQUIRE(EncryptInto(CipherKind::kChaChaPoly, key, 0, {}, Bytes(5, 7), ciphertext).ok());
  Bytes plaintext(5);
  CHECK(DecryptInto(CipherKind::kChaChaPoly, key, 0, {}, ciphertext, plaintext).ok());
  ciphertext[2] ^= 1;
  CHECK(DecryptInto(CipherKind::kChaChaPoly, key, 0, {}, ciphertext, plaintext).code() ==
        Status::Code::kAuthFailed);
  Bytes empty;
  CHECK(DecryptInto(CipherKind::kChaChaPoly, key, 0, {}, Bytes(15), empty).code() ==
        Status::Code::kAuthFailed);
}

TEST_CASE("DH with a low-order public key gives AuthFailed, not a zero key", "[noise][error]") {
  const KeyPair pair = GenerateKeyPair();
  PublicKey zero{};
  CHECK(Dh(pair.private_key, zero).status().code() == Status::Code::kAuthFailed);
  const KeyPair other = GenerateKeyPair();
  auto ab = Dh(pair.private_key, other.public_key);
  auto ba = Dh(other.private_key, pair.public_key);
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(Hex(ab->view()) == Hex(ba->view()));
  CHECK(KeyPairFromPrivate(Bytes(31)).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Pattern table entries match the spec notation", "[noise][pattern]") {
  auto ik = LookUpPattern("IK", "");
  REQUIRE(ik.ok());
  CHECK(ik->initiator_pre_message.empty());
  CHECK(ik->responder_pre_message == std::vector<Token>{Token::kS});
  REQUIRE(ik->messages.size() == 2);
  CHECK(ik->messages[0] == std::vector<Token>{Token::kE, Token::kEs, Token::kS, Token::kSs});
  CHECK(ik->messages[1] == std::vector<Token>{Token::kE, Token::kEe, Token::kSe});
  CHECK_FALSE(ik->one_way);

  auto k = LookUpPattern("K", "");
  REQUIRE(k.ok());
  CHECK(k->one_way);
  CHECK(k->initiator_pre_message == std::vector<Token>{Token::kS});
  CHECK(k->responder_pre_message == std::vector<Token>{Token::kS});
}

TEST_CASE("psk modifiers put psk first in message 1 for psk0 and last in message N otherwise",
          "[noise][pattern]") {
  auto nn = LookUpPattern("NN", "psk0+psk2");
  REQUIRE(nn.ok());
  CHECK(nn->name == "NNpsk0+psk2");
  CHECK(nn->psk_count == 2);
  CHECK(nn->messages[0] == std::vector<Token>{Token::kPsk, Token::kE});
  CHECK(nn->messages[1] == std::vector<Token>{Token::kE, Token::kEe, Token::kPsk});

  auto ikpsk2 = LookUpPattern("IK", "psk2");
  REQUIRE(ikpsk2.ok());
  CHECK(ikpsk2->messages[1] == std::vector<Token>{Token::kE, Token::kEe, Token::kSe, Token::kPsk});

  auto xxpsk3 = LookUpPattern("XX", "psk3");
  REQUIRE(xxpsk3.ok());
  CHECK(xxpsk3->messages[2] == std::vector<Token>{Token::kS, Token::kSe, Token::kPsk});

  CHECK(LookUpPattern("NN", "psk3").status().code() == Status::Code::kInvalidArgument);
  CHECK(LookUpPattern("NN", "psk0+psk0").status().code() == Status::Code::kInvalidArgument);
  CHECK(LookUpPattern("NN", "fallback").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Protocol names parse into their pieces", "[noise][pattern]") {
  auto p = ParseProtocolName("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b");
  REQUIRE(p.ok());
  CHECK(p->pattern.name == "IKpsk2");
  CHECK(p->cipher == CipherKind::kChaChaPoly);
  CHECK(p->hash == HashKind::kBlake2b);
  CHECK_FALSE(p->legacy_psk);
  CHECK(p->uses_psk());

  auto legacy = ParseProtocolName("NoisePSK_NN_25519_ChaChaPoly_SHA256");
  REQUIRE(legacy.ok());
  CHECK(legacy->legacy_psk);
  CHECK(legacy->pattern.psk_count == 0);
  CHECK(legacy->hash == HashKind::kSha256);
}

TEST_CASE("Unsupported protocol names say \"unsupported\" so callers can skip them",
          "[noise][error]") {
  for (const char* name : {
           "Noise_NN_448_ChaChaPoly_SHA256",
           "Noise_NN_25519_ChaChaPoly_BLAKE2s",
           "Noise_NN_25519_AES256_SHA256",
           "Noise_XXfallback_25519_ChaChaPoly_SHA256",
           "Noise_X1X1_25519_ChaChaPoly_SHA256",
           "Noise_NNpsk9_25519_ChaChaPoly_SHA256",
           "NoisePSK_NNpsk0_25519_ChaChaPoly_SHA256",
       }) {
    INFO(name);
    auto p = ParseProtocolName(name);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == Status::Code::kInvalidArgument);
    CHECK(p.status().message().find("unsupported") != std::string_view::npos);
  }
  for (const char* name :
       {"", "Noise", "Noise_NN_25519_ChaChaPoly", "Nois_NN_25519_ChaChaPoly_SHA256",
        "Noise_NN_25519_ChaChaPoly_SHA256_extra"}) {
    INFO(name);
    auto p = ParseProtocolName(name);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == Status::Code::kInvalidArgument);
    CHECK(p.status().message().find("malformed") != std::string_view::npos);
  }
}

}  // namespace confab::crypto::noise
