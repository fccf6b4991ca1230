// Outgoing: one file this node sends, over its own PURPOSE_FILE connection
// (peer.proto, "file transfers"). The Dialer reaches the receiver (lookup,
// checks, TCP, UDP: peer/reach/dialer.h) and hands over the established
// channel; Outgoing offers the file, and once accepted streams it from the offset the receiver
// names: a thread-pool read (with the running digest) fills batches of data frames while the loop
// thread seals and writes the previous batch; reads stop while the socket's write queue is above
// its high-water mark, so memory stays bounded (at most two batches plus the write queue).
//
// When the connection drops before a final answer, the transfer goes idle
// and Transfers has it reach again (retry_due()), with a backoff of its own
// (retry_ms doubling, at most 16 times). Lifetime: owned by Transfers
// through a shared_ptr (thread-pool completions hold weak_ptrs); `host`
// outlives it; Close() cancels its Dialer attempt. Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "common/channel/channel_connection.h"
#include "common/net/timer.h"
#include "peer/reach/dialer.h"
#include "peer/transfer/file_io.h"
#include "peer/transfer/host.h"

namespace confab::peer::transfer {

class Outgoing final : public channel::ChannelConnection::Delegate,
                       private net::Timer::Delegate,
                       private Dialer::Requester,
                       public std::enable_shared_from_this<Outgoing> {
 public:
  Outgoing(Host& host, TransferRecord record) : host_(host), record_(std::move(record)) {}
  ~Outgoing() override;
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  const TransferRecord& record() const { return record_; }
  // Bytes the receiver has (accepted offset) plus those sent since.
  uint64_t bytes_done() const { return bytes_sent_; }
  double rate_bytes_per_s(int64_t now_ms) const;

  // Not connected, not final, and due for another attempt at `now_ms`.
  bool retry_due(int64_t now_ms) const;
  bool connected() const { return conn_ != nullptr; }
  // Asks the Dialer for a connection to the receiver (retry_due turns false
  // until it answers); the next try is due after the backoff.
  void Reach(int64_t now_ms);
  // `confab resume`: retry at once if idle.
  void RetryNow() { next_try_ms_ = 0; }
  // The peer came online: retry at once if idle, whatever the backoff.
  void OnPeerOnline() { next_try_ms_ = 0; }
  // `confab cancel`: tells the receiver if connected.
  void Cancel(const std::string& reason);
  // Closes the connection (node shutdown).
  void Close();
  // Drops the connection with `why` (the peer was revoked or blocked); the
  // transfer stays as it is, to resume if they may talk to us again.
  void Disconnect(const Status& why) {
    if (conn_)
      conn_->Fail(why);
  }

 private:
  enum class Phase { kIdle, kOffered, kOpening, kSending, kEnded };

  // channel::ChannelConnection::Delegate
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override;
  Status OnWelcome(channel::ChannelConnection& connection, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& connection, ByteView plaintext) override;
  void OnWritable(channel::ChannelConnection& connection) override;
  void OnClosed(channel::ChannelConnection& connection, Status status) override;
  // Dialer::Requester
  void OnReached(const std::string& name, std::unique_ptr<channel::ChannelConnection> connection,
                 const PathReport& path, udp::SessionId session) override;
  void OnNotReached(const std::string& name, const Status& why,
                    const std::optional<PathReport>& path) override;
  // Timer::Delegate: max_send_rate's pause is over.
  void OnTimer() override { Pump(); }
  // True (and the timer armed) when max_send_rate says wait.
  bool OverRate();

  Status HandleAccept(uint64_t offset);
  void OnOpened(Result<std::shared_ptr<SourceFile>> file);
  void OnRead(Result<ReadBatch> batch);
  // Sends what is ready while the socket takes it; starts the next read.
  void Pump();
  void StartRead();
  void Finish(State state, std::string error);
  Status SendControl(const proto::FileFrame& frame);

  Host& host_;
  TransferRecord record_;
  Phase phase_ = Phase::kIdle;
  std::unique_ptr<channel::ChannelConnection> conn_;
  // Our side of a file channel's handshake (the Dialer adds their key).
  channel::InitiatorParams FileInitiator() const;
  bool reaching_ = false;  // a Dialer attempt is under way
  void StopReaching();     // cancels it
  int64_t next_try_ms_ = 0;
  int attempts_ = 0;  // since the receiver last answered
  int64_t Backoff();
  uint32_t generation_ = 0;  // bumped per connection: stale reads are dropped
  std::shared_ptr<SourceFile> file_;
  std::deque<ReadBatch> ready_;
  size_t next_frame_ = 0;  // in ready_.front()
  bool read_in_flight_ = false;
  bool read_eof_ = false;
  Bytes digest_;
  uint64_t bytes_sent_ = 0;
  uint64_t rate_base_bytes_ = 0;
  int64_t rate_base_ms_ = 0;
  std::unique_ptr<net::Timer> rate_timer_;
};

}  // namespace confab::peer::transfer
