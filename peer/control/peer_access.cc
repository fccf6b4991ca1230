#include "peer/control/peer_access.h"

#include <spdlog/spdlog.h>

#include "common/base/wall_clock.h"

namespace confab::peer {

void PeerAccess::CutOff(const std::string& name, const Status& why) {
  port_.Drop(name, why);
  sessions_.DropSessions(name, why);
  transfers_.DropPeer(name, why);
}

void PeerAccess::Revoke(const proto::Revoked& revoked) {
  const std::string& name = revoked.name();
  spdlog::warn("{} was revoked", name);
  if (revoked.identity_key().size() == 32) {
    // Kept, so the refusal outlives this run and a tracker that is down.
    const ByteView key = AsBytes(revoked.identity_key());
    if (Status kept = directory_.RecordRevocation(name, key, NowMs()); !kept.ok())
      spdlog::warn("recording {}'s revocation: {}", name, kept.ToString());
    port_.RefuseKey(name, key);
  }
  // Without a key there is nothing to refuse: the tracker refuses the rest.
  CutOff(name, Status::PermissionDenied(name + " was revoked"));
}

}  // namespace confab::peer
