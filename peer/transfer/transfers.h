// Transfers: the node's file transfers (issue 5; DESIGN.md, Files), one
// role: keep every Outgoing and Incoming, reach contacts for them, take the
// file connections the PeerPort hands over, and answer the control socket's
// transfer requests. Records live in confab.db (TransferStore); a restarted
// node picks up every unfinished outgoing transfer and dials again, and
// finds every unfinished incoming one when its sender dials again.
//
// Reaching a contact: each Outgoing asks the node's Dialer (params.dialer:
// lookup, checks, TCP, UDP) for a connection of its own. A retry timer
// (retry_ms) has transfers whose connection dropped reach again.
//
// Inbound: registered as the PeerPort's PURPOSE_FILE handler, it gets each
// checked file connection with its first message, which must be an offer;
// the offer finds or creates the Incoming, and the connection moves to it.
// A connection that never sends one is the PeerPort's to close (its
// handshake deadline).
//
// Events (Observer, optional): every state a transfer enters is told once,
// as Save() writes it, and a progress timer (progress_every_ms, 250: at most
// four a second for each transfer) tells the bytes of the active ones that
// moved; it runs only while a transfer is active. The node's event feed
// publishes them on the control socket.
//
// Lifetime: `loop`, `db`, `contacts`, `delegate` and params.dialer outlive
// it. Loop thread.
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
#include "peer/reach/peer_port.h"
#include "peer/transfer/host.h"
#include "peer/transfer/incoming.h"
#include "peer/transfer/outgoing.h"
#include "proto/tracker.pb.h"

namespace confab::peer::transfer {

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

class Transfers final : public Host, public PeerPort::Handler, private net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
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
  // Register the result as the PeerPort's PURPOSE_FILE handler.
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

  // `name` shows online (a presence push): their waiting transfers retry now.
  void OnPeerOnline(const std::string& name);
  // Drops every file connection with `name` (revoked or blocked: their
  // hellos are refused from then on).
  void DropPeer(const std::string& name, const Status& why);
  // PeerPort::Handler: a checked file connection; `first_message` must be
  // its offer.
  Status OnPeerChannel(PeerChannel& channel, ByteView first_message) override;

  // `observer` (null: none) must outlive the Transfers or be reset first.
  void set_observer(Observer* observer);

  // Our certificate after a renewal (a serialized proto::Certificate),
  // sent from the next handshake on.
  void SetCertificate(Bytes certificate) { params_.certificate = std::move(certificate); }

  // Closes every connection and the timers. Idempotent.
  void Close();

  // Host
  net::Loop& loop() override { return loop_; }
  const TransfersParams& params() const override { return params_; }
  void Save(TransferRecord& record) override;
  Dialer* dialer() override { return params_.dialer; }
  bool ReachedOverUdp(const std::string& name) override;

 private:
  Transfers(net::Loop& loop, TransfersParams params, store::Database* db, ContactBook& contacts,
            Delegate* delegate);

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

  // Finds or creates the Incoming `offer` names and moves `channel`'s
  // connection to it.
  Status HandleOffer(PeerChannel& channel, const proto::FileOffer& offer);
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
  Observer* observer_ = nullptr;
  std::map<TransferId, State> announced_;    // the last state told of
  std::map<TransferId, uint64_t> reported_;  // bytes last told of (active ones)
  ProgressHook progress_hook_;
  std::unique_ptr<net::Timer> progress_timer_;
  bool closed_ = false;
};

}  // namespace confab::peer::transfer
