// ControlHandlers: the node's answers to node.sock requests
// (proto/control.proto), one class per area, each using only the parts it
// needs, by reference:
//   MessageHandlers   `confab msg` (Send, SendBatch), history, export
//   ContactHandlers   `confab contacts` (add, remove, block, unblock), verify
//   TransferHandlers  `confab send`, `transfers`, `accept|reject|cancel|resume`
//   StatusHandlers    `confab who`, `status` (set, and the node's own)
// Before a request that writes to someone (msg, send, contacts add) runs,
// MemberCheck asks whether they are a member at all.
// ControlHandlers is the ControlServer's delegate: it routes each request to
// its area. SubscribeEvents is the server's own; the events come from
// EventFeed.
//
// Lifetime: every part in ControlParts outlives the handlers. Loop thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/crypto/identity.h"
#include "peer/chat/history_store.h"
#include "peer/chat/messenger.h"
#include "peer/chat/outbox_retry.h"
#include "peer/chat/replicas.h"
#include "peer/chat/sessions.h"
#include "peer/contacts/contact_book.h"
#include "peer/control/control_server.h"
#include "peer/control/correspondents.h"
#include "peer/control/event_feed.h"
#include "peer/control/member_check.h"
#include "peer/control/peer_access.h"
#include "peer/tracker_link/tracker_link.h"
#include "peer/transfer/transfers.h"

namespace confab::peer {

struct ControlParts {
  std::string self_name;
  crypto::Ed25519PublicKey identity_key{};            // ours, for safety numbers
  PathPolicy paths = PathPolicy::kAuto;               // network.path, for `confab status`
  const int64_t* certificate_expires_unix = nullptr;  // ours, for `confab status` (renewals)
  ContactBook& contacts;
  HistoryStore& history;
  Messenger& messenger;
  chat::Replicas& replicas;  // groups
  PeerPort& port;
  ChatSessions& sessions;
  transfer::Transfers& transfers;
  TrackerLink& link;
  Correspondents& correspondents;
  EventFeed& feed;
  OutboxRetry& retry;
  PeerAccess& access;
  MemberCheck& members;
};

class MessageHandlers {
 public:
  explicit MessageHandlers(const ControlParts& parts) : p_(parts) {}
  // Queues `texts` to `to` in one commit (Messenger::ComposeBatch, whose
  // errors it returns), publishes them and starts delivering them from the
  // next loop iteration.
  [[nodiscard]] Result<std::vector<chat::HistoryEntry>> Queue(const std::string& to,
                                                              std::span<const std::string> texts);
  proto::Response Send(const proto::SendRequest& request);
  proto::Response SendBatch(const proto::SendBatchRequest& request);
  proto::Response History(const proto::HistoryRequest& request);
  proto::Response Export(const proto::ExportRequest& request);
  // `confab outbox` and `confab outbox drop ID`.
  proto::Response Outbox(const proto::OutboxRequest& request);

 private:
  const ControlParts& p_;
};

// A group's name as typed: "#team" or "team" -> "team".
std::string GroupName(std::string_view typed);

// `confab group ...`, `confab groups`, and messages and history of
// "#NAME" (handlers_groups.cc); entries reach the members by reconcile.
class GroupHandlers {
 public:
  explicit GroupHandlers(const ControlParts& parts) : p_(parts) {}
  proto::Response Group(const proto::GroupRequest& request);
  proto::Response Send(const std::string& to, std::span<const std::string> texts);
  proto::Response History(const proto::HistoryRequest& request);

 private:
  // Delivers to every other member of `g` and arms the retry.
  void Reach(const chat::GroupInfo& g);

  const ControlParts& p_;
};

class ContactHandlers {
 public:
  explicit ContactHandlers(const ControlParts& parts) : p_(parts) {}
  proto::Response Contacts(const proto::ContactsRequest& request);
  proto::Response Verify(const proto::VerifyRequest& request);

 private:
  const ControlParts& p_;
};

class TransferHandlers {
 public:
  explicit TransferHandlers(const ControlParts& parts) : p_(parts) {}
  proto::Response Send(const proto::TransferSendRequest& request);
  proto::Response List(const proto::TransfersRequest& request);
  proto::Response Action(const proto::TransferActionRequest& request);

 private:
  // The transfer whose lower-case hex id starts with `text` (4 to 32 hex
  // digits, either case), as git takes a commit. InvalidArgument for a
  // malformed prefix or one that starts several ids (they are listed),
  // NotFound when none.
  Result<transfer::TransferId> ResolveId(std::string_view text);
  // `confab send '#GROUP' FILE`: one offer to each other member.
  proto::Response SendToGroup(const proto::TransferSendRequest& request);

  const ControlParts& p_;
};

class StatusHandlers {
 public:
  explicit StatusHandlers(const ControlParts& parts) : p_(parts) {}
  // Every contact and correspondent, with presence and (when tried) path.
  proto::Response Who();
  proto::Response SetStatus(const proto::StatusRequest& request);
  // `confab status` with no argument: the tracker link, addresses, NAT, paths.
  proto::Response NodeStatus();

 private:
  const ControlParts& p_;
};

class ControlHandlers final : public ControlServer::Delegate {
 public:
  explicit ControlHandlers(ControlParts parts)
      : parts_(std::move(parts)),
        messages_(parts_),
        groups_(parts_),
        contacts_(parts_),
        transfers_(parts_),
        status_(parts_) {}

  proto::Response HandleControl(const proto::Request& request) override;
  // Requests that name someone to write to (msg, send, contacts add) wait
  // for MemberCheck first; the rest are answered at once.
  void HandleControlLater(const proto::Request& request, Reply reply) override;
  MessageHandlers& messages() { return messages_; }

 private:
  // Runs `request`, which names `name`, or refuses it, by the verdict.
  void AnswerAfterCheck(const proto::Request& request, const std::string& name,
                        MemberCheck::Verdict verdict, const std::string& why, const Reply& reply);

  const ControlParts parts_;
  MessageHandlers messages_;
  GroupHandlers groups_;
  ContactHandlers contacts_;
  TransferHandlers transfers_;
  StatusHandlers status_;
};

}  // namespace confab::peer
