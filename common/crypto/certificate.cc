#include "common/crypto/certificate.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <sodium.h>

#include "common/base/check.h"
#include "common/crypto/sodium.h"
#include "proto/identity.pb.h"

namespace confab::crypto {
namespace {

constexpr std::string_view kOrgKeyIdContext = "confab org key id v1";

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum))
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return sum;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF),
// which is what proto3 demands of a string field.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (extra > s.size() - i - 1)  // truncated sequence
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

Status CheckName(std::string_view name) {
  if (name.empty())
    return Status::InvalidArgument("certificate name is empty");
  if (name.size() > kMaxCertificateNameBytes)
    return Status::InvalidArgument("certificate name is longer than " +
                                   std::to_string(kMaxCertificateNameBytes) + " bytes");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return Status::InvalidArgument("certificate name has a control character");
  }
  if (!IsValidUtf8(name))
    return Status::InvalidArgument("certificate name is not valid UTF-8");
  return Status::Ok();
}

}  // namespace

OrgKeyId ComputeOrgKeyId(const Ed25519PublicKey& org_public_key) {
  CONFAB_CHECK(InitSodium().ok());
  Bytes input(kOrgKeyIdContext.begin(), kOrgKeyIdContext.end());
  input.push_back(0);
  input.insert(input.end(), org_public_key.begin(), org_public_key.end());
  std::array<uint8_t, crypto_generichash_BYTES> digest{};
  CONFAB_CHECK(crypto_generichash(digest.data(), digest.size(), input.data(), input.size(), nullptr,
                                  0) == 0);
  OrgKeyId id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  return id;
}

OrgKey::OrgKey(SigningKey key)
    : key_(std::move(key)), key_id_(ComputeOrgKeyId(key_.public_key())) {}

Result<Bytes> OrgKey::Issue(std::string_view name, const Ed25519PublicKey& identity_key,
                            uint64_t serial, int64_t issued_unix, int64_t lifetime_seconds) const {
  CONFAB_RETURN_IF_ERROR(CheckName(name));
  if (lifetime_seconds <= 0)
    return Status::InvalidArgument("certificate lifetime must be positive");
  int64_t expires_unix = 0;
  if (__builtin_add_overflow(issued_unix, lifetime_seconds, &expires_unix))
    return Status::InvalidArgument("certificate expiry overflows");

  proto::CertificateBody body;
  body.set_version(kCertificateVersion);
  body.set_name(std::string(name));
  body.set_identity_key(identity_key.data(), identity_key.size());
  body.set_org_key_id(key_id_.data(), key_id_.size());
  body.set_serial(serial);
  body.set_issued_unix(issued_unix);
  body.set_expires_unix(expires_unix);
  std::string body_bytes;
  if (!body.SerializeToString(&body_bytes))
    return Status::InvalidArgument("certificate body does not serialize");

  Ed25519Signature signature = key_.Sign(kCertificateSigningContext, AsBytes(body_bytes));
  proto::Certificate cert;
  cert.set_body(std::move(body_bytes));
  cert.set_signature(signature.data(), signature.size());
  Bytes out(cert.ByteSizeLong());
  if (!cert.SerializeToArray(out.data(), static_cast<int>(out.size())))
    return Status::InvalidArgument("certificate does not serialize");
  return out;
}

Result<CheckedCertificate> VerifyCertificate(ByteView certificate,
                                             const Ed25519PublicKey& org_public_key,
                                             int64_t now_unix,
                                             std::optional<std::string_view> expected_name) {
  if (certificate.size() > kMaxCertificateBytes)
    return Status::Corruption("certificate of " + std::to_string(certificate.size()) +
                              " bytes is over the limit");
  proto::Certificate cert;
  if (!cert.ParseFromArray(certificate.data(), static_cast<int>(certificate.size())))
    return Status::Corruption("certificate does not parse");
  return VerifyCertificate(cert, org_public_key, now_unix, expected_name);
}

