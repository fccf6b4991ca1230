// RevokedKeys: the identity keys this node refuses (a revoked member's: told
// by the tracker in this run, or kept in confab.db's revocation list), at the
// hello (PeerPort) and at the dial (RouteFromLookup). Keys, not names: ops
// may free a revoked name and enrol the person again under a new key, which
// then meets the pin check (a key change). Owned by the PeerPort; dialers
// read keys() for as long as the port lives. Not thread-safe.
#pragma once

#include <set>
#include <string>

#include "common/base/bytes.h"

namespace confab::peer {

class RevokedKeys {
 public:
  void Refuse(ByteView identity_key) { keys_.insert(std::string(AsChars(identity_key))); }
  bool Contains(ByteView identity_key) const {
    return keys_.count(std::string(AsChars(identity_key))) != 0;
  }
  // Raw key bytes (a string: GCC 12 warns on std::less<std::vector<uint8_t>>
  // in Release), as RouteFromLookup and CheckPeerHello take them.
  const std::set<std::string>& keys() const { return keys_; }

 private:
  std::set<std::string> keys_;
};

}  // namespace confab::peer
