// EventFeed: the control socket's event stream (proto/control.proto, Event),
// fed by what ChatSessions, the tracker link and Transfers report: messages
// stored, message states, key changes, presence changes, transfer events,
// the tracker link going down and coming back, and revocations.
// It also keeps the presence last pushed by the tracker (the cache `confab
// who` reads), publishing a contact's presence only when it changed.
//
// Presence grace (EnableGrace): when the tracker link comes back after a
// down, the restarted tracker's first pushes say "offline" for everyone
// who has not reconnected yet. For `grace_ms` after the link is back, a
// contact shown online who is pushed offline is held as they were; an
// online push within the grace drops the hold, and when it runs out what
// is still held is applied and published. So a tracker restart does not
// flap every contact offline and back.
//
// Lifetime: `server` and `contacts` outlive it. Loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/net/timer.h"
#include "peer/chat/history_store.h"
#include "peer/chat/replicas.h"
#include "peer/contacts/contact_book.h"
#include "peer/control/control_server.h"
#include "peer/transfer/transfers.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

class EventFeed final : public transfer::Transfers::Observer, private net::Timer::Delegate {
 public:
  EventFeed(ControlServer& server, ContactBook& contacts, std::string self_name)
      : server_(server), contacts_(contacts), self_(std::move(self_name)) {}

  // Messages stored: received, or composed here (state queued).
  void OnMessages(const std::vector<StoredMessage>& stored);
  // Entries of a replicated conversation stored: received, or written here
  // (state queued). Only texts are published.
  void OnEntries(const chat::ConversationInfo& conversation,
                 const std::vector<chat::HistoryEntry>& entries);
  // Our entries' states moved (sent, delivered).
  void OnEntryStates(const chat::ConversationInfo& conversation,
                     const std::vector<chat::HistoryEntry>& moved);
  void OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                       MessageState state);
  // `name`'s new key was refused; the event says how to accept it.
  void OnKeyChange(const std::string& name, const Status& why);
  // Holds offline pushes for `grace_ms` after the tracker link is back (0:
  // never). Without it, presence is applied as pushed.
  Status EnableGrace(net::Loop& loop, uint64_t grace_ms);
  // Stops the grace timer (Node::Shutdown). Idempotent.
  void Close();

  // The tracker link: a session ended (published only if one was up),
  // came up (published only after a down), or was refused for good (a
  // revoked member hears "you were revoked": OnRevoked(self)).
  void OnTrackerDown(const Status& reason, bool was_connected, uint64_t retry_in_ms);
  void OnTrackerUp();
  void OnTrackerRefused(const Status& reason);
  // `name` was revoked (us, when it is self's name).
  void OnRevoked(const std::string& name);
  // `name`'s node runs an older chat protocol and was told to upgrade;
  // `why` is the node's sentence for it.
  void OnPeerOutdated(const std::string& name, const std::string& why);
  // A presence push: recorded, and published if it differs from what was known.
  void OnPresence(const proto::PresenceEntry& entry);
  // `name`'s presence as last pushed (offline if never), with `contact`'s
  // flags (null: a correspondent only).
  proto::ContactPresence PresenceOf(const std::string& name, const Contact* contact) const;
  // Transfers::Observer
  void OnTransferEvent(transfer::TransferEventKind kind,
                       const transfer::TransferView& view) override;

 private:
  void Publish(proto::Event event);  // stamped with the node's clock
  void Apply(const proto::PresenceEntry& entry);
  void OnTimer() override;  // the grace ran out

  ControlServer& server_;
  ContactBook& contacts_;
  const std::string self_;
  std::map<std::string, proto::PresenceEntry> presence_;
  bool link_down_published_ = false;
  std::unique_ptr<net::Timer> grace_timer_;
  uint64_t grace_ms_ = 0;
  bool in_grace_ = false;
  std::map<std::string, proto::PresenceEntry> held_;  // offline pushes held in the grace
};

}  // namespace confab::peer