Result<CheckedCertificate> VerifyCertificate(const proto::Certificate& certificate,
                                             const Ed25519PublicKey& org_public_key,
                                             int64_t now_unix,
                                             std::optional<std::string_view> expected_name) {
  const std::string& body_bytes = certificate.body();
  if (body_bytes.size() > kMaxCertificateBytes)
    return Status::Corruption("certificate body is over the limit");
  if (certificate.signature().size() != kEd25519SignatureBytes)
    return Status::Corruption("certificate signature is " +
                              std::to_string(certificate.signature().size()) + " bytes, not 64");
  // The signature covers the body bytes exactly as received.
  if (!Verify(org_public_key, kCertificateSigningContext, AsBytes(body_bytes),
              AsBytes(certificate.signature()))
           .ok()) {
    return Status::AuthFailed("certificate signature does not verify under the org key");
  }
  return CheckKnownCertificate(certificate, org_public_key, now_unix, expected_name);
}

Result<CheckedCertificate> CheckKnownCertificate(const proto::Certificate& certificate,
                                                 const Ed25519PublicKey& org_public_key,
                                                 int64_t now_unix,
                                                 std::optional<std::string_view> expected_name) {
  const std::string& body_bytes = certificate.body();
  if (body_bytes.size() > kMaxCertificateBytes)
    return Status::Corruption("certificate body is over the limit");
  proto::CertificateBody body;
  if (!body.ParseFromString(body_bytes))
    return Status::Corruption("signed certificate body does not parse");
  if (body.version() != kCertificateVersion)
    return Status::InvalidArgument("certificate version " + std::to_string(body.version()) +
                                   " is not supported");
  if (body.identity_key().size() != kEd25519PublicKeyBytes)
    return Status::InvalidArgument("certificate identity key is " +
                                   std::to_string(body.identity_key().size()) + " bytes, not 32");
  if (body.org_key_id().size() != kOrgKeyIdBytes)
    return Status::InvalidArgument("certificate org key id is " +
                                   std::to_string(body.org_key_id().size()) + " bytes, not 16");
  CONFAB_RETURN_IF_ERROR(CheckName(body.name()));
  if (body.expires_unix() <= body.issued_unix())
    return Status::InvalidArgument("certificate expires before it is issued");

  CheckedCertificate out;
  std::copy(body.org_key_id().begin(), body.org_key_id().end(), out.org_key_id.begin());
  if (out.org_key_id != ComputeOrgKeyId(org_public_key))
    return Status::AuthFailed("certificate names a different org key");
  if (expected_name && *expected_name != body.name())
    return Status::AuthFailed("certificate is for '" + body.name() + "', expected '" +
                              std::string(*expected_name) + "'");
  if (now_unix < SaturatingAdd(body.issued_unix(), -kClockSkewSeconds))
    return Status::FailedPrecondition("certificate not yet valid: issued at " +
                                      std::to_string(body.issued_unix()) + ", now is " +
                                      std::to_string(now_unix));
  if (now_unix >= SaturatingAdd(body.expires_unix(), kClockSkewSeconds))
    return Status::FailedPrecondition("certificate expired at " +
                                      std::to_string(body.expires_unix()) + ", now is " +
                                      std::to_string(now_unix));

  out.name = body.name();
  std::copy(body.identity_key().begin(), body.identity_key().end(), out.identity_key.begin());
  out.serial = body.serial();
  out.issued_unix = body.issued_unix();
  out.expires_unix = body.expires_unix();
  return out;
}

Status CheckMatchesNoiseStatic(const CheckedCertificate& certificate,
                               const X25519PublicKey& noise_static) {
  Result<X25519PublicKey> derived = X25519FromEd25519(certificate.identity_key);
  if (!derived.ok())
    return Status::AuthFailed("certificate identity key has no X25519 form");
  if (!ConstantTimeEqual(*derived, noise_static))
    return Status::AuthFailed("certificate identity key does not match the Noise static key");
  return Status::Ok();
}

}  // namespace confab::crypto
