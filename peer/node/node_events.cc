// The node's side of the control socket's event stream (proto/control.proto,
// Event): what ChatSessions and the tracker link report becomes Events for
// the console, and history retention (history.retain_days).
#include <spdlog/spdlog.h>

#include <utility>

#include "common/base/wall_clock.h"
#include "common/protocol/presence_names.h"
#include "peer/node/node.h"

namespace confab::peer {

proto::HistoryEntry Node::ToEntry(const StoredMessage& m) const {
  proto::HistoryEntry e;
  const bool out = m.direction == Direction::kOut;
  e.set_id(ToHex(m.id));
  e.set_from(out ? name_ : m.conversation);
  e.set_to(out ? m.conversation : name_);
  e.set_text(m.text);
  e.set_state(std::string(MessageStateName(m.state)));
  e.set_time_unix_ms(m.sent_ms);
  e.set_seq(m.seq);
  return e;
}

proto::ContactPresence Node::PresenceOf(const std::string& name, const Contact* contact) const {
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

void Node::Publish(proto::Event event) {
  event.set_time_unix_ms(NowMs());
  control_->Publish(event);
}

void Node::UpdatePresence(const proto::PresenceEntry& entry) {
  auto known = presence_.find(entry.name());
  const bool changed = known == presence_.end() || known->second.status() != entry.status() ||
                       known->second.text() != entry.text();
  presence_[entry.name()] = entry;
  if (!changed || control_->subscriber_count() == 0)
    return;
  Result<Contact> contact = contacts_->Get(entry.name());  // NotFound: a correspondent only
  proto::Event event;
  *event.mutable_presence() = PresenceOf(entry.name(), contact.ok() ? &*contact : nullptr);
  Publish(std::move(event));
}

void Node::OnReceived(const std::string& /*from*/, const std::vector<StoredMessage>& fresh) {
  for (const StoredMessage& m : fresh) {
    proto::Event event;
    *event.mutable_message() = ToEntry(m);
    Publish(std::move(event));
  }
}

void Node::OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
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

void Node::OnKeyChange(const std::string& name, const Status& why) {
  proto::Event event;
  event.mutable_key_change()->set_name(name);
  event.mutable_key_change()->set_detail(
      std::string(why.message()) + "; compare safety numbers with `confab verify " + name +
      "`, then accept the new key with `confab verify " + name + " --accept-new-key`");
  Publish(std::move(event));
}

void Node::PurgeHistory() {
  if (options_.retain_days <= 0)
    return;
  const int64_t cutoff_ms = NowMs() - options_.retain_days * 24 * 3600 * 1000;
  Result<int64_t> purged = history_->PurgeOlderThan(cutoff_ms);
  if (!purged.ok()) {
    spdlog::warn("purging history older than {} days: {}", options_.retain_days,
                 purged.status().ToString());
    return;
  }
  spdlog::info("history: purged {} message(s) older than {} days", *purged, options_.retain_days);
}

}  // namespace confab::peer
