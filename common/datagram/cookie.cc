#include "common/datagram/cookie.h"

#include <algorithm>
#include <string_view>

#include <sodium.h>

#include "common/crypto/sodium.h"
#include "common/datagram/little_endian.h"

namespace confab::datagram {
namespace {

SecretArray<32> KeyFor(std::string_view label, const crypto::noise::PublicKey& key) {
  (void)crypto::InitSodium();  // aborts in RandomBytes later if entropy is missing
  SecretArray<32> out;
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Mac MacOf(ByteView key, ByteView data) {
  Mac out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
  return out;
}

}  // namespace

CookieChecker::CookieChecker(const crypto::noise::PublicKey& our_static)
    : mac1_key_(KeyFor("mac1----", our_static)), cookie_key_(KeyFor("cookie--", our_static)) {}

Mac CookieChecker::CookieFor(ByteView source, uint64_t now_us) {
  if (!has_secret_ || now_us - secret_born_us_ >= kCookieRotateUs) {
    crypto::RandomBytes(secret_.span());
    secret_born_us_ = now_us;
    has_secret_ = true;
  }
  return MacOf(secret_.view(), source);
}

CookieChecker::Verdict CookieChecker::Check(ByteView message, ByteView source, bool under_load,
                                            uint64_t now_us) {
  if (message.size() < kMacsBytes)
    return Verdict::kBadMac1;
  const size_t mac1_at = message.size() - kMacsBytes;
  const Mac mac1 = MacOf(mac1_key_.view(), message.first(mac1_at));
  if (sodium_memcmp(mac1.data(), message.data() + mac1_at, kMacBytes) != 0)
    return Verdict::kBadMac1;
  if (!under_load)
    return Verdict::kValid;
  const Mac cookie = CookieFor(source, now_us);
  const size_t mac2_at = mac1_at + kMacBytes;
  const Mac mac2 = MacOf(ByteView(cookie.data(), cookie.size()), message.first(mac2_at));
  if (sodium_memcmp(mac2.data(), message.data() + mac2_at, kMacBytes) == 0)
    return Verdict::kValidCookie;
  return Verdict::kNeedCookie;
}

Bytes CookieChecker::MakeReply(uint32_t receiver_index, ByteView message, ByteView source,
                               uint64_t now_us) {
  Bytes reply(kCookieReplyBytes);
  reply[0] = kCookieReplyType;
  PutLe32(reply.data() + 1, receiver_index);
  uint8_t* nonce = reply.data() + 5;
  crypto::RandomBytes(std::span<uint8_t>(nonce, 24));
  const Mac cookie = CookieFor(source, now_us);
  const uint8_t* mac1 = message.data() + message.size() - kMacsBytes;
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reply.data() + 29, &written, cookie.data(),
                                             cookie.size(), mac1, kMacBytes, nullptr, nonce,
                                             cookie_key_.data());
  return reply;
}

CookieMaker::CookieMaker(const crypto::noise::PublicKey& their_static)
    : mac1_key_(KeyFor("mac1----", their_static)), cookie_key_(KeyFor("cookie--", their_static)) {}

bool CookieMaker::has_fresh_cookie(uint64_t now_us) const {
  // A little less than the responder's rotation, as WireGuard does, so we
  // never send a cookie the responder has just stopped accepting.
  return has_cookie_ && now_us - cookie_born_us_ < kCookieRotateUs - 10'000'000;
}

void CookieMaker::AddMacs(std::span<uint8_t> message, uint64_t now_us) {
  const size_t mac1_at = message.size() - kMacsBytes;
  last_mac1_ = MacOf(mac1_key_.view(), ByteView(message.data(), mac1_at));
  std::copy(last_mac1_.begin(), last_mac1_.end(), message.begin() + mac1_at);
  sent_any_ = true;
  const size_t mac2_at = mac1_at + kMacBytes;
  Mac mac2{};
  if (has_fresh_cookie(now_us))
    mac2 = MacOf(ByteView(cookie_.data(), cookie_.size()), ByteView(message.data(), mac2_at));
  std::copy(mac2.begin(), mac2.end(), message.begin() + mac2_at);
}

Status CookieMaker::OnCookieReply(ByteView reply, uint64_t now_us) {
  if (reply.size() != kCookieReplyBytes || reply[0] != kCookieReplyType)
    return Status::Corruption("malformed cookie reply");
  if (!sent_any_)
    return Status::AuthFailed("cookie reply without a message to answer");
  Mac cookie;
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          cookie.data(), &written, nullptr, reply.data() + 29, kMacBytes + 16, last_mac1_.data(),
          kMacBytes, reply.data() + 5, cookie_key_.data()) != 0)
    return Status::AuthFailed("cookie reply does not decrypt");
  cookie_ = cookie;
  cookie_born_us_ = now_us;
  has_cookie_ = true;
  return Status::Ok();
}

}  // namespace confab::datagram
