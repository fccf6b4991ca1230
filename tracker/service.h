// TrackerService: everything the tracker decides, with no sockets. The
// server (server.h) feeds it handshakes, messages and closures and sends what
// it queues; the dispatcher fuzz target drives it the same way.
//
// Inbound path (STYLE.md A1): server -> SecureChannel -> OnHello/OnMessage
// -> one switch on the oneof -> directory/presence -> queued replies.
// Handlers validate everything before they change anything, so a message
// that is refused leaves no trace but a counter.
//
// Not thread-safe: the loop thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/noise_primitives.h"
#include "common/protocol/tracker_features.h"
#include "proto/channel.pb.h"
#include "proto/tracker.pb.h"
#include "tracker/admin.h"
#include "tracker/cluster_presence.h"
#include "tracker/presence.h"
#include "tracker/relay.h"
#include "tracker/state.h"

namespace confab::tracker {

inline constexpr size_t kUdpTokenBytes = 16;
inline constexpr size_t kMaxLookupsPerSecond = 50;  // per session

// Counters for the metrics endpoint; names match the exported series.
struct ServiceCounters {
  uint64_t handshakes = 0;  // completed (join or session)
  uint64_t joins = 0;
  uint64_t renewals = 0;  // certificates reissued (auto or ops)
  uint64_t lookups = 0;
  uint64_t presence_updates_sent = 0;
  std::map<std::string, uint64_t> refusals;  // by reason
};

// The mailbox's figures (issue 14); `envelopes` and `bytes` are what the
// store held at the last count, kept up to date by this service's own
// deposits, acknowledgements and expiries.
struct MailboxCounters {
  uint64_t envelopes = 0;
  uint64_t bytes = 0;
  uint64_t deposits = 0;
  uint64_t fetches = 0;
  uint64_t acked = 0;
  uint64_t expired = 0;
  std::map<std::string, uint64_t> refusals;  // by reason, as the node is told
};

// Deposits per author (a token bucket): a message to a group of 256 offline
// members goes at once; a flood does not.
inline constexpr double kMailboxDepositBurst = 512;
inline constexpr double kMailboxDepositsPerSecond = 64;
inline constexpr size_t kMaxMailboxAckIds = protocol::kMaxMailboxAckIds;
// Expired envelopes are deleted at most this often.
inline constexpr int64_t kMailboxExpirySeconds = 60;

struct Outgoing {
  SessionId to = 0;
  proto::FromTracker message;
};

class TrackerService {
 public:
  explicit TrackerService(TrackerState& state);

  struct HelloReply {
    Bytes payload;                       // handshake message 2 payload
    std::optional<SecretArray<32>> psk;  // joins
    bool close_after_reply = false;      // joins and refusals
  };

  // Handshake message 1 on connection `session`. An error means: answer
  // nothing and drop the connection (the party is not authenticated). A
  // refusal that an authenticated party may read comes back as a reply with
  // close_after_reply.
  [[nodiscard]] Result<HelloReply> OnHello(SessionId session, proto::Purpose purpose,
                                           const crypto::noise::PublicKey& remote_static,
                                           ByteView payload, const std::string& peer_address,
                                           int64_t now_unix);

  // A transport message on an admitted session. An error closes it.
  [[nodiscard]] Status OnMessage(SessionId session, ByteView plaintext, int64_t now_unix);

  // The connection closed (for any reason). Unknown ids are ignored.
  void OnClosed(SessionId session, int64_t now_unix);

  // Revokes `name`: directory first, then their session is closed and every
  // online member is told.
  [[nodiscard]] Status Revoke(const std::string& name, const std::string& reason, int64_t now_unix);
  // `confab-tracker renew NAME`: a new certificate for NAME's key now
  // (Directory::Renew's errors), pushed over their session if they are
  // online with a node that takes it, else at their next session.
  [[nodiscard]] Status Renew(const std::string& name, int64_t now_unix);
  // A certificate is renewed automatically once less than this is left
  // (a third of certificate.lifetime).
  int64_t renew_window_seconds() const;

  // Members with their live presence.
  [[nodiscard]] Result<std::vector<UserInfo>> Users();

  // Sessions silent since before `cutoff_unix`; the server closes them.
  std::vector<SessionId> SilentSince(int64_t cutoff_unix) const;
  // The member a session admitted belongs to; null for none (not admitted,
  // closed, or a join). Valid until the next call that changes sessions.
  const std::string* NameOf(SessionId id) const;

