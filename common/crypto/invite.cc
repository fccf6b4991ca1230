#include "common/crypto/invite.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <sodium.h>

#include "common/crypto/sodium.h"
#include "proto/invite.pb.h"

namespace confab::crypto {
namespace {

constexpr uint32_t kInviteVersion = 1;
constexpr size_t kChecksumBytes = 4;
constexpr size_t kMaxCodeBytes = 2048;  // real codes are about 180 characters

// BLAKE2b-256(len(context) || context || data), truncated by the caller.
std::array<uint8_t, 32> Digest(std::string_view context, ByteView data) {
  std::array<uint8_t, 32> out{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, out.size());
  const uint8_t length = static_cast<uint8_t>(context.size());
  crypto_generichash_update(&state, &length, 1);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(context.data()),
                            context.size());
  crypto_generichash_update(&state, data.data(), data.size());
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

}  // namespace

SecretArray<kInviteSecretBytes> NewInviteSecret() {
  SecretArray<kInviteSecretBytes> secret;
  RandomBytes(secret.span());
  return secret;
}

std::string EncodeInvite(const Invite& invite) {
  proto::InviteCode code;
  code.set_version(kInviteVersion);
  code.set_tracker_address(invite.tracker_address);
  code.set_tracker_static_key(invite.tracker_static_key.data(), invite.tracker_static_key.size());
  code.set_secret(invite.secret.data(), invite.secret.size());
  code.set_name(invite.name);
  code.set_org(invite.org);
  code.set_expires_unix(invite.expires_unix);
  std::string body = code.SerializeAsString();
  auto checksum = Digest("confab invite checksum v1", AsBytes(body));
  body.append(reinterpret_cast<const char*>(checksum.data()), kChecksumBytes);

  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string text(sodium_base64_encoded_len(body.size(), variant), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const uint8_t*>(body.data()),
                    body.size(), variant);
  text.resize(std::strlen(text.c_str()));
  SecureWipe(body.data(), body.size());
  return std::string(kInviteCodePrefix) + text;
}

Result<Invite> DecodeInvite(std::string_view code) {
  std::string compact;
  for (char c : code) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      compact.push_back(c);
  }
  if (compact.size() > kMaxCodeBytes || !compact.starts_with(kInviteCodePrefix)) {
    return Status::InvalidArgument("not a confab invite code (it should start with \"" +
                                   std::string(kInviteCodePrefix) + "\")");
  }
  std::string_view text = std::string_view(compact).substr(kInviteCodePrefix.size());
  const Status damaged =
      Status::InvalidArgument("the invite code is damaged or incomplete; copy it again");

  if (text.empty()) return damaged;
  Bytes raw(text.size());
  size_t raw_size = 0;
  if (sodium_base642bin(raw.data(), raw.size(), text.data(), text.size(), nullptr, &raw_size,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_size <= kChecksumBytes) {
    return damaged;
  }
  ByteView body(raw.data(), raw_size - kChecksumBytes);
  auto checksum = Digest("confab invite checksum v1", body);
  if (sodium_memcmp(checksum.data(), raw.data() + body.size(), kChecksumBytes) != 0) {
    return damaged;
  }
  proto::InviteCode parsed;
  if (!parsed.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return damaged;
  SecureWipe(raw.data(), raw.size());
  if (parsed.version() != kInviteVersion) {
    return Status::InvalidArgument("this invite code is for another version of confab");
  }
  if (parsed.tracker_static_key().size() != kX25519KeyBytes ||
      parsed.secret().size() != kInviteSecretBytes || parsed.tracker_address().empty()) {
    return damaged;
  }
  Invite invite;
  invite.tracker_address = parsed.tracker_address();
  std::memcpy(invite.tracker_static_key.data(), parsed.tracker_static_key().data(),
              kX25519KeyBytes);
  std::memcpy(invite.secret.data(), parsed.secret().data(), kInviteSecretBytes);
  invite.name = parsed.name();
  invite.org = parsed.org();
  invite.expires_unix = parsed.expires_unix();
  SecureWipe(parsed.mutable_secret()->data(), parsed.secret().size());
  return invite;
}

InviteSecretHash HashInviteSecret(ByteView secret) {
  return Digest("confab invite secret hash v1", secret);
}

SecretArray<32> DeriveJoinPsk(ByteView secret) {
  auto digest = Digest("confab join psk v1", secret);
  SecretArray<32> psk;
  std::memcpy(psk.data(), digest.data(), digest.size());
  SecureWipe(digest.data(), digest.size());
  return psk;
}

}  // namespace confab::crypto
