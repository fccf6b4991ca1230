// ContactRoute: how to reach a contact, from the tracker's answer to a
// lookup, with every check done that dialing them needs (DESIGN.md,
// Protocols): the certificate is signed by the org key, names the contact
// and is valid now; its identity key is pinned on first contact and must
// match the pin afterwards. Shared by every connection the node dials to a
// contact (chat, file). Sans-I/O but for ContactBook's SQLite.
//
// Also the hello check for a contact's inbound connection, whatever its
// purpose: CheckPeerHello.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "peer/contacts/contact_book.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

struct ContactRoute {
  crypto::X25519PublicKey remote_static{};  // the Noise key to dial
  std::vector<net::Address> endpoints;      // TCP, LAN first, in order
  // UDP: LAN first, then the public address the tracker saw (hole
  // punching sends to all of them at once).
  std::vector<net::Address> udp_candidates;
};

// The route to `name` from `result` (a LookupResult for `name`). NotFound
// when the tracker did not find them; the certificate's errors;
// PermissionDenied when its identity key is in `revoked_keys` (raw key
// bytes); AuthFailed
// (recorded by ContactBook as a pending key) when their key changed;
// Unavailable when they announced no endpoint at all.
[[nodiscard]] Result<ContactRoute> RouteFromLookup(const proto::LookupResult& result,
                                                   const std::string& name,
                                                   const crypto::Ed25519PublicKey& org_public_key,
                                                   const std::set<std::string>& revoked_keys,
                                                   ContactBook& contacts, int64_t now_unix,
                                                   int64_t now_ms);

// The hello of a contact's inbound connection (payload: their certificate):
// signed by the org key, not ours, its key not in `revoked_keys`, matching
// the Noise static key, not blocked, and matching the pin (pinned now on
// first contact). Returns the contact's name; AuthFailed or PermissionDenied
// otherwise. `claimed_name` (optional) gets the certificate's name as soon
// as the certificate checks out, so a refusal can say whose it was.
[[nodiscard]] Result<std::string> CheckPeerHello(
    ByteView certificate, const crypto::X25519PublicKey& remote_static,
    const std::string& self_name, const std::set<std::string>& revoked_keys,
    const crypto::Ed25519PublicKey& org_public_key, ContactBook& contacts, int64_t now_unix,
    int64_t now_ms, std::string* claimed_name = nullptr);

}  // namespace confab::peer
