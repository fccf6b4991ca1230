// Node: `confab up`. Wiring only: it creates the node's parts (docs/design.md,
// "peer/"), connects their delegates, and closes them on shutdown. What is
// left here forwards: tracker events to the Dialer, PeerAccess and the event
// feed; the Dialer's lookups and punches to TrackerLink and DirectoryCache;
// chat's notifications to the event feed.
//
// Lifetime: `loop` outlives the node. Run the loop after Create; it returns
// once Shutdown() (or a signal) has closed everything. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/net/signal_watcher.h"
#include "peer/chat/history_purge.h"
#include "peer/chat/replicas.h"
#include "peer/contacts/directory_cache.h"
#include "peer/control/control_handlers.h"
#include "peer/node/home.h"
#include "peer/node/node_options.h"
#include "peer/node/relay_wiring.h"
#include "peer/reach/dialer.h"
#include "peer/reach/peer_port.h"

namespace confab::peer {

class Node final : private TrackerLink::Delegate,
                   private PeerPort::Delegate,
                   private ChatSessions::Delegate,
                   private Dialer::Directory,
                   private transfer::Transfers::Delegate,
                   private chat::Replicas::Observer {
 public:
  // Loads the enrolment from `home`, opens confab.db, listens on the peer
  // port and node.sock, and starts the tracker link. Errors name what
  // failed (NotFound when not enrolled; FailedPrecondition when a node
  // already runs on this home; the bind error for a busy port).
  [[nodiscard]] static Result<std::unique_ptr<Node>> Create(net::Loop& loop, const Home& home,
                                                            const crypto::SigningKey& identity,
                                                            const NodeOptions& options);
  ~Node() override;

  const std::string& name() const { return name_; }
  const net::Address& peer_address() const { return port_->local_address(); }
  const std::string& control_path() const { return control_path_; }

  // What `confab msg` does: MessageHandlers::Queue.
  [[nodiscard]] Result<std::vector<chat::HistoryEntry>> Queue(const std::string& to,
                                                              std::span<const std::string> texts);

  // Closes every handle; the loop then runs out. Idempotent.
  void Shutdown();

 private:
  Node(net::Loop& loop, NodeOptions options) : loop_(loop), options_(std::move(options)) {}

  // TrackerLink::Delegate
  void OnConnected(const proto::SessionWelcome& welcome) override;
  void OnPresence(const proto::PresenceDelta& delta) override;
  void OnLookupResult(const proto::LookupResult& result) override;
  void OnRevoked(const proto::Revoked& revoked) override;
  void OnCertificateRenewed(const proto::Certificate& certificate) override;
  void OnPunch(const proto::PunchNotice& notice) override;
  void OnRelayOffer(const proto::RelayOffer& offer) override { relay_->OnRelayOffer(offer); }
  void OnRelayNotice(const proto::RelayNotice& notice) override { relay_->OnRelayNotice(notice); }
  void OnDisconnected(const TrackerLink::Disconnect& disconnect) override;
  void OnRefused(const Status& reason) override;
  // Dialer::Directory (and OnKeyChange, CachedLookup, OnLookupVerified below)
  Result<uint64_t> RequestLookup(const std::string& name) override;
  Status RequestPunch(const std::string& name) override;
  // Transfers::Delegate
  bool ReachedOverUdp(const std::string& name) override;
  // ChatSessions::Delegate
  void OnSessionUp(const std::string& name) override;
  void OnDelivered(const std::string& name, int64_t count) override;
  void OnReceived(const std::string& from, const std::vector<StoredMessage>& fresh) override;
  void OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                       MessageState state) override;
  // PeerPort::Delegate and Dialer::Directory: a refused hello or route
  void OnKeyChange(const std::string& name, const Status& why) override;
  // chat::Replicas::Observer
  void OnEntriesStored(const chat::ConversationInfo& conversation,
                       const std::vector<chat::HistoryEntry>& fresh) override;
  void OnStatesMoved(const chat::ConversationInfo& conversation,
                     const std::vector<chat::HistoryEntry>& moved) override;
  void OnPeerOutdated(const std::string& name, const std::string& why) override;
  // The identity key an entry's author is known by: a pinned contact, or
  // the certificate of a kept lookup. For someone we know neither way the
  // tracker is asked, so a later round can check their entries.
  std::optional<crypto::Ed25519PublicKey> AuthorKey(const std::string& person);
  void OnLookupVerified(const std::string& name, const proto::LookupResult& result) override;
  std::optional<proto::LookupResult> CachedLookup(const std::string& name) override;
  // Refuses every revoked key stored in confab.db (at start-up).
  Status LoadRevocations();
  std::vector<proto::Endpoint> Endpoints() const;

  struct SignalHook final : net::SignalWatcher::Delegate {  // SIGINT, SIGTERM: Shutdown
    Node* node = nullptr;
    void OnSignal(int signum) override;
  };

  net::Loop& loop_;
  const NodeOptions options_;
  std::string name_;
  std::optional<net::Address> tracker_;  // its TCP port is also its first UDP probe port
  std::string control_path_;
  std::string certificate_path_;  // certificate.pb, rewritten on a renewal
  crypto::Ed25519PublicKey org_public_key_{};
  crypto::Ed25519PublicKey identity_key_{};
  int64_t certificate_expires_unix_ = 0;  // of the certificate we present
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ContactBook> contacts_;
  std::optional<crypto::SigningKey> identity_;  // signs our entries
  std::unique_ptr<chat::ConversationStore> conversations_;
  std::unique_ptr<chat::Replicas> replicas_;  // borrows conversations_ and identity_
  std::unique_ptr<HistoryStore> history_;
  std::unique_ptr<DirectoryCache> directory_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<EventFeed> feed_;  // before transfers_: their observer
  std::unique_ptr<HistoryPurge> purge_;
  std::unique_ptr<PeerPort> port_;  // outlives the dialer and the two below, which borrow from it
  std::unique_ptr<LoopClock> clock_;
  std::unique_ptr<ChannelTransports> transports_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<ChatSessions> sessions_;
  std::unique_ptr<transfer::Transfers> transfers_;
  std::unique_ptr<TrackerLink> link_;
  std::unique_ptr<RelayWiring> relay_;  // after link_, transports_ and port_: it borrows them
  std::unique_ptr<OutboxRetry> retry_;
  std::unique_ptr<Correspondents> correspondents_;
  std::unique_ptr<PeerAccess> access_;
  std::unique_ptr<ControlHandlers> handlers_;
  // After handlers_, so it goes first: its pending checks call into them.
  std::unique_ptr<MemberCheck> member_check_;
  SignalHook signal_hook_;
  std::unique_ptr<net::SignalWatcher> sigint_, sigterm_;
  bool shut_down_ = false;
};

}  // namespace confab::peer
