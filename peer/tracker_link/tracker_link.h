// The workstation's side of the tracker protocol (proto/tracker.proto;
// enrolment is join.h):
//
//   TrackerLink   a member's long-lived session (Noise IK, PURPOSE_TRACKER,
//                 certificate in the SessionHello): announce endpoints, set
//                 status, subscribe, look up; keepalives; reconnects with
//                 backoff and replays the announced state after each
//                 reconnect, because the tracker keeps presence as soft state.
//
// Not thread-safe: everything runs on one net::Loop's thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/tracker_link/backoff.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

struct TrackerLinkParams {
  net::Address tracker;  // see ResolveHostPort (join.h)
  // Other trackers of the same cluster (issue 16; the same static key): on
  // each failure to connect or lost session the link moves on to the next
  // address, in order, wrapping round, with the usual backoff.
  std::vector<net::Address> other_trackers{};
  crypto::X25519PublicKey tracker_static_key{};
  crypto::X25519KeyPair local_static{};  // the identity key's X25519 form
  Bytes certificate{};                   // a serialized proto::Certificate
  BackoffPolicy backoff{};
  uint64_t handshake_timeout_ms = 10000;
  // Without anything from the tracker for this many keepalive intervals the
  // link is declared dead and reconnects.
  uint32_t dead_after_keepalives = 3;
  uint64_t random_seed = 0;  // jitter; 0 = from std::random_device
};

class TrackerLink final : private channel::ChannelConnection::Delegate {
 public:
  // One disconnection: why, whether a session had been up, and when the
  // next attempt starts.
  struct Disconnect {
    Status reason;
    bool was_connected = false;
    uint64_t retry_in_ms = 0;
  };

