// Transfers: the node's file transfers (issue 5; DESIGN.md, Files), one
// role: keep every Outgoing and Incoming, reach contacts for them, take the
// file connections ChatSessions hands over, and answer the control socket's
// transfer requests. Records live in confab.db (TransferStore); a restarted
// node picks up every unfinished outgoing transfer and dials again, and
// finds every unfinished incoming one when its sender dials again.
//
// Reaching a contact: a tracker lookup (Delegate::RequestLookup; the node
// forwards every LookupResult), then RouteFromLookup's checks (certificate,
// pin), then Outgoing dials. A retry timer (retry_ms) redials transfers
// whose connection dropped.
//
// Inbound: AdoptFileConnection takes a checked PURPOSE_FILE connection; its
// first message must be an offer, which finds or creates the Incoming, and
// the connection moves to it. A connection that offers nothing within
// kArrivalTimeoutMs is dropped (checked on the retry timer's ticks).
//
// Events (Observer, optional): every state a transfer enters is told once,
// as Save() writes it, and a progress timer (progress_every_ms, 250: at most
// four a second for each transfer) tells the bytes of the active ones that
// moved; it runs only while a transfer is active. The node's event feed
// publishes them on the control socket.
//
// Lifetime: `loop`, `db`, `contacts` and `delegate` outlive it. Loop thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/channel/channel_connection.h"
#include "common/net/timer.h"
#include "common/store/database.h"
#include "peer/contacts/contact_book.h"
#include "peer/transfer/host.h"
#include "peer/transfer/incoming.h"
#include "peer/transfer/outgoing.h"
#include "proto/tracker.pb.h"

namespace confab::peer::transfer {

inline constexpr int64_t kArrivalTimeoutMs = 10000;

// One row of `confab transfers`.
struct TransferView {
  TransferRecord record;
  uint64_t bytes_done = 0;  // live
  double rate_bytes_per_s = 0;
};

// What an Observer is told (TransferView: the record, bytes and rate).
enum class TransferEventKind {
  kOffered,   // an incoming offer stored (offered, or active when auto-accepted), or ours made
  kProgress,  // bytes moved while active
  kCompleted,
  kQuarantined,  // record.error says why
  kFailed,       // record.error says why
  kStopped,      // rejected or cancelled (record.state), record.error by whom
};

class Transfers final : public Host,
                        private channel::ChannelConnection::Delegate,
                        private net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // As ChatSessions::Delegate::RequestLookup.
    virtual Result<uint64_t> RequestLookup(const std::string& name) = 0;
    // As ChatSessions::Delegate::RequestPunch.
    virtual Status RequestPunch(const std::string& name) = 0;
    // The chat with `name` runs over UDP now: dial files there too.
    virtual bool ReachedOverUdp(const std::string& /*name*/) { return false; }
  };

  // Told of transfer events on the loop thread; must not call back into
  // Transfers.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnTransferEvent(TransferEventKind kind, const TransferView& view) = 0;
  };

  // Creates quarantine_dir (mode 0700) and loads unfinished transfers.
  [[nodiscard]] static Result<std::unique_ptr<Transfers>> Create(net::Loop& loop,
                                                                 TransfersParams params,
                                                                 store::Database* db,
                                                                 ContactBook& contacts,
                                                                 Delegate* delegate);
  ~Transfers() override;

  // `confab send`: offers `path` (absolute, a regular file) to `to`.
  // `name` is the name offered (default: the file's own).
  [[nodiscard]] Result<TransferId> Send(const std::string& to, const std::string& path,
                                        const std::string& name);
  // `confab transfers`: all, newest first, or the one `id`.
  [[nodiscard]] Result<std::vector<TransferView>> List(std::optional<TransferId> id);
  [[nodiscard]] Status Accept(const TransferId& id, const std::string& dest_dir);
  [[nodiscard]] Status Reject(const TransferId& id);
  [[nodiscard]] Status Cancel(const TransferId& id);
  [[nodiscard]] Status Resume(const TransferId& id);

  void OnLookupResult(const proto::LookupResult& result);
  // `name` shows online (a presence push): their waiting transfers retry now.
  void OnPeerOnline(const std::string& name);
  // Drops every file connection with `name` (revoked or blocked: their
  // hellos are refused from then on).
  void DropPeer(const std::string& name, const Status& why);
  // For ChatSessions::Delegate::AdoptFileConnection.
  [[nodiscard]] Result<channel::ChannelConnection::HelloAnswer> Adopt(
      const std::string& name, std::unique_ptr<channel::ChannelConnection>* connection);

  // `observer` (null: none) must outlive the Transfers or be reset first.
  void set_observer(Observer* observer);

  // Closes every connection and the timers. Idempotent.
  void Close();

  // Host
  net::Loop& loop() override { return loop_; }
  const TransfersParams& params() const override { return params_; }
  void Save(TransferRecord& record) override;
  void RequestPunch(const std::string& name) override;

 private:
  Transfers(net::Loop& loop, TransfersParams params, store::Database* db, ContactBook& contacts,
            Delegate* delegate);

  // A connection adopted but not yet offered anything.
  struct Arrival {
    std::string peer;
    std::unique_ptr<channel::ChannelConnection> conn;
    int64_t since_ms = 0;  // dropped after kArrivalTimeoutMs without an offer
  };

  // channel::ChannelConnection::Delegate, for arrivals
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override;
  Status OnWelcome(channel::ChannelConnection&, ByteView) override;
  Status OnMessage(channel::ChannelConnection& connection, ByteView plaintext) override;
  void OnClosed(channel::ChannelConnection& connection, Status status) override;
  // Timer::Delegate: the retry timer
  void OnTimer() override;

  // The progress timer's delegate.
  struct ProgressHook final : net::Timer::Delegate {
    Transfers* transfers = nullptr;
    void OnTimer() override { transfers->ReportProgress(); }
  };

  // Tells the observer what entering `record.state` means, once per state.
  void Announce(const TransferRecord& record);
  // The progress timer's tick: one kProgress per active transfer whose bytes moved.
  void ReportProgress();
  TransferView ViewOf(TransferRecord record, int64_t now_ms) const;

  Status HandleOffer(channel::ChannelConnection& connection, const proto::FileOffer& offer);
  void Reach(Outgoing& outgoing);
  void ArmRetry();

  net::Loop& loop_;
  TransfersParams params_;
  TransferStore store_;
  ContactBook& contacts_;
  Delegate* const delegate_;
  std::unique_ptr<net::Timer> retry_timer_;
  std::map<TransferId, std::shared_ptr<Outgoing>> outgoing_;
  std::map<TransferId, std::shared_ptr<Incoming>> incoming_;
  std::map<channel::ChannelConnection*, Arrival> arrivals_;
  std::map<uint64_t, TransferId> lookups_;  // request id -> transfer
  Observer* observer_ = nullptr;
  std::map<TransferId, State> announced_;    // the last state told of
  std::map<TransferId, uint64_t> reported_;  // bytes last told of (active ones)
  ProgressHook progress_hook_;
  std::unique_ptr<net::Timer> progress_timer_;
  bool closed_ = false;
};

}  // namespace confab::peer::transfer
