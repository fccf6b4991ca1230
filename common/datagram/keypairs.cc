#include "common/datagram/keypairs.h"

#include <utility>

namespace confab::datagram {
namespace {

void Drop(std::unique_ptr<PacketProtector>& keys, std::vector<uint32_t>& dropped) {
  if (keys != nullptr) {
    dropped.push_back(keys->local_index());
    keys.reset();
  }
}

}  // namespace

std::vector<uint32_t> Keypairs::InstallAsInitiator(std::unique_ptr<PacketProtector> keys) {
  std::vector<uint32_t> dropped;
  // An unconfirmed responder key cannot coexist: the roles have changed.
  Drop(next_, dropped);
  Drop(previous_, dropped);
  previous_ = std::move(current_);
  current_ = std::move(keys);
  return dropped;
}

std::vector<uint32_t> Keypairs::InstallAsResponder(std::unique_ptr<PacketProtector> keys) {
  std::vector<uint32_t> dropped;
  // A newer initiation supersedes a next key that was never confirmed.
  Drop(next_, dropped);
  next_ = std::move(keys);
  return dropped;
}

Result<PacketProtector::Opened> Keypairs::Open(std::span<uint8_t> datagram,
                                               std::vector<uint32_t>* dropped) {
  CONFAB_ASSIGN_OR_RETURN(const uint32_t index, PeekReceiverIndex(datagram));
  if (current_ && current_->local_index() == index)
    return current_->Open(datagram);
  if (previous_ && previous_->local_index() == index)
    return previous_->Open(datagram);
  if (next_ && next_->local_index() == index) {
    CONFAB_ASSIGN_OR_RETURN(PacketProtector::Opened opened, next_->Open(datagram));
    // Confirmed: the initiator has this key. Rotate (WireGuard's
    // noise_received_with_keypair).
    Drop(previous_, *dropped);
    previous_ = std::move(current_);
    current_ = std::move(next_);
    return opened;
  }
  return Status::NotFound("no keypair for this index");
}

std::vector<uint32_t> Keypairs::indexes() const {
  std::vector<uint32_t> out;
  for (const auto* k : {&current_, &previous_, &next_}) {
    if (*k)
      out.push_back((*k)->local_index());
  }
  return out;
}

}  // namespace confab::datagram
