// Node: `confab up`. It wires the node's roles together and holds no
// protocol logic of its own:
//   confab.db -> ContactBook, HistoryStore -> Messenger   (peer/contacts, peer/chat)
//                DirectoryCache: last lookups and revoked keys, so known
//                contacts stay reachable while the tracker is down
//                (node_directory.cc)
//   PeerPort       the peer port, TCP and UDP (peer/reach): the hello check,
//                  revoked keys, hostile-input limits; it hands chat
//                  channels to ChatSessions and file channels to Transfers
//   Dialer         reaches contacts for chat and files (lookup, checks, TCP,
//                  UDP through the PeerPort's UdpPaths; peer/reach/dialer.h);
//                  the node is its Directory (TrackerLink, DirectoryCache)
//                  and forwards it every LookupResult
//   ChatSessions   the direct chat connections
//   TrackerLink    presence, lookups, announce/subscribe (reconnects itself)
//   Transfers      file transfers (peer/transfer); control requests in
//                  node_transfers.cc
//   ControlServer  node.sock, for the CLI (contacts, verify and export in
//                  node_contacts.cc) and the console's event stream
//                  (node_events.cc: messages, states, presence, key changes)
//   signals        SIGINT/SIGTERM start a clean shutdown
//   a retry timer  the outbox again every retry_ms while it is not empty,
//                  besides presence pushes; an idle node has no timer armed
//   a purge timer  with history.retain_days (config.toml): purges older
//                  history at start-up and then every purge_every_ms
//
// Lifetime: `loop` outlives the node. Run the loop after Create; it returns
// once Shutdown() (or a signal) has closed everything. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "common/base/result.h"
#include "common/crypto/identity.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/signal_watcher.h"
#include "common/net/timer.h"
#include "common/store/database.h"
#include "peer/chat/history_store.h"
#include "peer/chat/messenger.h"
#include "peer/chat/sessions.h"
#include "peer/contacts/contact_book.h"
#include "peer/contacts/directory_cache.h"
#include "peer/control/control_server.h"
#include "peer/node/home.h"
#include "peer/reach/dialer.h"
#include "peer/reach/peer_port.h"
#include "peer/tracker_link/join.h"
#include "peer/tracker_link/tracker_link.h"
#include "peer/transfer/transfers.h"

namespace confab::peer {

inline constexpr std::string_view kDatabaseFile = "confab.db";
inline constexpr std::string_view kControlSocketFile = "node.sock";
inline constexpr uint16_t kDefaultPeerPort = 7651;

// Told of delivery events as they happen, on the loop's thread: the seam
// for in-process users (the delivery benchmark; later, notifications).
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // `count` of our messages to `contact` became delivered: an Ack named
  // them, sent only once they were durable at the contact.
  virtual void OnDelivered(const std::string& contact, int64_t count) = 0;
};

struct NodeOptions {
  std::string listen = "0.0.0.0:7651";   // the peer port (TCP, and UDP on the same number)
  uint64_t retry_ms = 5000;              // outbox retry period
  DeliveryObserver* observer = nullptr;  // optional; must outlive the node
  int64_t retain_days = 0;               // history.retain_days; 0 = keep all
  PathPolicy paths = PathPolicy::kAuto;  // network.path
  uint64_t udp_head_start_ms = 300;      // network.udp_head_start_ms
  uint64_t purge_every_ms = 24 * 3600 * 1000;
  ControlServerOptions control{};
};