  // The member a UDP token belongs to, if its session is up.
  std::optional<std::string> NameForUdpToken(ByteView token) const;
  // Records a member's public UDP address as the tracker saw it. The server
  // calls it for probes on the main port only (see server.h).
  void SetObservedUdp(const std::string& name, const std::string& address, uint16_t port);

  // The bound second probe port, told to nodes in every SessionWelcome from
  // now on; 0 (the default) = none.
  void set_second_probe_port(uint16_t port) { second_probe_port_ = port; }

  // The presence this tracker shares with the others of its cluster (issue
  // 16), or null (one tracker). The service publishes its own members'
  // changes to it, and reads it on OnClusterPresence.
  void set_cluster(ClusterPresence* cluster) { cluster_ = cluster; }
  // The cluster says `name`'s shared presence changed: re-read it, and tell
  // this tracker's followers of `name` as for a local change.
  void OnClusterPresence(std::string_view name, int64_t now_unix);
  // Re-reads every other tracker's members (at start, and when the change
  // channel was lost for a while): what changed is told as above. Members
  // with a session here who were revoked meanwhile are closed as on
  // OnClusterRevoked.
  void OnClusterResync(int64_t now_unix);
  // The cluster says `name` was revoked (on any tracker, this one included):
  // re-read the member and, if still revoked, close their session and relay
  // legs here and tell this tracker's sessions, as Revoke does. Once per
  // revocation: the revoking tracker hears its own announcement and skips it.
  void OnClusterRevoked(std::string_view name, int64_t now_unix);
  // Another tracker announced a punch request (cluster_punch.h): if the
  // target's session is here, tell them whom to punch to, with the
  // requester's endpoints from the shared presence. A payload that does not
  // parse is counted (refusals["cluster_punch_invalid"]) and logged.
  void OnClusterPunch(std::string_view payload);

  // Writes what is buffered for the directory (lookup audit entries, the
  // last-seen times of members who left) in batches; the server calls it
  // once a second and at shutdown.
  void FlushDurable();

  // ---- The relay (issue 15; service_relay.cc) ----
  // Handshake message 1 of a PURPOSE_RELAY leg (a RelayHello). The member
  // is the one whose Noise key the handshake proved; it must have a live
  // session and be the slot's caller or callee. An error: drop the
  // connection unanswered (an outsider, or garbage). Otherwise a reply to
  // send (a RelayWelcome), accepted or with the reason.
  struct RelayAdmission {
    HelloReply reply;
    bool accepted = false;
    uint64_t slot = 0;
  };
  [[nodiscard]] Result<RelayAdmission> AdmitRelay(const crypto::noise::PublicKey& remote_static,
                                                  ByteView payload, uint64_t now_ms);
  // A leg of `slot` closed: the pair is gone (both legs are closed).
  void OnRelayClosed(uint64_t slot) { relay_.Close(slot); }
  // Slots requested `max_age_ms` ago or earlier whose legs have not both
  // joined: dropped, and handed to the server with TakeRelaysToClose().
  void ExpireRelays(uint64_t now_ms, uint64_t max_age_ms);
  // Slots whose legs must close at once: revoked members, expired slots.
  std::vector<uint64_t> TakeRelaysToClose() { return std::exchange(relays_to_close_, {}); }
  RelayCore& relay() { return relay_; }
  // Refusals by reason: RelayCore's and the service's own ("not online",
  // "no tracker session").
  std::map<std::string, uint64_t> RelayRefusals() const;

  // ---- The mailbox (issue 14; service_mailbox.cc) ----
  // Whether sessions are offered the mailbox: [mailbox] enabled and a
  // directory store that keeps envelopes.
  bool mailbox_served() const;
  // Deletes envelopes past their time, at most once per
  // kMailboxExpirySeconds (the server calls it every tick); counted and
  // logged. A failing store is logged and tried again next time.
  void ExpireMailbox(int64_t now_unix);
  const MailboxCounters& mailbox_counters() const { return mailbox_; }

  std::vector<Outgoing> TakeOutgoing() { return std::exchange(outgoing_, {}); }
  std::vector<SessionId> TakeToClose() { return std::exchange(to_close_, {}); }

  const ServiceCounters& counters() const { return counters_; }
  size_t online() const { return presence_.online_count(); }
  size_t sessions() const { return sessions_.size(); }

