// Keypairs: the keys of one UDP session across rekeys, as WireGuard's
// noise_keypairs (current, previous, next):
//  - current sends and receives;
//  - previous only receives, for packets still in flight under it;
//  - next (responder side) only receives until the initiator's first packet
//    under it arrives; that confirms the initiator holds it, and it becomes
//    current. A responder never sends under an unconfirmed key.
// Every keypair has its own local index; data packets name the one they
// were sealed for, so the right key is found without trial decryption.
//
// The reliable layer above keeps its packet numbers across rekeys: each
// PacketProtector only needs counters to increase, so nonces stay unique.
// Sans-I/O; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/base/result.h"
#include "common/datagram/packet_protector.h"

namespace confab::datagram {

class Keypairs {
 public:
  // The first keypair of a session (initiator: after the response;
  // responder: it is `next` until confirmed, like every responder key).
  // Each Install returns the local indexes it dropped, for the owner's
  // index table.
  std::vector<uint32_t> InstallAsInitiator(std::unique_ptr<PacketProtector> keys);
  std::vector<uint32_t> InstallAsResponder(std::unique_ptr<PacketProtector> keys);

  // The keypair to seal with; null while the responder's first key is
  // unconfirmed.
  PacketProtector* sending() { return current_.get(); }
  const PacketProtector* sending() const { return current_.get(); }
  bool has_unconfirmed() const { return next_ != nullptr; }

  // Opens a data packet with the keypair its receiver index names. When
  // that is `next`, it is confirmed (becomes current; current becomes
  // previous). NotFound for an index none holds; else PacketProtector::Open's
  // errors.
  [[nodiscard]] Result<PacketProtector::Opened> Open(std::span<uint8_t> datagram,
                                                     std::vector<uint32_t>* dropped);

  // Local indexes of every keypair held.
  std::vector<uint32_t> indexes() const;

 private:
  std::unique_ptr<PacketProtector> current_;
  std::unique_ptr<PacketProtector> previous_;
  std::unique_ptr<PacketProtector> next_;
};

}  // namespace confab::datagram
