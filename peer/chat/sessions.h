// ChatSessions: the node's direct, end-to-end encrypted chat connections
// (PURPOSE_CHAT, DESIGN.md "Protocols"), one role: move Messenger's outbox
// to contacts and their messages into Messenger. It knows sockets and keys;
// Messenger knows messages; the node wires the two and the tracker link.
//
// Reaching a contact (Deliver): the Dialer (peer/reach/dialer.h) does it all
// (lookup or kept lookup, certificate and pin, LAN TCP, public TCP, punch and
// UDP, the path policy, the hold after "no direct path") and hands back an
// established channel. ChatSessions then sends PeerMessage{chat} for every
// outbox message not yet sent on this connection, and marks them sent (or an
// empty Ack when there is none: the PeerPort hands a channel over only with
// its first message). When the Dialer finds no way there, the messages stay
// queued and PathTo says why. Never through the tracker.
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
// Chat protocol 2 (ChatSessionsParams::replicas set; sessions_reconcile.cc):
// each side's first message is a hello, the dialer's with the upgrade notice
// a protocol 1 node shows; then one chat::ReconcileSession per connection
// over the replicas. A protocol 1 peer is refused with "X runs an older
// confab; ask them to upgrade" (Delegate::OnPeerOutdated). docs/design.md,
// "Chat".
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
#include "peer/chat/replica_view.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/dialer.h"
#include "peer/reach/peer_port.h"
#include "peer/reach/udp_paths.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

// The most chat messages stored in one commit.
inline constexpr size_t kMaxReceiveBatch = 1024;
// The outbox is read this many messages at a time while sending, so a long
// outbox costs one pass, not one full read per write-queue refill.
inline constexpr size_t kSendPage = 512;

// The chat protocol spoken when ChatSessionsParams::replicas is set:
// ChatHello {version} first, then reconcile (docs/design.md, "Chat").
// Protocol 1 is ChatMessage/Ack, which has no hello.
inline constexpr uint32_t kChatProtocolVersion = 2;

struct ChatSessionsParams {
  std::string self_name;
  crypto::X25519KeyPair local_static{};  // the identity key's X25519 form
  Bytes certificate;                     // ours, a serialized proto::Certificate
  // Set: the connection carries protocol 2, reconcile over these replicas
  // (one ReconcileSession per connection), and Messenger is not used; a
  // protocol 1 peer is refused with the upgrade notice. Unset: protocol 1
  // (ChatMessage/Ack over Messenger), as before. Outlives the sessions.
  chat::ReplicaView* replicas = nullptr;
  // The version our hello names, and the one we speak: a protocol 2 build
  // speaks 2. (The tests set 3 to play a newer node.)
  uint32_t protocol_version = kChatProtocolVersion;
  // While a contact is reached only through the relay, the direct lanes are
  // tried again this often (0: never); a direct channel that opens takes
  // over and the relayed one is shut down (sessions_udp.cc).
  uint64_t direct_retry_ms = 0;
};

