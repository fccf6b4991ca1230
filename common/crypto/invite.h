// Invite codes: how a new member's workstation learns, in one copy-and-paste,
// which tracker to trust and a one-time secret that proves the invitation.
//
// A code is "confab1-" followed by unpadded base64url of
//   serialized proto::InviteCode || first 4 bytes of BLAKE2b(context || that)
// The checksum turns a mistyped or truncated code into a clear "damaged"
// error instead of a confusing handshake failure later.
//
// The tracker stores only HashInviteSecret(secret). During the join
// handshake (Noise IKpsk2 to the tracker's static key) the workstation sends
// the secret inside message 1, which is encrypted to the tracker's static
// key; both sides then bind DeriveJoinPsk(secret) into the handshake as the
// psk, so a join completes only with the tracker that the code names and only
// with a party that holds the secret.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/identity.h"

namespace confab::crypto {

inline constexpr size_t kInviteSecretBytes = 32;
inline constexpr std::string_view kInviteCodePrefix = "confab1-";

using InviteSecretHash = std::array<uint8_t, 32>;

struct Invite {
  std::string tracker_address;  // host:port
  X25519PublicKey tracker_static_key{};
  SecretArray<kInviteSecretBytes> secret;
  std::string name;
  std::string org;
  int64_t expires_unix = 0;
};

// A fresh invite secret from the system's CSPRNG.
SecretArray<kInviteSecretBytes> NewInviteSecret();

// The text people copy. Never fails for a well-formed Invite.
std::string EncodeInvite(const Invite& invite);

// Parses a code, ignoring surrounding and embedded whitespace (codes get
// wrapped in e-mails). InvalidArgument with a message a person can act on
// ("not a confab invite code", "the invite code is damaged or incomplete").
[[nodiscard]] Result<Invite> DecodeInvite(std::string_view code);

// What the tracker stores and looks invites up by.
InviteSecretHash HashInviteSecret(ByteView secret);

// The 32-byte Noise psk for the join handshake.
SecretArray<32> DeriveJoinPsk(ByteView secret);

}  // namespace confab::crypto
