// Enrolment (proto/tracker.proto, PURPOSE_JOIN): one Noise IKpsk2 handshake
// to the tracker named in an invite code, carrying a JoinRequest and
// returning the org-signed certificate, checked here before it is accepted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/certificate.h"
#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/net/address.h"

namespace confab::peer {

// "host:port" -> an address. Numeric addresses are parsed; a host name is
// resolved with getaddrinfo, which blocks (call it before the loop runs, or
// accept the stall). InvalidArgument for text that is not host:port;
// Unavailable when the name does not resolve.
[[nodiscard]] Result<net::Address> ResolveHostPort(std::string_view host_port);

// enrollment.toml's tracker.address: one "host:port", or several trackers of
// one cluster separated by commas ("a:7650, b:7650"; issue 16). The parts,
// spaces trimmed, empty ones dropped, in order.
std::vector<std::string> SplitTrackerAddresses(std::string_view addresses);

struct JoinOptions {
  std::string hostname;         // informational, for the tracker's audit log
  uint64_t timeout_ms = 15000;  // the whole exchange, dial included
  int64_t now_unix = 0;         // for checking the certificate; 0 = the clock
};

// What a successful join returns: everything has been checked.
struct Enrollment {
  std::string name;
  std::string org;
  Bytes certificate{};                 // a serialized proto::Certificate, verbatim
  crypto::CheckedCertificate checked;  // its verified fields
  crypto::Ed25519PublicKey org_public_key{};
  std::string tracker_address;  // host:port, from the invite
  crypto::X25519PublicKey tracker_static_key{};
};

// Enrols `identity` with the tracker named in `invite`. Runs its own
// private loop and blocks the caller for at most options.timeout_ms.
// Errors, each with a message a person can act on:
//   PermissionDenied   the tracker refused; the message is the tracker's
//                      reason ("invite already used", "invite expired", ...)
//   Unavailable        the tracker cannot be reached, or it dropped the
//                      handshake (the code names another tracker key)
//   ResourceExhausted  no answer within the timeout
//   AuthFailed         the certificate returned does not verify under the
//                      returned org key, names someone else, or carries
//                      another identity key
//   Corruption         an answer that does not parse
[[nodiscard]] Result<Enrollment> Join(const crypto::Invite& invite,
                                      const crypto::SigningKey& identity,
                                      const JoinOptions& options = {});

}  // namespace confab::peer
