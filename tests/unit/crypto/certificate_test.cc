#include "common/crypto/certificate.h"

#include <string>

#include <catch2/catch.hpp>

#include "common/base/bytes.h"
#include "common/crypto/identity.h"
#include "proto/identity.pb.h"

namespace confab::crypto {
namespace {

constexpr int64_t kIssued = 1'800'000'000;  // a fixed time: no clock in these tests
constexpr int64_t kLifetime = 30 * 24 * 3600;
constexpr int64_t kExpires = kIssued + kLifetime;

SigningKey NewKey() {
  Result<SigningKey> key = SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(key).value();
}

Bytes IssueFor(const OrgKey& org, const SigningKey& member, std::string_view name = "alice") {
  Result<Bytes> cert = org.Issue(name, member.public_key(), 42, kIssued, kLifetime);
  REQUIRE(cert.ok());
  return *cert;
}

// A well-formed body for `member`, signed by `org`, that tests then bend.
proto::CertificateBody GoodBody(const OrgKey& org, const SigningKey& member) {
  proto::CertificateBody body;
  body.set_version(kCertificateVersion);
  body.set_name("alice");
  body.set_identity_key(member.public_key().data(), member.public_key().size());
  body.set_org_key_id(org.key_id().data(), org.key_id().size());
  body.set_serial(7);
  body.set_issued_unix(kIssued);
  body.set_expires_unix(kExpires);
  return body;
}

// Signs arbitrary body bytes with the org key, the way Issue does, so that
// tests can reach the checks that run after the signature.
Bytes SignBody(const OrgKey& org, const std::string& body_bytes) {
  Ed25519Signature sig = org.signing_key().Sign(kCertificateSigningContext, AsBytes(body_bytes));
  proto::Certificate cert;
  cert.set_body(body_bytes);
  cert.set_signature(sig.data(), sig.size());
  std::string out;
  REQUIRE(cert.SerializeToString(&out));
  return ToBytes(AsBytes(out));
}

Bytes SignBody(const OrgKey& org, const proto::CertificateBody& body) {
  std::string bytes;
  REQUIRE(body.SerializeToString(&bytes));
  return SignBody(org, bytes);
}

struct Fixture {
  OrgKey org{NewKey()};
  SigningKey member = NewKey();
};

TEST_CASE("A certificate issued by the org key verifies and returns its fields", "[cert]") {
  Fixture f;
  Bytes cert = IssueFor(f.org, f.member);
  Result<CheckedCertificate> checked =
      VerifyCertificate(cert, f.org.public_key(), kIssued + 3600, "alice");
  REQUIRE(checked.ok());
  CHECK(checked->name == "alice");
  CHECK(checked->identity_key == f.member.public_key());
  CHECK(checked->org_key_id == f.org.key_id());
  CHECK(checked->serial == 42);
  CHECK(checked->issued_unix == kIssued);
  CHECK(checked->expires_unix == kExpires);
}

TEST_CASE("A certificate verifies without an expected name", "[cert]") {
  Fixture f;
  CHECK(VerifyCertificate(IssueFor(f.org, f.member), f.org.public_key(), kIssued).ok());
}

TEST_CASE("The proto::Certificate overload gives the same answer", "[cert]") {
  Fixture f;
  Bytes bytes = IssueFor(f.org, f.member);
  proto::Certificate cert;
  REQUIRE(cert.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  Result<CheckedCertificate> checked = VerifyCertificate(cert, f.org.public_key(), kIssued);
  REQUIRE(checked.ok());
  CHECK(checked->name == "alice");
}

TEST_CASE("The org key id is the first 16 bytes of a BLAKE2b over a context and the key",
          "[cert]") {
  Result<Bytes> seed = FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  REQUIRE(seed.ok());
  Result<SigningKey> key = SigningKey::FromSeed(*seed);
  REQUIRE(key.ok());
  // Computed independently with Python's hashlib.blake2b.
  CHECK(ToHex(ComputeOrgKeyId(key->public_key())) == "10195a95575fbeaa62cfe92317b7c4ae");
  OrgKey org(std::move(key).value());
  CHECK(ToHex(org.key_id()) == "10195a95575fbeaa62cfe92317b7c4ae");
}

TEST_CASE("Issue refuses bad names and lifetimes", "[cert][error]") {
  Fixture f;
  const Ed25519PublicKey& pk = f.member.public_key();
  CHECK(f.org.Issue("", pk, 1, kIssued, kLifetime).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(f.org.Issue(std::string(kMaxCertificateNameBytes + 1, 'a'), pk, 1, kIssued, kLifetime)
            .status()
            .code() == Status::Code::kInvalidArgument);
  CHECK(f.org.Issue("al\nice", pk, 1, kIssued, kLifetime).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(f.org.Issue("alice", pk, 1, kIssued, 0).status().code() == Status::Code::kInvalidArgument);
  CHECK(f.org.Issue("alice", pk, 1, kIssued, -5).status().code() == Status::Code::kInvalidArgument);
  CHECK(f.org.Issue("alice", pk, 1, INT64_MAX - 10, 100).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(f.org.Issue(std::string(kMaxCertificateNameBytes, 'a'), pk, 1, kIssued, kLifetime).ok());
  CHECK(f.org.Issue("Zoë Ångström", pk, 1, kIssued, kLifetime).ok());
}

TEST_CASE("Issue refuses a name that is not UTF-8", "[cert][error]") {
  Fixture f;
  for (std::string_view bad :
       {"bad\xff", "trunc\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"}) {
    INFO(ToHex(AsBytes(bad)));
    CHECK(f.org.Issue(bad, f.member.public_key(), 1, kIssued, kLifetime).status().code() ==
          Status::Code::kInvalidArgument);
  }
  CHECK(f.org.Issue("\xf0\x9f\x94\x91 key", f.member.public_key(), 1, kIssued, kLifetime).ok());
}

// Tests of all the error paths in VerifyCertificate follow.

TEST_CASE("A flipped byte anywhere in the certificate is refused", "[cert][error]") {
  Fixture f;
  Bytes cert = IssueFor(f.org, f.member);
  for (size_t i = 0; i < cert.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      Bytes bad = cert;
      bad[i] ^= bit;
      Result<CheckedCertificate> checked = VerifyCertificate(bad, f.org.public_key(), kIssued);
      INFO("byte " << i << " bit " << int(bit));
      CHECK_FALSE(checked.ok());
    }
  }
}

TEST_CASE("A flipped byte in the signed body fails the signature", "[cert][error]") {
  Fixture f;
  proto::Certificate cert;
  Bytes bytes = IssueFor(f.org, f.member);
  REQUIRE(cert.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  for (size_t i = 0; i < cert.body().size(); ++i) {
    proto::Certificate bad = cert;
    (*bad.mutable_body())[i] ^= 0x01;
    INFO("body byte " << i);
    CHECK(VerifyCertificate(bad, f.org.public_key(), kIssued).status().code() ==
          Status::Code::kAuthFailed);
  }
}

TEST_CASE("A flipped byte in the signature fails the signature", "[cert][error]") {
  Fixture f;
  proto::Certificate cert;
  Bytes bytes = IssueFor(f.org, f.member);
  REQUIRE(cert.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  for (size_t i = 0; i < cert.signature().size(); ++i) {
    proto::Certificate bad = cert;
    (*bad.mutable_signature())[i] ^= 0x01;
    INFO("signature byte " << i);
    CHECK(VerifyCertificate(bad, f.org.public_key(), kIssued).status().code() ==
          Status::Code::kAuthFailed);
  }
}

TEST_CASE("A truncated certificate is Corruption at every length", "[cert][error]") {
  Fixture f;
  Bytes cert = IssueFor(f.org, f.member);
  for (size_t len = 0; len < cert.size(); ++len) {
    ByteView prefix(cert.data(), len);
    INFO("length " << len);
    CHECK(VerifyCertificate(prefix, f.org.public_key(), kIssued).status().code() ==
          Status::Code::kCorruption);
  }
}

TEST_CASE("Garbage and oversized input is Corruption", "[cert][error]") {
  Fixture f;
  Bytes garbage{0xff, 0xff, 0xff, 0xff, 0x0f};
  CHECK(VerifyCertificate(garbage, f.org.public_key(), kIssued).status().code() ==
        Status::Code::kCorruption);
  Bytes huge(kMaxCertificateBytes + 1, 0);
  CHECK(VerifyCertificate(huge, f.org.public_key(), kIssued).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("A certificate from another org key is refused", "[cert][error]") {
  Fixture f;
  OrgKey other(NewKey());
  Result<CheckedCertificate> checked =
      VerifyCertificate(IssueFor(other, f.member), f.org.public_key(), kIssued);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == Status::Code::kAuthFailed);
}

TEST_CASE("A genuine signature over a body naming another org key id is refused", "[cert][error]") {
  Fixture f;
  OrgKey other(NewKey());
  proto::CertificateBody body = GoodBody(f.org, f.member);
  body.set_org_key_id(other.key_id().data(), other.key_id().size());
  Result<CheckedCertificate> checked =
      VerifyCertificate(SignBody(f.org, body), f.org.public_key(), kIssued);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == Status::Code::kAuthFailed);
  CHECK(std::string(checked.status().message()).find("different org key") != std::string::npos);
}

TEST_CASE("A certificate for someone else is refused when a name is expected", "[cert][error]") {
  Fixture f;
  Result<CheckedCertificate> checked =
      VerifyCertificate(IssueFor(f.org, f.member, "mallory"), f.org.public_key(), kIssued, "alice");
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == Status::Code::kAuthFailed);
  CHECK(std::string(checked.status().message()).find("'mallory'") != std::string::npos);
  // A prefix is not a match.
  CHECK(VerifyCertificate(IssueFor(f.org, f.member, "alice2"), f.org.public_key(), kIssued, "alice")
            .status()
            .code() == Status::Code::kAuthFailed);
}

TEST_CASE("Validity runs from issued minus the skew to expires plus the skew", "[cert]") {
  Fixture f;
  Bytes cert = IssueFor(f.org, f.member);
  const Ed25519PublicKey& org = f.org.public_key();
  CHECK(VerifyCertificate(cert, org, kIssued - kClockSkewSeconds).ok());
  CHECK(VerifyCertificate(cert, org, kExpires).ok());
  CHECK(VerifyCertificate(cert, org, kExpires + kClockSkewSeconds - 1).ok());
}

TEST_CASE("A certificate is not yet valid before issued minus the skew", "[cert][error]") {
  Fixture f;
  Result<CheckedCertificate> checked = VerifyCertificate(
      IssueFor(f.org, f.member), f.org.public_key(), kIssued - kClockSkewSeconds - 1);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == Status::Code::kFailedPrecondition);
  CHECK(std::string(checked.status().message()).find("not yet valid") != std::string::npos);
}

TEST_CASE("A certificate has expired at expires plus the skew", "[cert][error]") {
  Fixture f;
  Result<CheckedCertificate> checked = VerifyCertificate(
      IssueFor(f.org, f.member), f.org.public_key(), kExpires + kClockSkewSeconds);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == Status::Code::kFailedPrecondition);
  CHECK(std::string(checked.status().message()).find("expired") != std::string::npos);
}

TEST_CASE("Extreme clock values neither overflow nor pass", "[cert][error]") {
  Fixture f;
  Bytes cert = IssueFor(f.org, f.member);
  CHECK(VerifyCertificate(cert, f.org.public_key(), INT64_MIN).status().code() ==
        Status::Code::kFailedPrecondition);
  CHECK(VerifyCertificate(cert, f.org.public_key(), INT64_MAX).status().code() ==
        Status::Code::kFailedPrecondition);
}

TEST_CASE("A signed body with a field of the wrong size is InvalidArgument", "[cert][error]") {
  Fixture f;
  struct Case {
    const char* name;
    void (*spoil)(proto::CertificateBody&);
  };
  const Case cases[] = {
      {"identity key of 31 bytes", [](auto& b) { b.mutable_identity_key()->pop_back(); }},
      {"identity key of 33 bytes", [](auto& b) { b.mutable_identity_key()->push_back('x'); }},
      {"org key id of 15 bytes", [](auto& b) { b.mutable_org_key_id()->pop_back(); }},
      {"org key id of 32 bytes", [](auto& b) { b.mutable_org_key_id()->append(16, 'x'); }},
      {"unknown version", [](auto& b) { b.set_version(2); }},
      {"expires before issued", [](auto& b) { b.set_expires_unix(kIssued - 1); }},
      {"empty name", [](auto& b) { b.clear_name(); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    proto::CertificateBody body = GoodBody(f.org, f.member);
    c.spoil(body);
    CHECK(VerifyCertificate(SignBody(f.org, body), f.org.public_key(), kIssued).status().code() ==
          Status::Code::kInvalidArgument);
  }
}

TEST_CASE("A signature of the wrong size is Corruption", "[cert][error]") {
  Fixture f;
  proto::Certificate cert;
  Bytes bytes = IssueFor(f.org, f.member);
  REQUIRE(cert.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  cert.mutable_signature()->pop_back();
  CHECK(VerifyCertificate(cert, f.org.public_key(), kIssued).status().code() ==
        Status::Code::kCorruption);
  cert.clear_signature();
  CHECK(VerifyCertificate(cert, f.org.public_key(), kIssued).status().code() ==
        Status::Code::kCorruption);
}

TEST_CASE("Signed bytes that are not a body are Corruption", "[cert][error]") {
  Fixture f;
  CHECK(VerifyCertificate(SignBody(f.org, std::string("\xff\xff\xff", 3)), f.org.public_key(),
                          kIssued)
            .status()
            .code() == Status::Code::kCorruption);
}

TEST_CASE("The body is checked as received, never re-serialized", "[cert]") {
  Fixture f;
  // An unknown field appended to the body: a re-serializing verifier might
  // drop or reorder it; ours checks the bytes it was given.
  std::string body_bytes;
  REQUIRE(GoodBody(f.org, f.member).SerializeToString(&body_bytes));
  body_bytes += std::string("\xa0\x06\x01", 3);  // field 100, varint 1
  Bytes cert = SignBody(f.org, body_bytes);
  CHECK(VerifyCertificate(cert, f.org.public_key(), kIssued).ok());
}

TEST_CASE("A signature under another context does not make a certificate", "[cert][error]") {
  Fixture f;
  std::string body_bytes;
  REQUIRE(GoodBody(f.org, f.member).SerializeToString(&body_bytes));
  Ed25519Signature sig = f.org.signing_key().Sign("confab something else v1", AsBytes(body_bytes));
  proto::Certificate cert;
  cert.set_body(body_bytes);
  cert.set_signature(sig.data(), sig.size());
  CHECK(VerifyCertificate(cert, f.org.public_key(), kIssued).status().code() ==
        Status::Code::kAuthFailed);
}

TEST_CASE("A certificate matches the Noise static key derived from its identity key", "[cert]") {
  Fixture f;
  Result<CheckedCertificate> checked =
      VerifyCertificate(IssueFor(f.org, f.member), f.org.public_key(), kIssued);
  REQUIRE(checked.ok());
  CHECK(CheckMatchesNoiseStatic(*checked, f.member.DeriveX25519().public_key).ok());
}

TEST_CASE("A certificate does not match another member's Noise static key", "[cert][error]") {
  Fixture f;
  SigningKey other = NewKey();
  Result<CheckedCertificate> checked =
      VerifyCertificate(IssueFor(f.org, f.member), f.org.public_key(), kIssued);
  REQUIRE(checked.ok());
  CHECK(CheckMatchesNoiseStatic(*checked, other.DeriveX25519().public_key).code() ==
        Status::Code::kAuthFailed);
  // Nor the Ed25519 key bytes themselves used as if they were X25519.
  X25519PublicKey raw = f.member.public_key();
  CHECK(CheckMatchesNoiseStatic(*checked, raw).code() == Status::Code::kAuthFailed);
}

TEST_CASE("A certificate whose identity key is not a valid point matches no Noise key",
          "[cert][error]") {
  CheckedCertificate cert;
  cert.identity_key[0] = 1;  // the neutral element
  X25519PublicKey any{};
  CHECK(CheckMatchesNoiseStatic(cert, any).code() == Status::Code::kAuthFailed);
}

}  // namespace
}  // namespace confab::crypto
