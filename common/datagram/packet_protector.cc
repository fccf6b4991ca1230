#include "common/datagram/packet_protector.h"

#include <utility>

#include "common/datagram/little_endian.h"

namespace confab::datagram {
Result<uint32_t> PeekReceiverIndex(ByteView datagram) {
  if (datagram.size() < kDataOverheadBytes || datagram[0] != kDataPacketType)
    return Status::Corruption("not a data packet");
  return GetLe32(datagram.data() + 1);
}

PacketProtector::PacketProtector(crypto::noise::CipherState send,
                                 crypto::noise::CipherState receive, uint32_t local_index,
                                 uint32_t remote_index, uint64_t created_us)
    : send_(std::move(send)),
      receive_(std::move(receive)),
      local_index_(local_index),
      remote_index_(remote_index),
      created_us_(created_us) {}

Result<size_t> PacketProtector::Seal(uint64_t counter, ByteView payload, std::span<uint8_t> out) {
  const size_t total = payload.size() + kDataOverheadBytes;
  if (out.size() < total)
    return Status::InvalidArgument("output buffer too small for the packet");
  if (counter < next_send_counter_)
    return Status::InvalidArgument("packet counter did not increase");
  if (counter >= kRejectAfterMessages)
    return Status::ResourceExhausted("session key used up; a new handshake is needed");
  out[0] = kDataPacketType;
  PutLe32(out.data() + 1, remote_index_);
  PutLe64(out.data() + 5, counter);
  send_.SetNonce(counter);
  const ByteView header(out.data(), kDataHeaderBytes);
  CONFAB_RETURN_IF_ERROR(send_.EncryptWithAdInto(
      header, payload, out.subspan(kDataHeaderBytes, payload.size() + kDataTagBytes)));
  next_send_counter_ = counter + 1;
  return total;
}

Result<PacketProtector::Opened> PacketProtector::Open(std::span<uint8_t> datagram) {
  if (datagram.size() < kDataOverheadBytes || datagram[0] != kDataPacketType)
    return Status::Corruption("not a data packet");
  if (GetLe32(datagram.data() + 1) != local_index_)
    return Status::Corruption("data packet for another session");
  const uint64_t counter = GetLe64(datagram.data() + 5);
  // Cheap rejection before the AEAD; the window moves only after it.
  if (!replay_.Check(counter))
    return Status::Unavailable("replayed or too old data packet");
  const ByteView header(datagram.data(), kDataHeaderBytes);
  const ByteView ciphertext(datagram.data() + kDataHeaderBytes, datagram.size() - kDataHeaderBytes);
  const std::span<uint8_t> plaintext =
      datagram.subspan(kDataHeaderBytes, ciphertext.size() - kDataTagBytes);
  receive_.SetNonce(counter);
  CONFAB_RETURN_IF_ERROR(receive_.DecryptWithAdInto(header, ciphertext, plaintext));
  replay_.Accept(counter);
  return Opened{counter, ByteView(plaintext.data(), plaintext.size())};
}

bool PacketProtector::ShouldRekey(uint64_t now_us) const {
  return next_send_counter_ >= kRekeyAfterMessages || now_us - created_us_ >= kRekeyAfterUs;
}

bool PacketProtector::Expired(uint64_t now_us) const {
  return now_us - created_us_ >= kRejectAfterUs;
}

}  // namespace confab::datagram
