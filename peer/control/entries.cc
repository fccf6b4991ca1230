#include "peer/control/entries.h"

#include "common/base/bytes.h"

namespace confab::peer {

proto::HistoryEntry ToEntry(const StoredMessage& m, const std::string& self) {
  proto::HistoryEntry e;
  const bool out = m.direction == Direction::kOut;
  e.set_id(ToHex(m.id));
  e.set_from(out ? self : m.conversation);
  e.set_to(out ? m.conversation : self);
  e.set_text(m.text);
  e.set_state(std::string(MessageStateName(m.state)));
  e.set_time_unix_ms(m.sent_ms);
  e.set_seq(m.seq);
  if (out && m.state == MessageState::kDelivered)
    e.add_delivered_to(m.conversation);
  return e;
}

proto::HistoryEntry ToEntry(const chat::HistoryEntry& h, const chat::ConversationInfo& c,
                            const std::string& self) {
  proto::HistoryEntry e;
  const bool out = h.entry.author == self;
  e.set_id(ToHex(h.entry.id));
  e.set_from(h.entry.author);
  if (c.is_group())
    e.set_to("#" + c.name);
  else
    e.set_to(out ? c.peer : self);
  e.set_text(h.entry.text);
  e.set_state(std::string(MessageStateName(h.entry.state)));
  e.set_time_unix_ms(h.entry.sent_ms);
  e.set_seq(h.entry.seq);
  for (const std::string& d : h.delivered_to)
    e.add_delivered_to(d);
  return e;
}

void FillContact(const Contact& c, proto::ContactEntry* e) {
  e->set_name(c.name);
  e->set_pinned(!c.identity_key.empty());
  e->set_verified(c.verified);
  e->set_blocked(c.blocked);
  e->set_key_change_pending(!c.pending_key.empty());
}

void FillTransfer(const transfer::TransferView& v, const std::string& self,
                  proto::TransferEntry* e) {
  const transfer::TransferRecord& r = v.record;
  const bool out = r.direction == transfer::Direction::kOut;
  e->set_id(transfer::IdHex(r.id));
  e->set_peer(r.peer);
  e->set_from(out ? self : r.peer);
  e->set_to(out ? r.peer : self);
  e->set_direction(out ? "out" : "in");
  e->set_created_unix_ms(r.created_ms);
  e->set_updated_unix_ms(r.updated_ms);
  e->set_name(r.name);
  e->set_size(r.size);
  e->set_type(r.type);
  e->set_state(std::string(transfer::StateName(r.state)));
  e->set_bytes_done(v.bytes_done);
  e->set_path(r.direction == transfer::Direction::kOut ? r.source : r.path);
  e->set_error(r.error);
  e->set_rate_bytes_per_s(v.rate_bytes_per_s);
  if (!r.digest.empty())
    e->set_digest(ToHex(r.digest));
}

}  // namespace confab::peer
