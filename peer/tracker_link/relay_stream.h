// RelayStream: one leg of a pair relayed through the tracker (issue 15), as
// a net::ByteStream, so the usual channel (ChannelConnection::ConnectOver /
// AcceptOver, with the peer's hello checks) runs inside it exactly as over
// TCP or a UDP session.
//
// Dial() opens a PURPOSE_RELAY connection to the tracker (Noise IK to its
// key, as this member) presenting the slot from a RelayOffer or RelayNotice.
// OnConnected comes once the tracker accepted the leg; a refusal closes the
// stream with PermissionDenied "relay: <the tracker's reason>". The bytes
// written go to the tracker in transport messages of at most kRelayChunkBytes;
// the tracker copies them to the other leg unread, so what the members say
// is sealed twice on the wire: by the inner channel, then by this leg.
//
// The ByteStream contract holds (byte_stream.h). Messages the tracker sends
// while reading is stopped are kept and delivered, from the loop, once it
// starts again. Lifetime: as TcpConnection; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/byte_stream.h"
#include "common/net/loop.h"
#include "common/net/timer.h"

namespace confab::peer {

// Bytes per transport message on a leg (the tracker takes frames of 17 KiB).
inline constexpr size_t kRelayChunkBytes = 16 * 1024;

struct RelayStreamParams {
  net::Address tracker;
  crypto::X25519PublicKey tracker_static_key{};
  crypto::X25519KeyPair local_static{};
  uint64_t slot = 0;
};

class RelayStream final : public net::ByteStream,
                          private channel::ChannelConnection::Delegate,
                          private net::Timer::Delegate {
 public:
  // Starts dialing; `delegate` gets OnConnected or OnClosed. Errors only
  // when the loop is closing or the address cannot be dialed at all.
  [[nodiscard]] static Result<std::unique_ptr<RelayStream>> Dial(net::Loop& loop,
                                                                 RelayStreamParams params,
                                                                 net::StreamDelegate* delegate);
  ~RelayStream() override;

  // net::ByteStream
  void set_delegate(net::StreamDelegate* delegate) override { delegate_ = delegate; }
  bool is_open() const override { return open_; }
  Status StartReading() override;
  void StopReading() override;
  Status Write(Bytes data) override;
  bool want_write() const override;
  size_t write_queue_bytes() const override;
  void Shutdown() override;
  void Close() override;

  uint64_t slot() const { return slot_; }

 private:
  RelayStream(net::StreamDelegate* delegate, uint64_t slot) : delegate_(delegate), slot_(slot) {}

  // channel::ChannelConnection::Delegate
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection& c,
                                                          const channel::Event& hello) override;
  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override;
  void OnWritable(channel::ChannelConnection& c) override;
  void OnClosed(channel::ChannelConnection& c, Status status) override;
  // net::Timer::Delegate: delivers what was kept while reading was stopped.
  void OnTimer() override;

  net::StreamDelegate* delegate_;
  const uint64_t slot_;
  std::unique_ptr<channel::ChannelConnection> connection_;
  std::unique_ptr<net::Timer> deliver_;
  std::deque<Bytes> kept_;  // arrived while reading was stopped
  bool open_ = false;
  bool reading_ = false;
  bool closed_ = false;
};

}  // namespace confab::peer
