// Membership certificates: the org key's signature that binds a member's name
// to their Ed25519 identity key for a period of time.
//
// On the wire a certificate is a serialized proto::Certificate:
//   body      = a serialized proto::CertificateBody
//               {version, name, identity_key, org_key_id, serial, issued, expires}
//   signature = the org key's Ed25519 signature over `body` under
//               kCertificateSigningContext (see identity.h)
// The body bytes are kept verbatim and checked as received; they are parsed
// only after the signature verifies and are never re-serialized for checking,
// so two encodings of "the same" body can never both pass.
//
// Time is always passed in (seconds since the epoch); nothing here reads a
// clock. Thread safety: values only; const methods are safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/crypto/identity.h"

namespace confab::proto {
class Certificate;
}  // namespace confab::proto

namespace confab::crypto {

inline constexpr uint32_t kCertificateVersion = 1;
// Clocks on members' workstations disagree a little. A certificate is accepted
// from kClockSkewSeconds before `issued` until kClockSkewSeconds after
// `expires`, so a freshly issued certificate works at once on a peer whose
// clock is a few minutes behind the tracker's.
inline constexpr int64_t kClockSkewSeconds = 5 * 60;
// Names are the directory's business; here we only bound them.
inline constexpr size_t kMaxCertificateNameBytes = 64;
// Far above any real certificate (about 200 bytes); refused before parsing.
inline constexpr size_t kMaxCertificateBytes = 1024;

inline constexpr size_t kOrgKeyIdBytes = 16;
using OrgKeyId = std::array<uint8_t, kOrgKeyIdBytes>;

// The first 16 bytes of BLAKE2b-256("confab org key id v1" || 0x00 || key).
// It names the signing key in every certificate, so a key rotation can be
// told apart from a forgery in error messages.
OrgKeyId ComputeOrgKeyId(const Ed25519PublicKey& org_public_key);

// What VerifyCertificate returns: every field has been checked.
struct CheckedCertificate {
  std::string name;
  Ed25519PublicKey identity_key{};
  OrgKeyId org_key_id{};
  uint64_t serial = 0;
  int64_t issued_unix = 0;
  int64_t expires_unix = 0;
};

// The org's Ed25519 key pair, which issues certificates. Lives on the
// tracker (see key_file.h for storing it).
class OrgKey {
 public:
  explicit OrgKey(SigningKey key);

  const Ed25519PublicKey& public_key() const { return key_.public_key(); }
  const OrgKeyId& key_id() const { return key_id_; }
  const SigningKey& signing_key() const { return key_; }

  // A serialized proto::Certificate for `name` and `identity_key`, valid from
  // `issued_unix` for `lifetime_seconds`. InvalidArgument for an empty or
  // over-long name, a name with control characters, a lifetime <= 0 or one
  // that overflows.
  [[nodiscard]] Result<Bytes> Issue(std::string_view name, const Ed25519PublicKey& identity_key,
                                    uint64_t serial, int64_t issued_unix,
                                    int64_t lifetime_seconds) const;

 private:
  SigningKey key_;
  OrgKeyId key_id_;
};

// Checks a certificate as received and returns its fields, or:
//   Corruption         the bytes are not a Certificate (garbage, truncated,
//                      over kMaxCertificateBytes, signature not 64 bytes), or
//                      the signed body does not parse
//   AuthFailed         the signature does not verify under `org_public_key`;
//                      the body names another org key; or `expected_name`
//                      is given and differs from the certificate's name
//   InvalidArgument    a signed body with a field of the wrong size, an
//                      unknown version, or expires <= issued
//   FailedPrecondition "certificate expired ..." or "certificate not yet
//                      valid ..." (see kClockSkewSeconds); the certificate
//                      is genuine but must be renewed or waited for
// Order: the envelope (Corruption), then the signature (AuthFailed); nothing
// in the body is read before the signature verifies. Then the body's shape
// (Corruption, InvalidArgument), the org key id and name (AuthFailed), and
// last the validity period (FailedPrecondition), so an expired certificate
// is only reported as expired when it is otherwise genuine and expected.
[[nodiscard]] Result<CheckedCertificate> VerifyCertificate(
    ByteView certificate, const Ed25519PublicKey& org_public_key, int64_t now_unix,
    std::optional<std::string_view> expected_name = std::nullopt);
[[nodiscard]] Result<CheckedCertificate> VerifyCertificate(
    const proto::Certificate& certificate, const Ed25519PublicKey& org_public_key, int64_t now_unix,
    std::optional<std::string_view> expected_name = std::nullopt);

// Everything VerifyCertificate checks except the signature, for a
// certificate already known to be genuine: byte-identical to one the caller
// issued or verified before and kept (the tracker's directory holds each
// member's certificate). The Ed25519 verification is most of the cost of a
// check, and a busy tracker checks one per session. Never call it on bytes
// that came only from a peer.
[[nodiscard]] Result<CheckedCertificate> CheckKnownCertificate(
    const proto::Certificate& certificate, const Ed25519PublicKey& org_public_key, int64_t now_unix,
    std::optional<std::string_view> expected_name = std::nullopt);

// Checks that `certificate`'s identity key is the one behind a Noise static
// key (the session layer calls this with the remote static key the handshake
// returned). AuthFailed if they differ or the identity key has no X25519 form.
[[nodiscard]] Status CheckMatchesNoiseStatic(const CheckedCertificate& certificate,
                                             const X25519PublicKey& noise_static);

}  // namespace confab::crypto
