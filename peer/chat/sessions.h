// ChatSessions: the node's direct, end-to-end encrypted chat connections
// (PURPOSE_CHAT, DESIGN.md "Protocols"), one role: move Messenger's outbox
// to contacts and their messages into Messenger. It knows sockets and keys;
// Messenger knows messages; the node wires the two and the tracker link.
//
// Reaching a contact (Deliver):
//   1. ask the delegate for a tracker lookup (certificate + endpoints); when
//      the tracker cannot be asked, use the delegate's kept answer from an
//      earlier lookup (CachedLookup), checked exactly like a fresh one;
//   2. verify the certificate (org key, expected name, validity, not among
//      the PeerPort's revoked keys) and pin its identity key on first
//      contact; a changed key is refused (AuthFailed recorded by
//      ContactBook) and the messages stay queued;
//   3. dial the TCP endpoints, LAN first, Noise IK to the key derived from
//      the certificate, our certificate in the hello payload; each dial
//      that has not connected within tcp_dial_timeout_ms gives way to the
//      next; when none answers, ask the tracker to relay a punch request
//      and open a UDP session to their UDP addresses (the PeerPort's
//      UdpPaths), running the same channel and checks over its stream. When
//      that fails too there is no direct path: say so (PathTo), keep the
//      messages queued and try again after no_path_retry_ms. Never through
//      the tracker;
//   4. once established, send PeerMessage{chat} for every outbox message not
//      yet sent on this connection, and mark them sent.
// Accepting: the PeerPort (peer/reach/peer_port.h) listens, checks the
// hello and hands PURPOSE_CHAT channels here (PeerPort::Handler), with the
// contact's first message; our outbox for them follows on that connection.
//
// On any established connection, either side: PeerMessage{chat} messages
// read in one loop iteration (at most kMaxReceiveBatch) go to
// Messenger::Receive as one batch, one commit, and one Ack goes back only
// after it returns (committed);
// PeerMessage{ack} goes to Messenger::OnAck. A message that does not parse,
// or a batch Messenger refuses, closes the connection.
//
// Lifetime: `loop`, `messenger`, `contacts`, `udp`, `revoked_keys` and
// `delegate` outlive the sessions. Not thread-safe (the loop's thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/chat/messenger.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/peer_port.h"
#include "peer/reach/udp_paths.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

// The most chat messages stored in one commit.
inline constexpr size_t kMaxReceiveBatch = 1024;
// The outbox is read this many messages at a time while sending, so a long
// outbox costs one pass, not one full read per write-queue refill.
inline constexpr size_t kSendPage = 512;

struct ChatSessionsParams {
  std::string self_name;
  crypto::X25519KeyPair local_static{};  // the identity key's X25519 form
  Bytes certificate;                     // ours, a serialized proto::Certificate
  crypto::Ed25519PublicKey org_public_key{};
  // An outbound connection that has not finished its handshake after this
  // is dropped (inbound ones: the PeerPort's deadline).
  uint64_t handshake_timeout_ms = 10000;
  PathPolicy paths = PathPolicy::kAuto;
  // An outbound TCP dial not established after this gives way to the next
  // path (a NAT that drops SYNs would otherwise hold it for minutes).
  uint64_t tcp_dial_timeout_ms = 3000;
  // After "no direct path", wait this long before trying that contact again.
  uint64_t no_path_retry_ms = 30000;
};

// How a contact is reached, for `confab who --verbose` and the logs.
struct PathReport {
  std::string transport;  // "tcp", "udp" or "none" (no direct path found)
  std::string address;    // the peer's ip:port on that path
  std::string reason;     // why this path: what was tried before it
};

