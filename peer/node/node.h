// Node: `confab up`. Wiring only: it creates the node's parts, connects
// their delegates and closes them on shutdown; the logic lives in the parts.
//   confab.db -> ContactBook, HistoryStore -> Messenger  (peer/contacts, chat)
//                DirectoryCache: last lookups and revoked keys, so known
//                contacts stay reachable while the tracker is down
//   PeerPort       the peer port, TCP and UDP (peer/reach): the hello check,
//                  revoked keys, hostile-input limits; it hands chat
//                  channels to ChatSessions and file channels to Transfers
//   Dialer         reaches contacts for chat and files (lookup, checks, TCP,
//                  UDP through the PeerPort's UdpPaths; peer/reach/dialer.h);
//                  the node is its Directory (TrackerLink, DirectoryCache)
//                  and forwards it every LookupResult
//   ChatSessions   the direct chat connections
//   TrackerLink    presence, lookups, announce/subscribe (reconnects itself)
//   Transfers      file transfers
//   ControlServer  node.sock: ControlHandlers answer it, EventFeed streams to
//                  the console (peer/control)
//   OutboxRetry, HistoryPurge  the retry and retention timers (peer/chat)
//   PeerAccess     block and revocation cut a peer off (peer/control)
//   signals        SIGINT/SIGTERM start a clean shutdown
// The delegate overrides below forward to those parts; lookups, punches and
// the directory cache (node_directory.cc) are still answered here.
//
// Lifetime: `loop` outlives the node. Run the loop after Create; it returns
// once Shutdown() (or a signal) has closed everything. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/net/signal_watcher.h"
#include "peer/chat/history_purge.h"
#include "peer/contacts/directory_cache.h"
#include "peer/control/control_handlers.h"
#include "peer/node/home.h"
#include "peer/reach/dialer.h"
#include "peer/reach/peer_port.h"

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
                   private transfer::Transfers::Delegate {
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
  void OnReceived(const std::string& from, const std::vector<StoredMessage>& fresh) override;
  void OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                       MessageState state) override;
  // (also PeerPort::Delegate's and the Dialer's: a refused hello or route)
  void OnKeyChange(const std::string& name, const Status& why) override;
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
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ContactBook> contacts_;
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
  std::unique_ptr<OutboxRetry> retry_;
  std::unique_ptr<Correspondents> correspondents_;
  std::unique_ptr<PeerAccess> access_;
  std::unique_ptr<ControlHandlers> handlers_;
  SignalHook signal_hook_;
  std::unique_ptr<net::SignalWatcher> sigint_, sigterm_;
  bool shut_down_ = false;
};

}  // namespace confab::peer