 private:
  // Closes `member`'s session and relay legs here and tells every session
  // (Revoke, OnClusterRevoked); nothing if already applied for this
  // revocation (member.revoked_at). Whether it did anything.
  bool ApplyRevocation(const Member& member, int64_t now_unix);
  struct Session {
    std::string name;
    Bytes identity_key;
    Bytes certificate;
    std::string peer_address;
    std::array<uint8_t, kUdpTokenBytes> udp_token{};
    int64_t last_activity = 0;
    int64_t lookup_window = 0;  // the second the lookup count is for
    uint32_t lookups_in_window = 0;
    std::vector<proto::Endpoint> announced;  // validated, plus the observed TCP address
    std::optional<proto::Endpoint> observed_udp;
    uint32_t protocol_version = 1;    // from SessionHello
    int64_t certificate_expires = 0;  // of the certificate the member presented
    bool presented_current = true;    // it is the directory's, byte for byte
    bool renewal_checked = false;     // MaybeRenew ran (on the first message)
  };

  Result<HelloReply> Join(const crypto::noise::PublicKey& remote_static, ByteView payload,
                          const std::string& peer_address, int64_t now);
  Result<HelloReply> Admit(SessionId id, const crypto::noise::PublicKey& remote_static,
                           ByteView payload, const std::string& peer_address, int64_t now);
  Status HandleAnnounce(Session& s, const proto::Announce& m);
  Status PublishEndpoints(const Session& s);
  Status HandleSubscribe(SessionId id, Session& s, const proto::Subscribe& m);
  Status HandleLookup(SessionId id, Session& s, const proto::Lookup& m, int64_t now);
  // HandlePunch for a target whose session is on another tracker.
  Status PunchAcrossCluster(SessionId id, const Session& s, const proto::PunchRequest& m);
  Status HandlePunch(SessionId id, Session& s, const proto::PunchRequest& m);
  Status HandleRelayRequest(SessionId id, Session& s, const proto::RelayRequest& m, int64_t now);
  MemberState RelayMemberState(const std::string& name);
  Status HandleDeposit(SessionId id, Session& s, const proto::MailboxDeposit& m, int64_t now);
  Status HandleFetch(SessionId id, Session& s, const proto::MailboxFetch& m);
  Status HandleMailboxAck(Session& s, const proto::MailboxAck& m);
  // The refusal for a deposit, before it reaches the store; empty if none.
  std::string DepositRefusal(const Session& s, const proto::MailboxDeposit& m, int64_t now);
  // Takes one token from `author`'s bucket; false when it is empty.
  bool TakeDepositToken(const std::string& author, int64_t now);
  void CountMailboxTotals();
  void Send(SessionId to, proto::FromTracker message);
  // On a session's first message (the node only reads once our welcome is
  // written): pushes the directory's certificate if the member presented an
  // older one, or renews one inside the renewal window; a node too old to
  // take a renewal is told to upgrade instead.
  Status MaybeRenew(SessionId id, Session& s, int64_t now);
  Result<Member> IssueRenewal(const std::string& name, int64_t now, std::string_view actor);
  void DeliverPresence();
  // Publishes what `name` (a member with a session here) shows, to the
  // cluster; a failure is logged and counted, never refused to the member.
  void ShareOwn(const std::string& name, int64_t now);
  Status Refuse(std::string_view reason, Status status);
  std::vector<proto::Endpoint> EndpointsOf(const std::string& name) const;

  TrackerState& state_;
  Presence presence_;
  std::unordered_map<SessionId, Session> sessions_;
  std::unordered_map<std::string, SessionId> udp_tokens_;  // token bytes -> session
  std::vector<Outgoing> outgoing_;
  std::vector<SessionId> to_close_;
  struct PendingAudit {
    int64_t time;
    std::string actor;
    AuditAction action;
    std::string subject;
  };
  std::vector<PendingAudit> audit_;
  std::unordered_map<std::string, int64_t> last_seen_;  // not yet in the directory
  // Revocations already applied here: name -> revoked_at (ApplyRevocation).
  std::unordered_map<std::string, int64_t> revocations_applied_;
  ServiceCounters counters_;
  uint16_t second_probe_port_ = 0;
  ClusterPresence* cluster_ = nullptr;
  RelayCore relay_;
  std::vector<uint64_t> relays_to_close_;
  std::map<std::string, uint64_t> relay_refusals_;  // the service's own
  MailboxCounters mailbox_;
  bool mailbox_counted_ = false;  // mailbox_.envelopes and bytes were read from the store
  int64_t mailbox_expired_at_ = 0;
  struct DepositBucket {
    double tokens = kMailboxDepositBurst;
    int64_t at = 0;
  };
  std::unordered_map<std::string, DepositBucket> deposit_buckets_;  // by author
};

}  // namespace confab::tracker
