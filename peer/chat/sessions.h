// ChatSessions: the node's direct, end-to-end encrypted chat connections
// (PURPOSE_CHAT, DESIGN.md "Protocols"), one role: move Messenger's outbox
// to contacts and their messages into Messenger. It knows sockets and keys;
// Messenger knows messages; the node wires the two and the tracker link.
//
// Reaching a contact (Deliver): the Dialer (peer/reach/dialer.h) does it all
// (lookup or kept lookup, certificate and pin, LAN TCP, public TCP, punch and
// UDP, the path policy, the hold after "no direct path") and hands back an
// established channel. ChatSessions then sends PeerMessage{chat} for every
// outbox message not yet sent on this connection, and marks them sent. When
// the Dialer finds no way there, the messages stay queued and PathTo says why.
// Never through the tracker.
//
// Accepting (the peer port, also for PURPOSE_FILE, handed to the delegate
// after the same checks): the hello payload must be a certificate signed
// by the org key, for someone other than us, its identity key not revoked
// (told by the tracker in this run, or kept in confab.db: RefuseKey), not
// blocked, matching the Noise static key and the pinned key (pinned now on
// first contact). Anything else drops the connection without an answer.
//
// On any established connection, either side: PeerMessage{chat} messages
// read in one loop iteration (at most kMaxReceiveBatch) go to
// Messenger::Receive as one batch, one commit, and one Ack goes back only
// after it returns (committed);
// PeerMessage{ack} goes to Messenger::OnAck. A message that does not parse,
// or a batch Messenger refuses, closes the connection.
//
// Lifetime: `loop`, `messenger`, `contacts`, `delegate` and the Dialer
// (UseDialer) outlive the sessions. Not thread-safe (the loop's thread).
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
#include "common/net/tcp_listener.h"
#include "common/net/timer.h"
#include "peer/chat/messenger.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/dialer.h"
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
  // A connection that has not finished its handshake after this is dropped.
  uint64_t handshake_timeout_ms = 10000;
  UdpPathsParams udp;  // local_static and certificate are filled in from above
};

