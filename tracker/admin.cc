#include "tracker/admin.h"

#include "common/crypto/identity.h"
#include "proto/identity.pb.h"

namespace confab::tracker {
namespace {

// The expiry of a certificate the directory holds (issued by this tracker,
// so read without checking the signature again); 0 if it does not parse.
int64_t ExpiresUnix(const Bytes& certificate) {
  proto::Certificate c;
  proto::CertificateBody body;
  if (!c.ParseFromArray(certificate.data(), static_cast<int>(certificate.size())) ||
      !body.ParseFromString(c.body()))
    return 0;
  return body.expires_unix();
}

}  // namespace

Result<std::vector<UserInfo>> ListUsers(TrackerState& state) {
  CONFAB_ASSIGN_OR_RETURN(std::vector<Member> members, state.directory().ListMembers());
  std::vector<UserInfo> users;
  users.reserve(members.size());
  for (const Member& m : members) {
    UserInfo u;
    u.name = m.name;
    u.revoked = m.revoked;
    u.status = m.revoked ? "revoked" : "offline";
    u.enrolled_unix = m.enrolled_at;
    u.last_seen_unix = m.last_seen;
    u.certificate_expires_unix = ExpiresUnix(m.certificate);
    auto key = crypto::Ed25519PublicKeyFromBytes(m.identity_key);
    if (key.ok())
      u.fingerprint = crypto::Fingerprint::Of(*key).ToString();
    users.push_back(std::move(u));
  }
  return users;
}

Status RenewMember(TrackerState& state, const std::string& name, int64_t now_unix) {
  const crypto::OrgKey& org = state.org_key();
  const int64_t lifetime = state.config().certificate_lifetime.count();
  Result<Member> m =
      state.directory().Renew(name, now_unix, "ops", [&](const Issuance& in) -> Result<Bytes> {
        CONFAB_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                                crypto::Ed25519PublicKeyFromBytes(in.identity_key));
        return org.Issue(in.name, key, in.serial, in.issued_at, lifetime);
      });
  return m.status();
}

Status RevokeMember(TrackerState& state, const std::string& name, const std::string& reason,
                    int64_t now_unix) {
  return state.directory().Revoke(name, now_unix, reason);
}

}  // namespace confab::tracker
