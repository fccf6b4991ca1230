// Incoming: one file this node receives. It exists from the first offer
// (or is rebuilt from the store when the sender dials again) and takes each
// connection the sender opens for it (Attach).
//
// Receiving: data frames are gathered into a batch on the loop thread and
// written by one thread-pool job at a time (pwrite + running digest, fsync
// every sync_every_bytes: the durable offset, saved in the store). While one
// batch is being written and the next is full, the connection stops reading
// (TCP flow control then holds the sender), so memory stays at two batches.
// At the sender's end frame: FinishSink (digest, scan, release) in the pool,
// the outcome saved, then a result frame to the sender.
//
// Lifetime: owned by Transfers through a shared_ptr (pool completions hold
// weak_ptrs); `host` outlives it. Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/channel/channel_connection.h"
#include "peer/transfer/file_io.h"
#include "peer/transfer/host.h"

namespace confab::peer::transfer {

class Incoming final : public channel::ChannelConnection::Delegate,
                       public std::enable_shared_from_this<Incoming> {
 public:
  Incoming(Host& host, TransferRecord record) : host_(host), record_(std::move(record)) {}

  // A new offer (record.state kOffered, or kActive when auto-accepted) or a
  // known one again. Saves a new record.
  const TransferRecord& record() const { return record_; }
  uint64_t bytes_done() const { return received_ > 0 ? received_ : record_.bytes_done; }
  double rate_bytes_per_s(int64_t now_ms) const;

  // The sender's connection, on which `offer` (for this id) just arrived.
  // Takes it over and answers the offer. Error: refuse the connection.
  [[nodiscard]] Status Attach(std::unique_ptr<channel::ChannelConnection> connection,
                              const proto::FileOffer& offer);
  // `confab accept`: FailedPrecondition unless offered.
  [[nodiscard]] Status Accept(const std::string& dest_dir);
  // `confab reject` (offered) / `confab cancel` (not final).
  [[nodiscard]] Status Reject(const std::string& reason);
  [[nodiscard]] Status Cancel(const std::string& reason);
  void Close();
  // Drops the connection with `why` (the peer was revoked or blocked); the
  // transfer stays as it is, to resume if they may talk to us again.
  void Disconnect(const Status& why) {
    if (conn_)
      conn_->Fail(why);
  }

 private:
  enum class Phase { kIdle, kOffered, kOpening, kReceiving, kFinishing };

  // channel::ChannelConnection::Delegate
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override;
  Status OnWelcome(channel::ChannelConnection&, ByteView) override;
  Status OnMessage(channel::ChannelConnection& connection, ByteView plaintext) override;
  void OnClosed(channel::ChannelConnection& connection, Status status) override;

  Status SendControl(const proto::FileFrame& frame);
  // Answers the sender as the record's state says.
  Status Answer();
  // Opens the quarantine file at the durable offset, then sends accept
  // (after any write still in flight).
  void StartReceive();
  void OnOpened(Result<std::shared_ptr<SinkFile>> sink);
  Status HandleData(ByteView data);
  Status HandleEnd(ByteView digest);
  // Starts the next write if none is in flight; then Finish if ended.
  void Flush(bool force_sync = false);
  void OnWritten(Status status, uint64_t synced);
  // Past sync_every_bytes since the last durable offset: fdatasync in the
  // pool, alongside the writes; the offset it covers becomes durable.
  void MaybeSync();
  void StartFinish();
  void OnFinished(FinishOutcome outcome);
  void Fail(State state, std::string error);
  std::string part_path() const;
  std::unique_ptr<AlignedBuffer> NewBatch() const;

  Host& host_;
  TransferRecord record_;
  Phase phase_ = Phase::kIdle;
  std::unique_ptr<channel::ChannelConnection> conn_;
  std::vector<std::unique_ptr<channel::ChannelConnection>> retired_;  // closing
  uint32_t generation_ = 0;  // bumped per connection: stale completions are dropped
  std::shared_ptr<SinkFile> sink_;
  std::unique_ptr<AlignedBuffer> pending_;  // received, not yet handed to a write
  uint64_t received_ = 0;                   // offset + bytes received on this connection
  bool write_in_flight_ = false;
  bool sync_in_flight_ = false;
  bool paused_ = false;
  bool start_when_idle_ = false;  // StartReceive waits for the last write
  bool ended_ = false;            // the end frame arrived
  Bytes expected_digest_;
  uint64_t next_sync_at_ = 0;
  uint64_t rate_base_bytes_ = 0;
  int64_t rate_base_ms_ = 0;
};

}  // namespace confab::peer::transfer
