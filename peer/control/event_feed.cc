#include "peer/control/event_feed.h"

#include <utility>

#include "common/base/wall_clock.h"
#include "common/protocol/presence_names.h"
#include "peer/control/entries.h"

namespace confab::peer {

void EventFeed::Publish(proto::Event event) {
  event.set_time_unix_ms(NowMs());
  server_.Publish(event);
}

void EventFeed::OnMessages(const std::vector<StoredMessage>& stored) {
  for (const StoredMessage& m : stored) {
    proto::Event event;
    *event.mutable_message() = ToEntry(m, self_);
    Publish(std::move(event));
  }
}

void EventFeed::OnEntries(const chat::ConversationInfo& conversation,
                          const std::vector<chat::HistoryEntry>& entries) {
  for (const chat::HistoryEntry& h : entries) {
    if (h.entry.kind != proto::ENTRY_TEXT)
      continue;
    proto::Event event;
    *event.mutable_message() = ToEntry(h, conversation, self_);
    Publish(std::move(event));
  }
}

void EventFeed::OnEntryStates(const chat::ConversationInfo& conversation,
                              const std::vector<chat::HistoryEntry>& moved) {
  for (const chat::HistoryEntry& h : moved) {
    proto::Event event;
    proto::MessageStateEvent* changed = event.mutable_message_state();
    changed->set_id(ToHex(h.entry.id));
    changed->set_contact(conversation.label());
    changed->set_state(std::string(MessageStateName(h.entry.state)));
    Publish(std::move(event));
  }
}

void EventFeed::OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                                MessageState state) {
  for (const MessageId& id : ids) {
    proto::Event event;
    proto::MessageStateEvent* changed = event.mutable_message_state();
    changed->set_id(ToHex(id));
    changed->set_contact(contact);
    changed->set_state(std::string(MessageStateName(state)));
    Publish(std::move(event));
  }
}

void EventFeed::OnKeyChange(const std::string& name, const Status& why) {
  proto::Event event;
  event.mutable_key_change()->set_name(name);
  event.mutable_key_change()->set_detail(
      std::string(why.message()) + "; compare safety numbers with `confab verify " + name +
      "`, then accept the new key with `confab verify " + name + " --accept-new-key`");
  Publish(std::move(event));
}

void EventFeed::OnTrackerDown(const Status& reason, bool was_connected, uint64_t retry_in_ms) {
  if (!was_connected)
    return;  // a failed attempt while down: said once already
  link_down_published_ = true;
  proto::Event event;
  event.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_DOWN);
  event.mutable_tracker_link()->set_reason(std::string(reason.message()));
  event.mutable_tracker_link()->set_retry_in_ms(retry_in_ms);
  Publish(std::move(event));
}

Status EventFeed::EnableGrace(net::Loop& loop, uint64_t grace_ms) {
  grace_ms_ = grace_ms;
  if (grace_ms_ == 0)
    return Status::Ok();
  CONFAB_ASSIGN_OR_RETURN(grace_timer_, net::Timer::Create(loop, this));
  return Status::Ok();
}

void EventFeed::Close() {
  if (grace_timer_)
    grace_timer_->Close();
  in_grace_ = false;
}

void EventFeed::OnTimer() {
  in_grace_ = false;
  std::map<std::string, proto::PresenceEntry> held = std::move(held_);
  held_.clear();
  for (const auto& [name, entry] : held)
    Apply(entry);
}

void EventFeed::OnTrackerUp() {
  if (!link_down_published_)
    return;  // the first session of this run
  link_down_published_ = false;
  if (grace_timer_ && grace_timer_->Start(grace_ms_).ok())
    in_grace_ = true;
  proto::Event event;
  event.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_UP);
  Publish(std::move(event));
}

void EventFeed::OnTrackerRefused(const Status& reason) {
  // The tracker's words for a revoked member (tracker/service.cc); the
  // refusal carries no code, only the sentence.
  if (reason.message().find("membership revoked") != std::string_view::npos) {
    OnRevoked(self_);
    return;
  }
  proto::Event event;
  event.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_REFUSED);
  event.mutable_tracker_link()->set_reason(std::string(reason.message()));
  Publish(std::move(event));
}

void EventFeed::OnPeerOutdated(const std::string& name, const std::string& why) {
  proto::Event event;
  event.mutable_peer_outdated()->set_name(name);
  event.mutable_peer_outdated()->set_detail(why);
  Publish(std::move(event));
}

void EventFeed::OnRevoked(const std::string& name) {
  proto::Event event;
  event.mutable_revoked()->set_name(name);
  event.mutable_revoked()->set_self(name == self_);
  Publish(std::move(event));
}

proto::ContactPresence EventFeed::PresenceOf(const std::string& name,
                                             const Contact* contact) const {
  proto::ContactPresence p;
  p.set_name(name);
  auto seen = presence_.find(name);
  const proto::PresenceStatus status =
      seen == presence_.end() ? proto::PRESENCE_OFFLINE : seen->second.status();
  p.set_online(protocol::ShowsOnline(status));
  p.set_status(std::string(protocol::PresenceStatusName(status)));
  if (seen != presence_.end())
    p.set_text(seen->second.text());
  if (contact != nullptr) {
    p.set_blocked(contact->blocked);
    p.set_key_change_pending(!contact->pending_key.empty());
  }
  return p;
}

void EventFeed::OnPresence(const proto::PresenceEntry& entry) {
  if (in_grace_) {
    auto known = presence_.find(entry.name());
    const bool shown_online =
        known != presence_.end() && protocol::ShowsOnline(known->second.status());
    if (shown_online && !protocol::ShowsOnline(entry.status())) {
      held_[entry.name()] = entry;  // perhaps only not reconnected yet
      return;
    }
    held_.erase(entry.name());
  }
  Apply(entry);
}

void EventFeed::Apply(const proto::PresenceEntry& entry) {
  auto known = presence_.find(entry.name());
  const bool changed = known == presence_.end() || known->second.status() != entry.status() ||
                       known->second.text() != entry.text();
  presence_[entry.name()] = entry;
  if (!changed || server_.subscriber_count() == 0)
    return;
  Result<Contact> contact = contacts_.Get(entry.name());  // NotFound: a correspondent only
  proto::Event event;
  *event.mutable_presence() = PresenceOf(entry.name(), contact.ok() ? &*contact : nullptr);
  Publish(std::move(event));
}

void EventFeed::OnTransferEvent(transfer::TransferEventKind kind,
                                const transfer::TransferView& view) {
  if (server_.subscriber_count() == 0)
    return;
  using Kind = transfer::TransferEventKind;
  proto::Event event;
  proto::TransferEntry* entry = nullptr;
  switch (kind) {
    case Kind::kOffered:
      entry = event.mutable_transfer_offered();
      break;
    case Kind::kProgress:
      entry = event.mutable_transfer_progress();
      break;
    case Kind::kCompleted:
      entry = event.mutable_transfer_completed();
      break;
    case Kind::kQuarantined:
      entry = event.mutable_transfer_quarantined();
      break;
    case Kind::kFailed:
      entry = event.mutable_transfer_failed();
      break;
    case Kind::kStopped:
      entry = event.mutable_transfer_stopped();
      break;
  }
  FillTransfer(view, self_, entry);
  Publish(std::move(event));
}

}  // namespace confab::peer
