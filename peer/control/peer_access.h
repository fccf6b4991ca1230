// PeerAccess: ending a peer's access, written once. Blocking and revocation
// cut a peer off the same way: their chat sessions and file connections
// are closed with the reason (handshakes still at the PeerPort too), and the
// hello checks refuse them from then on (the block in confab.db; a revoked
// key in the PeerPort and, kept for later runs and a tracker that is down,
// in the directory cache).
//
// Lifetime: every part outlives it. Loop thread.
#pragma once

#include <string>

#include "common/base/status.h"
#include "peer/chat/sessions.h"
#include "peer/contacts/directory_cache.h"
#include "peer/reach/peer_port.h"
#include "peer/transfer/transfers.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

class PeerAccess {
 public:
  PeerAccess(PeerPort& port, ChatSessions& sessions, transfer::Transfers& transfers,
             DirectoryCache& directory)
      : port_(port), sessions_(sessions), transfers_(transfers), directory_(directory) {}

  // Closes every handshake, chat session and file connection with `name`; `why` is
  // their failure (and what the log says).
  void CutOff(const std::string& name, const Status& why);
  // The tracker says `revoked.name()` was revoked: their key (when given)
  // is recorded and refused, and they are cut off.
  void Revoke(const proto::Revoked& revoked);

 private:
  PeerPort& port_;
  ChatSessions& sessions_;
  transfer::Transfers& transfers_;
  DirectoryCache& directory_;
};

}  // namespace confab::peer
