#include "peer/reach/contact_route.h"

#include <algorithm>

#include "common/crypto/certificate.h"

namespace confab::peer {

Result<ContactRoute> RouteFromLookup(const proto::LookupResult& result, const std::string& name,
                                     const crypto::Ed25519PublicKey& org_public_key,
                                     const std::set<std::string>& revoked_keys,
                                     ContactBook& contacts, int64_t now_unix, int64_t now_ms) {
  if (!result.found())
    return Status::NotFound("lookup of " + name + " failed: " + result.error());
  CONFAB_ASSIGN_OR_RETURN(
      crypto::CheckedCertificate checked,
      crypto::VerifyCertificate(result.certificate(), org_public_key, now_unix, name));
  if (revoked_keys.count(std::string(AsChars(checked.identity_key))) != 0)
    return Status::PermissionDenied(name + "'s identity key was revoked");
  CONFAB_ASSIGN_OR_RETURN(PinOutcome pinned,
                          contacts.PinOnFirstContact(name, checked.identity_key, now_ms));
  (void)pinned;
  ContactRoute route;
  CONFAB_ASSIGN_OR_RETURN(route.remote_static, crypto::X25519FromEd25519(checked.identity_key));
  std::vector<proto::Endpoint> endpoints(result.endpoints().begin(), result.endpoints().end());
  std::stable_sort(endpoints.begin(), endpoints.end(), [](const auto& a, const auto& b) {
    return (a.kind() == proto::Endpoint::KIND_LAN) > (b.kind() == proto::Endpoint::KIND_LAN);
  });
  for (const proto::Endpoint& e : endpoints) {
    if (e.port() == 0 || e.port() > 65535)
      continue;
    Result<net::Address> address =
        net::Address::FromIp(e.address(), static_cast<uint16_t>(e.port()));
    if (!address.ok())
      continue;
    std::vector<net::Address>& list = e.udp() ? route.udp_candidates : route.endpoints;
    const std::string text = address->ToString();
    if (std::none_of(list.begin(), list.end(),
                     [&](const net::Address& a) { return a.ToString() == text; }))
      list.push_back(*address);
  }
  if (route.endpoints.empty() && route.udp_candidates.empty())
    return Status::Unavailable(name + " announced no endpoint we can dial");
  return route;
}

Result<std::string> CheckPeerHello(ByteView certificate,
                                   const crypto::X25519PublicKey& remote_static,
                                   const std::string& self_name,
                                   const std::set<std::string>& revoked_keys,
                                   const crypto::Ed25519PublicKey& org_public_key,
                                   ContactBook& contacts, int64_t now_unix, int64_t now_ms,
                                   std::string* claimed_name) {
  CONFAB_ASSIGN_OR_RETURN(crypto::CheckedCertificate checked,
                          crypto::VerifyCertificate(certificate, org_public_key, now_unix));
  if (claimed_name != nullptr)
    *claimed_name = checked.name;
  if (checked.name == self_name)
    return Status::AuthFailed("a hello carrying our own certificate");
  if (revoked_keys.count(std::string(AsChars(checked.identity_key))) != 0)
    return Status::PermissionDenied(checked.name + "'s identity key has been revoked");
  CONFAB_RETURN_IF_ERROR(crypto::CheckMatchesNoiseStatic(checked, remote_static));
  CONFAB_ASSIGN_OR_RETURN(bool blocked, contacts.IsBlocked(checked.name));
  if (blocked)
    return Status::PermissionDenied(checked.name + " is blocked");
  CONFAB_ASSIGN_OR_RETURN(PinOutcome pinned,
                          contacts.PinOnFirstContact(checked.name, checked.identity_key, now_ms));
  (void)pinned;
  return checked.name;
}

}  // namespace confab::peer
