// TrackerService's certificate renewal (design.md, "Renewal"): pushed on a
// session's first frame when due or renewed by ops while the member was away.
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/utc_time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/identity.h"
#include "tracker/service.h"

namespace confab::tracker {

int64_t TrackerService::renew_window_seconds() const {
  return state_.config().certificate_lifetime.count() / 3;
}

Result<Member> TrackerService::IssueRenewal(const std::string& name, int64_t now,
                                            std::string_view actor) {
  const crypto::OrgKey& org = state_.org_key();
  const int64_t lifetime = state_.config().certificate_lifetime.count();
  CONFAB_ASSIGN_OR_RETURN(
      Member m,
      state_.directory().Renew(name, now, actor, [&](const Issuance& in) -> Result<Bytes> {
        CONFAB_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                                crypto::Ed25519PublicKeyFromBytes(in.identity_key));
        return org.Issue(in.name, key, in.serial, in.issued_at, lifetime);
      }));
  ++counters_.renewals;
  spdlog::info("renewed {}'s certificate ({}): serial {}, valid for {} days", name, actor, m.serial,
               lifetime / 86400);
  return m;
}

namespace {

proto::FromTracker RenewedMessage(const Bytes& certificate) {
  proto::FromTracker m;
  (void)ParseFromBytes(certificate, m.mutable_renewed()->mutable_certificate());
  return m;
}

}  // namespace

Status TrackerService::MaybeRenew(SessionId id, Session& s, int64_t now) {
  const bool due = s.certificate_expires - now < renew_window_seconds();
  if (s.protocol_version < 2) {
    if (due || !s.presented_current) {
      proto::FromTracker m;
      m.mutable_error()->set_message(
          "your certificate expires at " + UtcIso8601(s.certificate_expires) +
          "; upgrade confab, which renews it automatically (this version cannot)");
      Send(id, std::move(m));
    }
    return Status::Ok();
  }
  Bytes certificate;
  if (!s.presented_current) {
    // Renewed while the member was offline (or they kept an older copy).
    CONFAB_ASSIGN_OR_RETURN(Member m, state_.directory().GetMember(s.name));
    certificate = std::move(m.certificate);
  } else if (due) {
    Result<Member> m = IssueRenewal(s.name, now, "auto");
    if (!m.ok()) {
      spdlog::warn("renewing {}'s certificate failed: {}", s.name, m.status().ToString());
      return Status::Ok();  // the session goes on with the certificate it has
    }
    certificate = std::move(m->certificate);
  } else {
    return Status::Ok();
  }
  s.certificate = certificate;
  s.presented_current = true;
  Send(id, RenewedMessage(certificate));
  return Status::Ok();
}

Status TrackerService::Renew(const std::string& name, int64_t now) {
  CONFAB_ASSIGN_OR_RETURN(Member m, IssueRenewal(name, now, "ops"));
  if (auto session = presence_.SessionOf(name)) {
    auto it = sessions_.find(*session);
    if (it != sessions_.end()) {
      it->second.presented_current = false;
      if (it->second.renewal_checked)  // else its first message will do it
        return MaybeRenew(*session, it->second, now);
    }
  }
  return Status::Ok();
}

}  // namespace confab::tracker
