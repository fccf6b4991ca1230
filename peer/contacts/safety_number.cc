#include "peer/contacts/safety_number.h"

#include <algorithm>
#include <array>
#include <string_view>

#include <sodium.h>

#include "common/crypto/sodium.h"

namespace confab::peer {
namespace {

constexpr std::string_view kLabel = "confab safety number v1";
constexpr size_t kDigestBytes = 64;
constexpr size_t kGroupBytes = 5;
static_assert(kSafetyNumberGroups * kGroupBytes <= kDigestBytes);

}  // namespace

Result<std::string> SafetyNumber(ByteView my_key, ByteView their_key) {
  if (my_key.size() != 32 || their_key.size() != 32)
    return Status::InvalidArgument("a safety number needs two 32-byte identity keys");
  CONFAB_RETURN_IF_ERROR(crypto::InitSodium());
  ByteView lo = my_key;
  ByteView hi = their_key;
  if (std::lexicographical_compare(hi.begin(), hi.end(), lo.begin(), lo.end()))
    std::swap(lo, hi);

  crypto_generichash_state state;
  std::array<uint8_t, kDigestBytes> digest{};
  const uint8_t separator = 0;
  crypto_generichash_init(&state, nullptr, 0, digest.size());
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(kLabel.data()), kLabel.size());
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, lo.data(), lo.size());
  crypto_generichash_update(&state, hi.data(), hi.size());
  crypto_generichash_final(&state, digest.data(), digest.size());

  std::string out;
  for (size_t g = 0; g < kSafetyNumberGroups; ++g) {
    uint64_t v = 0;
    for (size_t i = 0; i < kGroupBytes; ++i)
      v = (v << 8) | digest[g * kGroupBytes + i];
    std::string group = std::to_string(v % 100000);
    if (g > 0)
      out.push_back(' ');
    out.append(kSafetyNumberGroupDigits - group.size(), '0');
    out += group;
  }
  return out;
}

}  // namespace confab::peer