class ChatSessions final : private net::TcpListener::Delegate,
                           private net::Timer::Delegate,
                           private UdpPaths::Delegate,
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
    // `name` presented an identity key other than the pinned one and was
    // refused; `why` says so in a sentence.
    virtual void OnKeyChange(const std::string& /*name*/, const Status& /*why*/) {}
    // A contact's inbound file connection (PURPOSE_FILE) passed the same
    // hello checks as chat. To serve it the delegate moves `*connection`
    // out, sets itself as its delegate and returns the hello answer; an
    // error (or leaving `*connection` in place) drops it unanswered.
    virtual Result<channel::ChannelConnection::HelloAnswer> AdoptFileConnection(
        const std::string& /*name*/, std::unique_ptr<channel::ChannelConnection>* /*connection*/) {
      return Status::PermissionDenied("file transfers are not served here");
    }
  };

  // Listens for peers on `listen` (port 0 picks one), TCP and UDP on the
  // same number. The listeners' errors.
  [[nodiscard]] static Result<std::unique_ptr<ChatSessions>> Create(
      net::Loop& loop, const net::Address& listen, ChatSessionsParams params, Messenger& messenger,
      ContactBook& contacts, Delegate* delegate);
  ~ChatSessions() override;
  ChatSessions(const ChatSessions&) = delete;
  ChatSessions& operator=(const ChatSessions&) = delete;

  // The bound address (the real port when asked for port 0).
  const net::Address& local_address() const { return *local_address_; }

  // The Dialer that reaches contacts for chat; set once, before the first
  // Deliver (the Dialer takes revoked_keys() from these sessions).
  void UseDialer(Dialer* dialer) { dialer_ = dialer; }

  // Sends `name`'s outbox now if a session is up, else asks the Dialer to
  // reach them. Does nothing while an attempt is under way, while the
  // Dialer holds `name` after "no direct path", or when the outbox is
  // empty. Failures are logged; the messages stay queued for the next
  // Deliver.
  void Deliver(const std::string& name);
  // Deliver from a fresh stack in the next loop iteration: requests that
  // arrive together then cost one outbox read.
  void DeliverSoon(const std::string& name);
  // Deliver now even if the last attempt said to wait (the contact just
  // came online: their addresses may have changed): lifts the Dialer's hold.
  void RetryNow(const std::string& name);
  // Deliver for every name in `names`.
  void DeliverAll(const std::set<std::string>& names);

  // Refuses certificates carrying `identity_key` (a revoked member's: told
  // by the tracker now, or from the stored revocation list), at the hello and
  // at the dial, whatever name they carry, and drops sessions with `name`.
  // The name itself is not refused: ops may free it and enrol the person
  // again under a new key, which then meets the pin check (a key change).
  void RefuseKey(const std::string& name, ByteView identity_key);
  // Every key refused so far (raw bytes), for the Dialer.
  const std::set<std::string>& revoked_keys() const { return revoked_keys_; }
  // Closes every connection with `name` (e.g. just blocked: the hello
  // check refuses them from then on). `reason` is logged.
  void DropSessions(const std::string& name, const Status& reason);

  bool HasSession(const std::string& name) const;
  // How `name` is reached now, or why not; nullopt if never tried.
  std::optional<PathReport> PathTo(const std::string& name) const;
  // The UDP side, for discovery and punch notices (node) and the Dialer.
  UdpPaths* udp() const { return udp_.get(); }

  // Stops listening and closes every connection. Idempotent.
  void Close();

 private:
  class Link;
  ChatSessions(net::Loop& loop, ChatSessionsParams params, Messenger& messenger,
               ContactBook& contacts, Delegate* delegate);

  void OnIncoming(Status status) override;
  // UdpPaths::Delegate
  Status CheckUdpHello(proto::Purpose purpose, ByteView certificate,
                       const crypto::X25519PublicKey& remote_static) override;
  void OnUdpStream(proto::Purpose purpose, std::unique_ptr<udp::SessionStream> stream,
                   const net::Address& from) override;
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
  Result<channel::ChannelConnection::HelloAnswer> CheckHello(Link& link,
                                                             const channel::Event& hello);
  Status HandleMessage(Link& link, ByteView plaintext);
  void SendPending(Link& link);
  void OnLinkClosed(Link& link, const Status& status);  // destroys the link: last

  // A link with a handshake timer of `timeout_ms` (0: none, established).
  Link* AddLink(std::string peer, bool outbound, uint64_t timeout_ms);
  // Our side of a chat channel's handshake (the Dialer adds their key).
  channel::InitiatorParams ChatInitiator() const;
  // Our side of an inbound channel on the peer port, TCP or UDP (chat, or a
  // file connection handed to the delegate).
  channel::ResponderParams PeerResponder() const;
  Link* EstablishedLinkTo(const std::string& name) const;

  net::Loop& loop_;
  ChatSessionsParams params_;
  Messenger& messenger_;
  ContactBook& contacts_;
  Delegate* const delegate_;
  Dialer* dialer_ = nullptr;
  std::unique_ptr<net::TcpListener> listener_;
  std::unique_ptr<UdpPaths> udp_;
  std::map<std::string, PathReport> paths_;  // the last outcome per contact
  std::optional<net::Address> local_address_;
  std::map<Link*, std::unique_ptr<Link>> links_;
  std::set<std::string> revoked_keys_;  // identity keys' bytes (a string: GCC 12 warns on
                                        // std::less<std::vector<uint8_t>> in Release)
  std::unique_ptr<net::Timer> soon_timer_;
  std::set<std::string> kick_;         // contacts whose session just came up inbound
  std::set<std::string> sessions_up_;  // inbound sessions to tell the delegate of
  std::set<Link*> flush_;              // links with messages to store and acknowledge
  std::set<Link*> handed_off_;         // file connections given away: links to drop
  bool closed_ = false;
};

}  // namespace confab::peer