  // Every upcall is the last thing the link does in that call stack, so the
  // delegate may call any method, Close() included. The link must not be
  // destroyed from an upcall (destroy it after Close(), from the loop or
  // later); no upcall follows Close() or destruction.
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // The session is up; announced state has been replayed.
    virtual void OnConnected(const proto::SessionWelcome& welcome) = 0;
    virtual void OnPresence(const proto::PresenceDelta& delta) = 0;
    // A reply to Lookup(), matched by request_id. Lookups pending when the
    // session drops are answered here with found=false and an error.
    virtual void OnLookupResult(const proto::LookupResult& result) = 0;
    // Another member was revoked: drop their pins and sessions.
    virtual void OnRevoked(const proto::Revoked& revoked) = 0;
    virtual void OnPunch(const proto::PunchNotice& /*notice*/) {}
    // The answer to RequestRelay (a slot, or the tracker's refusal).
    virtual void OnRelayOffer(const proto::RelayOffer& /*offer*/) {}
    // A member wants a relay to us: dial the relay with the slot.
    virtual void OnRelayNotice(const proto::RelayNotice& /*notice*/) {}
    // The tracker refused one request (the session goes on).
    virtual void OnTrackerError(std::string_view /*message*/) {}
    // The tracker renewed our certificate (CertificateRenewed); not yet
    // checked: the delegate verifies it before using it.
    virtual void OnCertificateRenewed(const proto::Certificate& /*certificate*/) {}
    // The answer to DepositMailbox, matched by request_id: stored durably
    // on the tracker, or its refusal. Deposits pending when the session
    // drops are answered here with stored=false and "no answer: the
    // tracker session ended" (the envelope may or may not be stored).
    virtual void OnMailboxDeposited(const proto::MailboxDepositAnswer& /*answer*/) {}
    // A page of our envelopes, the answer to FetchMailbox.
    virtual void OnMailboxEnvelopes(const proto::MailboxEnvelopes& /*page*/) {}
    // An envelope was just stored for us: fetch.
    virtual void OnMailboxNotice(const proto::MailboxNotice& /*notice*/) {}
    // A session ended or an attempt failed; a reconnect is scheduled.
    virtual void OnDisconnected(const Disconnect& disconnect) = 0;
    // The tracker refused the session itself (membership revoked, unknown
    // member, stale or expired certificate): PermissionDenied with the
    // tracker's reason. The link has stopped and will not reconnect.
    virtual void OnRefused(const Status& reason) = 0;
  };

  // `loop` and `delegate` must outlive the link. Nothing happens until
  // Start(). FailedPrecondition if the loop is closing.
  [[nodiscard]] static Result<std::unique_ptr<TrackerLink>> Create(net::Loop& loop,
                                                                   TrackerLinkParams params,
                                                                   Delegate* delegate);
  ~TrackerLink() override;
  TrackerLink(const TrackerLink&) = delete;
  TrackerLink& operator=(const TrackerLink&) = delete;

  // Dials the tracker (at once); reconnects on its own from then on.
  void Start();
  // Our certificate after a renewal (a serialized proto::Certificate),
  // presented from the next session on.
  void SetCertificate(Bytes certificate) { params_.certificate = std::move(certificate); }

  // Stops for good: closes the session and the timers. No upcall follows.
  // Idempotent.
  void Close();

  // Desired state, sent now when connected and again after every reconnect.
  // Each call replaces the previous value of its kind.
  void Announce(std::vector<proto::Endpoint> endpoints);
  void SetStatus(proto::PresenceStatus status, std::string text);
  // The presence last given to SetStatus; online with no text before any.
  proto::SetStatus status() const { return status_.value_or(proto::SetStatus()); }
  void Subscribe(std::vector<std::string> names);

  // Asks for `name`'s certificate and endpoints; the answer arrives in
  // OnLookupResult with the returned request id. Unavailable when no
  // session is up (lookups are not queued: the answer would be stale).
  [[nodiscard]] Result<uint64_t> Lookup(const std::string& name);
  // Relays a hole-punch request to `name` (answers arrive in OnPunch).
  [[nodiscard]] Result<uint64_t> Punch(const std::string& name);
  // Asks the tracker for a relay to `name` (the answer arrives in
  // OnRelayOffer with the returned request id). RelayOffered()'s error
  // when the tracker does not relay: nothing is sent.
  [[nodiscard]] Result<uint64_t> RequestRelay(const std::string& name);
  // The mailbox (issue 14). Each returns MailboxOffered()'s error when the
  // tracker keeps no envelopes (nothing is sent), and InvalidArgument for
  // a request the tracker would refuse anyway.
  // Deposits `envelope` (sealed by the caller; 1 to
  // protocol::kMaxMailboxEnvelopeBytes) for `recipient`; the answer comes
  // in OnMailboxDeposited with the returned request id.
  [[nodiscard]] Result<uint64_t> DepositMailbox(const std::string& recipient,
                                                const Bytes& envelope);
  // Asks for our envelopes with an id above `after_id` (OnMailboxEnvelopes).
  [[nodiscard]] Status FetchMailbox(uint64_t after_id);
  // Tells the tracker these envelopes are stored durably here, so it
  // deletes them; at most protocol::kMaxMailboxAckIds.
  [[nodiscard]] Status AckMailbox(const std::vector<uint64_t>& ids);

  // The tracker to dial, and as whom, for a relayed leg (relay_stream.h).
  // The one dialled now (or next), of params.tracker and other_trackers.
  const net::Address& tracker_address() const {
    return current_ == 0 ? params_.tracker : params_.other_trackers[current_ - 1];
  }
  const crypto::X25519PublicKey& tracker_static_key() const { return params_.tracker_static_key; }
  const crypto::X25519KeyPair& local_static() const { return params_.local_static; }

  bool connected() const { return connected_; }
  // The token for the tracker's UDP port; empty while disconnected.
  const std::string& udp_token() const { return udp_token_; }
  // The tracker's second UDP probe port (same IP as its main one), for
  // telling a cone NAT from a symmetric one; 0 while disconnected or when the
  // tracker has none.
  uint16_t second_probe_port() const { return second_probe_port_; }
  // Whether the tracker of the current session relays (issue 15): OK, or
  // Unavailable with no session, or FailedPrecondition "relay: the tracker
  // is too old" / "relay: disabled on the tracker" (protocol::RelayOffered).
  [[nodiscard]] Status RelayOffered() const;
  // Whether it keeps envelopes: OK, Unavailable with no session, or
  // FailedPrecondition "mailbox: the tracker is too old" / "mailbox:
  // disabled on the tracker" (protocol::MailboxOffered).
  [[nodiscard]] Status MailboxOffered() const;
  // The welcome of the current (or last) session.
  const proto::SessionWelcome& welcome() const { return welcome_; }

 private:
  // Forwards one timer to a member function (Timer has one OnTimer()).
  struct TimerHook final : net::Timer::Delegate {
    TrackerLink* link = nullptr;
    void (TrackerLink::*fire)() = nullptr;
    void OnTimer() override { (link->*fire)(); }
  };

  TrackerLink(net::Loop& loop, TrackerLinkParams params, Delegate* delegate);

  // channel::ChannelConnection::Delegate
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection& c,
                                                          const channel::Event& hello) override;
  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override;
  void OnClosed(channel::ChannelConnection& c, Status status) override;

  void Dial();              // reconnect timer
  void OnHandshakeTimer();  // no welcome in time
  void OnKeepaliveTimer();  // send a keepalive, check for silence
  void ScheduleReconnect(Status reason, bool was_connected);
  Status SendToTracker(const proto::ToTracker& message);
  void Replay();  // announced state after a (re)connect
  void FailPendingLookups(const std::string& why);
  void FailPendingDeposits();

  net::Loop& loop_;
  TrackerLinkParams params_;
  Delegate* const delegate_;
  TimerHook reconnect_hook_, handshake_hook_, keepalive_hook_;
  std::unique_ptr<net::Timer> reconnect_timer_, handshake_timer_, keepalive_timer_;
  std::unique_ptr<channel::ChannelConnection> connection_;
  std::mt19937_64 rng_;

  bool started_ = false;
  bool closed_ = false;
  bool connected_ = false;
  bool refused_ = false;   // set when a welcome refused the session
  Status refusal_;         // the tracker's reason, for OnRefused
  uint32_t attempts_ = 0;  // consecutive failures, for the backoff
  size_t current_ = 0;     // 0: params_.tracker; i: other_trackers[i - 1]
  uint64_t keepalive_ms_ = 0;
  uint64_t last_heard_ms_ = 0;
  uint64_t keepalive_sequence_ = 0;
  uint64_t next_request_id_ = 1;
  std::string udp_token_;
  uint16_t second_probe_port_ = 0;
  proto::SessionWelcome welcome_;
  std::map<uint64_t, std::string> pending_lookups_;  // request id -> name
  std::set<uint64_t> pending_deposits_;              // request ids

  std::optional<proto::Announce> announce_;
  std::optional<proto::SetStatus> status_;
  std::optional<proto::Subscribe> subscribe_;
};

}  // namespace confab::peer