class Node final : private TrackerLink::Delegate,
                   private PeerPort::Delegate,
                   private ChatSessions::Delegate,
                   private Dialer::Directory,
                   private transfer::Transfers::Delegate,
                   private ControlServer::Delegate,
                   private net::SignalWatcher::Delegate,
                   private net::Timer::Delegate {
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

  // Queues `texts` to `to` in one commit (Messenger::ComposeBatch, whose
  // errors it returns) and starts delivering them from the next loop
  // iteration. What `confab msg` does.
  [[nodiscard]] Result<std::vector<StoredMessage>> Queue(const std::string& to,
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
  void OnPunch(const proto::PunchNotice& notice) override;
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
  // node_events.cc: ChatSessions' notifications become control Events.
  void OnReceived(const std::string& from, const std::vector<StoredMessage>& fresh) override;
  void OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                       MessageState state) override;
  // (also PeerPort::Delegate's and the Dialer's: a refused hello or route)
  void OnKeyChange(const std::string& name, const Status& why) override;
  // node_directory.cc: the directory cache.
  void OnLookupVerified(const std::string& name, const proto::LookupResult& result) override;
  std::optional<proto::LookupResult> CachedLookup(const std::string& name) override;
  // Refuses every revoked key stored in confab.db (at start-up).
  Status LoadRevocations();
  // ControlServer::Delegate
  proto::Response HandleControl(const proto::Request& request) override;
  // SignalWatcher::Delegate
  void OnSignal(int signum) override;
  // Timer::Delegate: the retry timer
  void OnTimer() override;

  proto::Response Send(const proto::SendRequest& request);
  proto::Response SendBatch(const proto::SendBatchRequest& request);
  proto::Response History(const proto::HistoryRequest& request);
  proto::Response Who();
  // node_paths.cc: `confab status` (no argument) and who's path fields.
  proto::Response NodeStatus();
  void AddPath(proto::ContactPresence* entry) const;
  proto::Response SetStatus(const proto::StatusRequest& request);
  // node_contacts.cc: `confab contacts`, `confab verify`, `confab export`.
  proto::Response Contacts(const proto::ContactsRequest& request);
  proto::Response Verify(const proto::VerifyRequest& request);
  proto::Response Export(const proto::ExportRequest& request);
  // node_transfers.cc: `confab send`, `transfers`, `accept`, `reject`, ...
  proto::Response SendFile(const proto::TransferSendRequest& request);
  proto::Response ListTransfers(const proto::TransfersRequest& request);
  proto::Response TransferAction(const proto::TransferActionRequest& request);
  // Subscribes to every contact and correspondent (when the set grew).
  void RefreshSubscriptions();
  // Arms the retry timer unless it runs already.
  void ArmRetry();
  // node_events.cc
  proto::HistoryEntry ToEntry(const StoredMessage& m) const;
  proto::ContactPresence PresenceOf(const std::string& name, const Contact* contact) const;
  void Publish(proto::Event event);
  // Publishes the presence of `entry.name()` if it differs from what was
  // known, then records it.
  void UpdatePresence(const proto::PresenceEntry& entry);
  // Purges history older than retain_days (when set); logs what it did.
  void PurgeHistory();
  std::vector<proto::Endpoint> Endpoints() const;

  net::Loop& loop_;
  const NodeOptions options_;
  std::string name_;
  std::optional<net::Address> tracker_;      // its TCP port is also its first UDP probe port
  crypto::Ed25519PublicKey identity_key_{};  // ours, for safety numbers
  std::string control_path_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ContactBook> contacts_;
  std::unique_ptr<HistoryStore> history_;
  std::unique_ptr<DirectoryCache> directory_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<PeerPort> port_;  // outlives the dialer and the two below, which borrow from it
  // Before sessions_: the Dialer's abandoned dials close after the sessions.
  std::unique_ptr<LoopClock> clock_;
  std::unique_ptr<ChannelTransports> transports_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<ChatSessions> sessions_;
  std::unique_ptr<transfer::Transfers> transfers_;
  std::unique_ptr<TrackerLink> link_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<net::SignalWatcher> sigint_, sigterm_;
  std::unique_ptr<net::Timer> retry_timer_;
  struct PurgeHook final : net::Timer::Delegate {  // the purge timer's delegate
    Node* node = nullptr;
    void OnTimer() override { node->PurgeHistory(); }
  } purge_hook_;
  std::unique_ptr<net::Timer> purge_timer_;
  std::set<std::string> correspondents_;  // subscribed, and retried
  std::map<std::string, proto::PresenceEntry> presence_;
  bool shut_down_ = false;
};

}  // namespace confab::peer