class ChatSessions final : public PeerPort::Handler, private net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Ask the tracker for `name`; the answer comes back through
    // ChatSessions::OnLookupResult with the returned request id.
    // Unavailable when the tracker is not reachable.
    virtual Result<uint64_t> RequestLookup(const std::string& name) = 0;
    // Ask the tracker to tell `name` we are about to punch through to them
    // (they answer with datagrams towards us). Unavailable without tracker.
    virtual Status RequestPunch(const std::string& /*name*/) {
      return Status::Unavailable("no tracker");
    }
    // A session with `name` is up (either direction): e.g. to follow their
    // presence from now on.
    virtual void OnSessionUp(const std::string& /*name*/) {}
    // An Ack from `name` made `count` (> 0) of our messages delivered.
    virtual void OnDelivered(const std::string& /*name*/, int64_t /*count*/) {}

    // Notifications for the control socket's event stream. They report
    // what has already been committed and must not call back into
    // ChatSessions (the node only publishes them).
    //
    // Messages from `from` stored for the first time, in arrival order.
    virtual void OnReceived(const std::string& /*from*/,
                            const std::vector<StoredMessage>& /*fresh*/) {}
    // Outgoing messages to `contact` went out on a connection (kSent) or
    // were acknowledged (kDelivered; an ack repeated for a retry may name
    // messages already delivered).
    virtual void OnMessageStates(const std::string& /*contact*/,
                                 const std::vector<MessageId>& /*ids*/, MessageState /*state*/) {}
    // `name` presented an identity key other than the pinned one and was
    // refused; `why` says so in a sentence.
    virtual void OnKeyChange(const std::string& /*name*/, const Status& /*why*/) {}

    // The directory cache (confab.db). A fresh lookup answer for `name`
    // that checked out (certificate, pin) and had endpoints: worth keeping.
    virtual void OnLookupVerified(const std::string& /*name*/,
                                  const proto::LookupResult& /*result*/) {}
    // The kept answer for `name`, used when RequestLookup fails; nullopt
    // when there is none.
    virtual std::optional<proto::LookupResult> CachedLookup(const std::string& /*name*/) {
      return std::nullopt;
    }
  };

  // Dials UDP through `udp` and refuses `revoked_keys` (raw key bytes) at
  // the dial: both the PeerPort's. Register the result as the port's
  // PURPOSE_CHAT handler to take inbound chats. The timer's error.
  [[nodiscard]] static Result<std::unique_ptr<ChatSessions>> Create(
      net::Loop& loop, ChatSessionsParams params, Messenger& messenger, ContactBook& contacts,
      UdpPaths& udp, const std::set<std::string>& revoked_keys, Delegate* delegate);
  ~ChatSessions() override;
  ChatSessions(const ChatSessions&) = delete;
  ChatSessions& operator=(const ChatSessions&) = delete;

  // Sends `name`'s outbox now if a session is up, else starts reaching
  // them (lookup, then dial). Does nothing while an attempt is under way or
  // when the outbox is empty. Failures are logged; the messages stay queued
  // for the next Deliver.
  void Deliver(const std::string& name);
  // Deliver from a fresh stack in the next loop iteration: requests that
  // arrive together then cost one outbox read.
  void DeliverSoon(const std::string& name);
  // Deliver now even if the last attempt said to wait (the contact just
  // came online: their addresses may have changed).
  void RetryNow(const std::string& name);
  // Deliver for every name in `names`.
  void DeliverAll(const std::set<std::string>& names);

  // The tracker's answer to a RequestLookup (the node forwards them all;
  // unknown request ids are ignored).
  void OnLookupResult(const proto::LookupResult& result);
  // PeerPort::Handler: an inbound chat channel, checked.
  Status OnPeerChannel(PeerChannel& channel, ByteView first_message) override;
  // Closes every connection with `name` (e.g. just blocked or revoked: the
  // PeerPort's hello check refuses them from then on). `reason` is logged.
  void DropSessions(const std::string& name, const Status& reason);

  bool HasSession(const std::string& name) const;
  // How `name` is reached now, or why not; nullopt if never tried.
  std::optional<PathReport> PathTo(const std::string& name) const;
  PathPolicy path_policy() const { return params_.paths; }

  // Closes every connection. Idempotent.
  void Close();

 private:
  class Link;
  struct Attempt {  // reaching one contact
    bool lookup_in_flight = false;
    crypto::X25519PublicKey remote_static{};
    std::vector<net::Address> endpoints;  // TCP, still to try, in order
    std::vector<net::Address> udp_candidates;
    bool udp_tried = false;
    std::vector<std::string> failures;  // what this attempt tried, and how it ended
    Link* dialing = nullptr;
    int64_t no_path_until_ms = 0;  // after "no direct path": wait till then
  };

  ChatSessions(net::Loop& loop, ChatSessionsParams params, Messenger& messenger,
               ContactBook& contacts, UdpPaths& udp, const std::set<std::string>& revoked_keys,
               Delegate* delegate);

  // Dials `name` over UDP; false when there is nothing to try.
  bool DialUdp(const std::string& name);
  // The soon timer (0 ms): flushes inboxes, Delivers to kick_, then tells
  // the delegate of sessions_up_.
  void OnTimer() override;
  void ArmSoonTimer();
  // Stores link.inbox in one commit and sends one Ack for it.
  Status FlushInbox(Link& link);

  // For Link.
  void OnEstablished(Link& link);
  Status HandleMessage(Link& link, ByteView plaintext);
  void SendPending(Link& link);
  void OnLinkClosed(Link& link, const Status& status);  // destroys the link: last

  // Steps 2-3 of reaching `name` with a lookup answer, fresh or kept.
  void ReachWith(const std::string& name, const proto::LookupResult& result, bool fresh);
  void DialNext(const std::string& name);
  Link* AddLink(std::string peer, bool outbound, uint64_t timeout_ms);
  // Our side of a chat channel's handshake with the holder of `remote_static`.
  channel::InitiatorParams ChatInitiator(const crypto::X25519PublicKey& remote_static) const;
  Link* EstablishedLinkTo(const std::string& name) const;

  net::Loop& loop_;
  ChatSessionsParams params_;
  Messenger& messenger_;
  ContactBook& contacts_;
  UdpPaths& udp_;
  const std::set<std::string>& revoked_keys_;  // the PeerPort's: identity keys' bytes
  Delegate* const delegate_;
  std::map<std::string, PathReport> paths_;  // the last outcome per contact
  std::map<Link*, std::unique_ptr<Link>> links_;
  std::map<std::string, Attempt> attempts_;
  std::map<uint64_t, std::string> lookups_;  // request id -> name
  std::unique_ptr<net::Timer> soon_timer_;
  std::set<std::string> kick_;         // contacts whose session just came up inbound
  std::set<std::string> sessions_up_;  // inbound sessions to tell the delegate of
  std::set<Link*> flush_;              // links with messages to store and acknowledge
  bool closed_ = false;
};

}  // namespace confab::peer