class ChatSessions final : public PeerPort::Handler,
                           private net::Timer::Delegate,
                           private Dialer::Requester {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
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
    // (Key changes are told by the PeerPort for inbound hellos and by the
    // Dialer for routes, not here.)

    // Protocol 2 only. `name` speaks another chat protocol: `why` says who
    // should upgrade ("bob runs an older confab; ask them to upgrade"), to
    // show the person. Told once per name while the node runs; the
    // connection is closed with the same reason.
    virtual void OnPeerOutdated(const std::string& /*name*/, const std::string& /*why*/) {}
    // Protocol 2: a reconcile round with `name` ended (both hold what the
    // other could give them).
    virtual void OnReconciled(const std::string& /*name*/) {}
  };

  // Reaches contacts through `dialer`; `udp` (the PeerPort's) tells where a
  // UDP session's packets come from. Register the result as the port's
  // PURPOSE_CHAT handler to take inbound chats. The timer's error.
  [[nodiscard]] static Result<std::unique_ptr<ChatSessions>> Create(net::Loop& loop,
                                                                    ChatSessionsParams params,
                                                                    Messenger& messenger,
                                                                    Dialer& dialer, UdpPaths& udp,
                                                                    Delegate* delegate);
  ~ChatSessions() override;
  ChatSessions(const ChatSessions&) = delete;
  ChatSessions& operator=(const ChatSessions&) = delete;

  // Sends `name`'s outbox now if a session is up, else asks the Dialer to
  // reach them. (Protocol 2: a reconcile round with `name` if a session is
  // up, else dial them; the replicas decide what goes.) Does nothing while an attempt is under way,
  // while the Dialer holds `name` after "no direct path", or when the outbox is empty. Failures are
  // logged; the messages stay queued for the next Deliver.
  void Deliver(const std::string& name);
  // Deliver from a fresh stack in the next loop iteration: requests that
  // arrive together then cost one outbox read.
  void DeliverSoon(const std::string& name);
  // Deliver now even if the last attempt said to wait (the contact just
  // came online: their addresses may have changed).
  void RetryNow(const std::string& name);
  // Deliver for every name in `names`.
  void DeliverAll(const std::set<std::string>& names);

  // PeerPort::Handler: an inbound chat channel, checked.
  Status OnPeerChannel(PeerChannel& channel, ByteView first_message) override;
  // Closes every connection with `name` (e.g. just blocked or revoked: the
  // PeerPort's hello check refuses them from then on). `reason` is logged.
  void DropSessions(const std::string& name, const Status& reason);

  bool HasSession(const std::string& name) const;
  // Open sessions (with anyone) over `transport`: `confab status --verbose`.
  size_t SessionsOver(Transport transport) const;
  // How `name` is reached now, or why not; nullopt if never tried.
  std::optional<PathReport> PathTo(const std::string& name) const;

  // Our certificate after a renewal (a serialized proto::Certificate),
  // sent from the next handshake on.
  void SetCertificate(Bytes certificate) { params_.certificate = std::move(certificate); }

  // Closes every connection. Idempotent.
  void Close();

  // For every contact reached only through the relay, one direct-only
  // attempt (its own timer calls this every direct_retry_ms).
  void RetryDirect();

 private:
  class Link;
  struct DirectRetryHook final : net::Timer::Delegate {
    ChatSessions* sessions = nullptr;
    void OnTimer() override { sessions->RetryDirect(); }
  };
  ChatSessions(net::Loop& loop, ChatSessionsParams params, Messenger& messenger, Dialer& dialer,
               UdpPaths& udp, Delegate* delegate);

  // Dialer::Requester
  void OnReached(const std::string& name, std::unique_ptr<channel::ChannelConnection> connection,
                 const PathReport& path, udp::SessionId session) override;
  void OnNotReached(const std::string& name, const Status& why,
                    const std::optional<PathReport>& path) override;
  // The soon timer (0 ms): flushes inboxes, Delivers to kick_, then tells
  // the delegate of sessions_up_.
  void OnTimer() override;
  void ArmSoonTimer();
  // Stores link.inbox in one commit and sends one Ack for it.
  Status FlushInbox(Link& link);

  // For Link.
  Status HandleMessage(Link& link, ByteView plaintext);
  // Protocol 2 (sessions_reconcile.cc): one message, the hello first.
  Status HandleReconcile(Link& link, const proto::PeerMessage& message);
  // Our hello; the dialer's also carries the upgrade notice for a protocol 1 node.
  Status SendHello(Link& link, bool with_notice);
  // `link`'s peer sent a protocol 1 message first.
  Status RefuseOutdated(Link& link, const proto::PeerMessage& message);
  // Sends what the link's ReconcileSession queued and handles its events.
  Status DrainReconcile(Link& link);
  void DeliverReconcile(const std::string& name);
  void SendPending(Link& link);
  void OnLinkClosed(Link& link, const Status& status);  // destroys the link: last

  // A link for an established channel, which the caller moves in.
  Link* AddLink(std::string peer);
  // Our side of a chat channel's handshake (the Dialer adds their key).
  channel::InitiatorParams ChatInitiator() const;
  // A direct link when there is one, else a relayed one, else null.
  Link* EstablishedLinkTo(const std::string& name) const;
  // `name` has an established link, and every one is relayed.
  bool OnlyRelayed(const std::string& name) const;
  // A direct link to `name` is up: the relayed ones go, after what they
  // already queued (protocol 2 reconciles on the direct one).
  void ShutRelayedLinks(const std::string& name);

  net::Loop& loop_;
  ChatSessionsParams params_;
  Messenger& messenger_;
  Dialer& dialer_;
  UdpPaths& udp_;
  Delegate* const delegate_;
  std::map<std::string, PathReport> paths_;  // the last outcome per contact
  std::map<Link*, std::unique_ptr<Link>> links_;
  std::unique_ptr<net::Timer> soon_timer_;
  DirectRetryHook direct_hook_;
  std::unique_ptr<net::Timer> direct_timer_;  // set when direct_retry_ms > 0
  std::set<std::string> kick_;                // contacts whose session just came up inbound
  std::set<std::string> sessions_up_;         // inbound sessions to tell the delegate of
  std::set<Link*> flush_;                     // links with messages to store and acknowledge
  bool closed_ = false;
  std::set<std::string> outdated_told_;  // names the delegate heard OnPeerOutdated for
};

// Protocol 2's notice to a protocol 1 node, a ChatMessage it stores and
// shows as from `self`: a fixed id per sender (shown once however often it
// is sent), seq 2^63-1 (after every real message).
proto::ChatMessage UpgradeNotice(const std::string& self, int64_t now_ms);

}  // namespace confab::peer
